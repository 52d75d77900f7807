"""Feed settings for the new kinds: what is required, what fits which kind, clear errors."""

from __future__ import annotations

import pytest

from worker.config import parse_settings
from worker.errors import ConfigError

HEAD = "watchlists: [{name: semis, tickers: [NVDA]}]\n"


def problems_of(feeds: str, extra: str = "") -> list[tuple[str, int | None, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_settings(HEAD + "feeds:\n" + feeds + extra, "pw.yaml", {})
    return [(p.path, p.line, p.expected) for p in caught.value.problems]


def test_a_feed_without_a_url_is_an_error_unless_its_kind_builds_one() -> None:
    assert problems_of("  - {name: wire}\n") == [("feeds[0].url", 3, "a feed URL or path")]
    assert problems_of("  - {name: inbox, kind: folder}\n") == [
        ("feeds[0].url", 3, "a folder path")
    ]

    settings = parse_settings(
        HEAD + "feeds: [{name: fr, kind: federal_register, agencies: [commerce-department]}]",
        "pw.yaml",
        {},
    )
    assert settings.feeds[0].url.startswith("https://www.federalregister.gov/api/v1/")


def test_a_setting_of_another_kind_is_named_with_the_kind_it_belongs_to() -> None:
    (problem,) = problems_of("  - {name: w, url: w.xml, forms: [8-K]}\n")

    assert problem == ("feeds[0].forms", 3, "only on a feed of kind edgar (this one is auto)")


def test_a_bad_cik_document_type_or_kind_is_reported_with_what_was_expected() -> None:
    found = problems_of(
        "  - {name: a, kind: edgar, cik: NVDA}\n"
        "  - {name: b, kind: federal_register, document_types: [RULES]}\n"
        "  - {name: c, kind: atom, url: c.xml}\n",
        'edgar_user_agent: "x ops@x.example"\n',
    )

    paths = {path: expected for path, _, expected in found}
    assert "up to 10 digits" in paths["feeds[0].cik"]
    assert "'RULE'" in paths["feeds[1].document_types[0]"]
    assert "'jsonfeed'" in paths["feeds[2].kind"] and "'folder'" in paths["feeds[2].kind"]


def test_polling_and_serve_settings_have_documented_defaults() -> None:
    settings = parse_settings(HEAD, "pw.yaml", {})

    assert settings.polling.max_fetches == 16 and settings.polling.max_per_host == 2
    assert settings.polling.backoff_max_s == 6 * 3600 and settings.polling.http2
    assert (settings.serve.bind, settings.serve.port) == ("127.0.0.1", 8080)
    assert settings.serve.max_body_bytes == 5_000_000 and settings.serve.tokens == {}


def test_feed_limits_and_stale_after_read_units() -> None:
    settings = parse_settings(
        HEAD + "feeds: [{name: w, url: w.xml, max_bytes: 1000000, stale_after: 2d}]",
        "pw.yaml",
        {},
    )

    assert settings.feeds[0].max_bytes == 1_000_000
    assert settings.feeds[0].stale_after == 2 * 86_400
