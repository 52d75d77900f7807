"""RSS (0.9x, 1.0, 2.0) and Atom bodies → Items, via feedparser, safely.

feedparser only ever gets bytes that are already in memory, never a URL or a path (a string
may make it open files or the network). Before it sees them, the body is converted to UTF-8
and its prolog is checked: a DOCTYPE that declares entities is refused with SourceError.

What counts as what:

- an ill-formed feed ("bozo") keeps every entry feedparser could recover; the fault becomes a
  warning;
- an empty body, or one with nothing but whitespace, comments and an XML declaration, is a
  feed with no items (and a warning): a server mid-deploy should not count as a failing feed;
- a document that is not a feed (an HTML page, a login form, some other XML) is a SourceError,
  so a feed that quietly turned into a web page shows up as failing.
"""

from __future__ import annotations

import calendar
import io
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import feedparser
from feedparser.encodings import convert_to_utf8

from worker.errors import SourceError
from worker.models import Item
from worker.sources.items import ParsedItems, item_identity, safe_link
from worker.sources.text import clean_text, text_from
from worker.sources.xmlguard import inspect_prolog

log = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_XML_ENCODING = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=", re.I)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"<\x00", b"\x00<")
_HIGH_RUN = re.compile(rb"[\x80-\xff]+")
_CJK = re.compile("[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uff00-\uffef]")


