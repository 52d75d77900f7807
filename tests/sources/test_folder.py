"""The watched folder: files dropped in are processed once, then moved to done/ or failed/."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.sources.feed_samples import ATOM, JSONL, RSS_20
from worker.config import FeedConfig, parse_settings
from worker.errors import FetchError
from worker.pipeline import Pipeline
from worker.runtime.embedded import EmbeddedRuntime
from worker.sources import poll_source
from worker.sources.folder import SETTLE_S, poll_folder
from worker.store.sqlite import SqliteStore

UA = "policywatch-tests/0.1"
ALERTING_TITLE = (
    "US adds new export controls on Nvidia H20 chips to China, Commerce Department says"
)


def drop(folder: Path, name: str, body: bytes, age_s: float = 10.0) -> Path:
    """Write a file as if it had been dropped `age_s` seconds ago (settled)."""
    path = folder / name
    path.write_bytes(body)
    then = time.time() - age_s
    os.utime(path, (then, then))
    return path


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def folder_feed(path: Path) -> FeedConfig:
    return FeedConfig(name="inbox", kind="folder", url=str(path))


def test_json_lines_feeds_and_json_files_dropped_in_are_read(inbox: Path) -> None:
    drop(inbox, "a.jsonl", JSONL)
    drop(inbox, "b.xml", RSS_20)
    drop(inbox, "c.atom", ATOM)
    drop(inbox, "d.json", json.dumps([{"id": "j1", "title": "Gallium export ban"}]).encode())

    batch = poll_folder(folder_feed(inbox), inbox.parent)

    assert len(batch.items) == 2 + 3 + 2 + 1
    assert sorted(Path(p).name for p in batch.consumed) == ["a.jsonl", "b.xml", "c.atom", "d.json"]
    assert all(item.source in ("inbox",) for item in batch.items if item.id != "a1")


def test_files_still_being_written_hidden_or_partial_wait(inbox: Path) -> None:
    drop(inbox, "fresh.jsonl", JSONL, age_s=0)
    drop(inbox, ".hidden.jsonl", JSONL)
    drop(inbox, "upload.jsonl.part", JSONL)
    drop(inbox, "upload.tmp", JSONL)
    (inbox / "sub").mkdir()
    drop(inbox / "sub", "nested.jsonl", JSONL)

    batch = poll_folder(folder_feed(inbox), inbox.parent)

    assert batch.consumed == [] and batch.items == []
    assert SETTLE_S > 0


def test_a_file_that_cannot_be_read_goes_to_failed_with_its_reason(inbox: Path) -> None:
    drop(inbox, "notes.txt", b"hello")
    drop(inbox, "page.xml", b"<html><body>not a feed</body></html>")
    drop(inbox, "good.jsonl", JSONL)

    batch = poll_folder(folder_feed(inbox), inbox.parent)

    assert [Path(p).name for p in batch.consumed] == ["good.jsonl"]
    assert sorted(p.name for p in (inbox / "failed").iterdir()) == [
        "notes.txt",
        "notes.txt.error.txt",
        "page.xml",
        "page.xml.error.txt",
    ]
    reason = (inbox / "failed" / "notes.txt.error.txt").read_text()
    assert "unknown file type .txt" in reason
    assert any("page.xml moved to failed/" in w for w in batch.warnings)


def test_a_file_over_max_bytes_goes_to_failed(inbox: Path) -> None:
    drop(inbox, "huge.jsonl", JSONL * 100)
    feed = FeedConfig(name="inbox", kind="folder", url=str(inbox), max_bytes=len(JSONL))

    batch = poll_folder(feed, inbox.parent)

    assert batch.consumed == []
    assert "larger than" in (inbox / "failed" / "huge.jsonl.error.txt").read_text()


def test_a_missing_folder_is_a_retryable_error_and_a_file_is_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="no such folder") as missing:
        poll_folder(folder_feed(tmp_path / "nowhere"), tmp_path)
    drop(tmp_path, "file.jsonl", JSONL)
    with pytest.raises(FetchError, match="not a folder") as not_folder:
        poll_folder(folder_feed(tmp_path / "file.jsonl"), tmp_path)

    assert missing.value.retryable and not not_folder.value.retryable


def test_a_relative_folder_is_found_beside_the_config(tmp_path: Path) -> None:
    (tmp_path / "drop").mkdir()
    drop(tmp_path / "drop", "x.jsonl", JSONL)

    with httpx.Client() as client:
        result = poll_source(
            FeedConfig(name="d", kind="folder", url="drop"), None, client, UA, tmp_path
        )

    assert len(result.items) == 2 and not result.not_modified


def run_cycle(tmp_path: Path, inbox: Path) -> EmbeddedRuntime:
    config = f"""
state: sqlite:///{tmp_path / "state.db"}
watchlists: [{{name: semis, tickers: [NVDA], notify: [outbox]}}]
channels: {{outbox: {{type: file, path: {tmp_path / "outbox.jsonl"}}}}}
feeds: [{{name: inbox, kind: folder, url: {inbox}, every: 30s}}]
"""
    from worker.channels import build_channel

    settings = parse_settings(config, str(tmp_path / "pw.yaml"), {})
    channels = {n: build_channel(n, c) for n, c in settings.channels.items()}
    pipeline = Pipeline(settings, SqliteStore(tmp_path / "state.db"), channels)
    return EmbeddedRuntime(pipeline, httpx.Client())


def test_each_dropped_file_is_processed_once_then_moved_to_done(
    tmp_path: Path, inbox: Path
) -> None:
    story = {"id": "h20", "title": ALERTING_TITLE}
    drop(inbox, "push.jsonl", json.dumps(story).encode() + b"\n")
    runtime = run_cycle(tmp_path, inbox)
    try:
        first = runtime.run_once()
        drop(inbox, "push.jsonl", json.dumps(story).encode() + b"\n")  # the same name again
        second = runtime.run_once()
        third = runtime.run_once()
    finally:
        runtime.close()

    assert (first.new_items, first.alerts) == (1, 1)
    assert second.new_items == 0  # the same story, dropped twice, alerts once
    assert [p.status for p in third.polls] == ["not-modified"]
    assert not (inbox / "push.jsonl").exists()
    done = sorted(p.name for p in (inbox / "done").iterdir())
    assert len(done) == 2 and "push.jsonl" in done
    lines = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert len(lines) == 1


def test_a_file_read_but_not_yet_stored_is_read_again_after_a_crash(
    tmp_path: Path, inbox: Path
) -> None:
    drop(inbox, "push.jsonl", JSONL)
    runtime = run_cycle(tmp_path, inbox)
    try:
        # a poll whose items never reached process_items (the process died in between)
        runtime.pipeline.poll_feed(runtime.settings.feeds[0], runtime.client)
        assert (inbox / "push.jsonl").exists()
        report = runtime.run_once()
    finally:
        runtime.close()

    assert report.new_items == 2
    assert (inbox / "done" / "push.jsonl").exists()
