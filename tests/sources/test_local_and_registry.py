"""Local files and the source registry: paths, file URLs, formats, unchanged files, schemes."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.sources.conftest import USER_AGENT
from tests.sources.feed_samples import ATOM, JSONL, RSS_20
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig
from worker.errors import FetchError, SourceError
from worker.models import FeedState
from worker.sources import SOURCE_KINDS, PollResult, poll_source
from worker.sources.local import fetch_file

MakeFeed = Callable[..., FeedConfig]


def _state_after(feed: FeedConfig, result: PollResult) -> FeedState:
    return FeedState(feed.name, feed.url, etag=result.etag, last_modified=result.last_modified)


def test_a_relative_path_is_read_from_the_config_folder(
    tmp_path: Path, client: httpx.Client, make_feed: MakeFeed
) -> None:
    (tmp_path / "news").mkdir()
    (tmp_path / "news" / "wire.xml").write_bytes(RSS_20)

    result = poll_source(make_feed("news/wire.xml"), None, client, USER_AGENT, tmp_path)

    assert len(result.items) == 3
    assert result.final_url == (tmp_path / "news" / "wire.xml").as_uri()
    assert result.last_modified.endswith("GMT")


def test_a_file_url_is_read(tmp_path: Path, client: httpx.Client, make_feed: MakeFeed) -> None:
    path = tmp_path / "bis feed.atom"
    path.write_bytes(ATOM)

    result = poll_source(make_feed(path.as_uri()), None, client, USER_AGENT)

    assert [item.title for item in result.items][1] == "Only updated"


def test_an_unchanged_file_is_not_modified_and_a_changed_one_is_read_again(
    tmp_path: Path, client: httpx.Client, make_feed: MakeFeed
) -> None:
    path = tmp_path / "bundle.jsonl"
    path.write_bytes(JSONL)
    feed = make_feed(str(path))
    first = poll_source(feed, None, client, USER_AGENT)

    unchanged = poll_source(feed, _state_after(feed, first), client, USER_AGENT)
    path.write_bytes(JSONL + b'{"id": "a3", "title": "Third"}\n')
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    changed = poll_source(feed, _state_after(feed, first), client, USER_AGENT)

    assert [item.id for item in first.items] == ["a1", "a2"]
    assert unchanged.not_modified and unchanged.items == []
    assert not changed.not_modified
    assert [item.id for item in changed.items] == ["a1", "a2", "a3"]


def test_a_missing_file_is_a_retryable_fetch_error(tmp_path: Path, make_feed: MakeFeed) -> None:
    with pytest.raises(FetchError, match="no such file") as caught:
        fetch_file(make_feed("absent.xml"), None, tmp_path)

    assert caught.value.retryable


def test_a_folder_is_not_a_feed_file(tmp_path: Path, make_feed: MakeFeed) -> None:
    with pytest.raises(FetchError, match="not a regular file") as caught:
        fetch_file(make_feed(str(tmp_path)), None, tmp_path)

    assert not caught.value.retryable


def test_a_file_over_max_bytes_is_refused(tmp_path: Path, make_feed: MakeFeed) -> None:
    (tmp_path / "big.xml").write_bytes(b" " * 2_000)

    with pytest.raises(FetchError, match="larger than 1000 bytes"):
        fetch_file(make_feed("big.xml"), None, tmp_path, max_bytes=1_000)


def test_a_file_url_naming_another_host_is_refused(tmp_path: Path, make_feed: MakeFeed) -> None:
    with pytest.raises(SourceError, match="must not name a host"):
        fetch_file(make_feed("file://fileserver/share/feed.xml"), None, tmp_path)


def test_kind_decides_the_format_over_the_extension(
    tmp_path: Path, client: httpx.Client, make_feed: MakeFeed
) -> None:
    (tmp_path / "export.txt").write_bytes(JSONL)
    (tmp_path / "feed.data").write_bytes(RSS_20)

    as_jsonl = poll_source(
        make_feed("export.txt", kind="jsonl"), None, client, USER_AGENT, tmp_path
    )
    as_rss = poll_source(make_feed("feed.data", kind="rss"), None, client, USER_AGENT, tmp_path)

    assert [item.id for item in as_jsonl.items] == ["a1", "a2"]
    assert len(as_rss.items) == 3


def test_auto_reads_json_lines_by_content_when_the_name_says_nothing(
    tmp_path: Path, client: httpx.Client, make_feed: MakeFeed
) -> None:
    (tmp_path / "export").write_bytes(JSONL)

    result = poll_source(make_feed("export"), None, client, USER_AGENT, tmp_path)

    assert [item.id for item in result.items] == ["a1", "a2"]


def test_json_lines_over_http_are_recognised_by_content_type(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    url = feed_server.serve("/api/latest", Reply(JSONL, content_type="application/x-ndjson"))

    result = poll_source(make_feed(url), None, client, USER_AGENT)

    assert [item.id for item in result.items] == ["a1", "a2"]
    assert result.status == 200


def test_an_unknown_scheme_is_an_error_that_lists_the_valid_ones(
    client: httpx.Client, make_feed: MakeFeed
) -> None:
    with pytest.raises(SourceError, match="'ftp'; expected one of file, http, https"):
        poll_source(make_feed("ftp://example.com/feed.xml"), None, client, USER_AGENT)


def test_the_registry_names_every_supported_scheme() -> None:
    assert sorted(SOURCE_KINDS) == ["file", "http", "https"]


def test_an_html_page_at_a_feed_url_fails_the_poll(
    feed_server: FeedServer, client: httpx.Client, make_feed: MakeFeed
) -> None:
    page = b"<!doctype html><html><body><h1>Welcome</h1></body></html>"
    url = feed_server.serve("/feed", Reply(page, content_type="text/html; charset=utf-8"))

    with pytest.raises(SourceError, match="HTML page"):
        poll_source(make_feed(url), None, client, USER_AGENT)


def test_parse_warnings_reach_the_poll_result(
    tmp_path: Path, client: httpx.Client, make_feed: MakeFeed
) -> None:
    (tmp_path / "mixed.jsonl").write_bytes(JSONL + b"{broken\n")

    result = poll_source(make_feed("mixed.jsonl"), None, client, USER_AGENT, tmp_path)

    assert len(result.items) == 2
    (warning,) = result.warnings
    assert warning.startswith("line 4 skipped: not valid JSON: Expecting property name")
