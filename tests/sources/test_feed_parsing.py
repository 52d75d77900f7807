"""RSS and Atom bodies become Items: ids, text, dates, ill-formed and real-world feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.sources.feed_samples import ATOM, RSS_20
from worker.errors import SourceError
from worker.sources.feed import parse_feed


def test_an_rss_feed_becomes_items_with_plain_text_and_utc_dates() -> None:
    parsed = parse_feed(RSS_20, "wire")

    first, second, third = parsed.items
    assert first.id == "wire:tdw-2024-12-02-001"  # a bare guid is unique within its feed
    assert first.title == "Commerce adds 140 entities to the Entity List"
    assert first.summary == "The BIS rule covers HBM & tools."
    assert first.content == "Full text: semiconductor manufacturing equipment."
    assert first.published == datetime(2024, 12, 2, 20, 4, 5, tzinfo=UTC)
    assert first.source == "wire"
    assert first.language == "en-us"
    assert second.id == "https://news.example.com/2024/09/asml"
    assert second.link.startswith("https://news.example.com/2024/09/asml?utm_medium=feed")
    assert third.id.startswith("sha256:")
    assert parsed.warnings == []


def test_an_atom_feed_becomes_items_with_resolved_links_and_updated_as_fallback() -> None:
    parsed = parse_feed(ATOM, "fedreg", url="https://www.example.gov/bis/atom")

    first, second = parsed.items
    assert first.id == "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a"
    assert first.title == "Foreign-Produced Direct Product Rule <update>"
    assert first.link == "https://www.example.gov/documents/2024-21001"
    assert first.content == "Adds AI chips to ECCN 3A090."
    assert first.published == datetime(2024, 10, 1, 12, 30, tzinfo=UTC)
    assert first.language == "en"
    assert second.published == datetime(2024, 10, 3, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("body", [RSS_20, ATOM], ids=["rss", "atom"])
def test_item_ids_are_the_same_on_every_parse(body: bytes) -> None:
    first = [item.id for item in parse_feed(body, "a").items]
    second = [item.id for item in parse_feed(body, "a").items]

    assert first == second
    assert len(set(first)) == len(first)


def test_a_link_with_only_tracking_parameters_changed_keeps_its_id() -> None:
    retagged = RSS_20.replace(b"utm_medium=feed", b"utm_medium=email")

    before = parse_feed(RSS_20, "wire").items[1].id
    after = parse_feed(retagged, "wire").items[1].id

    assert before == after


def test_utf8_mojibake_in_a_feed_is_repaired() -> None:
    body = (
        "<rss version='2.0'><channel><item><title>Chipmaker\u00e2\u20ac\u2122s licence"
        "</title><guid>m1</guid></item></channel></rss>"
    ).encode()

    (item,) = parse_feed(body, "m").items

    assert item.title == "Chipmaker\u2019s licence"


def test_the_sec_edgar_atom_page_parses_to_100_entries(shared_data: Path) -> None:
    body = (shared_data / "feeds/real/sec_edgar_current_filings_2025-12-12.atom.xml").read_bytes()

    parsed = parse_feed(body, "sec", {"Content-Type": "application/atom+xml"})

    assert len(parsed.items) == 100
    assert len({item.id for item in parsed.items}) == 100
    assert sum(item.title.startswith("8-K ") for item in parsed.items) == 25
    merus = parsed.items[2]
    assert merus.title == "8-K - Merus N.V. (0001651311) (Filer)"
    assert "Item 2.01: Completion of Acquisition" in merus.summary
    assert "<b>" not in merus.summary
    assert merus.published == datetime(2025, 12, 12, 12, 54, tzinfo=UTC)


def test_one_sec_filing_listed_for_two_companies_stays_two_items(shared_data: Path) -> None:
    body = (shared_data / "feeds/real/sec_edgar_current_filings_2025-12-12.atom.xml").read_bytes()
    accession = "urn:tag:sec.gov,2008:accession-number=0001657513-25-000010"

    items = [i for i in parse_feed(body, "sec").items if i.id.startswith(accession)]

    assert [i.title for i in items] == [
        "4 - PAGE JOHN (0001657513) (Reporting)",
        "4 - Keysight Technologies, Inc. (0001601046) (Issuer)",
    ]
    assert items[0].id == accession
    assert items[1].id == f"{accession}#{items[1].link}"


ILLFORMED = [
    "aaa_illformed.xml",
    "demoronize-1.xml",
    "gb2312.xml",
    "http_high_bit_date.xml",
    "rss_empty_document.xml",
    "rss_incomplete_cdata.xml",
    "rss_item_link_corrupted_ampersands.xml",
    "undeclared_namespace.xml",
]


@pytest.mark.parametrize("name", ILLFORMED)
def test_ill_formed_feeds_parse_without_raising(shared_data: Path, name: str) -> None:
    body = (shared_data / "feeds/illformed" / name).read_bytes()

    parsed = parse_feed(body, "illformed")

    assert all(item.id for item in parsed.items)


def test_an_ill_formed_feed_keeps_its_good_entry_and_says_what_was_wrong(
    shared_data: Path,
) -> None:
    body = (shared_data / "feeds/illformed/rss_item_link_corrupted_ampersands.xml").read_bytes()

    parsed = parse_feed(body, "illformed")

    assert [item.link for item in parsed.items] == ["http://link/get?a=1&b=2"]
    assert any("ill-formed" in warning for warning in parsed.warnings)


def test_an_undeclared_gb2312_feed_decodes_to_chinese(shared_data: Path) -> None:
    parsed = parse_feed((shared_data / "feeds/illformed/gb2312.xml").read_bytes(), "cn")

    assert [item.title for item in parsed.items] == ["不归移民漫画系列：专业工作"]
    assert any("gb18030" in warning for warning in parsed.warnings)


def test_windows_1252_quotes_come_out_as_curly_quotes(shared_data: Path) -> None:
    parsed = parse_feed((shared_data / "feeds/illformed/demoronize-1.xml").read_bytes(), "w")

    assert [item.summary for item in parsed.items] == ["don\u2019t"]


def test_a_latin_1_feed_without_a_declaration_is_not_mistaken_for_chinese() -> None:
    body = (
        "<rss><channel><item><title>Caf\xe9 cr\xe8me \xe0 Z\xfcrich</title></item></channel></rss>"
    )

    (item,) = parse_feed(body.encode("latin-1"), "fr").items

    assert item.title == "Café crème à Zürich"


def test_an_empty_document_gives_no_items_and_a_warning(shared_data: Path) -> None:
    body = (shared_data / "feeds/illformed/rss_empty_document.xml").read_bytes()

    parsed = parse_feed(body, "empty")

    assert parsed.items == []
    assert parsed.warnings == ["empty document: no items"]


@pytest.mark.parametrize("body", [b"", b"   \n", b'<?xml version="1.0"?>\n<!-- soon -->'])
def test_a_body_with_nothing_in_it_is_an_empty_feed(body: bytes) -> None:
    assert parse_feed(body, "empty").items == []


def test_an_html_page_is_not_a_feed() -> None:
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Log in</body></html>"

    with pytest.raises(SourceError, match="HTML page"):
        parse_feed(page, "moved", {"Content-Type": "text/html; charset=utf-8"})


def test_a_json_body_is_not_a_feed() -> None:
    with pytest.raises(SourceError, match="not an RSS or Atom feed"):
        parse_feed(b'{"id": "1", "title": "x"}', "json")


def test_a_feed_served_with_a_charset_header_is_decoded_by_it() -> None:
    body = "<rss><channel><item><title>Mañana</title><guid>1</guid></item></channel></rss>"

    (item,) = parse_feed(
        body.encode("iso-8859-1"), "es", {"content-type": "text/xml; charset=iso-8859-1"}
    ).items

    assert item.title == "Mañana"


def test_scripts_and_styles_in_a_description_never_reach_the_text() -> None:
    body = b"""<rss version="2.0"><channel><item><guid>s1</guid><title>Notice</title>
<description><![CDATA[<style>p{color:red}</style><script>alert("x")</script><p>Rule text</p>]]>
</description></item></channel></rss>"""

    (item,) = parse_feed(body, "s").items

    assert item.summary == "Rule text"
