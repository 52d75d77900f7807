"""Sources: where items come from. One module per kind, one registry, one entry point.

    scheme        fetched by         parsed by (feed.kind, or for auto by extension/type/content)
    http, https   http.fetch         feed.parse_feed (RSS, Atom), jsonl.parse_jsonl,
                                     jsonfeed.parse_json_feed or jsonl.parse_json_items
    file, a path  local.fetch_file   the same

    kind               what it adds
    jsonfeed           the body is read as a JSON Feed (1.0 or 1.1)
    federal_register   federal_register.parse_documents reads the API's documents.json
    edgar              read as Atom, then edgar.refine_filings (forms, company names)
    folder             folder.poll_folder reads each file dropped into a folder once

`poll_source` is the one call the pipeline makes. A new source kind is one module, one line in
a registry below and one test file. Every item leaves here cut to the bounds in items.py.
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
from worker.sources.edgar import refine_filings
from worker.sources.federal_register import parse_documents
from worker.sources.feed import parse_feed
from worker.sources.folder import mark_done, poll_folder
from worker.sources.http import FetchResult, fetch
from worker.sources.items import ParsedItems, bounded
from worker.sources.jsonfeed import looks_like_json_feed, parse_json_feed
from worker.sources.jsonl import parse_json_items, parse_jsonl
from worker.sources.local import fetch_file

__all__ = [
    "FORMATS",
    "KIND_FORMATS",
    "REFINERS",
    "SOURCE_KINDS",
    "FetchResult",
    "Fetcher",
    "PollResult",
    "choose_format",
    "mark_done",
    "poll_source",
    "scheme_of",
]

Format = Literal["rss", "jsonl", "jsonfeed", "json", "federal_register"]
Fetcher = Callable[[FeedConfig, FeedState | None, httpx.Client, str, Path], FetchResult]
Parser = Callable[[bytes, str, Mapping[str, str], str], ParsedItems]
Refiner = Callable[[ParsedItems, FeedConfig, bytes], ParsedItems]

_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".jsonlines")
_XML_SUFFIXES = (".xml", ".rss", ".atom", ".rdf")
_JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
_JSON_TYPES = ("application/json", "application/feed+json", "text/json")


@dataclass(frozen=True, slots=True)
class PollResult:
    """One poll of one source: the items it holds now (already-seen ones included; the caller
    drops those by id), or `not_modified` with no items. `etag` and `last_modified` are to be
    stored for the next poll; `permanent_url` is set after permanent redirects only.
    `consumed` lists the files a folder source read, for `mark_done` once items are stored."""

    items: list[Item]
    not_modified: bool
    etag: str
    last_modified: str
    status: int
    final_url: str
    warnings: list[str] = field(default_factory=list)
    permanent_url: str = ""
    consumed: tuple[str, ...] = ()


def _fetch_http(
    feed: FeedConfig, state: FeedState | None, client: httpx.Client, user_agent: str, _: Path
) -> FetchResult:
    return fetch(feed, state, client, user_agent, feed.max_bytes)


def _fetch_file(
    feed: FeedConfig, state: FeedState | None, _c: httpx.Client, _ua: str, base_dir: Path
) -> FetchResult:
    return fetch_file(feed, state, base_dir, feed.max_bytes)


def _parse_jsonl(body: bytes, source: str, _h: Mapping[str, str], _u: str) -> ParsedItems:
    return parse_jsonl(body, source)


def _parse_json(body: bytes, source: str, _h: Mapping[str, str], _u: str) -> ParsedItems:
    return parse_json_items(body, source)


SOURCE_KINDS: Mapping[str, Fetcher] = MappingProxyType(
    {"http": _fetch_http, "https": _fetch_http, "file": _fetch_file}
)
FORMATS: Mapping[Format, Parser] = MappingProxyType(
    {
        "rss": parse_feed,
        "jsonl": _parse_jsonl,
        "jsonfeed": parse_json_feed,
        "json": _parse_json,
        "federal_register": parse_documents,
    }
)
# The format a feed's `kind` names; `auto` is decided by choose_format, `folder` per file.
KIND_FORMATS: Mapping[str, Format] = MappingProxyType(
    {
        "rss": "rss",
        "jsonl": "jsonl",
        "jsonfeed": "jsonfeed",
        "federal_register": "federal_register",
        "edgar": "rss",
    }
)
REFINERS: Mapping[str, Refiner] = MappingProxyType({"edgar": refine_filings})


def scheme_of(url: str) -> str:
    """The registry key for a feed URL: its scheme, or "file" for a plain path."""
    scheme = urlsplit(url.strip()).scheme.lower()
    # "C:\\news\\feed.xml" parses with scheme "c": a drive letter, not a scheme
    return "file" if len(scheme) <= 1 else scheme


def choose_format(feed: FeedConfig, fetched: FetchResult) -> Format:
    """The format `feed.kind` names, or for `auto`: the file extension, then the Content-Type,
    then the first bytes of the body (a JSON Feed names its version; `{` means JSON Lines, `[`
    a JSON array of items); anything else is read as RSS/Atom."""
    if feed.kind in KIND_FORMATS:
        return KIND_FORMATS[feed.kind]
    head = (fetched.body or b"")[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    path = urlsplit(fetched.final_url or feed.url).path.lower()
    content_type = fetched.content_type.split(";", 1)[0].strip().lower()
    if path.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if path.endswith(_XML_SUFFIXES):
        return "rss"
    if content_type in _JSONL_TYPES:
        return "jsonl"
    if path.endswith(".json") or content_type in _JSON_TYPES:
        return "jsonfeed" if looks_like_json_feed(head) else "json"
    if "xml" in content_type:
        return "rss"
    if looks_like_json_feed(head):
        return "jsonfeed"
    if head.startswith(b"["):
        return "json"
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
    if feed.kind == "folder":
        return _poll_folder(feed, base_dir or Path.cwd())
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
        refine = REFINERS.get(feed.kind)
        if refine is not None:
            parsed = refine(parsed, feed, fetched.body)
    return PollResult(
        items=[bounded(i) for i in parsed.items],
        not_modified=fetched.body is None,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        status=fetched.status,
        final_url=fetched.final_url,
        warnings=parsed.warnings,
        permanent_url=fetched.permanent_url,
    )


def _poll_folder(feed: FeedConfig, base_dir: Path) -> PollResult:
    batch = poll_folder(feed, base_dir)
    return PollResult(
        items=[bounded(i) for i in batch.items],
        not_modified=not batch.consumed,
        etag="",
        last_modified="",
        status=200 if batch.consumed else 304,
        final_url=batch.folder.as_uri(),
        warnings=batch.warnings,
        consumed=tuple(batch.consumed),
    )
