"""The company directory and the lexicon: data that must stay consistent as people extend it."""

from __future__ import annotations

import pytest

from worker.config import CompanyConfig, WatchlistConfig
from worker.evaluation import EVAL_TICKERS
from worker.relevance import Relevance
from worker.relevance.directory import curated_companies, lookup, name_from_legal
from worker.relevance.lexicon import default_lexicon
from worker.relevance.matcher import fold
from worker.sources.items import item_from_mapping


@pytest.mark.parametrize(
    ("legal", "name"),
    [
        ("APPLIED MATERIALS INC /DE", "Applied Materials"),
        ("ADVANCED MICRO DEVICES INC", "Advanced Micro Devices"),
        ("Lam Research Corp", "Lam Research"),
        ("FORD MOTOR CO", "Ford Motor"),
    ],
)
def test_legal_names_become_usable_names(legal: str, name: str) -> None:
    assert name_from_legal(legal) == name


def test_every_evaluation_ticker_is_curated() -> None:
    assert all(lookup(t) is not None and lookup(t).curated for t in EVAL_TICKERS)  # type: ignore[union-attr]


def test_another_listing_of_a_company_finds_the_company() -> None:
    company = lookup("2330.TW")
    assert company is not None and company.symbol == "TSM"


def test_any_us_ticker_works_with_a_cautious_derived_name() -> None:
    apple = lookup("AAPL")
    assert apple is not None and not apple.curated
    relevance = Relevance([WatchlistConfig(name="w", tickers=["AAPL", "NVDA"])])
    story = {
        "id": "1",
        "title": "US export curbs on AI chips hit Apple and Nvidia",
        "summary": "The Commerce Department rule requires licences for shipments to China.",
    }
    scores = {m.ticker: m.score for m in relevance.score(item_from_mapping(story, "t")).matches}
    assert scores["AAPL"] < scores["NVDA"]
    fruit = {"id": "2", "title": "US curbs apple exports", "summary": "Orchards complain."}
    assert not relevance.score(item_from_mapping(fruit, "t")).matches


def test_no_string_names_two_curated_companies() -> None:
    owner: dict[str, str] = {}
    clashes = []
    for symbol, company in curated_companies().items():
        strong = [
            *(fold(n) for n in (*company.names, *company.people)),
            *company.exact_names,
            *company.products,
        ]
        for name in strong:
            key = name.rstrip("*")
            if owner.setdefault(key, symbol) != symbol:
                clashes.append((key, owner[key], symbol))
    assert clashes == []


def test_a_users_company_replaces_the_built_in_entry() -> None:
    custom = CompanyConfig(name="Lam Research", aliases=["LamTech"])
    relevance = Relevance([WatchlistConfig(name="w", companies={"LRCX": custom})])
    story = {
        "id": "1",
        "title": "US curbs hit LamTech shipments to Chinese fabs",
        "summary": "The Commerce Department rule bars chipmaking tool exports.",
    }
    scored = relevance.score(item_from_mapping(story, "t"))
    assert [m.ticker for m in scored.matches if m.alert] == ["LRCX"]


def test_every_lexicon_category_has_a_weight_and_no_term_sits_in_two() -> None:
    lexicon = default_lexicon()
    assert set(lexicon.terms) == set(lexicon.weights)
    owner: dict[tuple[str, bool], str] = {}
    clashes = []
    for category, terms in lexicon.terms.items():
        for term in terms:
            key = (term.lower().rstrip("*"), term != term.lower())
            if owner.setdefault(key, category) != category:
                clashes.append((term, owner[key], category))
    assert clashes == []
