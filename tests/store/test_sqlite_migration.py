"""A state file written by an older policywatch opens and gains the columns added since."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from worker.store.sqlite import SqliteStore


def test_a_channels_table_without_disabled_at_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE channels (name TEXT PRIMARY KEY, disabled_reason TEXT NOT NULL)")
        db.execute("INSERT INTO channels VALUES ('desk', 'HTTP 410 channel_is_archived')")

    store = SqliteStore(path)
    try:
        [old] = store.list_disabled_channels()
        assert (old.name, old.reason, old.since) == ("desk", "HTTP 410 channel_is_archived", None)
        store.disable_channel("ops", "HTTP 404")
        assert store.list_disabled_channels()[1].since is not None
    finally:
        store.close()
    SqliteStore(path).close()  # opening again finds the column and changes nothing
