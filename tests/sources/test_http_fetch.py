"""Fetching feeds from a live local HTTP server: validators, errors, caps, deadline, redirects."""

from __future__ import annotations

import gzip
import socket
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tests.sources.conftest import USER_AGENT
from tests.sources.feed_samples import RSS_20
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig
from worker.errors import FetchError
from worker.models import FeedState
from worker.retry_after import parse_retry_after
from worker.sources import poll_source
from worker.sources.http import fetch

MakeFeed = Callable[..., FeedConfig]
LAST_MODIFIED = "Mon, 02 Dec 2024 20:04:05 GMT"


def test_a_feed_is_fetched_with_our_user_agent_and_its_validators_are_kept(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/rss", Reply(RSS_20, etag='W/"v1"', last_modified=LAST_MODIFIED))

    result = fetch(make_feed(url), None, client, USER_AGENT)

    assert result.status == 200
    assert result.body == RSS_20
    assert (result.etag, result.last_modified) == ('W/"v1"', LAST_MODIFIED)
    assert result.final_url == url
    assert result.content_type.startswith("application/rss+xml")
    (request,) = feed_server.requests_to("/rss")
    assert request.headers["user-agent"] == USER_AGENT
    assert "gzip" in request.headers["accept-encoding"]
    assert "if-none-match" not in request.headers


def test_a_conditional_get_that_answers_304_is_not_modified_and_parses_nothing(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/rss", Reply(RSS_20, etag='"v1"', last_modified=LAST_MODIFIED))
    feed = make_feed(url)
    first = poll_source(feed, None, client, USER_AGENT)
    state = FeedState(feed.name, url, etag=first.etag, last_modified=first.last_modified)

    second = poll_source(feed, state, client, USER_AGENT)

    assert len(first.items) == 3
    assert second.not_modified
    assert second.status == 304
    assert second.items == []
    assert (second.etag, second.last_modified) == ('"v1"', LAST_MODIFIED)
    sent = feed_server.requests_to("/rss")[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == LAST_MODIFIED


def test_validators_of_an_old_url_are_not_sent_to_a_new_one(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/new", Reply(RSS_20, etag='"v1"'))
    state = FeedState("test-feed", "http://old.example/rss", etag='"v1"')

    result = fetch(make_feed(url), state, client, USER_AGENT)

    assert result.status == 200
    assert "if-none-match" not in feed_server.requests_to("/new")[0].headers


def test_a_500_is_retryable(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/rss", Reply(b"oops", status=500))

    with pytest.raises(FetchError, match="HTTP 500") as caught:
        fetch(make_feed(url), None, client, USER_AGENT)

    assert caught.value.retryable
    assert caught.value.retry_after_s is None


def test_a_429_carries_its_retry_after_seconds(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/rss", Reply(status=429, headers={"Retry-After": "120"}))

    with pytest.raises(FetchError) as caught:
        fetch(make_feed(url), None, client, USER_AGENT)

    assert caught.value.retryable
    assert caught.value.retry_after_s == 120.0


def test_a_503_with_a_retry_after_date_is_retryable_after_that_date(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(minutes=10), usegmt=True)
    url = feed_server.serve("/rss", Reply(status=503, headers={"Retry-After": when}))

    with pytest.raises(FetchError) as caught:
        fetch(make_feed(url), None, client, USER_AGENT)

    assert caught.value.retryable
    assert caught.value.retry_after_s is not None
    assert 590 <= caught.value.retry_after_s <= 600


def test_retry_after_accepts_seconds_and_dates_and_ignores_rubbish() -> None:
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)

    assert parse_retry_after("30", now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 12:01:00 GMT", now) == 60.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404])
def test_a_client_error_is_not_retryable(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed, status: int
) -> None:
    url = feed_server.serve("/rss", Reply(status=status))

    with pytest.raises(FetchError, match=f"HTTP {status}") as caught:
        fetch(make_feed(url), None, client, USER_AGENT)

    assert not caught.value.retryable


def test_a_410_is_not_retryable_and_says_the_feed_is_gone(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/rss", Reply(status=410))

    with pytest.raises(FetchError, match="gone") as caught:
        fetch(make_feed(url), None, client, USER_AGENT)

    assert not caught.value.retryable


def test_a_refused_connection_is_retryable(client: httpx.Client, make_feed: MakeFeed) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    with pytest.raises(FetchError) as caught:
        fetch(make_feed(f"http://127.0.0.1:{port}/rss"), None, client, USER_AGENT)

    assert caught.value.retryable


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "undeclared"])
def test_a_body_larger_than_max_bytes_is_cut_off_with_an_error(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed, content_length: bool
) -> None:
    url = feed_server.serve("/big", Reply(b"x" * 300_000, content_length=content_length))

    with pytest.raises(FetchError, match="larger than 100000 bytes"):
        fetch(make_feed(url), None, client, USER_AGENT, max_bytes=100_000)


def test_a_gzipped_feed_is_decompressed(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    reply = Reply(gzip.compress(RSS_20), headers={"Content-Encoding": "gzip"})
    url = feed_server.serve("/rss.gz", reply)

    result = poll_source(make_feed(url), None, client, USER_AGENT)

    assert len(result.items) == 3


def test_a_gzip_bomb_is_stopped_at_max_bytes_without_filling_memory(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    bomb = gzip.compress(b"\0" * 50_000_000, compresslevel=9)
    url = feed_server.serve("/bomb", Reply(bomb, headers={"Content-Encoding": "gzip"}))

    tracemalloc.start()
    try:
        with pytest.raises(FetchError, match="larger than 1000000 bytes"):
            fetch(make_feed(url), None, client, USER_AGENT, max_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert len(bomb) < 100_000
    assert peak < 10_000_000


def test_a_server_that_drips_bytes_is_stopped_by_the_overall_deadline(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/slow", Reply(RSS_20 * 10, drip_bytes=16, drip_interval_s=0.05))
    started = time.monotonic()

    with pytest.raises(FetchError, match="not finished within 1 s") as caught:
        fetch(make_feed(url, timeout_s=1.0), None, client, USER_AGENT)

    assert time.monotonic() - started < 2.0
    assert caught.value.retryable


def test_a_server_that_falls_silent_mid_body_is_cut_by_the_timeout(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/stuck", Reply(RSS_20, drip_bytes=100, drip_interval_s=5.0))
    started = time.monotonic()

    with pytest.raises(FetchError, match="timed out") as caught:
        fetch(make_feed(url, timeout_s=0.5), None, client, USER_AGENT)

    assert time.monotonic() - started < 1.5
    assert caught.value.retryable


def test_redirects_are_followed_and_a_permanent_one_is_reported(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    final = feed_server.serve("/v2/rss", Reply(RSS_20))
    feed_server.redirect("/v1/rss", "/v2/rss", status=301)
    start = feed_server.redirect("/rss", feed_server.url("/v1/rss"), status=308)

    result = poll_source(make_feed(start), None, client, USER_AGENT)

    assert result.final_url == final
    assert result.permanent_url == final
    assert len(result.items) == 3


def test_a_temporary_redirect_is_not_reported_as_a_move(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    feed_server.serve("/today", Reply(RSS_20))
    start = feed_server.redirect("/rss", "/today", status=302)

    result = fetch(make_feed(start), None, client, USER_AGENT)

    assert result.final_url == feed_server.url("/today")
    assert result.permanent_url == ""


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.com/feed.xml"])
def test_a_redirect_to_a_non_http_scheme_is_refused(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed, target: str
) -> None:
    url = feed_server.redirect("/rss", target)

    with pytest.raises(FetchError, match="only http and https") as caught:
        fetch(make_feed(url), None, client, USER_AGENT)

    assert not caught.value.retryable


def test_a_redirect_loop_stops_after_five_hops(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.redirect("/loop", "/loop")

    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(make_feed(url), None, client, USER_AGENT)

    assert len(feed_server.requests_to("/loop")) == 6
