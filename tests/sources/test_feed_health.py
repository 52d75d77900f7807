"""Stale and failed sources are reported: statuses for `policywatch status`, and a log line."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.sources.feed_samples import RSS_20
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig, Settings, WatchlistConfig
from worker.feed_health import assess, describe, feed_health, report_changes
from worker.models import FeedState
from worker.pipeline import Pipeline
from worker.politeness import FAILING_SINCE, LAST_NEW_ITEM_AT, TRACKED_SINCE
from worker.store.sqlite import SqliteStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FEED = FeedConfig(name="wire", url="https://news.example/rss", every=300, stale_after=86_400)


def state(**fields: object) -> FeedState:
    base: dict[str, object] = {
        "name": "wire",
        "url": FEED.url,
        "last_polled_at": NOW - timedelta(minutes=1),
        "last_success_at": NOW - timedelta(minutes=1),
    }
    return FeedState(**{**base, **fields})  # type: ignore[arg-type]


def test_a_feed_not_polled_yet_is_new_and_needs_no_one() -> None:
    health = assess(FEED, None, NOW)

    assert (health.status, health.needs_attention) == ("new", False)


def test_a_feed_failing_briefly_is_retrying_and_for_long_is_failing() -> None:
    brief = state(
        consecutive_failures=2,
        last_error="HTTP 503",
        extra={FAILING_SINCE: (NOW - timedelta(minutes=5)).isoformat()},
    )
    long = state(
        consecutive_failures=9,
        last_error="HTTP 503",
        extra={FAILING_SINCE: (NOW - timedelta(hours=3)).isoformat()},
    )

    retrying, failing = assess(FEED, brief, NOW), assess(FEED, long, NOW)

    assert (retrying.status, retrying.needs_attention) == ("retrying", False)
    assert (failing.status, failing.needs_attention) == ("failing", True)
    assert failing.detail == "failing for 3h (9 failed polls in a row): HTTP 503"


def test_a_feed_with_no_new_items_for_longer_than_stale_after_is_silent() -> None:
    quiet = state(extra={LAST_NEW_ITEM_AT: (NOW - timedelta(days=2, hours=1)).isoformat()})
    lively = state(extra={LAST_NEW_ITEM_AT: (NOW - timedelta(hours=2)).isoformat()})
    never = state(extra={TRACKED_SINCE: (NOW - timedelta(days=3)).isoformat()})
    unwatched = FEED.model_copy(update={"stale_after": None})

    assert assess(FEED, quiet, NOW).detail == "no new items for 2d 1h (expected within 1d)"
    assert assess(FEED, lively, NOW).status == "ok"
    assert assess(FEED, never, NOW).status == "silent"
    assert assess(unwatched, quiet, NOW).status == "ok"


def test_a_disabled_feed_says_why() -> None:
    health = assess(FEED, state(disabled_reason="HTTP 410 Gone at 2026-03-01"), NOW)

    assert (health.status, health.detail) == ("disabled", "HTTP 410 Gone at 2026-03-01")


def test_a_feed_that_starts_needing_attention_is_logged_once_and_its_recovery_noted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = state(
        consecutive_failures=9,
        last_error="HTTP 503",
        extra={FAILING_SINCE: (NOW - timedelta(hours=3)).isoformat()},
    )

    with caplog.at_level(logging.INFO, logger="worker.feed_health"):
        seen = report_changes(feed_health([FEED], [failing], NOW), {})
        seen = report_changes(feed_health([FEED], [failing], NOW), seen)
        report_changes(feed_health([FEED], [state()], NOW), seen)

    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "feed wire is failing: failing for 3h (9 failed polls in a row): HTTP 503",
        "feed wire recovered: polled fine",
    ]
    assert caplog.records[0].levelno == logging.WARNING


def test_durations_read_at_a_glance() -> None:
    assert [
        describe(timedelta(seconds=s)) for s in (42, 720, 11_100, 3 * 86_400, 2 * 86_400 + 3600)
    ] == ["42s", "12m", "3h 5m", "3d", "2d 1h"]


def test_the_pipeline_records_failures_and_new_items_that_health_is_read_from(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path
) -> None:
    feed_server.serve("/ok", Reply(RSS_20))
    feed_server.serve("/down", Reply(status=502))
    ok = FeedConfig(name="ok", url=feed_server.url("/ok"), every=60, stale_after=3600)
    down = FeedConfig(name="down", url=feed_server.url("/down"), every=60)
    settings = Settings.model_validate(
        {"watchlists": [WatchlistConfig(name="s", tickers=["NVDA"])], "feeds": [ok, down]}
    )
    now = [NOW]
    pipeline = Pipeline(
        settings, SqliteStore(tmp_path / "s.db"), {}, clock=lambda: now[0], rng=random.Random(1)
    )

    for _ in range(4):
        for feed in (ok, down):
            outcome = pipeline.poll_feed(feed, client)
            if outcome.items:
                pipeline.process_items(feed.name, outcome.items)
        now[0] += timedelta(minutes=10)
    healths = {
        h.name: h for h in feed_health(settings.feeds, pipeline.store.list_feed_states(), now[0])
    }

    assert healths["ok"].status == "ok"
    assert healths["ok"].last_new_item_at == NOW
    assert healths["down"].status == "failing"
    assert "HTTP 502" in healths["down"].last_error
    now[0] += timedelta(hours=2)
    later = feed_health(settings.feeds, pipeline.store.list_feed_states(), now[0])
    assert later[0].status == "silent"


def test_policywatch_status_names_a_silent_feed(tmp_path: Path) -> None:
    from worker.status import collect_status

    settings = Settings.model_validate(
        {"watchlists": [WatchlistConfig(name="s", tickers=["NVDA"])], "feeds": [FEED]}
    )
    store = SqliteStore(tmp_path / "s.db")
    store.save_feed_state(
        state(extra={LAST_NEW_ITEM_AT: (NOW - timedelta(days=3)).isoformat()}, items_seen=9)
    )

    report = collect_status(settings, store, NOW)
    store.close()

    assert report.feeds[0].state == "silent"
    assert report.attention == ["feed wire is silent: no new items for 3d (expected within 1d)"]
