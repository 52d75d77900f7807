"""Every Redis key policywatch writes, in one place (the Celery queues' keys are listed too).

    {p}:feeds                   hash   feed name → FeedState JSON
    {p}:seen                    zset   item id, scored by first-seen time (unix s)
    {p}:alerts                  hash   alert id → Alert JSON
    {p}:delivery:{id}           hash   one delivery's fields (times as unix s)
    {p}:deliveries:all          zset   delivery id, scored by created time
    {p}:deliveries:{state}      zset   delivery id in that state, scored by created time
    {p}:deliveries:due          zset   PENDING/FAILED by next attempt, SENDING by lease end
    {p}:deliveries:counts       hash   "{channel}|{state}" → how many deliveries
    {p}:channels:disabled       hash   channel name → why it was disabled
    {p}:heartbeats              hash   component → its latest Heartbeat JSON
    {p}:scheduler:leader        string token of the scheduler that holds the leader lock
    {p}:poll:{feed}:{slot}      string set when a feed's poll for one interval slot was enqueued
    {p}:hint:{delivery id}      string set while a deliver task for that delivery is queued
    {p}:sweep:queued            string set while a sweep task is queued

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
    def leader(self) -> str:
        return f"{self.prefix}:scheduler:leader"

    def poll_slot(self, feed: str, slot: int | str) -> str:
        return f"{self.prefix}:poll:{feed}:{slot}"

    def hint(self, delivery_id: str) -> str:
        return f"{self.prefix}:hint:{delivery_id}"

    @property
    def sweep_queued(self) -> str:
        return f"{self.prefix}:sweep:queued"
