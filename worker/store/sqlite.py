"""SQLite store (WAL mode): the embedded runtime's state in one file."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from worker.errors import StoreError
from worker.models import (
    Alert,
    Delivery,
    DeliveryState,
    DisabledChannel,
    FeedState,
    Heartbeat,
)
from worker.store.base import (
    alert_from_json,
    alert_to_json,
    feed_from_dict,
    feed_to_dict,
    heartbeat_from_json,
    heartbeat_to_json,
)
from worker.store.sqlite_routing import ROUTING_SCHEMA, SqliteRoutingMixin, insert_deliveries

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    item_id TEXT PRIMARY KEY, feed TEXT NOT NULL, seen_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS seen_by_time ON seen (seen_at);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT PRIMARY KEY, created_at REAL NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    lease_until REAL,
    sent_at REAL,
    last_error TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'instant');
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE IF NOT EXISTS channels (name TEXT PRIMARY KEY, disabled_reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS heartbeats (component TEXT PRIMARY KEY, data TEXT NOT NULL);
"""

# Columns added after a table first shipped: (table, column, declaration).
_ADDED_COLUMNS = (("channels", "disabled_at", "REAL"),)

_CLAIMABLE = (
    "((state IN ('pending', 'failed') AND next_attempt_at <= :now)"
    " OR (state = 'sending' AND (lease_until IS NULL OR lease_until <= :now)))"
)


def _ts(value: datetime | None) -> float | None:
    return value.timestamp() if value else None


def _dt(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def _row_to_delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        channel=row["channel"],
        alert_ids=tuple(json.loads(row["alert_ids"])),
        state=DeliveryState(row["state"]),
        attempts=row["attempts"],
        created_at=_dt(row["created_at"]) or datetime.now(UTC),
        next_attempt_at=_dt(row["next_attempt_at"]) or datetime.now(UTC),
        lease_until=_dt(row["lease_until"]),
        sent_at=_dt(row["sent_at"]),
        last_error=row["last_error"],
        kind=row["kind"],
    )


