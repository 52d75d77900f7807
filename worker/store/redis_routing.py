"""The Redis store's routing part: story members, holds, marks, silences and locks.

Same semantics as worker/store/sqlite_routing.py; the writes that must be atomic
(`record_routed`, `release_holds`, `try_lock`, `unlock`) are Lua scripts. Keys: keys.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

import redis

from worker.models import ClusterMember, Delivery, Hold, HoldReason, RoutedBatch, Silence
from worker.store import redis_scripts as scripts
from worker.store.base import (
    alert_to_json,
    member_from_dict,
    member_to_dict,
    silence_from_json,
    silence_to_json,
)
from worker.store.keys import Keys
from worker.store.sqlite_routing import ALERT_LOG_PREFIX

_CHUNK = 1000
# An abandoned routing lock is dropped by Redis this long after its own expiry.
_LOCK_GRACE_MS = 60_000


def ts(value: datetime) -> str:
    return repr(value.timestamp())


def delivery_row(d: Delivery) -> list[str]:
    """A delivery as the Lua `insert_delivery` helper takes it."""
    return [
        d.id,
        d.channel,
        json.dumps(list(d.alert_ids)),
        d.state.value,
        ts(d.created_at),
        ts(d.next_attempt_at),
        d.kind,
    ]


def hold_to_json(hold: Hold) -> str:
    return json.dumps(
        {
            "alert_id": hold.alert_id,
            "channel": hold.channel,
            "group_key": hold.group_key,
            "reason": hold.reason.value,
            "created_at": hold.created_at.timestamp(),
            "release_at": hold.release_at.timestamp() if hold.release_at else None,
            "silence_id": hold.silence_id,
        },
        ensure_ascii=False,
    )


def hold_from_json(text: str) -> Hold:
    raw = json.loads(text)
    release = raw.get("release_at")
    return Hold(
        alert_id=raw["alert_id"],
        channel=raw["channel"],
        group_key=raw["group_key"],
        reason=HoldReason(raw["reason"]),
        created_at=datetime.fromtimestamp(raw["created_at"], UTC),
        release_at=datetime.fromtimestamp(release, UTC) if release is not None else None,
        silence_id=raw.get("silence_id") or "",
    )


class RedisRoutingMixin:
    """The routing part of the Store interface, for RedisStore (which provides the rest)."""

    if TYPE_CHECKING:
        _r: redis.Redis
        keys: Keys
        _dkp: str
        _skp: str

        def _guard(self) -> AbstractContextManager[None]: ...

    def _register_routing_scripts(self) -> None:
        self._record_routed = self._r.register_script(scripts.RECORD_ROUTED)
        self._release_holds = self._r.register_script(scripts.RELEASE_HOLDS)
        self._try_lock = self._r.register_script(scripts.TRY_LOCK)
        self._unlock = self._r.register_script(scripts.UNLOCK)

    def _delivery_keys(self) -> list[str]:
        return [self.keys.due, self.keys.deliveries_all, self.keys.delivery_counts]

    def _hold_keys(self) -> list[str]:
        return [self.keys.holds, self.keys.holds_by_release, self.keys.holds_by_created]

    def _created(self, deliveries: Sequence[Delivery], ids: Iterable[str]) -> list[Delivery]:
        by_id: dict[str, Delivery] = {}
        for d in deliveries:
            by_id.setdefault(d.id, d)
        return [by_id[i] for i in ids]

    def record_routed(self, batch: RoutedBatch) -> list[Delivery]:
        payload = {
            "now": ts(batch.now),
            "items": list(batch.item_ids),
            "alerts": [[a.id, alert_to_json(a)] for a in batch.alerts],
            "holds": [
                [
                    h.alert_id,
                    hold_to_json(h),
                    ts(h.created_at),
                    ts(h.release_at) if h.release_at else "",
                ]
                for h in batch.holds
            ],
            "members": [
                [
                    m.item_id,
                    m.cluster_id,
                    ts(m.event_at),
                    ts(m.seen_at),
                    json.dumps(member_to_dict(m), ensure_ascii=False),
                ]
                for m in batch.members
            ],
            "marks": [[k, v] for k, v in batch.marks.items()],
            "deliveries": [delivery_row(d) for d in batch.deliveries],
        }
        keys = [
            self.keys.seen,
            self.keys.alerts,
            *self._delivery_keys(),
            *self._hold_keys(),
            self.keys.members,
            self.keys.members_by_event,
            self.keys.members_by_seen,
            self.keys.marks,
            self.keys.marks_updated,
        ]
        args = [
            self._dkp,
            self._skp,
            self.keys.cluster(""),
            json.dumps(payload, ensure_ascii=False),
        ]
        with self._guard():
            created = cast(list[str], self._record_routed(keys=keys, args=args))
        return self._created(batch.deliveries, created)

    def _members(self, item_ids: Sequence[str]) -> list[ClusterMember]:
        found: list[ClusterMember] = []
        for chunk in _chunks(item_ids):
            raw = cast(list[str | None], self._r.hmget(self.keys.members, chunk))
            found.extend(member_from_dict(json.loads(text)) for text in raw if text)
        return found

    def recent_members(self, start: datetime, end: datetime, limit: int) -> list[ClusterMember]:
        with self._guard():
            ids = cast(
                list[str],
                self._r.zrevrangebyscore(
                    self.keys.members_by_event, ts(end), ts(start), start=0, num=limit
                ),
            )
            return self._members(ids)

    def cluster_members(self, cluster_ids: Iterable[str]) -> list[ClusterMember]:
        with self._guard():
            pipe = self._r.pipeline(transaction=False)
            for cluster_id in dict.fromkeys(cluster_ids):
                pipe.smembers(self.keys.cluster(cluster_id))
            item_ids = sorted({i for found in pipe.execute() for i in cast(set[str], found)})
            members = self._members(item_ids)
        return sorted(members, key=lambda m: (m.event_at, m.item_id))

    def _holds(self, alert_ids: Sequence[str]) -> list[Hold]:
        found: list[Hold] = []
        for chunk in _chunks(alert_ids):
            raw = cast(list[str | None], self._r.hmget(self.keys.holds, chunk))
            found.extend(hold_from_json(text) for text in raw if text)
        return found

    def list_holds(
        self,
        channel: str | None = None,
        reasons: Sequence[HoldReason] | None = None,
        due_by: datetime | None = None,
        limit: int = 10_000,
    ) -> list[Hold]:
        with self._guard():
            if due_by is not None:
                ids = self._r.zrangebyscore(self.keys.holds_by_release, "-inf", ts(due_by))
            else:
                ids = self._r.zrange(self.keys.holds_by_created, 0, -1)
            holds = self._holds(cast(list[str], ids))
        wanted: Callable[[Hold], bool] = lambda h: (  # noqa: E731
            (channel is None or h.channel == channel) and (not reasons or h.reason in reasons)
        )
        found = sorted(filter(wanted, holds), key=lambda h: (h.created_at, h.alert_id))
        return found[:limit]

    def release_holds(
        self,
        alert_ids: Sequence[str],
        deliveries: Sequence[Delivery],
        marks: Mapping[str, str],
        now: datetime,
    ) -> list[Delivery]:
        payload = {
            "now": ts(now),
            "alert_ids": list(alert_ids),
            "marks": [[k, v] for k, v in marks.items()],
            "deliveries": [delivery_row(d) for d in deliveries],
        }
        keys = [
            *self._hold_keys(),
            self.keys.marks,
            self.keys.marks_updated,
            *self._delivery_keys(),
        ]
        args = [self._dkp, self._skp, json.dumps(payload, ensure_ascii=False)]
        with self._guard():
            created = cast(list[str], self._release_holds(keys=keys, args=args))
        return self._created(deliveries, created)

    def next_release_at(self) -> datetime | None:
        with self._guard():
            first = cast(
                list[tuple[str, float]],
                self._r.zrange(self.keys.holds_by_release, 0, 0, withscores=True),
            )
        return datetime.fromtimestamp(first[0][1], UTC) if first else None

    def get_marks(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        with self._guard():
            for chunk in _chunks(wanted):
                values = cast(list[str | None], self._r.hmget(self.keys.marks, chunk))
                found.update((k, v) for k, v in zip(chunk, values, strict=True) if v is not None)
        return found

    def set_marks(self, marks: Mapping[str, str], now: datetime) -> None:
        if not marks:
            return
        with self._guard():
            pipe = self._r.pipeline(transaction=True)
            for key, value in marks.items():
                pipe.hset(self.keys.marks, key, value)
            pipe.zadd(self.keys.marks_updated, {k: now.timestamp() for k in marks})
            pipe.execute()

    def save_silence(self, silence: Silence) -> None:
        with self._guard():
            self._r.hset(self.keys.silences, silence.id, silence_to_json(silence))

    def list_silences(self) -> list[Silence]:
        with self._guard():
            raw = cast(list[str], self._r.hvals(self.keys.silences))
        return sorted((silence_from_json(t) for t in raw), key=lambda s: (s.created_at, s.id))

    def try_lock(self, name: str, owner: str, ttl_s: float, now: datetime) -> bool:
        until = repr(now.timestamp() + ttl_s)
        expire_ms = str(int(ttl_s * 1000) + _LOCK_GRACE_MS)
        args = [owner, until, ts(now), expire_ms]
        with self._guard():
            return bool(self._try_lock(keys=[self.keys.lock(name)], args=args))

    def unlock(self, name: str, owner: str) -> None:
        with self._guard():
            self._unlock(keys=[self.keys.lock(name)], args=[owner])

    def prune_routing(self, before: datetime) -> int:
        """Forget story members seen before `before`, per-story alert logs not set since,
        SILENCED holds made before it, and silences that ended before it."""
        cutoff = f"({ts(before)}"
        with self._guard():
            return (
                self._prune_members(cutoff)
                + self._prune_alert_logs(cutoff)
                + self._prune_silenced_holds(cutoff, before)
                + self._prune_silences(before)
            )

    def _prune_members(self, cutoff: str) -> int:
        ids = cast(list[str], self._r.zrangebyscore(self.keys.members_by_seen, "-inf", cutoff))
        if not ids:
            return 0
        members = self._members(ids)
        pipe = self._r.pipeline(transaction=True)
        for chunk in _chunks(ids):
            pipe.hdel(self.keys.members, *chunk)
            pipe.zrem(self.keys.members_by_event, *chunk)
            pipe.zrem(self.keys.members_by_seen, *chunk)
        for m in members:
            pipe.srem(self.keys.cluster(m.cluster_id), m.item_id)
        pipe.execute()
        return len(ids)

    def _prune_alert_logs(self, cutoff: str) -> int:
        stale = [
            k
            for k in cast(list[str], self._r.zrangebyscore(self.keys.marks_updated, "-inf", cutoff))
            if k.startswith(ALERT_LOG_PREFIX)
        ]
        if not stale:
            return 0
        pipe = self._r.pipeline(transaction=True)
        for chunk in _chunks(stale):
            pipe.hdel(self.keys.marks, *chunk)
            pipe.zrem(self.keys.marks_updated, *chunk)
        pipe.execute()
        return len(stale)

    def _prune_silenced_holds(self, cutoff: str, before: datetime) -> int:
        ids = cast(list[str], self._r.zrangebyscore(self.keys.holds_by_created, "-inf", cutoff))
        old = [
            h.alert_id
            for h in self._holds(ids)
            if h.reason is HoldReason.SILENCED and h.created_at < before
        ]
        if not old:
            return 0
        pipe = self._r.pipeline(transaction=True)
        for chunk in _chunks(old):
            pipe.hdel(self.keys.holds, *chunk)
            pipe.zrem(self.keys.holds_by_created, *chunk)
            pipe.zrem(self.keys.holds_by_release, *chunk)
        pipe.execute()
        return len(old)

    def _prune_silences(self, before: datetime) -> int:
        raw = cast(dict[str, str], self._r.hgetall(self.keys.silences))
        ended = [i for i, text in raw.items() if silence_from_json(text).ends_at < before]
        if ended:
            self._r.hdel(self.keys.silences, *ended)
        return len(ended)


def _chunks(values: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])
