"""A POST /v1/items body → Items: a JSON object, a JSON array of objects, or JSON Lines.

Each object has the `policywatch score` item shape: `id` and `title` required; `summary`,
`content`, `link`, `published`, `source` and `language` optional; other fields are ignored.
The body is taken whole or not at all: one bad element rejects the request (422), naming up to
MAX_PROBLEMS elements by index (and line, for JSON Lines) and field, so the sender can fix it
and send it again without wondering which half arrived.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from worker.errors import SourceError
from worker.models import Item
from worker.sources.items import bounded, item_from_mapping

MediaType = Literal["json", "jsonl"]
JSON_TYPES = ("application/json",)
JSONL_TYPES = (
    "application/x-ndjson",
    "application/jsonl",
    "application/json-lines",
    "application/jsonlines",
)
MAX_PROBLEMS = 20


class RejectedBody(SourceError):
    """A request the server answers with `status` (4xx): `code` for programs, `detail` for
    people, `problems` naming the bad elements."""

    def __init__(
        self, status: int, code: str, detail: str, problems: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.problems = problems or []

    def answer(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.code, "detail": self.detail}
        if self.problems:
            out["problems"] = self.problems
        return out


def media_type_of(content_type: str) -> MediaType:
    """ "json" or "jsonl" for a Content-Type header; RejectedBody (415) for anything else."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in JSON_TYPES:
        return "json"
    if media in JSONL_TYPES:
        return "jsonl"
    accepted = ", ".join((*JSON_TYPES, *JSONL_TYPES))
    raise RejectedBody(
        415,
        "unsupported_media_type",
        f"Content-Type {media or '(none)'!r} is not accepted; send one of {accepted}",
    )


def items_from_body(body: bytes, media: MediaType, source: str) -> list[Item]:
    """Every item in `body`, validated and bounded; `source` names items that name none.

    Raises RejectedBody (422) for a body that is not UTF-8 JSON of the right shape, holds no
    item, or holds any element that is not a valid item.
    """
    try:
        text = body.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RejectedBody(
            422, "invalid_json", f"the body is not UTF-8 (byte {exc.start})"
        ) from exc
    elements = _json_elements(text) if media == "json" else _jsonl_elements(text)
    items: list[Item] = []
    problems: list[dict[str, Any]] = []
    for where, element in elements:
        try:
            if not isinstance(element, dict):
                raise SourceError(f"got a JSON {type(element).__name__}; expected an object")
            items.append(bounded(item_from_mapping(element, source)))
        except SourceError as exc:
            problems.append({**where, "problem": str(exc)})
    if problems:
        shown = problems[:MAX_PROBLEMS]
        more = f" (first {len(shown)} shown)" if len(problems) > len(shown) else ""
        raise RejectedBody(
            422,
            "invalid_items",
            f"{len(problems)} of {len(elements)} items are not valid{more}; nothing was stored",
            shown,
        )
    if not items:
        raise RejectedBody(422, "no_items", "the body holds no item")
    return items


def _json_elements(text: str) -> list[tuple[dict[str, Any], object]]:
    data = _decode(text, where="the body")
    if isinstance(data, dict):
        return [({"index": 0}, data)]
    if isinstance(data, list):
        return [({"index": i}, element) for i, element in enumerate(data)]
    raise RejectedBody(
        422,
        "invalid_json",
        f"the body is a JSON {type(data).__name__}; expected an object or an array of objects",
    )


def _jsonl_elements(text: str) -> list[tuple[dict[str, Any], object]]:
    elements: list[tuple[dict[str, Any], object]] = []
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            where = {"index": len(elements), "line": number}
            elements.append((where, _decode(line, where=f"line {number}")))
    return elements


def _decode(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RejectedBody(
            422, "invalid_json", f"{where} is not valid JSON: {exc.msg} (column {exc.colno})"
        ) from exc
    except RecursionError as exc:
        raise RejectedBody(422, "invalid_json", f"{where} is nested too deeply") from exc
