"""Every Redis key policywatch writes, in one place (the Celery queues' keys are listed too).

    {p}:feeds                   hash   feed name → FeedState JSON
    {p}:seen                    zset   item id, scored by the last time a poll carried it (unix s)
    {p}:seen:owner              hash   item id → the feed that last carried it
    {p}:seen:latest             hash   feed name → when its latest poll with items was (unix s)
    {p}:alerts                  hash   alert id → Alert JSON
    {p}:delivery:{id}           hash   one delivery's fields (times as unix s)
    {p}:deliveries:all          zset   delivery id, scored by created time
    {p}:deliveries:{state}      zset   delivery id in that state, scored by created time
    {p}:deliveries:due          zset   PENDING/FAILED by next attempt, SENDING by lease end
    {p}:deliveries:counts       hash   "{channel}|{state}" → how many deliveries
    {p}:channels:disabled       hash   channel name → why it was disabled
    {p}:channels:disabled_at    hash   channel name → when (unix s)
    {p}:heartbeats              hash   component → its latest Heartbeat JSON
    {p}:members                 hash   item id → ClusterMember JSON (one report of a story)
    {p}:members:by_event        zset   item id, scored by when the report happened
    {p}:members:by_seen         zset   item id, scored by when we saw it (for pruning)
    {p}:cluster:{cluster id}    set    the item ids of one story
    {p}:holds                   hash   alert id → Hold JSON (an alert kept back, and why)
    {p}:holds:by_release        zset   alert id, scored by release time (GROUP, QUIET holds)
    {p}:holds:by_created        zset   alert id, scored by when it was held
    {p}:marks                   hash   routing mark key → value (group and digest times, ...)
    {p}:marks:updated           zset   mark key, scored by when it was last set
    {p}:silences                hash   silence id → Silence JSON
    {p}:lock:{name}             hash   a routing lock: owner, until (unix s, caller's clock)
    {p}:scheduler:leader        string token of the scheduler that holds the leader lock
    {p}:poll:{feed}:{slot}      string set when a feed's poll for one interval slot was enqueued
    {p}:hint:{delivery id}      string set while a deliver task for that delivery is queued
    {p}:sweep:queued            string set while a sweep task is queued

Delivery pacing keeps its token buckets under `{p}:pace:{target}` (worker/pacing/redis.py).
Celery (kombu) owns, in the broker's database: the lists `poll` and `deliver` (the queues),
`unacked`, `unacked_index`, `unacked_mutex` and `_kombu.binding.*`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "policywatch"
POLL_QUEUE = "poll"
DELIVER_QUEUE = "deliver"


@dataclass(frozen=True, slots=True)
class Keys:
    """Key names under one prefix (so two installations can share a Redis database)."""

    prefix: str = DEFAULT_PREFIX

    @property
    def feeds(self) -> str:
        return f"{self.prefix}:feeds"

    @property
    def seen(self) -> str:
        return f"{self.prefix}:seen"

    @property
    def seen_owner(self) -> str:
        return f"{self.prefix}:seen:owner"

    @property
    def seen_latest(self) -> str:
        return f"{self.prefix}:seen:latest"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}:alerts"

    def delivery(self, delivery_id: str) -> str:
        return f"{self.prefix}:delivery:{delivery_id}"

    @property
    def deliveries_all(self) -> str:
        return f"{self.prefix}:deliveries:all"

    def deliveries_in(self, state: str) -> str:
        return f"{self.prefix}:deliveries:{state}"

    @property
    def due(self) -> str:
        return f"{self.prefix}:deliveries:due"

    @property
    def delivery_counts(self) -> str:
        return f"{self.prefix}:deliveries:counts"

    @property
    def heartbeats(self) -> str:
        return f"{self.prefix}:heartbeats"

    @property
    def channels_disabled(self) -> str:
        return f"{self.prefix}:channels:disabled"

    @property
    def channels_disabled_at(self) -> str:
        return f"{self.prefix}:channels:disabled_at"

    @property
    def members(self) -> str:
        return f"{self.prefix}:members"

    @property
    def members_by_event(self) -> str:
        return f"{self.prefix}:members:by_event"

    @property
    def members_by_seen(self) -> str:
        return f"{self.prefix}:members:by_seen"

    def cluster(self, cluster_id: str) -> str:
        return f"{self.prefix}:cluster:{cluster_id}"

    @property
    def holds(self) -> str:
        return f"{self.prefix}:holds"

    @property
    def holds_by_release(self) -> str:
        return f"{self.prefix}:holds:by_release"

    @property
    def holds_by_created(self) -> str:
        return f"{self.prefix}:holds:by_created"

    @property
    def marks(self) -> str:
        return f"{self.prefix}:marks"

    @property
    def marks_updated(self) -> str:
        return f"{self.prefix}:marks:updated"

    @property
    def silences(self) -> str:
        return f"{self.prefix}:silences"

    def lock(self, name: str) -> str:
        return f"{self.prefix}:lock:{name}"

    @property
    def leader(self) -> str:
        return f"{self.prefix}:scheduler:leader"

    def poll_slot(self, feed: str, slot: int | str) -> str:
        return f"{self.prefix}:poll:{feed}:{slot}"

    def hint(self, delivery_id: str) -> str:
        return f"{self.prefix}:hint:{delivery_id}"

    @property
    def sweep_queued(self) -> str:
        return f"{self.prefix}:sweep:queued"