def parse_feed(
    body: bytes, source: str, headers: Mapping[str, str] | None = None, url: str = ""
) -> ParsedItems:
    """Parse an RSS or Atom body into Items; `source` names the feed on every item.

    `headers` are the HTTP response headers (their charset counts); `url` is where the body
    came from, for resolving relative links. Raises SourceError for a refused or non-feed
    document; see the module docstring for ill-formed and empty ones.
    """
    response_headers = {k.lower(): v for k, v in (headers or {}).items()}
    utf8, encoding, warnings = _to_utf8(body, response_headers)
    prolog = inspect_prolog(utf8)
    if not prolog.root and prolog.stray_text:
        raise SourceError("not an RSS or Atom feed: the body holds no XML element")
    if not prolog.root:
        warnings.append("empty document: no items")
        log.info("feed %s: empty document, no items", source)
        return ParsedItems([], warnings)
    if url and "content-location" not in response_headers:
        response_headers["content-location"] = url
    # The body is UTF-8 now, whatever it was; say so, so feedparser doesn't guess again.
    response_headers["content-type"] = "application/xml; charset=utf-8"
    # Items carry plain text only (html_to_text drops every tag, scripts included), so
    # feedparser's HTML sanitizer and URI rewriting would be work thrown away: ~40% of the time.
    parsed = feedparser.parse(
        io.BytesIO(utf8),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    if parsed.get("bozo"):
        fault = parsed.get("bozo_exception")
        warnings.append(f"ill-formed feed, kept what could be read: {fault}")
        log.info("feed %s is ill-formed (%s); kept %d entries", source, fault, len(parsed.entries))
    if not parsed.get("version") and not parsed.entries:
        what = "an HTML page" if prolog.root.lower() == "html" else f"a <{prolog.root}> document"
        raise SourceError(f"not an RSS or Atom feed: the body is {what}")
    language = str(parsed.feed.get("language") or "")
    items: list[Item] = []
    first_of_guid: dict[str, str] = {}
    for number, entry in enumerate(parsed.entries, 1):
        item = _item_from_entry(entry, source, language)
        if item is None:
            warnings.append(f"entry {number} skipped: no id, title, link or text")
            continue
        if entry.get("id"):
            item = _distinct_from_earlier(item, first_of_guid)
        items.append(item)
    log.debug("feed %s: %d items (%s)", source, len(items), encoding)
    return ParsedItems(items, warnings)


def _to_utf8(body: bytes, headers: dict[str, str]) -> tuple[bytes, str, list[str]]:
    """The body as UTF-8 bytes, its original encoding, and what was odd about it."""
    guessed = _guess_undeclared_encoding(body, headers)
    if guessed:
        note = f"no charset declared; decoded as {guessed} (guessed from the bytes)"
        return body.decode(guessed).encode("utf-8"), guessed, [note]
    result: dict[str, Any] = {}
    # feedparser's own RFC 3023 logic: HTTP charset, XML declaration, BOM, then fallbacks.
    utf8 = convert_to_utf8(headers, body, result)
    encoding = str(result.get("encoding") or "")
    if not isinstance(utf8, bytes) or not encoding:
        # Nothing fitted; Latin-1 maps every byte, so the scan and parse still see all of it.
        return body.decode("latin-1").encode("utf-8"), "latin-1", ["encoding unknown"]
    if result.get("bozo_exception"):
        # "declared as us-ascii, parsed as utf-8" and the like: routine, not worth a warning
        log.debug("encoding: %s", result["bozo_exception"])
    return utf8, encoding, []


def _guess_undeclared_encoding(body: bytes, headers: Mapping[str, str]) -> str:
    """GB18030 for an undeclared, non-UTF-8 body whose high bytes come in CJK-like pairs.

    feedparser would fall back to Windows-1252 here (it only detects more with chardet,
    which we don't ship). Chinese export-control notices are a source we care about, so one
    cheap check: every run of high-bit bytes has even length, strict GB18030 decodes it and
    the result is mostly CJK. Big5, Shift_JIS and EUC-KR bodies must declare a charset.
    """
    if "charset=" in headers.get("content-type", "").lower():
        return ""
    if body.isascii() or body.startswith(_BOMS) or _XML_ENCODING.match(body):
        return ""
    try:
        body.decode("utf-8")
        return ""
    except UnicodeDecodeError:
        pass
    if any(len(run.group(0)) % 2 for run in _HIGH_RUN.finditer(body)):
        return ""
    try:
        text = body.decode("gb18030")
    except UnicodeDecodeError:
        return ""
    high = sum(1 for char in text if ord(char) > 0x7F)
    cjk = len(_CJK.findall(text))
    return "gb18030" if high and cjk >= 0.8 * high else ""


def _distinct_from_earlier(item: Item, first_of_guid: dict[str, str]) -> Item:
    """A guid shared by different stories in one document gets each story's link added.

    SEC EDGAR lists one filing once per company involved (issuer and reporting owner) under
    one accession-number id; taken as is, the second company's entry would be dropped as
    already seen. The first entry keeps the bare guid, so the id stays the same when a page
    cut (newest first) had left only that one on an earlier poll.
    """
    story = item_identity("", item.link, item.title, item.body)
    if first_of_guid.setdefault(item.id, story) == story:
        return item
    return replace(item, id=f"{item.id}#{story}")


def _item_from_entry(entry: Any, source: str, feed_language: str) -> Item | None:
    title = _text(entry, "title")
    summary = _text(entry, "summary")
    content = ""
    language = ""
    for part in entry.get("content") or []:
        content = text_from(str(part.get("value") or ""), is_html=part.get("type") in _HTML_TYPES)
        language = str(part.get("language") or "")
        break
    link = safe_link(clean_text(str(entry.get("link") or "")))
    guid = clean_text(str(entry.get("id") or ""))
    if not (guid or link or title or summary or content):
        return None
    for key in ("title_detail", "summary_detail"):
        language = language or str((entry.get(key) or {}).get("language") or "")
    item = Item(
        id="",
        title=title,
        summary=summary,
        content=content,
        link=link,
        published=_published(entry),
        source=source,
        language=language or feed_language,
    )
    return replace(item, id=item_identity(guid, link, title, item.body, namespace=source))


def _text(entry: Any, key: str) -> str:
    value = str(entry.get(key) or "")
    detail = entry.get(f"{key}_detail") or {}
    return text_from(value, is_html=detail.get("type") in _HTML_TYPES)


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if isinstance(parsed, time.struct_time):
            try:
                return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
            except (OverflowError, OSError, ValueError):
                continue
    return None
