"""Redis store: the distributed runtime's state, with the same semantics as the SQLite store.

Every write that must be atomic (recording a batch, claiming, each state change) is one Lua
script (worker/store/redis_scripts.py), so it runs whole or not at all, whichever worker
calls it. Times are stored as unix seconds written with `repr(float)`, so a time goes in and
comes out unchanged. Key names live in `worker.store.keys`; the routing part (stories, holds,
marks, silences, locks) in `worker.store.redis_routing`.

Redis must run with `appendonly yes` and `maxmemory-policy noeviction`: it is the source of
truth, not a cache. The scripts build per-delivery key names from prefixes, so this store
needs one Redis server (or a primary with replicas), not a Redis Cluster.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import cast
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from worker.errors import StoreError
from worker.models import Alert, Delivery, DeliveryState, DisabledChannel, FeedState, Heartbeat
from worker.store import redis_scripts as scripts
from worker.store.base import (
    alert_from_json,
    alert_to_json,
    feed_from_dict,
    feed_to_dict,
    heartbeat_from_json,
    heartbeat_to_json,
)
from worker.store.keys import Keys
from worker.store.redis_routing import RedisRoutingMixin

log = logging.getLogger(__name__)

# Reconnect attempts per command: 0.1 + 0.2 + 0.4 + 0.8 + 1.6 + 2 s, enough to ride out a
# Redis restart; a longer outage surfaces as StoreError and the sweeper recovers the work.
_RETRIES = 6
_SOCKET_TIMEOUT_S = 10.0
_CONNECT_TIMEOUT_S = 5.0

_NOT_SENT = ",pending,sending,failed,dead,"


def _ts(value: datetime) -> str:
    return repr(value.timestamp())


def _dt(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(value), UTC) if value else None


def _delivery_from_hash(raw: dict[str, str]) -> Delivery:
    return Delivery(
        id=raw["id"],
        channel=raw["channel"],
        alert_ids=tuple(json.loads(raw["alert_ids"])),
        state=DeliveryState(raw["state"]),
        attempts=int(raw["attempts"]),
        created_at=_dt(raw["created_at"]) or datetime.now(UTC),
        next_attempt_at=_dt(raw["next_attempt_at"]) or datetime.now(UTC),
        lease_until=_dt(raw.get("lease_until")),
        sent_at=_dt(raw.get("sent_at")),
        last_error=raw.get("last_error", ""),
        kind=raw.get("kind") or "instant",
    )


def _pairs(flat: Sequence[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))


def redacted(url: str) -> str:
    """`url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}:***@" if parts.username else "***@"
    return urlunsplit((parts.scheme, user + host, parts.path, parts.query, parts.fragment))


def connect(
    url: str, retries: int = _RETRIES, socket_timeout_s: float = _SOCKET_TIMEOUT_S
) -> redis.Redis:
    """A client for `url` that rides out short outages (reconnecting with backoff); a reply
    that takes longer than `socket_timeout_s` (a hung server or network) is an error."""
    return redis.Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=socket_timeout_s,
        socket_connect_timeout=_CONNECT_TIMEOUT_S,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries),
    )


class RedisStore(RedisRoutingMixin):
    """Store over one Redis database (see the module docstring for the requirements).

    Thread-safe (one connection pool). Raises StoreError when Redis cannot be reached for
    longer than the reconnect backoff (about 5 s) or answers with an error.
    """

    def __init__(self, client: redis.Redis, keys: Keys | None = None, label: str = "redis") -> None:
        self._r = client
        self.keys = keys or Keys()
        self._label = label
        self._record = client.register_script(scripts.RECORD_BATCH)
        self._touch_seen = client.register_script(scripts.TOUCH_SEEN)
        self._prune_seen = client.register_script(scripts.PRUNE_SEEN)
        self._claim = client.register_script(scripts.CLAIM)
        self._transition = client.register_script(scripts.TRANSITION)
        self._defer = client.register_script(scripts.DEFER)
        self._dkp = self.keys.delivery("")
        self._skp = self.keys.deliveries_in("")
        self._register_routing_scripts()

    @classmethod
    def from_url(cls, url: str, keys: Keys | None = None, retries: int = _RETRIES) -> RedisStore:
        """Connect to `url` (redis://host:port/db) and check that Redis answers; `retries`
        is how many times each command reconnects (with backoff) before failing."""
        store = cls(connect(url, retries), keys, label=redacted(url))
        with store._guard():
            store._r.ping()
        return store

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except redis.RedisError as exc:
            raise StoreError(f"Redis store {self._label}: {exc}") from exc

    def close(self) -> None:
        self._r.close()

    def durability_problems(self) -> list[str]:
        """What in the server's config can lose state (eviction, no AOF); [] if all is well
        or if the server does not let us read its config (managed Redis often does not)."""
        try:
            policy = cast(dict[str, str], self._r.config_get("maxmemory-policy"))
            aof = cast(dict[str, str], self._r.config_get("appendonly"))
        except redis.RedisError:
            return []
        problems = []
        if policy.get("maxmemory-policy", "noeviction") != "noeviction":
            problems.append(
                f"maxmemory-policy is {policy['maxmemory-policy']}: Redis may evict alerts "
                "and queued tasks; set it to noeviction"
            )
        if aof.get("appendonly", "yes") != "yes":
            problems.append(
                "appendonly is off: a Redis restart loses recent state; set appendonly yes"
            )
        return problems

    # feeds
    def get_feed_state(self, name: str) -> FeedState | None:
        with self._guard():
            raw = cast(str | None, self._r.hget(self.keys.feeds, name))
        return feed_from_dict(json.loads(raw)) if raw else None

    def save_feed_state(self, state: FeedState) -> None:
        with self._guard():
            self._r.hset(self.keys.feeds, state.name, json.dumps(feed_to_dict(state)))

    def list_feed_states(self) -> list[FeedState]:
        with self._guard():
            raw = cast(dict[str, str], self._r.hgetall(self.keys.feeds))
        return [feed_from_dict(json.loads(raw[name])) for name in sorted(raw)]

    # items
    def unseen(self, item_ids: Sequence[str]) -> list[str]:
        ids = list(dict.fromkeys(item_ids))
        fresh: list[str] = []
        with self._guard():
            for start in range(0, len(ids), 1000):
                chunk = ids[start : start + 1000]
                scores = self._r.zmscore(self.keys.seen, chunk)
                fresh.extend(i for i, s in zip(chunk, scores, strict=True) if s is None)
        return fresh

    def record_batch(
        self,
        feed: str,
        item_ids: Sequence[str],
        alerts: Sequence[Alert],
        deliveries: Sequence[Delivery],
        now: datetime,
    ) -> list[Delivery]:
        args: list[str] = [
            self._dkp,
            self._skp,
            _ts(now),
            str(len(item_ids)),
            str(len(alerts)),
            str(len(deliveries)),
        ]
        args.extend(item_ids)
        for alert in alerts:
            args.extend((alert.id, alert_to_json(alert)))
        for d in deliveries:
            args.extend(
                (
                    d.id,
                    d.channel,
                    json.dumps(list(d.alert_ids)),
                    d.state.value,
                    _ts(d.created_at),
                    _ts(d.next_attempt_at),
                    d.kind,
                )
            )
        keys = [
            self.keys.seen,
            self.keys.alerts,
            self.keys.due,
            self.keys.deliveries_all,
            self.keys.delivery_counts,
        ]
        with self._guard():
            created = cast(list[str], self._record(keys=keys, args=args))
        by_id: dict[str, Delivery] = {}
        for d in deliveries:
            by_id.setdefault(d.id, d)
        return [by_id[i] for i in created]

    def count_seen(self) -> int:
        with self._guard():
            return int(self._r.zcard(self.keys.seen))

    def prune_seen(self, before: datetime) -> int:
        keys = [self.keys.seen, self.keys.seen_owner, self.keys.seen_latest]
        pruned = 0
        with self._guard():
            old = cast(list[str], self._r.zrangebyscore(self.keys.seen, "-inf", f"({_ts(before)}"))
            # In chunks, each one atomic: a poll touching an item meanwhile keeps it.
            for start in range(0, len(old), 500):
                chunk = old[start : start + 500]
                pruned += int(self._prune_seen(keys=keys, args=[_ts(before), *chunk]))
        return pruned

    def touch_seen(self, feed: str, item_ids: Sequence[str], now: datetime) -> int:
        keys = [self.keys.seen, self.keys.seen_owner, self.keys.seen_latest]
        touched = 0
        with self._guard():
            for start in range(0, len(item_ids), 500):
                chunk = list(item_ids[start : start + 500])
                touched += int(self._touch_seen(keys=keys, args=[feed, _ts(now), *chunk]))
        return touched

    # alerts and deliveries
    def get_alerts(self, alert_ids: Iterable[str]) -> list[Alert]:
        ids = list(alert_ids)
        if not ids:
            return []
        with self._guard():
            raw = cast(list[str | None], self._r.hmget(self.keys.alerts, ids))
        return [alert_from_json(text) for text in raw if text]

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        with self._guard():
            raw = cast(dict[str, str], self._r.hgetall(self.keys.delivery(delivery_id)))
        return _delivery_from_hash(raw) if raw else None

    def _claim_many(
        self, ids: Sequence[str], now: datetime, lease_s: float, limit: int
    ) -> list[Delivery]:
        lease = repr(now.timestamp() + lease_s)
        args = [self._dkp, self._skp, _ts(now), lease, str(limit), *ids]
        with self._guard():
            rows = cast(
                list[list[str]],
                self._claim(keys=[self.keys.due, self.keys.delivery_counts], args=args),
            )
        return [_delivery_from_hash(_pairs(row)) for row in rows]

    def claim(self, delivery_id: str, now: datetime, lease_s: float) -> Delivery | None:
        found = self._claim_many([delivery_id], now, lease_s, 0)
        return found[0] if found else None

    def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Delivery]:
        return self._claim_many([], now, lease_s, limit) if limit > 0 else []

    def due_ids(self, now: datetime, limit: int) -> list[str]:
        with self._guard():
            return cast(
                list[str],
                self._r.zrangebyscore(self.keys.due, "-inf", _ts(now), start=0, num=limit),
            )

    def _move(
        self,
        delivery_id: str,
        to: DeliveryState,
        due_at: datetime | None,
        allowed: str,
        fields: dict[str, str],
        reset_attempts: bool = False,
    ) -> bool:
        args = [
            self._dkp,
            self._skp,
            delivery_id,
            to.value,
            _ts(due_at) if due_at else "",
            "1" if reset_attempts else "0",
            allowed,
        ]
        for name, value in fields.items():
            args.extend((name, value))
        with self._guard():
            return bool(
                self._transition(keys=[self.keys.due, self.keys.delivery_counts], args=args)
            )

    def mark_sent(self, delivery_id: str, now: datetime) -> None:
        fields = {"sent_at": _ts(now), "lease_until": "", "last_error": ""}
        self._move(delivery_id, DeliveryState.SENT, None, "*", fields)

    def mark_failed(self, delivery_id: str, error: str, next_attempt_at: datetime) -> None:
        fields = {"last_error": error, "next_attempt_at": _ts(next_attempt_at), "lease_until": ""}
        self._move(delivery_id, DeliveryState.FAILED, next_attempt_at, _NOT_SENT, fields)

    def mark_dead(self, delivery_id: str, error: str) -> None:
        fields = {"last_error": error, "lease_until": ""}
        self._move(delivery_id, DeliveryState.DEAD, None, _NOT_SENT, fields)

    def requeue(self, delivery_id: str, now: datetime) -> bool:
        fields = {"next_attempt_at": _ts(now), "lease_until": ""}
        return self._move(delivery_id, DeliveryState.PENDING, now, ",dead,failed,", fields, True)

    def list_deliveries(
        self, states: Sequence[DeliveryState] | None = None, limit: int = 100
    ) -> list[Delivery]:
        if limit <= 0:
            return []
        indexes = (
            [self.keys.deliveries_in(s.value) for s in states]
            if states
            else [self.keys.deliveries_all]
        )
        with self._guard():
            newest: list[tuple[str, float]] = []
            for index in indexes:
                ranked = self._r.zrevrange(index, 0, limit - 1, withscores=True)
                newest.extend(cast(list[tuple[str, float]], ranked))
            newest.sort(key=lambda pair: pair[1], reverse=True)
            pipe = self._r.pipeline(transaction=False)
            for delivery_id, _ in newest[:limit]:
                pipe.hgetall(self.keys.delivery(delivery_id))
            rows = cast(list[dict[str, str]], pipe.execute())
        return [_delivery_from_hash(raw) for raw in rows if raw]

    def next_due_at(self) -> datetime | None:
        with self._guard():
            first = cast(
                list[tuple[str, float]], self._r.zrange(self.keys.due, 0, 0, withscores=True)
            )
        return datetime.fromtimestamp(first[0][1], UTC) if first else None

    # channels
    def disable_channel(self, name: str, reason: str) -> None:
        with self._guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.hset(self.keys.channels_disabled, name, reason)
            pipe.hset(self.keys.channels_disabled_at, name, repr(time.time()))
            pipe.execute()

    def channel_disabled(self, name: str) -> str:
        with self._guard():
            return cast(str | None, self._r.hget(self.keys.channels_disabled, name)) or ""

    def enable_channel(self, name: str) -> None:
        with self._guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.hdel(self.keys.channels_disabled, name)
            pipe.hdel(self.keys.channels_disabled_at, name)
            pipe.execute()

    def list_disabled_channels(self) -> list[DisabledChannel]:
        with self._guard():
            pipe = self._r.pipeline(transaction=True)
            pipe.hgetall(self.keys.channels_disabled)
            pipe.hgetall(self.keys.channels_disabled_at)
            reasons, since = cast(list[dict[str, str]], pipe.execute())
        return [DisabledChannel(n, reasons[n], _dt(since.get(n))) for n in sorted(reasons)]

    # pacing
    def defer(self, delivery_id: str, next_attempt_at: datetime) -> bool:
        args = [self._dkp, self._skp, delivery_id, _ts(next_attempt_at)]
        keys = [self.keys.due, self.keys.delivery_counts]
        with self._guard():
            return bool(self._defer(keys=keys, args=args))

    # operations (status, metrics, health)
    def count_deliveries(self) -> dict[tuple[str, DeliveryState], int]:
        with self._guard():
            raw = cast(dict[str, str], self._r.hgetall(self.keys.delivery_counts))
        counts: dict[tuple[str, DeliveryState], int] = {}
        for field, value in raw.items():
            channel, _, state = field.rpartition("|")
            if int(value) > 0:
                counts[(channel, DeliveryState(state))] = int(value)
        return counts

    def oldest_pending_at(self) -> datetime | None:
        waiting = (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED)
        with self._guard():
            pipe = self._r.pipeline(transaction=False)
            for state in waiting:
                pipe.zrange(self.keys.deliveries_in(state.value), 0, 0, withscores=True)
            firsts = cast(list[list[tuple[str, float]]], pipe.execute())
        oldest = [first[0][1] for first in firsts if first]
        return datetime.fromtimestamp(min(oldest), UTC) if oldest else None

    def record_heartbeat(self, beat: Heartbeat) -> None:
        with self._guard():
            self._r.hset(self.keys.heartbeats, beat.component, heartbeat_to_json(beat))

    def list_heartbeats(self) -> list[Heartbeat]:
        with self._guard():
            raw = cast(dict[str, str], self._r.hgetall(self.keys.heartbeats))
        return [heartbeat_from_json(raw[component]) for component in sorted(raw)]
