"""Seen items are forgotten after `retention.seen`, so the store stays bounded, without ever
alerting an item twice while a feed still carries it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.feedserver import FeedServer
from tests.support.feedserver import Reply as FeedReply
from worker.config import Settings, parse_settings
from worker.errors import ConfigError
from worker.models import Item
from worker.pipeline import Pipeline
from worker.store.sqlite import SqliteStore

DAY = timedelta(days=1)
START = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def settings(retention: str = "retention: {seen: 30d}") -> Settings:
    text = f"""
watchlists:
  - name: semis
    tickers: [NVDA]
{retention}
"""
    return parse_settings(text, "test.yaml", {})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore(tmp_path / "state.db")
    yield opened
    opened.close()


def story(n: int) -> Item:
    return Item(id=f"story-{n}", title=f"US adds {n} Chinese firms to Entity List; Nvidia hit")


def run_days(pipeline: Pipeline, clock: FakeClock, days: int, carried: object) -> list[str]:
    """Each day: poll (the feed carries `carried(day)`), then prune. Returns ids scored new."""
    scored_ids: list[str] = []
    for day in range(days):
        clock.now = START + day * DAY
        items = carried(day)  # type: ignore[operator]
        if items is not None:
            scored, _ = pipeline.process_items("wire", items)
            scored_ids += [s.item.id for s in scored]
        pipeline.prune_seen()
    return scored_ids


def test_the_seen_store_stays_bounded_under_retention(store: SqliteStore) -> None:
    clock = FakeClock()
    pipeline = Pipeline(settings(), store, {}, clock=clock)
    # Five new stories a day; the feed shows the latest 20.
    scored = run_days(
        pipeline, clock, 120, lambda day: [story(n) for n in range(day * 5 - 15, day * 5 + 5)]
    )
    assert len(scored) == len(set(scored))  # nothing scored twice
    # 20 in the feed plus 30 days of what dropped out: a plateau, not 600 and growing.
    assert store.count_seen() <= 20 + 5 * 31
    assert store.count_seen() >= 5 * 30


def test_without_retention_every_id_is_kept(store: SqliteStore) -> None:
    clock = FakeClock()
    pipeline = Pipeline(settings("retention: {seen: null}"), store, {}, clock=clock)
    run_days(pipeline, clock, 60, lambda day: [story(day)])
    assert store.count_seen() == 60


def test_a_story_a_feed_keeps_for_months_is_alerted_once(store: SqliteStore) -> None:
    clock = FakeClock()
    pipeline = Pipeline(settings(), store, {}, clock=clock)
    pinned = Item(id="pinned", title="Commerce Department export controls: Nvidia guidance")
    scored = run_days(pipeline, clock, 100, lambda day: [pinned, story(day)])
    assert scored.count("pinned") == 1
    assert store.unseen(["pinned"]) == []


def test_a_feed_that_went_quiet_does_not_repeat_its_stories_when_it_changes(
    store: SqliteStore,
) -> None:
    clock = FakeClock()
    pipeline = Pipeline(settings(), store, {}, clock=clock)
    old = [story(1), story(2)]

    def carried(day: int) -> list[Item] | None:
        if day == 0:
            return old
        if day < 90:
            return None  # 304 Not Modified (or unreachable) for three months
        return [*old, story(3)]

    scored = run_days(pipeline, clock, 91, carried)
    assert scored == ["story-1", "story-2", "story-3"]


def test_a_story_that_left_the_feed_long_ago_is_forgotten(store: SqliteStore) -> None:
    clock = FakeClock()
    pipeline = Pipeline(settings(), store, {}, clock=clock)
    run_days(pipeline, clock, 40, lambda day: [story(0)] if day == 0 else [story(day)])
    assert store.unseen(["story-0", "story-39"]) == ["story-0"]


def test_retention_is_read_with_units_and_a_bad_value_names_the_field() -> None:
    assert settings("retention: {seen: 7d}").retention.seen == 7 * 86400
    assert settings("").retention.seen == 30 * 86400
    with pytest.raises(ConfigError) as caught:
        settings("retention: {seen: forever}")
    assert "retention.seen" in str(caught.value)
    assert "forever" in str(caught.value)


def test_run_once_forgets_what_no_feed_has_carried_for_the_retention(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    seeded = SqliteStore(db)
    long_ago = datetime.now(UTC) - 60 * DAY
    seeded.record_batch("wire", ["gone-1", "gone-2"], [], [], long_ago)
    seeded.close()
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>w</title>'
        b"<item><guid isPermaLink='false'>fresh-1</guid><title>Chips rise</title></item>"
        b"</channel></rss>"
    )
    with FeedServer() as feeds:
        feeds.serve("/wire.rss", FeedReply(body=rss))
        config = tmp_path / "policywatch.yaml"
        config.write_text(
            f"""
state: sqlite:///state.db
watchlists: [{{name: semis, tickers: [NVDA]}}]
feeds: [{{name: wire, url: "{feeds.url("/wire.rss")}"}}]
retention: {{seen: 30d}}
""",
            encoding="utf-8",
        )
        result = run_cli("run", "--once", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    store = SqliteStore(db)
    try:
        assert store.unseen(["gone-1", "gone-2", "wire:fresh-1"]) == ["gone-1", "gone-2"]
    finally:
        store.close()
