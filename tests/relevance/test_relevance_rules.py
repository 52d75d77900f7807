"""A watchlist's own rules: all/any/none term lists and proximity, and what they do to scores."""

from __future__ import annotations

import pytest

from worker.config import RuleConfig, WatchlistConfig
from worker.relevance import Relevance
from worker.relevance.matcher import fold
from worker.relevance.rules import CompiledRule
from worker.sources.items import item_from_mapping


def fires(text: str, **rule: object) -> bool:
    compiled = CompiledRule.from_config(RuleConfig(name="r", **rule))  # type: ignore[arg-type]
    return compiled.fires(fold(text))


def test_all_needs_every_term() -> None:
    assert fires("Gallium and germanium exports", all=["gallium", "germanium"])
    assert not fires("Gallium exports", all=["gallium", "germanium"])


def test_any_needs_one_term() -> None:
    assert fires("A new tariff on wafers", any=["tariff*", "duty"])
    assert not fires("A new levy on wafers", any=["tariff*", "duty"])


def test_none_vetoes() -> None:
    assert not fires("Solar wafer tariff", any=["tariff"], none=["solar"])
    assert fires("Chip wafer tariff", any=["tariff"], none=["solar"])


def test_a_trailing_star_matches_word_endings_and_terms_sit_on_word_boundaries() -> None:
    assert fires("Restrictions widen", all=["restrict*"])
    assert not fires("Unrestricted trade", all=["restrict*"])
    assert not fires("Lambda release", all=["lam"])


def test_a_phrase_matches_across_any_whitespace() -> None:
    assert fires("the   entity\nlist grows", all=["entity list"])


@pytest.mark.parametrize(
    ("text", "within", "expected"),
    [
        ("Antimony shipments to the US were halted", 6, True),
        (
            "Antimony prices rose. Separately, after a long and winding week, shipments halted",
            6,
            False,
        ),
        (
            "Antimony prices rose. Separately, after a long and winding week, shipments halted",
            12,
            True,
        ),
    ],
)
def test_near_needs_all_terms_within_n_words(text: str, within: int, expected: bool) -> None:
    assert fires(text, near=["antimony", "halt*"], within_words=within) is expected


def test_a_rule_that_fires_adds_its_weight_and_makes_the_item_an_event_for_its_watchlist() -> None:
    watchlist = WatchlistConfig(
        name="minerals",
        tickers=["MU"],
        min_score=40,
        rules=[RuleConfig(name="antimony", near=["antimony", "Micron"], within_words=8, weight=30)],
    )
    plain = WatchlistConfig(name="plain", tickers=["MU"], min_score=40)
    relevance = Relevance([watchlist, plain])
    item = item_from_mapping(
        {"id": "1", "title": "Micron reviews antimony supply for its Idaho plant", "summary": ""},
        source="t",
    )
    scored = relevance.score(item)
    by_list = {m.watchlist: m for m in scored.matches}
    assert scored.policy_event
    assert by_list["minerals"].score == by_list["plain"].score + 30
    assert by_list["minerals"].alert
    assert relevance.explain(item).rules_fired == (("minerals", "antimony", 30),)


def test_a_negative_rule_lowers_the_score_and_makes_nothing_an_event() -> None:
    watchlist = WatchlistConfig(
        name="desk",
        tickers=["NVDA"],
        rules=[RuleConfig(name="no-gaming", any=["gaming", "geforce"], weight=-50)],
    )
    relevance = Relevance([watchlist])
    item = item_from_mapping(
        {
            "id": "1",
            "title": "US requires licences for Nvidia gaming GPU exports to China",
            "summary": "The Commerce Department's rule covers GeForce cards.",
        },
        source="t",
    )
    scored = relevance.score(item)
    assert scored.policy_event
    assert scored.matches[0].score < 60
    assert not scored.matches[0].alert
