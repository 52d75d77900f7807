"""Hostile and broken sources not covered elsewhere: a server that never answers, an external
entity naming a URL, an empty body, items built to hurt, and one cycle in which every kind of
bad source meets a good one that must still get through."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.sources.conftest import USER_AGENT
from tests.sources.feed_samples import RSS_20
from tests.support.feedserver import FeedServer, Reply
from worker.channels import build_channel
from worker.config import FeedConfig, parse_settings
from worker.errors import FetchError, SourceError
from worker.models import Notification
from worker.pipeline import Pipeline
from worker.rendering import render_notification
from worker.runtime.embedded import EmbeddedRuntime
from worker.sources import poll_source
from worker.sources.http import fetch
from worker.sources.items import MAX_TITLE_CHARS
from worker.store.sqlite import SqliteStore

MakeFeed = Callable[..., FeedConfig]


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_is_cut_off_by_the_deadline(
    silent_server: str, client: httpx.Client, make_feed: MakeFeed
) -> None:
    started = time.monotonic()

    with pytest.raises(FetchError, match="timed out") as caught:
        fetch(make_feed(silent_server, timeout_s=0.5), None, client, USER_AGENT)

    assert time.monotonic() - started < 1.5
    assert caught.value.retryable


def test_an_external_entity_naming_a_url_is_refused_without_fetching_it(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    secret = feed_server.serve("/secret", Reply(b"top secret", content_type="text/plain"))
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY leak SYSTEM "{secret}">]>'
        '<rss version="2.0"><channel><item><title>&leak;</title></item></channel></rss>'
    ).encode()
    url = feed_server.serve("/feed.xml", Reply(body))

    with pytest.raises(SourceError, match="declares entities"):
        poll_source(make_feed(url), None, client, USER_AGENT)

    assert feed_server.requests_to("/secret") == []


def test_an_empty_body_over_http_is_a_feed_with_no_items_not_a_failure(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/feed.xml", Reply(b""))

    result = poll_source(make_feed(url), None, client, USER_AGENT)

    assert result.items == []
    assert result.warnings == ["empty document: no items"]


HOSTILE_TITLE = (
    "Export curbs &lt;script&gt;alert('x')&lt;/script&gt; on Nvidia H20 chips"
    " \x1b[31mred\x1b[0m \x07bell\x00 " + "very " * 40_000
)


def hostile_feed(title: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>x</title>'
        f"<item><guid>hostile-1</guid><title>{title}</title>"
        "<link>javascript:alert(document.cookie)</link>"
        "<description>US adds export controls on Nvidia H20 chips to China, Commerce says."
        "</description></item></channel></rss>"
    ).encode()


def test_a_huge_title_with_control_characters_is_cut_and_cleaned(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/feed.xml", Reply(hostile_feed(HOSTILE_TITLE.replace("\x00", ""))))

    (item,) = poll_source(make_feed(url), None, client, USER_AGENT).items

    assert len(item.title) <= MAX_TITLE_CHARS and item.title.endswith("…")
    # the feed escaped the tag, so it is text, kept as such (and escaped when shown)
    assert item.title.startswith("Export curbs <script>alert('x')</script> on Nvidia H20 chips")
    assert not any(ord(c) < 32 for c in item.title)
    assert item.link == ""


def test_a_hostile_item_is_stored_clean_and_shown_escaped_on_every_channel(
    tmp_path: Path,
) -> None:
    title = HOSTILE_TITLE.replace("H20 chips", "H20 chips \u202eevil\u202c")
    (tmp_path / "news.xml").write_bytes(hostile_feed(title.replace("\x00", "")))
    config = f"""
