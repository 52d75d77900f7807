"""Item: built from raw fields, with an identity that stays the same across polls."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.errors import SourceError
from worker.models import Item
from worker.sources.text import clean_text, text_from

# Query parameters that say how a reader arrived, not what they read.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_hsenc",
        "_hsmi",
        "cmpid",
        "ocid",
        "smid",
    }
)
_TRACKING_PREFIXES = ("utm_", "at_", "pk_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BARE_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PUBLISHED_EXPECTED = "an ISO 8601 time, an RFC 822 date (as RSS writes it) or a YYYY-MM-DD date"


# Bounds on an item's text, in characters: a story needs far less, and a hostile source must
# not make every later stage (scoring, storing, rendering) carry megabytes per item.
MAX_TITLE_CHARS = 500
MAX_SUMMARY_CHARS = 10_000
MAX_CONTENT_CHARS = 100_000
MAX_ID_CHARS = 2_000


@dataclass(frozen=True, slots=True)
class ParsedItems:
    """What a parser made of one body: the good items, and what it had to skip or repair."""

    items: list[Item] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def canonical_link(link: str) -> str:
    """A link as an identity: scheme and host lowercased, default port, fragment and
    tracking parameters (utm_*, fbclid, ...) dropped. Other parameters keep their order."""
    link = link.strip()
    try:
        parts = urlsplit(link)
        port = parts.port
    except ValueError:
        return link
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return urlunsplit(parts._replace(fragment=""))
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if parts.username or parts.password:
        host = f"{parts.netloc.rsplit('@', 1)[0]}@{host}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [
        (key, value)
        for key, value in pairs
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept, doseq=True)
    return urlunsplit((scheme, host, parts.path or "/", query, ""))


def safe_link(link: str) -> str:
    """`link` if it is an absolute http(s) URL, else "": a feed's guid taken as a link
    ("item-42"), or a javascript: or data: URL, must not reach an alert."""
    link = link.strip()
    try:
        scheme = urlsplit(link).scheme.lower()
    except ValueError:
        return ""
    return link if scheme in _DEFAULT_PORTS and "://" in link else ""


def item_identity(guid: str, link: str, title: str, text: str, namespace: str = "") -> str:
    """An item's stable id: its guid, else its canonical link, else "sha256:" + a hash of its
    title and text.

    A guid that is not globally unique by its form (no scheme or colon, such as "1234") is
    only unique within its feed: it is prefixed with `namespace` (the feed's name), so that
    item 1234 of one feed never hides item 1234 of another in the seen store."""
    guid = guid.strip()
    if guid:
        return f"{namespace}:{guid}" if namespace and ":" not in guid else guid
    if link.strip():
        return canonical_link(link)
    digest = hashlib.sha256(f"{title.strip()}\x1f{text.strip()}".encode()).hexdigest()
    return f"sha256:{digest}"


def parse_published(value: object) -> datetime:
    """ISO 8601, RFC 822, a bare YYYY-MM-DD date or Unix seconds → an aware UTC datetime.

    A time without a zone is taken as UTC. Raises ValueError for anything else.
    """
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(value)
    text = value.strip()
    if _BARE_DATE.match(text):
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError) as exc:
            raise ValueError(value) from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _field(data: Mapping[str, object], name: str, *, required: bool = False) -> str:
    value = data.get(name)
    if value is None:
        if required:
            raise SourceError(f"{name}: missing; expected a non-empty string")
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and name == "id":
        return str(value)
    if not isinstance(value, str):
        raise SourceError(f"{name}: got {value!r:.60}; expected a string")
    if required and not value.strip():
        raise SourceError(f"{name}: empty; expected a non-empty string")
    return value


def item_from_mapping(data: Mapping[str, object], source: str) -> Item:
    """An Item from a JSON object: `id` and `title` required; `summary`, `content`, `link`,
    `published`, `source` and `language` optional. The item's own `source` wins over `source`.
    A link that is not an absolute http(s) URL is dropped.

    Summary and content may be HTML; they become plain text. Raises SourceError naming the
    field for a missing or malformed field.
    """
    if not isinstance(data, Mapping):
        raise SourceError(f"got {type(data).__name__}; expected a JSON object")
    published_raw = data.get("published")
    published = None
    if published_raw not in (None, ""):
        try:
            published = parse_published(published_raw)
        except (ValueError, OverflowError, OSError) as exc:
            raise SourceError(
                f"published: got {published_raw!r:.60}; expected {_PUBLISHED_EXPECTED}"
            ) from exc
    return Item(
        id=_field(data, "id", required=True).strip(),
        title=text_from(_field(data, "title", required=True)),
        summary=text_from(_field(data, "summary")),
        content=text_from(_field(data, "content")),
        link=safe_link(_field(data, "link")),
        published=published,
        source=clean_text(_field(data, "source")) or source,
        language=_field(data, "language").strip(),
    )


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ", limit // 2)
    return (head[:space] if space > 0 else head).rstrip() + "…"


def bounded(item: Item) -> Item:
    """`item` with its title, summary and content cut (at a word, with an ellipsis) to
    MAX_TITLE_CHARS, MAX_SUMMARY_CHARS and MAX_CONTENT_CHARS. A longer id is replaced by a
    hash of itself, so it stays stable and distinct."""
    item_id = item.id
    if len(item_id) > MAX_ID_CHARS:
        item_id = "sha256:" + hashlib.sha256(item_id.encode("utf-8", "replace")).hexdigest()
    title = _cut(item.title, MAX_TITLE_CHARS)
    summary = _cut(item.summary, MAX_SUMMARY_CHARS)
    content = _cut(item.content, MAX_CONTENT_CHARS)
    if (item_id, title, summary, content) == (item.id, item.title, item.summary, item.content):
        return item
    return replace(item, id=item_id, title=title, summary=summary, content=content)
