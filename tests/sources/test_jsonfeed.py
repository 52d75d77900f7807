"""JSON Feed 1.0 and 1.1: items, links, dates, untitled posts, bad items, detection."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.sources.conftest import USER_AGENT
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig
from worker.errors import SourceError
from worker.sources import poll_source
from worker.sources.jsonfeed import parse_json_feed

MakeFeed = Callable[..., FeedConfig]


def json_feed(*items: dict[str, Any], version: str = "1.1", **feed: Any) -> bytes:
    body = {
        "version": f"https://jsonfeed.org/version/{version}",
        "title": "Trade desk",
        "home_page_url": "https://trade.example.com/",
        "feed_url": "https://trade.example.com/feed.json",
        **feed,
        "items": list(items),
    }
    return json.dumps(body).encode()


STORY = {
    "id": "https://trade.example.com/2025/04/h20",
    "url": "https://trade.example.com/2025/04/h20?utm_source=feed",
    "title": "Nvidia says H20 now needs a licence",
    "summary": "A <b>$5.5 billion</b> charge follows.",
    "content_html": "<p>Nvidia said on Tuesday <script>alert(1)</script>the US told it…</p>",
    "date_published": "2025-04-15T21:05:00-04:00",
    "language": "en-US",
}


def test_a_json_feed_becomes_items_with_plain_text_and_utc_dates() -> None:
    (item,) = parse_json_feed(json_feed(STORY), "trade").items

    assert item.id == "https://trade.example.com/2025/04/h20"
    assert item.title == "Nvidia says H20 now needs a licence"
    assert item.summary == "A $5.5 billion charge follows."
    assert item.content == "Nvidia said on Tuesday the US told it…"
    assert item.link == "https://trade.example.com/2025/04/h20?utm_source=feed"
    assert item.published == datetime(2025, 4, 16, 1, 5, tzinfo=UTC)
    assert (item.source, item.language) == ("trade", "en-US")


def test_content_text_is_preferred_and_date_modified_stands_in_for_a_missing_date() -> None:
    story = {
        "id": 42,
        "content_text": "Plain words.",
        "content_html": "<p>Other words</p>",
        "title": "t",
        "date_modified": "2025-04-16",
    }

    (item,) = parse_json_feed(json_feed(story, version="1"), "trade").items

    assert item.id == "trade:42"  # JSON Feed 1.0 allowed numbers; a bare id is the feed's own
    assert item.content == "Plain words."
    assert item.published == datetime(2025, 4, 16, tzinfo=UTC)


def test_an_untitled_post_is_titled_by_the_start_of_its_text() -> None:
    words = "Commerce adds 80 entities to the Entity List, including " + "subsidiaries " * 20
    story = {"id": "p1", "content_text": words}

    (item,) = parse_json_feed(json_feed(story), "micro").items

    assert item.title.startswith("Commerce adds 80 entities to the Entity List")
    assert item.title.endswith("…") and len(item.title) <= 141


def test_relative_and_external_urls_become_absolute_links_and_unsafe_ones_are_dropped() -> None:
    relative = {"id": "r", "title": "r", "url": "/2025/r"}
    external = {"id": "e", "title": "e", "external_url": "https://other.example.org/e"}
    hostile = {"id": "h", "title": "h", "url": "javascript:alert(1)"}

    items = parse_json_feed(json_feed(relative, external, hostile), "trade").items

    assert [i.link for i in items] == [
        "https://trade.example.com/2025/r",
        "https://other.example.org/e",
        "",
    ]


def test_a_bad_item_is_skipped_or_repaired_with_a_warning_and_the_others_kept() -> None:
    body = json_feed(
        "not an object",
        {"summary": ""},
        {"id": "ok", "title": "Kept", "date_published": "last Tuesday"},
        STORY,
    )

    parsed = parse_json_feed(body, "trade")

    assert [i.id for i in parsed.items] == ["trade:ok", STORY["id"]]
    assert parsed.items[0].published is None
    assert parsed.warnings == [
        "item 1 skipped: got a JSON str; expected an object",
        "item 2 skipped: no id, url, title or text",
        "item 3: date_published 'last Tuesday' is not an RFC 3339 time; ignored",
    ]


@pytest.mark.parametrize(
    ("body", "fault"),
    [
        (b'{"version": "https://example.com/v1", "items": []}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', '"items" is missing'),
        (b"[1, 2]", "JSON list"),
        (b"<html></html>", "not valid JSON"),
        (b"\xff\xfe{", "not UTF-8"),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
def test_a_body_that_is_not_a_json_feed_is_an_error(body: bytes, fault: str) -> None:
    with pytest.raises(SourceError, match=fault):
        parse_json_feed(body, "trade")


def test_auto_recognises_a_json_feed_over_http(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/feed", Reply(json_feed(STORY), content_type="application/feed+json"))

    result = poll_source(make_feed(url), None, client, USER_AGENT)

    assert [i.title for i in result.items] == [STORY["title"]]


def test_auto_recognises_a_json_feed_served_as_plain_json_or_by_its_version(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    as_json = feed_server.serve("/a", Reply(json_feed(STORY), content_type="application/json"))
    untyped = feed_server.serve("/b", Reply(json_feed(STORY), content_type=""))

    for url in (as_json, untyped):
        assert len(poll_source(make_feed(url), None, client, USER_AGENT).items) == 1


def test_kind_jsonfeed_reads_a_json_feed_whatever_it_is_called(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/feed.xml", Reply(json_feed(STORY), content_type="text/plain"))

    result = poll_source(make_feed(url, kind="jsonfeed"), None, client, USER_AGENT)

    assert len(result.items) == 1
