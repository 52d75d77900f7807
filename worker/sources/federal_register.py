"""Federal Register API answers (`/api/v1/documents.json`) → Items.

The request (agencies, document types, search term, newest first) is built from the feed's
settings in config.py; this module reads the answer. Each document becomes one item:

    id         https://www.federalregister.gov/d/<document number> (the register's own short link)
    title      the document's title
    summary    its abstract
    content    its type, action, agencies, document number and publication date, in words
    link       its html_url
    published  its publication date

A document without a document number is skipped with a warning. An answer that is not the
API's JSON (an error page, a `{"errors": ...}` object) is a SourceError.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from worker.errors import SourceError
from worker.models import Item
from worker.sources.items import ParsedItems, parse_published, safe_link
from worker.sources.text import clean_text, text_from

SHORT_LINK = "https://www.federalregister.gov/d/"


def parse_documents(
    body: bytes, source: str, headers: Mapping[str, str] | None = None, url: str = ""
) -> ParsedItems:
    """Parse a documents.json answer into Items named after `source`. Raises SourceError."""
    data = _load(body)
    if "errors" in data and not data.get("results"):
        raise SourceError(f"the Federal Register API refused the query: {_errors(data['errors'])}")
    results = data.get("results")
    if results is None and data.get("count") == 0:
        return ParsedItems()  # the API leaves "results" out when nothing matched
    if not isinstance(results, list):
        raise SourceError('not a Federal Register answer: "results" is missing or not a list')
    items: list[Item] = []
    warnings: list[str] = []
    for number, document in enumerate(results, 1):
        try:
            items.append(_item(document, source))
        except SourceError as exc:
            warnings.append(f"document {number} skipped: {exc}")
    return ParsedItems(items, warnings)


def _load(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise SourceError(f"not a Federal Register answer: not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise SourceError(f"not a Federal Register answer: a JSON {type(data).__name__}")
    return data


def _errors(errors: object) -> str:
    if isinstance(errors, dict):
        return "; ".join(f"{k}: {v}" for k, v in errors.items())[:300]
    return str(errors)[:300]


def _text(document: Mapping[str, Any], key: str) -> str:
    value = document.get(key)
    return text_from(value) if isinstance(value, str) else ""


def _agency_names(document: Mapping[str, Any]) -> list[str]:
    names = []
    for agency in document.get("agencies") or []:
        if isinstance(agency, dict):
            name = agency.get("name") or agency.get("raw_name")
            if isinstance(name, str) and name.strip():
                names.append(clean_text(name))
    return names


def _item(document: object, source: str) -> Item:
    if not isinstance(document, dict):
        raise SourceError(f"got a JSON {type(document).__name__}; expected an object")
    number = clean_text(str(document.get("document_number") or ""))
    if not number:
        raise SourceError("no document_number")
    published = None
    date = document.get("publication_date")
    if isinstance(date, str) and date.strip():
        try:
            published = parse_published(date)
        except ValueError:
            published = None
    kind = _text(document, "type")
    action = _text(document, "action")
    agencies = _agency_names(document)
    facts = [f"{kind}: {action}" if kind and action else kind or action]
    if agencies:
        facts.append("Agencies: " + ", ".join(agencies) + ".")
    facts.append(f"Federal Register document {number}")
    if published:
        facts[-1] += f", published {published:%Y-%m-%d}."
    return Item(
        id=SHORT_LINK + number,
        title=_text(document, "title") or f"Federal Register document {number}",
        summary=_text(document, "abstract"),
        content=" ".join(f for f in facts if f),
        link=safe_link(str(document.get("html_url") or "")) or SHORT_LINK + number,
        published=published,
        source=source,
        language="en",
    )