state: sqlite:///{tmp_path / "s.db"}
watchlists: [{{name: semis, tickers: [NVDA], notify: [outbox]}}]
channels: {{outbox: {{type: file, path: {tmp_path / "outbox.jsonl"}}}}}
feeds: [{{name: news, url: news.xml}}]
"""
    settings = parse_settings(config, str(tmp_path / "pw.yaml"), {})
    channels = {n: build_channel(n, c) for n, c in settings.channels.items()}
    pipeline = Pipeline(settings, SqliteStore(tmp_path / "s.db"), channels)
    runtime = EmbeddedRuntime(pipeline, httpx.Client())
    try:
        report = runtime.run_once()
        delivery = pipeline.store.list_deliveries(limit=1)[0]
        alerts = tuple(pipeline.store.get_alerts(delivery.alert_ids))
    finally:
        runtime.close()
    note = Notification(delivery.id, "outbox", alerts)
    html = render_notification("email.html", note)
    text = render_notification("console.txt", note)
    line = json.loads((tmp_path / "outbox.jsonl").read_text().splitlines()[0])

    assert report.alerts == 1
    stored = alerts[0].title
    assert len(stored) <= MAX_TITLE_CHARS
    assert not any(c in stored for c in "\x1b\x07\u202e\u202c")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    assert "\x1b" not in text and "\u202e" not in text
    assert line["title"] == stored and line["link"] == ""


def test_one_cycle_survives_every_kind_of_bad_source_and_the_good_one_gets_through(
    feed_server: FeedServer, tmp_path: Path, silent_server: str
) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<rss><channel><item><title>&b;</title></item></channel></rss>"
    )
    bad = {
        "drip": Reply(RSS_20 * 50, drip_bytes=64, drip_interval_s=0.2),
        "huge": Reply(b"<rss>" + b" " * 6_000_000 + b"</rss>"),
        "html": Reply(b"<html><body>Login</body></html>", content_type="text/html"),
        "laughs": Reply(laughs),
        "broken": Reply(status=500),
        "gone": Reply(status=410),
        "limited": Reply(status=429, headers={"Retry-After": "120"}),
        "json": Reply(b'{"version": "nope"', content_type="application/feed+json"),
    }
    feeds = [
        {"name": name, "url": feed_server.serve(f"/{name}", reply), "timeout_s": 1}
        for name, reply in bad.items()
    ]
    feeds.append({"name": "silent", "url": silent_server, "timeout_s": 1})
    feeds.append({"name": "loop", "url": feed_server.redirect("/loop", "/loop")})
    feeds.append({"name": "ftp", "url": feed_server.redirect("/ftp", "ftp://example.com/x")})
    feeds.append({"name": "good", "url": feed_server.serve("/good", Reply(RSS_20))})
    config = {
        "state": f"sqlite:///{tmp_path / 's.db'}",
        "watchlists": [{"name": "semis", "tickers": ["NVDA"]}],
        "feeds": feeds,
    }
    settings = parse_settings(json.dumps(config), str(tmp_path / "pw.yaml"), {})
    runtime = EmbeddedRuntime(
        Pipeline(settings, SqliteStore(tmp_path / "s.db"), {}), httpx.Client()
    )
    started = time.monotonic()
    try:
        report = runtime.run_once()
    finally:
        runtime.close()

    statuses = {p.feed: p.status for p in report.polls}
    assert statuses.pop("good") == "new"
    assert statuses.pop("gone") == "disabled"
    assert set(statuses.values()) == {"error"}
    assert report.new_items == 3
    assert time.monotonic() - started < 5


def test_an_unexpected_fault_in_one_feed_stays_with_that_feed(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.pipeline

    real = worker.pipeline.poll_source

    def buggy(feed: FeedConfig, *args: object, **kwargs: object) -> object:
        if feed.name == "buggy":
            raise ZeroDivisionError("a bug in a parser")
        return real(feed, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker.pipeline, "poll_source", buggy)
    url = feed_server.serve("/good", Reply(RSS_20))
    config = {
        "watchlists": [{"name": "semis", "tickers": ["NVDA"]}],
        "feeds": [{"name": "buggy", "url": url}, {"name": "good", "url": url}],
    }
    settings = parse_settings(json.dumps(config), str(tmp_path / "pw.yaml"), {})
    runtime = EmbeddedRuntime(
        Pipeline(settings, SqliteStore(tmp_path / "s.db"), {}), httpx.Client()
    )
    try:
        report = runtime.run_once()
    finally:
        runtime.close()

    assert [(p.feed, p.status) for p in report.polls] == [("buggy", "error"), ("good", "new")]
    assert report.polls[0].error == "unexpected ZeroDivisionError"


def test_the_configured_max_bytes_cuts_off_any_kind_of_source(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed, tmp_path: Path
) -> None:
    big = RSS_20 * 20
    url = feed_server.serve("/big.xml", Reply(big))
    (tmp_path / "big.xml").write_bytes(big)

    for feed in (make_feed(url, max_bytes=len(RSS_20)), make_feed("big.xml", max_bytes=1000)):
        with pytest.raises(FetchError, match="larger than") as caught:
            poll_source(feed, None, client, USER_AGENT, tmp_path)
        assert caught.value.retryable
