"""The Store interface: the one source of truth for feeds, seen items, alerts and deliveries.

Both backends (SQLite, Redis) keep the same semantics:
- `record_batch` is atomic and idempotent: an alert or delivery whose id already exists is
  left alone, and only deliveries created by this call are returned (so only one caller
  enqueues them, however many processed the same item at once).
- `touch_seen(feed, ids, now)` marks seen items as carried by `feed` at `now` (ids never seen
  are ignored); the pipeline calls it after each poll with items, for all of them, new ones
  included. `prune_seen(before)` forgets items last carried before `before`, except those
  their feed carried at its latest touch: a feed that stopped changing (or could not be
  fetched) for longer than the retention must not repeat its items when it changes again.
  Seen items never touched are forgotten by time alone.
- `count_deliveries` counts deliveries by (channel, state); `oldest_pending_at` is the
  `created_at` of the oldest delivery not yet SENT or DEAD (PENDING, SENDING or FAILED), None
  when there is none. `record_heartbeat` keeps the latest beat per component.
- `claim`/`claim_due` move a due PENDING or FAILED delivery, or a SENDING one whose lease ran
  out, to SENDING with a new lease and one more attempt. A delivery is claimed by one caller.
- `record_routed` is `record_batch` plus holds, story members and marks, in one transaction;
  an alert, hold or member whose key exists is left alone (marks are overwritten).
- `release_holds` deletes the named holds and inserts the deliveries (ignoring existing ids)
  and marks in one transaction, returning the deliveries it created.
- `try_lock` takes a named lock for `ttl_s` seconds if it is free, expired or already the
  caller's; `unlock` frees it only for its owner.
- `defer` hands a claimed (SENDING) delivery back unsent, due at `next_attempt_at`, taking
  back the attempt its claim counted: for a target that must not be sent to yet (pacing, or
  a Retry-After another delivery was given). Returns False if it was not SENDING.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from worker.models import (
    Alert,
    ClusterMember,
    Delivery,
    DeliveryState,
    DisabledChannel,
    FeedState,
    Heartbeat,
    Hold,
    HoldReason,
    RoutedBatch,
    Silence,
)


class Store(Protocol):
    def close(self) -> None: ...

    # feeds
    def get_feed_state(self, name: str) -> FeedState | None: ...
    def save_feed_state(self, state: FeedState) -> None: ...
    def list_feed_states(self) -> list[FeedState]: ...

    # items
    def unseen(self, item_ids: Sequence[str]) -> list[str]: ...
    def record_batch(
        self,
        feed: str,
        item_ids: Sequence[str],
        alerts: Sequence[Alert],
        deliveries: Sequence[Delivery],
        now: datetime,
    ) -> list[Delivery]: ...
    def count_seen(self) -> int: ...
    def prune_seen(self, before: datetime) -> int: ...
    def touch_seen(self, feed: str, item_ids: Sequence[str], now: datetime) -> int: ...

    # alerts and deliveries
    def get_alerts(self, alert_ids: Iterable[str]) -> list[Alert]: ...
    def get_delivery(self, delivery_id: str) -> Delivery | None: ...
    def claim(self, delivery_id: str, now: datetime, lease_s: float) -> Delivery | None: ...
    def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Delivery]: ...
    def due_ids(self, now: datetime, limit: int) -> list[str]: ...
    def mark_sent(self, delivery_id: str, now: datetime) -> None: ...
    def mark_failed(self, delivery_id: str, error: str, next_attempt_at: datetime) -> None: ...
    def mark_dead(self, delivery_id: str, error: str) -> None: ...
    def requeue(self, delivery_id: str, now: datetime) -> bool: ...
    def list_deliveries(
        self, states: Sequence[DeliveryState] | None = None, limit: int = 100
    ) -> list[Delivery]: ...
    def next_due_at(self) -> datetime | None: ...

    # channels
    def disable_channel(self, name: str, reason: str) -> None: ...
    def channel_disabled(self, name: str) -> str: ...
    def enable_channel(self, name: str) -> None: ...
    def list_disabled_channels(self) -> list[DisabledChannel]: ...

    # pacing
    def defer(self, delivery_id: str, next_attempt_at: datetime) -> bool: ...

    # operations (status, metrics, health)
    def count_deliveries(self) -> dict[tuple[str, DeliveryState], int]: ...
    def oldest_pending_at(self) -> datetime | None: ...
    def record_heartbeat(self, beat: Heartbeat) -> None: ...
    def list_heartbeats(self) -> list[Heartbeat]: ...

    # routing: stories, holds, marks, silences, locks (worker/routing.py, worker/digests.py)
    def record_routed(self, batch: RoutedBatch) -> list[Delivery]: ...
    def recent_members(self, start: datetime, end: datetime, limit: int) -> list[ClusterMember]: ...
    def cluster_members(self, cluster_ids: Iterable[str]) -> list[ClusterMember]: ...
    def list_holds(
        self,
        channel: str | None = None,
        reasons: Sequence[HoldReason] | None = None,
        due_by: datetime | None = None,
        limit: int = 10_000,
    ) -> list[Hold]: ...
    def release_holds(
        self,
        alert_ids: Sequence[str],
        deliveries: Sequence[Delivery],
        marks: Mapping[str, str],
        now: datetime,
    ) -> list[Delivery]: ...
    def next_release_at(self) -> datetime | None: ...
    def get_marks(self, keys: Iterable[str]) -> dict[str, str]: ...
    def set_marks(self, marks: Mapping[str, str], now: datetime) -> None: ...
    def save_silence(self, silence: Silence) -> None: ...
    def list_silences(self) -> list[Silence]: ...
    def try_lock(self, name: str, owner: str, ttl_s: float, now: datetime) -> bool: ...
    def unlock(self, name: str, owner: str) -> None: ...
    def prune_routing(self, before: datetime) -> int: ...


def is_claimable(delivery: Delivery, now: datetime) -> bool:
    """Due PENDING/FAILED, or SENDING whose lease has run out (its worker died)."""
    if delivery.state in (DeliveryState.PENDING, DeliveryState.FAILED):
        return delivery.next_attempt_at <= now
    if delivery.state is DeliveryState.SENDING:
        return delivery.lease_until is None or delivery.lease_until <= now
    return False


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def _decode_dt(value: Any) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def alert_to_json(alert: Alert) -> str:
    return json.dumps({k: _encode(v) for k, v in asdict(alert).items()}, ensure_ascii=False)


def alert_from_json(text: str) -> Alert:
    raw = json.loads(text)
    names = {f.name for f in fields(Alert)}
    raw = {k: v for k, v in raw.items() if k in names}
    raw["terms"] = tuple(raw.get("terms", ()))
    raw["published"] = _decode_dt(raw.get("published"))
    raw["created_at"] = _decode_dt(raw["created_at"])
    return Alert(**raw)


def delivery_to_dict(delivery: Delivery) -> dict[str, Any]:
    return {k: _encode(v) for k, v in asdict(delivery).items()}


def delivery_from_dict(raw: dict[str, Any]) -> Delivery:
    return Delivery(
        id=raw["id"],
        channel=raw["channel"],
        alert_ids=tuple(raw["alert_ids"]),
        state=DeliveryState(raw["state"]),
        attempts=int(raw["attempts"]),
        created_at=_decode_dt(raw["created_at"]) or datetime.now(UTC),
        next_attempt_at=_decode_dt(raw["next_attempt_at"]) or datetime.now(UTC),
        lease_until=_decode_dt(raw.get("lease_until")),
        sent_at=_decode_dt(raw.get("sent_at")),
        last_error=raw.get("last_error") or "",
        kind=raw.get("kind") or "instant",
    )


def feed_to_dict(state: FeedState) -> dict[str, Any]:
    return {k: _encode(v) for k, v in asdict(state).items()}


def feed_from_dict(raw: dict[str, Any]) -> FeedState:
    return FeedState(
        name=raw["name"],
        url=raw["url"],
        etag=raw.get("etag") or "",
        last_modified=raw.get("last_modified") or "",
        last_polled_at=_decode_dt(raw.get("last_polled_at")),
        last_success_at=_decode_dt(raw.get("last_success_at")),
        last_error=raw.get("last_error") or "",
        consecutive_failures=int(raw.get("consecutive_failures") or 0),
        next_poll_at=_decode_dt(raw.get("next_poll_at")),
        items_seen=int(raw.get("items_seen") or 0),
        disabled_reason=raw.get("disabled_reason") or "",
        extra=dict(raw.get("extra") or {}),
    )


def heartbeat_to_json(beat: Heartbeat) -> str:
    return json.dumps(
        {
            "component": beat.component,
            "holder": beat.holder,
            "beat_at": beat.beat_at.isoformat(),
            "jobs": {k: v.isoformat() if v else None for k, v in beat.jobs.items()},
        }
    )


def heartbeat_from_json(text: str) -> Heartbeat:
    raw = json.loads(text)
    return Heartbeat(
        component=raw["component"],
        holder=raw.get("holder") or "",
        beat_at=_decode_dt(raw["beat_at"]) or datetime.now(UTC),
        jobs={k: _decode_dt(v) for k, v in (raw.get("jobs") or {}).items()},
    )


def member_to_dict(member: ClusterMember) -> dict[str, Any]:
    return {k: _encode(v) for k, v in asdict(member).items()}


def member_from_dict(raw: dict[str, Any]) -> ClusterMember:
    return ClusterMember(
        cluster_id=raw["cluster_id"],
        item_id=raw["item_id"],
        title=raw.get("title") or "",
        link=raw.get("link") or "",
        source=raw.get("source") or "",
        published=_decode_dt(raw.get("published")),
        event_at=_decode_dt(raw["event_at"]) or datetime.now(UTC),
        started_at=_decode_dt(raw["started_at"]) or datetime.now(UTC),
        seen_at=_decode_dt(raw["seen_at"]) or datetime.now(UTC),
        features=raw.get("features") or "",
    )


def silence_to_json(silence: Silence) -> str:
    raw = {k: _encode(v) for k, v in asdict(silence).items()}
    raw["matchers"] = [list(m) for m in silence.matchers]
    return json.dumps(raw, ensure_ascii=False)


def silence_from_json(text: str) -> Silence:
    raw = json.loads(text)
    return Silence(
        id=raw["id"],
        matchers=tuple((str(k), str(v)) for k, v in raw["matchers"]),
        starts_at=_decode_dt(raw["starts_at"]) or datetime.now(UTC),
        ends_at=_decode_dt(raw["ends_at"]) or datetime.now(UTC),
        created_by=raw.get("created_by") or "",
        comment=raw.get("comment") or "",
        created_at=_decode_dt(raw["created_at"]) or datetime.now(UTC),
    )
