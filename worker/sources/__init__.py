"""Sources: where items come from. One module per kind, one registry, one entry point.

    scheme        fetched by         parsed by (feed.kind, or for auto by extension/type/content)
    http, https   http.fetch         feed.parse_feed (RSS, Atom) or jsonl.parse_jsonl
    file, a path  local.fetch_file   the same

`poll_source` is the one call the pipeline makes. A new source kind is one module, one line in
SOURCE_KINDS and one test file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from urllib.parse import urlsplit

import httpx

from worker.config import FeedConfig
from worker.errors import SourceError
from worker.models import FeedState, Item
from worker.sources.feed import parse_feed
from worker.sources.http import FetchResult, fetch
from worker.sources.items import ParsedItems
from worker.sources.jsonl import parse_jsonl
from worker.sources.local import fetch_file

__all__ = [
    "FORMATS",
    "SOURCE_KINDS",
    "FetchResult",
    "Fetcher",
    "PollResult",
    "choose_format",
    "poll_source",
    "scheme_of",
]

Format = Literal["rss", "jsonl"]
Fetcher = Callable[[FeedConfig, FeedState | None, httpx.Client, str, Path], FetchResult]
Parser = Callable[[bytes, str, Mapping[str, str], str], ParsedItems]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
_XML_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
_JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll of one source: the items it holds now (already-seen ones included; the caller
    drops those by id), or `not_modified` with no items. `etag` and `last_modified` are to be
    stored for the next poll; `permanent_url` is set after permanent redirects only."""

    items: list[Item]
    not_modified: bool
    etag: str
    last_modified: str
    status: int
    final_url: str
    warnings: list[str] = field(default_factory=list)
    permanent_url: str = ""


def _fetch_http(
    feed: FeedConfig, state: FeedState | None, client: httpx.Client, user_agent: str, _: Path
) -> FetchResult:
    return fetch(feed, state, client, user_agent)


def _fetch_file(
    feed: FeedConfig, state: FeedState | None, _c: httpx.Client, _ua: str, base_dir: Path
) -> FetchResult:
    return fetch_file(feed, state, base_dir)


def _parse_jsonl(body: bytes, source: str, _h: Mapping[str, str], _u: str) -> ParsedItems:
    return parse_jsonl(body, source)


SOURCE_KINDS: Mapping[str, Fetcher] = MappingProxyType(
    {"http": _fetch_http, "https": _fetch_http, "file": _fetch_file}
)
FORMATS: Mapping[Format, Parser] = MappingProxyType({"rss": parse_feed, "jsonl": _parse_jsonl})


def scheme_of(url: str) -> str:
    """The registry key for a feed URL: its scheme, or "file" for a plain path."""
    scheme = urlsplit(url.strip()).scheme.lower()
    # "C:\\news\\feed.xml" parses with scheme "c": a drive letter, not a scheme
    return "file" if len(scheme) <= 1 else scheme


def choose_format(feed: FeedConfig, fetched: FetchResult) -> Format:
    """`feed.kind`, or for `auto`: the file extension, then the Content-Type, then the first
    byte of the body (`{` means JSON Lines); anything else is read as RSS/Atom."""
    if feed.kind != "auto":
        return feed.kind
    path = urlsplit(fetched.final_url or feed.url).path.lower()
    if path.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if path.endswith(_XML_SUFFIXES):
        return "rss"
    content_type = fetched.content_type.split(";", 1)[0].strip().lower()
    if content_type in _JSONL_TYPES:
        return "jsonl"
    if "xml" in content_type:
        return "rss"
    head = (fetched.body or b"")[:1024].removeprefix(b"\xef\xbb\xbf").lstrip()
    return "jsonl" if head.startswith(b"{") else "rss"


def poll_source(
    feed: FeedConfig,
    state: FeedState | None,
    client: httpx.Client,
    user_agent: str,
    base_dir: Path | None = None,
) -> PollResult:
    """Fetch `feed` (conditionally, when `state` holds validators) and parse what came back.

    `base_dir` resolves a relative file path (the config file's folder; default: the working
    folder). `client` is used for http(s) only. Raises SourceError for an unknown scheme or a
    body that cannot be read as a feed, FetchError (a SourceError) when fetching failed.
    """
    scheme = scheme_of(feed.url)
    fetcher = SOURCE_KINDS.get(scheme)
    if fetcher is None:
        known = ", ".join(sorted(SOURCE_KINDS))
        raise SourceError(
            f"{feed.url}: unknown URL scheme {scheme!r}; expected one of {known} (or a path)"
        )
    fetched = fetcher(feed, state, client, user_agent, base_dir or Path.cwd())
    if fetched.body is None:
        parsed = ParsedItems()
    else:
        parser = FORMATS[choose_format(feed, fetched)]
        parsed = parser(fetched.body, feed.name, fetched.headers, fetched.final_url)
    return PollResult(
        items=parsed.items,
        not_modified=fetched.body is None,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        status=fetched.status,
        final_url=fetched.final_url,
        warnings=parsed.warnings,
        permanent_url=fetched.permanent_url,
    )
