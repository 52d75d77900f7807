"""Polling politely through the real pipeline: Retry-After kept across restarts, capped
backoff, 410 disables, 301/308 move the feed, a per-host cap, spread schedules."""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.sources.feed_samples import RSS_20
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig, Settings, WatchlistConfig
from worker.errors import FetchError
from worker.models import FeedState
from worker.pipeline import Pipeline
from worker.politeness import (
    HostLimiter,
    after_failure,
    backoff_s,
    interleave_by_host,
    phase_s,
)
from worker.runtime.embedded import EmbeddedRuntime
from worker.store.sqlite import SqliteStore

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WATCHLIST = WatchlistConfig(name="semis", tickers=["NVDA"])


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def to(self, when: datetime | None) -> None:
        assert when is not None
        self.now = when


def settings_for(*feeds: FeedConfig, **fields: object) -> Settings:
    return Settings.model_validate({"watchlists": [WATCHLIST], "feeds": list(feeds), **fields})


def make_pipeline(settings: Settings, db: Path, clock: FakeClock) -> Pipeline:
    return Pipeline(settings, SqliteStore(db), {}, clock=clock, rng=random.Random(7))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_retry_after_is_kept_across_a_restart_and_nothing_is_sent_before_it_passes(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path, clock: FakeClock
) -> None:
    url = feed_server.serve("/feed", Reply(status=429, headers={"Retry-After": "900"}))
    feed = FeedConfig(name="wire", url=url, every=60)
    settings = settings_for(feed)
    first = make_pipeline(settings, tmp_path / "s.db", clock)

    failed = first.poll_feed(feed, client)
    first.store.close()
    clock.advance(600)
    restarted = make_pipeline(settings, tmp_path / "s.db", clock)
    waiting = restarted.poll_feed(feed, client)
    state = restarted.store.get_feed_state("wire")
    clock.advance(300)
    retried = restarted.poll_feed(feed, client)

    assert failed.status == "error" and "retry after 900 s" in failed.error
    assert state is not None and state.next_poll_at == T0 + timedelta(seconds=900)
    assert waiting.status == "waiting" and "backing off until" in waiting.error
    assert retried.status == "error"
    assert len(feed_server.requests_to("/feed")) == 2


def test_a_retry_after_sooner_than_the_feeds_interval_does_not_hurry_the_next_poll(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path, clock: FakeClock
) -> None:
    url = feed_server.serve("/feed", Reply(status=503, headers={"Retry-After": "5"}))
    feed = FeedConfig(name="wire", url=url, every=300)
    pipeline = make_pipeline(settings_for(feed), tmp_path / "s.db", clock)

    pipeline.poll_feed(feed, client)
    state = pipeline.store.get_feed_state("wire")

    assert state is not None and state.next_poll_at is not None
    assert state.next_poll_at - T0 >= timedelta(seconds=270)


def test_failures_back_off_exponentially_up_to_the_cap_and_a_success_resets_it(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path, clock: FakeClock
) -> None:
    url = feed_server.serve("/feed", Reply(status=500))
    feed = FeedConfig(name="wire", url=url, every=60)
    pipeline = make_pipeline(
        settings_for(feed, polling={"backoff_max_s": "10m"}), tmp_path / "s.db", clock
    )

    waits = []
    for _ in range(7):
        pipeline.poll_feed(feed, client)
        state = pipeline.store.get_feed_state("wire")
        assert state is not None and state.next_poll_at is not None
        waits.append((state.next_poll_at - clock.now).total_seconds())
        clock.to(state.next_poll_at)
    feed_server.serve("/feed", Reply(RSS_20))
    pipeline.poll_feed(feed, client)
    healed = pipeline.store.get_feed_state("wire")

    for wait, expected in zip(waits, [60, 120, 240, 480, 600, 600, 600], strict=True):
        assert expected * 0.9 <= wait <= expected * 1.1
    assert healed is not None and healed.consecutive_failures == 0
    assert healed.next_poll_at == clock.now + timedelta(seconds=60)
    assert len(feed_server.requests_to("/feed")) == 8


