"""JSON Lines bodies → Items: one JSON object per line, in the `policywatch score` shape.
(`parse_json_items` reads the same objects from one JSON object or array.)

A bad line (not UTF-8, not JSON, not an object, a missing or malformed field) is skipped with
a warning that names its line number; the other lines are kept. A body in which every
non-blank line is bad is not JSON Lines at all (an HTML error page, say): SourceError.
"""

from __future__ import annotations

import json
import logging

from worker.errors import SourceError
from worker.models import Item
from worker.sources.items import ParsedItems, item_from_mapping

log = logging.getLogger(__name__)


def parse_jsonl(body: bytes, source: str) -> ParsedItems:
    """Parse JSON Lines into Items; `source` is used for items that name no source."""
    items: list[Item] = []
    warnings: list[str] = []
    lines = body.removeprefix(b"\xef\xbb\xbf").split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            items.append(item_from_mapping(_object_at(raw), source))
        except SourceError as exc:
            warnings.append(f"line {number} skipped: {exc}")
            log.info("%s: line %d skipped: %s", source, number, exc)
    if warnings and not items:
        raise SourceError(f"no valid JSON Lines item in the body; first fault: {warnings[0]}")
    return ParsedItems(items, warnings)


def _object_at(raw: bytes) -> dict[str, object]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(f"not valid JSON: {exc.msg} (column {exc.colno})") from exc
    except RecursionError as exc:
        raise SourceError("not valid JSON: nested too deeply") from exc
    if not isinstance(data, dict):
        raise SourceError(f"got a JSON {type(data).__name__}; expected an object")
    return data


def parse_json_items(body: bytes, source: str) -> ParsedItems:
    """One JSON object, or a JSON array of them, in the JSON Lines item shape → Items.

    A bad element is skipped with a warning naming its index; a body that is not JSON, or in
    which no element is good, is a SourceError.
    """
    try:
        data = json.loads(body.removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise SourceError(f"not UTF-8 (byte {exc.start})") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(f"not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    except RecursionError as exc:
        raise SourceError("not valid JSON: nested too deeply") from exc
    elements = data if isinstance(data, list) else [data]
    items: list[Item] = []
    warnings: list[str] = []
    for index, element in enumerate(elements):
        try:
            items.append(item_from_mapping(element, source))
        except SourceError as exc:
            warnings.append(f"element {index} skipped: {exc}")
    if warnings and not items:
        raise SourceError(f"no valid item in the JSON body; first fault: {warnings[0]}")
    return ParsedItems(items, warnings)