class SqliteStore(SqliteRoutingMixin):
    """Store over one SQLite file in WAL mode; safe for threads and for several processes.

    Raises StoreError when the file cannot be opened or written.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=30.0, check_same_thread=False, isolation_level=None
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.executescript(ROUTING_SCHEMA)
            self._add_missing_columns()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open SQLite store {self.path}: {exc}") from exc
        self._lock = threading.RLock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _add_missing_columns(self) -> None:
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row["name"] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in present:
                try:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):  # another process just added it
                        raise

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    def _query(
        self, sql: str, params: Sequence[object] | dict[str, object] = ()
    ) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"SQLite store {self.path}: {exc}") from exc

    # feeds
    def get_feed_state(self, name: str) -> FeedState | None:
        rows = self._query("SELECT data FROM feeds WHERE name = ?", (name,))
        return feed_from_dict(json.loads(rows[0]["data"])) if rows else None

    def save_feed_state(self, state: FeedState) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO feeds (name, data) VALUES (?, ?)",
                (state.name, json.dumps(feed_to_dict(state))),
            )

    def list_feed_states(self) -> list[FeedState]:
        rows = self._query("SELECT data FROM feeds ORDER BY name")
        return [feed_from_dict(json.loads(r["data"])) for r in rows]

    # items
    def unseen(self, item_ids: Sequence[str]) -> list[str]:
        if not item_ids:
            return []
        seen: set[str] = set()
        for start in range(0, len(item_ids), 500):
            chunk = list(item_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            rows = self._query(f"SELECT item_id FROM seen WHERE item_id IN ({marks})", chunk)
            seen.update(r["item_id"] for r in rows)
        return [i for i in dict.fromkeys(item_ids) if i not in seen]

    def record_batch(
        self,
        feed: str,
        item_ids: Sequence[str],
        alerts: Sequence[Alert],
        deliveries: Sequence[Delivery],
        now: datetime,
    ) -> list[Delivery]:
        with self._tx() as db:
            db.executemany(
                "INSERT OR IGNORE INTO seen (item_id, feed, seen_at) VALUES (?, ?, ?)",
                [(i, feed, now.timestamp()) for i in item_ids],
            )
            db.executemany(
                "INSERT OR IGNORE INTO alerts (id, created_at, data) VALUES (?, ?, ?)",
                [(a.id, a.created_at.timestamp(), alert_to_json(a)) for a in alerts],
            )
            return insert_deliveries(db, deliveries)

    def count_seen(self) -> int:
        return int(self._query("SELECT COUNT(*) AS n FROM seen")[0]["n"])

    def prune_seen(self, before: datetime) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM seen WHERE seen_at < ?", (before.timestamp(),)).rowcount

    # alerts and deliveries
    def get_alerts(self, alert_ids: Iterable[str]) -> list[Alert]:
        ids = list(alert_ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self._query(f"SELECT id, data FROM alerts WHERE id IN ({marks})", ids)
        by_id = {r["id"]: alert_from_json(r["data"]) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        rows = self._query("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
        return _row_to_delivery(rows[0]) if rows else None

    def _claim_rows(
        self, db: sqlite3.Connection, ids: list[str], now: datetime, lease_s: float
    ) -> list[Delivery]:
        lease = (now + timedelta(seconds=lease_s)).timestamp()
        claimed = []
        for delivery_id in ids:
            cur = db.execute(
                "UPDATE deliveries SET state = 'sending', lease_until = :lease,"
                f" attempts = attempts + 1 WHERE id = :id AND {_CLAIMABLE}",
                {"lease": lease, "id": delivery_id, "now": now.timestamp()},
            )
            if cur.rowcount:
                row = db.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,))
                claimed.append(_row_to_delivery(row.fetchone()))
        return claimed

    def claim(self, delivery_id: str, now: datetime, lease_s: float) -> Delivery | None:
        with self._tx() as db:
            found = self._claim_rows(db, [delivery_id], now, lease_s)
        return found[0] if found else None

    def claim_due(self, now: datetime, lease_s: float, limit: int) -> list[Delivery]:
        with self._tx() as db:
            rows = db.execute(
                f"SELECT id FROM deliveries WHERE {_CLAIMABLE}"
                " ORDER BY next_attempt_at LIMIT :limit",
                {"now": now.timestamp(), "limit": limit},
            ).fetchall()
            return self._claim_rows(db, [r["id"] for r in rows], now, lease_s)

    def due_ids(self, now: datetime, limit: int) -> list[str]:
        rows = self._query(
            f"SELECT id FROM deliveries WHERE {_CLAIMABLE} ORDER BY next_attempt_at LIMIT :limit",
            {"now": now.timestamp(), "limit": limit},
        )
        return [r["id"] for r in rows]

    def mark_sent(self, delivery_id: str, now: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET state = 'sent', sent_at = ?, lease_until = NULL,"
                " last_error = '' WHERE id = ?",
                (now.timestamp(), delivery_id),
            )

    def mark_failed(self, delivery_id: str, error: str, next_attempt_at: datetime) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET state = 'failed', last_error = ?, next_attempt_at = ?,"
                " lease_until = NULL WHERE id = ? AND state != 'sent'",
                (error, next_attempt_at.timestamp(), delivery_id),
            )

    def mark_dead(self, delivery_id: str, error: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE deliveries SET state = 'dead', last_error = ?, lease_until = NULL"
                " WHERE id = ? AND state != 'sent'",
                (error, delivery_id),
            )

    def requeue(self, delivery_id: str, now: datetime) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?,"
                " lease_until = NULL WHERE id = ? AND state IN ('dead', 'failed')",
                (now.timestamp(), delivery_id),
            )
            return cur.rowcount > 0

    def list_deliveries(
        self, states: Sequence[DeliveryState] | None = None, limit: int = 100
    ) -> list[Delivery]:
        if states:
            marks = ",".join("?" * len(states))
            rows = self._query(
                f"SELECT * FROM deliveries WHERE state IN ({marks})"
                " ORDER BY created_at DESC LIMIT ?",
                [s.value for s in states] + [limit],
            )
        else:
            rows = self._query(
                "SELECT * FROM deliveries ORDER BY created_at DESC LIMIT ?", (limit,)
            )
        return [_row_to_delivery(r) for r in rows]

    def next_due_at(self) -> datetime | None:
        rows = self._query(
            "SELECT MIN(CASE WHEN state = 'sending' THEN lease_until ELSE next_attempt_at END)"
            " AS due FROM deliveries WHERE state IN ('pending', 'failed', 'sending')"
        )
        return _dt(rows[0]["due"]) if rows and rows[0]["due"] is not None else None

    # channels
    def disable_channel(self, name: str, reason: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO channels (name, disabled_reason, disabled_at)"
                " VALUES (?, ?, ?)",
                (name, reason, time.time()),
            )

    def channel_disabled(self, name: str) -> str:
        rows = self._query("SELECT disabled_reason FROM channels WHERE name = ?", (name,))
        return str(rows[0]["disabled_reason"]) if rows else ""

    def enable_channel(self, name: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM channels WHERE name = ?", (name,))

    # operations (status, metrics, health)
    def count_deliveries(self) -> dict[tuple[str, DeliveryState], int]:
        rows = self._query("SELECT channel, state, COUNT(*) AS n FROM deliveries GROUP BY 1, 2")
        return {(r["channel"], DeliveryState(r["state"])): int(r["n"]) for r in rows}

    def oldest_pending_at(self) -> datetime | None:
        rows = self._query(
            "SELECT MIN(created_at) AS oldest FROM deliveries"
            " WHERE state IN ('pending', 'sending', 'failed')"
        )
        return _dt(rows[0]["oldest"]) if rows else None

    def record_heartbeat(self, beat: Heartbeat) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO heartbeats (component, data) VALUES (?, ?)",
                (beat.component, heartbeat_to_json(beat)),
            )

    def list_heartbeats(self) -> list[Heartbeat]:
        rows = self._query("SELECT data FROM heartbeats ORDER BY component")
        return [heartbeat_from_json(r["data"]) for r in rows]

    def list_disabled_channels(self) -> list[DisabledChannel]:
        rows = self._query("SELECT * FROM channels ORDER BY name")
        return [
            DisabledChannel(r["name"], r["disabled_reason"], _dt(r["disabled_at"])) for r in rows
        ]

    # pacing
    def defer(self, delivery_id: str, next_attempt_at: datetime) -> bool:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE deliveries SET"
                " state = CASE WHEN attempts <= 1 THEN 'pending' ELSE 'failed' END,"
                " attempts = MAX(attempts - 1, 0), next_attempt_at = ?, lease_until = NULL"
                " WHERE id = ? AND state = 'sending'",
                (next_attempt_at.timestamp(), delivery_id),
            )
            return cur.rowcount > 0
