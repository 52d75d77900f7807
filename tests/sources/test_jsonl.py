"""JSON Lines bodies: good lines kept, bad ones skipped and named by line number."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.sources.feed_samples import JSONL
from worker.errors import SourceError
from worker.sources.jsonl import parse_jsonl


def test_json_lines_become_items_in_order() -> None:
    parsed = parse_jsonl(JSONL, "bundle")

    assert [item.id for item in parsed.items] == ["a1", "a2"]
    assert parsed.items[0].published == datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)
    assert parsed.items[1].published == datetime(2024, 9, 6, 9, 0, tzinfo=UTC)
    assert parsed.warnings == []


def test_one_bad_line_is_skipped_with_its_number_and_the_others_kept() -> None:
    body = (
        b'{"id": "1", "title": "first"}\n'
        b'{"id": "2", "title": \n'
        b'["not", "an", "object"]\n'
        b'{"id": "4", "title": "bad date", "published": "soon"}\n'
        b'{"id": "5", "title": "last"}'
    )

    parsed = parse_jsonl(body, "bundle")

    assert [item.id for item in parsed.items] == ["1", "5"]
    assert [w.split(" skipped")[0] for w in parsed.warnings] == ["line 2", "line 3", "line 4"]
    assert "published" in parsed.warnings[2]


def test_a_line_that_is_not_utf8_is_skipped() -> None:
    body = b'{"id": "1", "title": "caf\xe9"}\n{"id": "2", "title": "ok"}\n'

    parsed = parse_jsonl(body, "bundle")

    assert [item.id for item in parsed.items] == ["2"]
    assert parsed.warnings[0].startswith("line 1 skipped: not UTF-8")


def test_a_body_with_no_good_line_is_not_json_lines() -> None:
    with pytest.raises(SourceError, match="no valid JSON Lines item"):
        parse_jsonl(b"<html><body>Service unavailable</body></html>\n", "bundle")


def test_an_empty_body_has_no_items() -> None:
    assert parse_jsonl(b"\n\n", "bundle").items == []


def test_a_byte_order_mark_and_windows_line_ends_are_accepted() -> None:
    body = b'\xef\xbb\xbf{"id": "1", "title": "one"}\r\n{"id": "2", "title": "two"}\r\n'

    assert [item.title for item in parse_jsonl(body, "bundle").items] == ["one", "two"]