def test_a_410_disables_the_feed_until_the_config_gives_it_another_url(
    feed_server: FeedServer,
    client: httpx.Client,
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    gone = feed_server.serve("/old", Reply(b"gone", status=410, content_type="text/plain"))
    fresh = feed_server.serve("/new", Reply(RSS_20))
    feed = FeedConfig(name="wire", url=gone, every=60)
    pipeline = make_pipeline(settings_for(feed), tmp_path / "s.db", clock)

    with caplog.at_level(logging.ERROR, logger="worker.pipeline"):
        disabled = pipeline.poll_feed(feed, client)
    clock.advance(86_400 * 30)
    still = pipeline.poll_feed(feed, client)
    moved = pipeline.poll_feed(feed.model_copy(update={"url": fresh}), client)

    assert disabled.status == still.status == "disabled"
    assert "410 Gone" in still.error
    assert len(feed_server.requests_to("/old")) == 1
    assert "feed wire disabled" in caplog.text
    assert moved.status == "new" and len(moved.items) == 3


@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_redirect_moves_the_feed_to_its_new_url(
    feed_server: FeedServer,
    client: httpx.Client,
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
    status: int,
) -> None:
    feed_server.serve("/v2/rss", Reply(RSS_20, etag='"v2"'))
    old = feed_server.redirect("/rss", "/v2/rss", status=status)
    feed = FeedConfig(name="wire", url=old, every=60)
    pipeline = make_pipeline(settings_for(feed), tmp_path / "s.db", clock)

    with caplog.at_level(logging.WARNING, logger="worker.pipeline"):
        pipeline.finish_poll(pipeline.poll_feed(feed, client))  # as every runtime does
    clock.advance(60)
    again = pipeline.poll_feed(feed, client)
    state = pipeline.store.get_feed_state("wire")

    assert state is not None and state.url == feed_server.url("/v2/rss")
    assert "moved permanently to" in caplog.text
    assert len(feed_server.requests_to("/rss")) == 1  # the second poll went straight there
    assert again.status == "not-modified"
    assert feed_server.requests_to("/v2/rss")[-1].headers["if-none-match"] == '"v2"'


def test_a_temporary_redirect_leaves_the_feed_where_it_is(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path, clock: FakeClock
) -> None:
    feed_server.serve("/today", Reply(RSS_20))
    url = feed_server.redirect("/rss", "/today", status=307)
    feed = FeedConfig(name="wire", url=url, every=60)
    pipeline = make_pipeline(settings_for(feed), tmp_path / "s.db", clock)

    pipeline.poll_feed(feed, client)
    pipeline.poll_feed(feed, client)

    state = pipeline.store.get_feed_state("wire")
    assert state is not None and state.url == url
    assert len(feed_server.requests_to("/rss")) == 2


def test_a_moved_feed_follows_the_config_again_when_the_config_url_changes(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path, clock: FakeClock
) -> None:
    feed_server.serve("/v2", Reply(RSS_20))
    feed_server.serve("/v3", Reply(RSS_20))
    feed = FeedConfig(name="wire", url=feed_server.redirect("/v1", "/v2", status=301), every=60)
    pipeline = make_pipeline(settings_for(feed), tmp_path / "s.db", clock)

    pipeline.poll_feed(feed, client)
    pipeline.poll_feed(feed.model_copy(update={"url": feed_server.url("/v3")}), client)

    assert len(feed_server.requests_to("/v3")) == 1


def test_no_more_than_max_per_host_fetches_run_at_once(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    slow = Reply(RSS_20, drip_bytes=len(RSS_20) // 3 + 1, drip_interval_s=0.1)
    feeds = [
        FeedConfig(name=f"f{i}", url=feed_server.serve(f"/f{i}", slow), every=60) for i in range(6)
    ]
    settings = settings_for(*feeds, polling={"max_per_host": 2, "max_fetches": 6})
    pipeline = Pipeline(settings, SqliteStore(tmp_path / "s.db"), {})
    runtime = EmbeddedRuntime(pipeline, httpx.Client())
    try:
        report = runtime.run_once()
    finally:
        runtime.close()

    assert [p.status for p in report.polls] == ["new"] * 6
    assert feed_server.max_in_flight == 2


def test_the_host_limiter_holds_callers_per_host_and_never_holds_files() -> None:
    limiter = HostLimiter(1)
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with limiter.slot("https://Example.com/a"):
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    entered.wait(5)
    other_host = _enters_within(limiter, "https://example.org/b")
    file_path = _enters_within(limiter, "/var/feeds/news.xml")
    same_host = _enters_within(limiter, "http://example.com:8080/c")
    release.set()
    holder.join()

    assert (other_host, file_path, same_host) == (True, True, False)


def _enters_within(limiter: HostLimiter, url: str, timeout_s: float = 0.2) -> bool:
    done = threading.Event()

    def enter() -> None:
        with limiter.slot(url):
            done.set()

    threading.Thread(target=enter, daemon=True).start()
    return done.wait(timeout_s)


def test_feeds_on_many_hosts_are_taken_round_robin_and_keep_their_order_per_host() -> None:
    feeds = [
        FeedConfig(name=n, url=u)
        for n, u in [
            ("a1", "https://a.example/1"),
            ("a2", "https://a.example/2"),
            ("a3", "https://a.example/3"),
            ("b1", "https://b.example/1"),
            ("local", "news.xml"),
        ]
    ]

    assert [f.name for f in interleave_by_host(feeds)] == ["a1", "b1", "local", "a2", "a3"]


def test_feeds_with_one_interval_are_spread_across_it_and_keep_their_phase() -> None:
    phases = [phase_s(f"feed-{i}", 300) for i in range(200)]

    assert all(0 <= p < 300 for p in phases)
    assert min(phases) < 15 and max(phases) > 285
    assert len({round(p) for p in phases}) > 120  # ~146 expected of 200 draws in 300 slots
    assert phase_s("feed-7", 300) == phases[7]


def test_backoff_is_never_shorter_than_the_interval_nor_longer_than_the_cap() -> None:
    rng = random.Random(3)

    assert 0.9 * 3600 <= backoff_s(1, 3600, 600, rng) <= 1.1 * 3600  # interval over the cap
    assert backoff_s(500, 60, 600, rng) <= 660  # no overflow, capped


def test_a_retry_after_beyond_a_day_is_capped() -> None:
    state = FeedState("wire", "https://example.com/feed")
    feed = FeedConfig(name="wire", url=state.url, every=60)
    error = FetchError("429", retry_after_s=10 * 86_400.0, status=429)

    waited = after_failure(state, feed, error, T0, random.Random(1), 3600)

    assert waited.next_poll_at == T0 + timedelta(days=1)


def test_a_retry_after_longer_than_the_interval_is_waited_out_then_polled_within_seconds(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    url = feed_server.serve("/feed", Reply(status=429, headers={"Retry-After": "3"}))
    feed = FeedConfig(name="wire", url=url, every=1)
    pipeline = Pipeline(settings_for(feed), SqliteStore(tmp_path / "s.db"), {})
    runtime = EmbeddedRuntime(pipeline, httpx.Client())
    stop = threading.Event()
    runner = threading.Thread(target=runtime.run_forever, args=(stop,))
    seen_at: list[float] = []
    runner.start()
    try:
        deadline = time.monotonic() + 15
        while len(seen_at) < 2 and time.monotonic() < deadline:
            if len(feed_server.requests_to("/feed")) > len(seen_at):
                seen_at.append(time.monotonic())
            time.sleep(0.01)
    finally:
        stop.set()
        runtime.wake()
        runner.join(10)
        runtime.close()

    assert len(seen_at) == 2  # polled at start-up, then again after the Retry-After
    assert 2.9 <= seen_at[1] - seen_at[0] <= 3 + 2.0
