"""JSON Feed (1.0 and 1.1, https://www.jsonfeed.org/version/1.1/) bodies → Items.

An item's `id` is its identity (a number, as 1.0 allowed, becomes a string); `url`, else
`external_url`, is its link; `content_text` is preferred over `content_html`, which becomes
plain text. An item without a title (microblog posts have none) is titled by the start of its
text. `date_published`, else `date_modified`, is its time.

A bad item (not an object, nothing to identify it, an unreadable date) is skipped or repaired
with a warning, and the others kept. A body that is not a JSON Feed at all is a SourceError.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from worker.errors import SourceError
from worker.models import Item
from worker.sources.items import ParsedItems, item_identity, parse_published, safe_link
from worker.sources.text import clean_text, text_from

log = logging.getLogger(__name__)

VERSION_PREFIX = "https://jsonfeed.org/version/"
_UNTITLED_CHARS = 140


def looks_like_json_feed(head: bytes) -> bool:
    """True when the first bytes of a body name a JSON Feed version."""
    return b"jsonfeed.org/version" in head


def parse_json_feed(
    body: bytes, source: str, headers: Mapping[str, str] | None = None, url: str = ""
) -> ParsedItems:
    """Parse a JSON Feed into Items named after `source`; `url` (where the body came from)
    resolves relative item links. Raises SourceError for a body that is not a JSON Feed."""
    data = _load(body)
    version = data.get("version")
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise SourceError(f'not a JSON Feed: "version" is not {VERSION_PREFIX}1.1 (or 1)')
    entries = data.get("items")
    if not isinstance(entries, list):
        raise SourceError('not a JSON Feed: "items" is missing or not a list')
    base = _string(data, "feed_url") or url
    language = _string(data, "language")
    items: list[Item] = []
    warnings: list[str] = []
    for number, entry in enumerate(entries, 1):
        try:
            item, note = _item(entry, source, language, base)
        except SourceError as exc:
            warnings.append(f"item {number} skipped: {exc}")
            continue
        if note:
            warnings.append(f"item {number}: {note}")
        items.append(item)
    if warnings:
        log.info("feed %s: %d JSON Feed items, %d warnings", source, len(items), len(warnings))
    return ParsedItems(items, warnings)


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourceError(f"not a JSON Feed: not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"not a JSON Feed: not valid JSON ({exc.msg}, line {exc.lineno})"
        ) from exc
    except RecursionError as exc:
        raise SourceError("not a JSON Feed: nested too deeply") from exc
    if not isinstance(data, dict):
        raise SourceError(f"not a JSON Feed: the body is a JSON {type(data).__name__}")
    return data


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def _item(entry: object, source: str, language: str, base: str) -> tuple[Item, str]:
    if not isinstance(entry, dict):
        raise SourceError(f"got a JSON {type(entry).__name__}; expected an object")
    raw_id = entry.get("id")
    guid = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else ""
    link = ""
    for key in ("url", "external_url"):
        if not link and _string(entry, key):
            link = safe_link(urljoin(base, clean_text(_string(entry, key))))
    content = clean_text(_string(entry, "content_text")) or text_from(
        _string(entry, "content_html"), is_html=True
    )
    summary = text_from(_string(entry, "summary"))
    title = text_from(_string(entry, "title")) or _untitled(summary or content)
    if not (guid.strip() or link or title):
        raise SourceError("no id, url, title or text")
    published, note = None, ""
    for key in ("date_published", "date_modified"):
        value = entry.get(key)
        if published is None and value not in (None, ""):
            try:
                published = parse_published(value)
            except (ValueError, OverflowError, OSError):
                note = f"{key} {str(value)[:40]!r} is not an RFC 3339 time; ignored"
    item = Item(
        id="",
        title=title,
        summary=summary,
        content=content,
        link=link,
        published=published,
        source=source,
        language=_string(entry, "language") or language,
    )
    return replace(item, id=item_identity(guid, link, title, item.body, namespace=source)), note


def _untitled(text: str) -> str:
    if len(text) <= _UNTITLED_CHARS:
        return text
    cut = text[:_UNTITLED_CHARS].rsplit(" ", 1)[0]
    return cut + "…"
