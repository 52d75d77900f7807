"""Items from JSON objects: required fields, dates, identity and text clean-up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.errors import SourceError
from worker.sources.items import canonical_link, item_from_mapping, item_identity
from worker.sources.text import clean_text, fix_mojibake, html_to_text


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("2024-12-02T15:04:05-05:00", datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)),
        ("2024-12-02T20:04:05Z", datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)),
        ("2024-12-02 20:04", datetime(2024, 12, 2, 20, 4, tzinfo=UTC)),
        ("Mon, 02 Dec 2024 15:04:05 -0500", datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)),
        ("Mon, 02 Dec 2024 20:04:05 GMT", datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)),
        ("2 Dec 2024 15:04:05 EST", datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)),
        ("2024-12-02", datetime(2024, 12, 2, tzinfo=UTC)),
    ],
    ids=["iso-offset", "iso-z", "iso-naive", "rfc822", "rfc822-gmt", "rfc822-est", "bare-date"],
)
def test_published_is_read_in_iso_rfc822_and_bare_date_forms(
    published: str, expected: datetime
) -> None:
    item = item_from_mapping({"id": "1", "title": "t", "published": published}, "s")

    assert item.published == expected
    assert item.published is not None and item.published.utcoffset() is not None


def test_a_bad_published_value_names_the_field() -> None:
    with pytest.raises(SourceError, match="published: got 'next Tuesday'"):
        item_from_mapping({"id": "1", "title": "t", "published": "next Tuesday"}, "s")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "no id"}, "id: missing"),
        ({"id": "1"}, "title: missing"),
        ({"id": " ", "title": "t"}, "id: empty"),
        ({"id": "1", "title": ["list"]}, "title: got"),
        ({"id": "1", "title": "t", "summary": 5}, "summary: got 5"),
    ],
)
def test_a_missing_or_malformed_field_is_named(data: dict[str, object], message: str) -> None:
    with pytest.raises(SourceError, match=message):
        item_from_mapping(data, "s")


def test_optional_fields_are_cleaned_and_the_items_own_source_wins() -> None:
    item = item_from_mapping(
        {
            "id": 42,
            "title": "Entity List &amp; chips",
            "summary": "<p>BIS adds <b>firms</b></p><p>to the list</p>",
            "content": "plain text   with\tgaps",
            "link": "https://example.com/a",
            "source": "Reuters",
            "extra": "ignored",
        },
        "bundle",
    )

    assert item.id == "42"
    assert item.title == "Entity List & chips"
    assert item.summary == "BIS adds firms to the list"
    assert item.content == "plain text with gaps"
    assert item.source == "Reuters"
    assert item_from_mapping({"id": "1", "title": "t"}, "bundle").source == "bundle"


def test_a_link_that_is_not_http_is_dropped() -> None:
    item = item_from_mapping({"id": "1", "title": "t", "link": "javascript:alert(1)"}, "s")

    assert item.link == ""


def test_identity_prefers_guid_then_canonical_link_then_a_text_hash() -> None:
    assert item_identity(" guid-1 ", "https://a.example/x", "t", "x") == "guid-1"
    assert item_identity("", "HTTPS://A.Example:443/x?utm_source=rss#frag", "t", "x") == (
        "https://a.example/x"
    )
    hashed = item_identity("", "", "Title", "text")
    assert hashed.startswith("sha256:") and len(hashed) == 7 + 64
    assert hashed == item_identity("", "", "Title", "text")
    assert hashed != item_identity("", "", "Title", "other text")


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://Example.COM/a?utm_source=x&id=3&fbclid=y#top", "https://example.com/a?id=3"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/a?b=2&a=1", "http://example.com:8080/a?b=2&a=1"),
        ("https://example.com/a?gclid=1&utm_medium=email", "https://example.com/a"),
        ("https://example.com/p?q=a%20b&flag", "https://example.com/p?q=a%20b&flag"),
    ],
)
def test_canonical_links_drop_tracking_and_fragments(link: str, canonical: str) -> None:
    assert canonical_link(link) == canonical


def test_html_becomes_readable_text() -> None:
    markup = (
        "<div><script>var x = '<b>';</script><p>Nvidia&rsquo;s H20</p><!-- ad -->"
        '<p>licence <a href="x" title="a>b">required</a>&nbsp;now</p></div>'
    )

    assert html_to_text(markup) == "Nvidia\u2019s H20 licence required now"


def test_mojibake_is_repaired_and_real_accents_are_left_alone() -> None:
    assert (
        fix_mojibake("donâ€™t stop â€” â€œquotedâ€\x9d")
        == "don\u2019t stop \u2014 \u201cquoted\u201d"
    )
    assert fix_mojibake("CafÃ© in ZÃ¼rich") == "Café in Zürich"
    assert fix_mojibake("Café in Zürich, Ärger, NÃO") == "Café in Zürich, Ärger, NÃO"


def test_control_characters_are_dropped_and_whitespace_collapsed() -> None:
    assert clean_text("Nvi\x00dia\x07 \n\n\x0c H20\ufeff") == "Nvidia H20"


def test_a_bare_guid_is_only_unique_within_its_feed() -> None:
    from worker.sources.feed import parse_feed

    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b'<item><guid isPermaLink="false">1234</guid><title>%s</title></item>'
        b"</channel></rss>"
    )
    one = parse_feed(rss % b"US curbs chip exports", "wire").items[0]
    other = parse_feed(rss % b"Japan adds tool controls", "desk").items[0]
    again = parse_feed(rss % b"US curbs chip exports", "wire").items[0]
    assert one.id != other.id
    assert one.id == again.id == "wire:1234"
    url_guid = rss.replace(b">1234<", b">https://example.com/a<") % b"x"
    assert parse_feed(url_guid, "wire").items[0].id == "https://example.com/a"


def test_clean_text_collapses_whitespace_as_the_regex_did() -> None:
    import random
    import re

    from worker.sources.text import _CONTROL, clean_text, text_from

    rng = random.Random(12)
    alphabet = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2003"]
    alphabet += ["\u3000", "\u2028", "a", "B", "é", "<", "&", "amp;", "<p>", "\x00", "\u202e"]
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        plain = re.sub(r"\s+", " ", _CONTROL.sub("", text)).strip()
        if not re.search("[\u00c2-\u00f4]", text):  # no mojibake to repair
            assert clean_text(text) == plain, repr(text)
        if "<" not in text and "&" not in text:
            assert text_from(text) == clean_text(text)
