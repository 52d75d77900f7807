"""The SQLite store's routing tables: story members, holds, marks, silences and locks."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from worker.models import ClusterMember, Delivery, Hold, HoldReason, RoutedBatch, Silence
from worker.store.base import (
    alert_to_json,
    member_from_dict,
    member_to_dict,
    silence_from_json,
    silence_to_json,
)

ROUTING_SCHEMA = """
CREATE TABLE IF NOT EXISTS members (
    item_id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    event_at REAL NOT NULL,
    seen_at REAL NOT NULL,
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS members_by_event ON members (event_at);
CREATE INDEX IF NOT EXISTS members_by_cluster ON members (cluster_id);
CREATE TABLE IF NOT EXISTS holds (
    alert_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    group_key TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at REAL NOT NULL,
    release_at REAL,
    silence_id TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS holds_due ON holds (release_at);
CREATE INDEX IF NOT EXISTS holds_by_channel ON holds (channel, reason);
CREATE TABLE IF NOT EXISTS marks (
    key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY, ends_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, owner TEXT NOT NULL, until REAL NOT NULL);
"""

# Marks under this prefix are per-story alert logs; prune_routing drops the stale ones.
ALERT_LOG_PREFIX = "alog:"


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _row_to_hold(row: sqlite3.Row) -> Hold:
    return Hold(
        alert_id=row["alert_id"],
        channel=row["channel"],
        group_key=row["group_key"],
        reason=HoldReason(row["reason"]),
        created_at=_dt(row["created_at"]) or datetime.now(UTC),
        release_at=_dt(row["release_at"]),
        silence_id=row["silence_id"],
    )


def insert_deliveries(db: sqlite3.Connection, deliveries: Sequence[Delivery]) -> list[Delivery]:
    """Insert deliveries whose id is new; return those inserted."""
    created = []
    for d in deliveries:
        cur = db.execute(
            "INSERT OR IGNORE INTO deliveries (id, channel, alert_ids, state, attempts,"
            " created_at, next_attempt_at, kind) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
            (
                d.id,
                d.channel,
                json.dumps(list(d.alert_ids)),
                d.state.value,
                d.created_at.timestamp(),
                d.next_attempt_at.timestamp(),
                d.kind,
            ),
        )
        if cur.rowcount:
            created.append(d)
    return created


def _set_marks(db: sqlite3.Connection, marks: Mapping[str, str], now: datetime) -> None:
    db.executemany(
        "INSERT OR REPLACE INTO marks (key, value, updated_at) VALUES (?, ?, ?)",
        [(k, v, now.timestamp()) for k, v in marks.items()],
    )


class SqliteRoutingMixin:
    """The routing part of the Store interface, for SqliteStore (which provides the rest)."""

    if TYPE_CHECKING:

        def _tx(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _query(
            self, sql: str, params: Sequence[object] | dict[str, object] = ()
        ) -> list[sqlite3.Row]: ...

    def record_routed(self, batch: RoutedBatch) -> list[Delivery]:
        now = batch.now.timestamp()
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO seen (item_id, feed, seen_at) VALUES (?, ?, ?)",
                [(i, batch.feed, now) for i in batch.item_ids],
            )
            db.executemany(
                "INSERT OR IGNORE INTO alerts (id, created_at, data) VALUES (?, ?, ?)",
                [(a.id, a.created_at.timestamp(), alert_to_json(a)) for a in batch.alerts],
            )
            db.executemany(
                "INSERT OR IGNORE INTO holds (alert_id, channel, group_key, reason, created_at,"
                " release_at, silence_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        h.alert_id,
                        h.channel,
                        h.group_key,
                        h.reason.value,
                        h.created_at.timestamp(),
                        _ts(h.release_at),
                        h.silence_id,
                    )
                    for h in batch.holds
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO members (item_id, cluster_id, event_at, seen_at, data)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        m.item_id,
                        m.cluster_id,
                        m.event_at.timestamp(),
                        m.seen_at.timestamp(),
                        json.dumps(member_to_dict(m), ensure_ascii=False),
                    )
                    for m in batch.members
                ],
            )
            _set_marks(db, batch.marks, batch.now)
            return insert_deliveries(db, batch.deliveries)

    def recent_members(self, start: datetime, end: datetime, limit: int) -> list[ClusterMember]:
        rows = self._query(
            "SELECT data FROM members WHERE event_at BETWEEN ? AND ?"
            " ORDER BY event_at DESC LIMIT ?",
            (start.timestamp(), end.timestamp(), limit),
        )
        return [member_from_dict(json.loads(r["data"])) for r in rows]

    def cluster_members(self, cluster_ids: Iterable[str]) -> list[ClusterMember]:
        ids = list(dict.fromkeys(cluster_ids))
        found: list[ClusterMember] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(
                f"SELECT data FROM members WHERE cluster_id IN ({marks})"
                " ORDER BY event_at, item_id",
                chunk,
            )
            found.extend(member_from_dict(json.loads(r["data"])) for r in rows)
        return found

    def list_holds(
        self,
        channel: str | None = None,
        reasons: Sequence[HoldReason] | None = None,
        due_by: datetime | None = None,
        limit: int = 10_000,
    ) -> list[Hold]:
        where, params = [], []  # type: list[str], list[object]
        if channel is not None:
            where.append("channel = ?")
            params.append(channel)
        if reasons:
            where.append(f"reason IN ({','.join('?' * len(reasons))})")
            params.extend(r.value for r in reasons)
        if due_by is not None:
            where.append("release_at IS NOT NULL AND release_at <= ?")
            params.append(due_by.timestamp())
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        rows = self._query(
            f"SELECT * FROM holds{clause} ORDER BY created_at, alert_id LIMIT ?", [*params, limit]
        )
        return [_row_to_hold(r) for r in rows]

    def release_holds(
        self,
        alert_ids: Sequence[str],
        deliveries: Sequence[Delivery],
        marks: Mapping[str, str],
        now: datetime,
    ) -> list[Delivery]:
        with self._tx() as db:
            db.executemany("DELETE FROM holds WHERE alert_id = ?", [(a,) for a in alert_ids])
            _set_marks(db, marks, now)
            return insert_deliveries(db, deliveries)

    def next_release_at(self) -> datetime | None:
        rows = self._query("SELECT MIN(release_at) AS due FROM holds")
        return _dt(rows[0]["due"]) if rows and rows[0]["due"] is not None else None

    def get_marks(self, keys: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(keys))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT key, value FROM marks WHERE key IN ({marks})", chunk)
            found.update((r["key"], r["value"]) for r in rows)
        return found

    def set_marks(self, marks: Mapping[str, str], now: datetime) -> None:
        with self._tx() as db:
            _set_marks(db, marks, now)

    def save_silence(self, silence: Silence) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO silences (id, ends_at, data) VALUES (?, ?, ?)",
                (silence.id, silence.ends_at.timestamp(), silence_to_json(silence)),
            )

    def list_silences(self) -> list[Silence]:
        rows = self._query("SELECT data FROM silences")
        found = [silence_from_json(r["data"]) for r in rows]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def try_lock(self, name: str, owner: str, ttl_s: float, now: datetime) -> bool:
        until = now.timestamp() + ttl_s
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO locks (name, owner, until) VALUES (?, ?, ?)",
                (name, owner, until),
            )
            cur = db.execute(
                "UPDATE locks SET owner = ?, until = ? WHERE name = ?"
                " AND (owner = ? OR until <= ?)",
                (owner, until, name, owner, now.timestamp()),
            )
            return cur.rowcount > 0

    def unlock(self, name: str, owner: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM locks WHERE name = ? AND owner = ?", (name, owner))

    def prune_routing(self, before: datetime) -> int:
        cutoff = before.timestamp()
        with self._tx() as db:
            removed = db.execute("DELETE FROM members WHERE seen_at < ?", (cutoff,)).rowcount
            removed += db.execute(
                "DELETE FROM marks WHERE key LIKE ? AND updated_at < ?",
                (ALERT_LOG_PREFIX + "%", cutoff),
            ).rowcount
            removed += db.execute(
                "DELETE FROM holds WHERE reason = ? AND created_at < ?",
                (HoldReason.SILENCED.value, cutoff),
            ).rowcount
            removed += db.execute("DELETE FROM silences WHERE ends_at < ?", (cutoff,)).rowcount
            return removed
