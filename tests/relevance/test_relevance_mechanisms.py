"""Focused checks of the scoring mechanisms, one story each, on the 20-ticker watchlist."""

from __future__ import annotations

import pytest

from tests.relevance.support import Score, alerted, matched
from worker.config import WatchlistConfig
from worker.relevance import Relevance
from worker.sources.items import item_from_mapping

# --- name collisions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "ticker"),
    [
        (
            "Eye clinic trial slows wet AMD",
            "Patients with macular degeneration kept more vision.",
            "AMD",
        ),
        ("Armenian dram (AMD) firms", "Remittances supported the currency.", "AMD"),
        (
            "ARM share of new mortgages rises",
            "Adjustable-rate loans gained as rates stayed high.",
            "ARM",
        ),
        ("Pitcher out after arm surgery", "The club said he will miss the season.", "ARM"),
        ("Toronto, ON: transit funding grows", "The Ontario government added bus links.", "ON"),
        ("WHO tracks the Mu variant", "Mu carries mutations that may evade immunity.", "MU"),
        ("Police act on intel from informant", "Officers seized stolen goods.", "INTC"),
        ("Micron-scale printing makes tiny stents", "Features a few microns wide.", "MU"),
        ("Lam family marks 50 years of noodles", "The Lam kitchen still serves wonton.", "LRCX"),
        (
            "University of applied sciences opens campus",
            "Applied electronics students moved in.",
            "AMAT",
        ),
        (
            "Samsung recalls electric ranges",
            "Knobs on the appliances can turn on by accident.",
            "005930.KS",
        ),
        ("TER trains cancelled by strike", "Regional services ran at reduced frequency.", "TER"),
    ],
)
def test_an_everyday_word_that_looks_like_a_ticker_never_alerts(
    score: Score, title: str, summary: str, ticker: str
) -> None:
    scored = score(title, summary)
    assert not scored.policy_event
    assert ticker not in alerted(scored)


def test_colliding_words_inside_a_real_policy_event_do_not_name_the_company(score: Score) -> None:
    scored = score(
        "US ends export-licence exceptions for Hong Kong as Carrie Lam defends law",
        "The Commerce Department suspended preferential treatment, so controlled US technology "
        "faces the same licence rules as China. China's graphite permits cover micron-sized "
        "powders used in Ontario (ON) plants; officials gathered intel on diversion, and the "
        "rules applied to gallium too.",
    )
    assert scored.policy_event
    assert matched(scored) & {"LRCX", "MU", "ON", "INTC", "AMAT"} == set()


def test_a_name_inside_an_idiom_is_not_the_company(score: Score) -> None:
    scored = score(
        "Arm-twisting over tools: Washington presses Tokyo to curb Tokyo Electron servicing",
        "US officials want Japan to stop the company maintaining machines at Chinese fabs.",
    )
    assert scored.policy_event
    assert "8035.T" in alerted(scored)
    assert "ARM" not in matched(scored)


def test_a_bare_symbol_before_chips_or_shares_names_the_company(score: Score) -> None:
    scored = score("BEIJING BANS NVDA CHIPS FROM STATE DATA CENTRES")
    assert "NVDA" in alerted(scored)


def test_a_bare_symbol_that_is_an_everyday_word_does_not_name_the_company(
    score: Score,
) -> None:
    scored = score("BEIJING CURBS ON CHIPS FROM US FIRMS", "Officials gave no list of companies.")
    assert "ON" not in alerted(scored)


def test_a_legislative_hearing_is_not_a_state_telling_anyone_to_act(score: Score) -> None:
    scored = score(
        "Chinese foundries can make only a few AI chips, Commerce official tells Senate panel",
        "The official also told senators the agency wants more staff.",
    )
    assert not scored.policy_event


def test_a_short_capitalised_name_before_a_phone_number_is_not_the_company(score: Score) -> None:
    scored = score(
        "METI revises export order for chipmaking items",
        "Advanced chipmaking equipment will need individual licences from July. "
        "Contact: Trade Control Policy Division, TEL 03-3501-1511.",
    )
    assert scored.policy_event
    assert "8035.T" not in matched(scored)


def test_lower_case_on_semiconductor_exports_is_not_onsemi(score: Score) -> None:
    scored = score(
        "Commerce Tightens Rules On Semiconductor Exports To China",
        "Japan also tightened controls on semiconductor equipment.",
    )
    assert scored.policy_event
    assert "ON" not in matched(scored)


# --- products, people, symbols ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "ticker"),
    [
        (
            "H20 now needs a licence for China",
            "Washington told the maker of the accelerator the requirement stays in place.",
            "NVDA",
        ),
        (
            "MI308 accelerators caught by new China licence requirement",
            "The Commerce Department said the chip needs a licence.",
            "AMD",
        ),
        (
            "Dutch keep EUV exports to China banned",
            "The government will not grant licences for the lithography systems.",
            "ASML",
        ),
        (
            "Lisa Su's company says MI309 needs a US licence",
            "Commerce told the chip designer its China-market part is too powerful.",
            "AMD",
        ),
        (
            "Commerce revokes permits for Core laptop chip sales to Huawei",
            "Licences to sell Core processors to Huawei were revoked.",
            "INTC",
        ),
    ],
)
def test_a_company_named_only_by_product_or_person_is_alerted(
    score: Score, title: str, summary: str, ticker: str
) -> None:
    assert ticker in alerted(score(title, summary))


def test_a_person_names_the_company(relevance: Relevance) -> None:
    hits = relevance.matcher.scan("Jensen Huang met officials; Peter Wennink spoke later.")
    assert {h.key for h in hits if h.kind == "company"} == {"NVDA", "ASML"}


@pytest.mark.parametrize(
    "text",
    [
        "Tokyo Electron <8035.T> in focus",
        "Tokyo Electron (TYO: 8035) in focus",
        "shares of $NVDA and $AMD",
        "Advanced Micro Devices (NASDAQ: AMD) said",
        "Nvidia <NVDA.O> rose",
    ],
)
def test_ticker_notations_are_found(relevance: Relevance, text: str) -> None:
    symbols = [h for h in relevance.matcher.scan(text) if h.strength == "symbol"]
    assert symbols


def test_a_bare_ticker_without_cashtag_or_exchange_is_no_mention(score: Score) -> None:
    scored = score("US blacklists chipmakers; TER and KLAC not named", "Entity List grows.")
    assert "TER" not in matched(scored)


# --- non-English -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "ticker"),
    [
        (
            "美国商务部限制英伟达H20对华出口",
            "英伟达表示，美国政府通知其向中国出口H20芯片须获得许可证。",
            "NVDA",
        ),
        (
            "経産省、先端半導体製造装置23品目を輸出管理の対象に",
            "東京エレクトロンなど国内装置メーカーの対中輸出に影響が出る可能性がある。",
            "8035.T",
        ),
        (
            "美, 삼성전자 中공장 VEU 지위 철회",
            "미국 상무부가 삼성전자 공장의 검증된 최종사용자 지위를 철회한다고 밝혔다.",
            "005930.KS",
        ),
        (
            "Niederlande verschärfen Exportkontrollen für ASML-Anlagen",
            "ASML braucht eine Genehmigung der niederländischen Regierung.",
            "ASML",
        ),
    ],
)
def test_policy_events_in_chinese_japanese_korean_and_german_alert(
    score: Score, title: str, summary: str, ticker: str
) -> None:
    scored = score(title, summary)
    assert scored.policy_event
    assert ticker in alerted(scored)


def test_a_short_cjk_name_inside_an_ordinary_word_is_weak(score: Score) -> None:
    scored = score("高通胀压力下央行维持利率不变", "市场关注高通胀的持续时间。")
    assert "QCOM" not in matched(scored)


# --- look-alikes, negation and background ----------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Analysts see little chance of new chip curbs before summit",
            "Brokers said they do not expect fresh export restrictions on chips.",
        ),
        (
            "Nvidia revenue nearly doubles on data-centre demand",
            "China revenue remains well below levels seen before export controls.",
        ),
        (
            "Stocks slide as Chinese AI model rattles investors",
            "The model reportedly used chips permitted under earlier export rules.",
        ),
        ("Release 4.2 adds export to CSV", "Admins can restrict exports by role."),
        ("Korea's chip exports hit a record", "Semiconductor exports rose 40% on AI demand."),
        (
            "Jensen Huang lobbies Trump to ease restrictions on chip sales",
            "The chief executive met the president. No decision was announced.",
        ),
        (
            "EU fines Qualcomm over predatory pricing",
            "The European Commission said it sold chips below cost.",
        ),
        (
            "Justice Department opens antitrust investigation into Nvidia",
            "Antitrust officials are examining whether buyers can switch suppliers.",
        ),
        (
            "China opens antitrust probe into Google",
            "The market regulator cited the anti-monopoly law.",
        ),
    ],
)
def test_a_look_alike_is_not_a_policy_event(score: Score, title: str, summary: str) -> None:
    scored = score(title, summary)
    assert not scored.policy_event, scored.event_score
    assert not alerted(scored)


def test_a_chinese_antitrust_probe_of_a_us_chip_firm_is_a_trade_measure(score: Score) -> None:
    scored = score(
        "Chinese regulator opens antitrust probe into Nvidia over Mellanox deal",
        "The State Administration for Market Regulation said it is investigating Nvidia.",
    )
    assert scored.policy_event
    assert alerted(scored) == {"NVDA"}


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Commerce moves to cut off servicing of US tools at Chinese fabs",
            "The rule bars US persons from supporting advanced fabs.",
        ),
        ("Beijing tightens shipments of graphite anode material", "Exporters need permits."),
        ("Seoul says chipmakers' China plants keep their waivers", ""),
        ("米商務省、先端半導体の対中輸出を制限", ""),
    ],
)
def test_headlines_that_never_say_export_control_are_policy_events(
    score: Score, title: str, summary: str
) -> None:
    assert score(title, summary).policy_event


# --- hit versus mentioned in passing ---------------------------------------------------------


def test_a_company_whose_shares_merely_moved_is_not_alerted(score: Score) -> None:
    scored = score(
        "Applied Materials sees $600 million revenue hit from widened blacklist rule",
        "Applied Materials said the Commerce Department's new affiliates rule will reduce "
        "revenue by about $600 million. Shares of Lam Research and KLA also fell.",
    )
    assert alerted(scored) == {"AMAT"}


def test_a_company_left_out_of_a_rule_is_not_alerted(score: Score) -> None:
    scored = score(
        "US blacklists 140 Chinese firms and restricts AI memory sales",
        "The Commerce Department put controls on chipmaking equipment that will cost Applied "
        "Materials sales. Tokyo Electron and ASML rose after being left out of the rule.",
    )
    assert "AMAT" in alerted(scored)
    assert alerted(scored) & {"8035.T", "ASML"} == set()


def test_a_former_owner_and_a_rival_are_not_alerted(score: Score) -> None:
    scored = score(
        "US to end fast-track tool shipments to Samsung, SK hynix fabs in China",
        "The Commerce Department will revoke validated end-user authorisations for the Dalian "
        "plant SK hynix bought from Intel. Huawei competes with Nvidia in China.",
    )
    assert {"005930.KS", "000660.KS"} <= alerted(scored)
    assert alerted(scored) & {"INTC", "NVDA"} == set()


# --- text as feeds deliver it ----------------------------------------------------------------


def test_html_entities_and_mojibake_are_read_through(score: Score) -> None:
    scored = score(
        "Nvidiaâ€™s H20 now needs a US licence for China, company says",
        "<p>The chipmakerâ€™s filing said the requirement applies &quot;indefinitely&quot;.</p>",
    )
    assert alerted(scored) == {"NVDA"}


def test_an_all_caps_wire_headline_names_case_sensitive_companies(score: Score) -> None:
    scored = score(
        "MICRON SHARES SLIDE AFTER CHINA BARS ITS CHIPS FROM KEY NETWORKS",
        "BEIJING ORDERS OPERATORS TO STOP BUYING MICRON PRODUCTS AFTER SECURITY REVIEW.",
    )
    assert alerted(scored) == {"MU"}


def test_a_title_with_an_empty_summary_is_enough(score: Score) -> None:
    scored = score("Dutch expand licence rule to older ASML immersion scanners", "")
    assert alerted(scored) == {"ASML"}


def test_the_key_fact_deep_in_a_long_body_still_alerts(score: Score) -> None:
    filler = "Phones sold well and reviewers liked the cameras. " * 30
    body = (
        f"{filler}\n\nChips: TSMC notified Chinese customers that it will stop shipping chips made "
        "at 7nm for AI accelerators, following a letter from the US Commerce Department "
        "ordering the halt.\n\nThat's the week."
    )
    scored = score(
        "Tech week in review: phones and a foundry's new China rule", "Our roundup.", body
    )
    assert scored.policy_event
    assert alerted(scored) == {"TSM"}


# --- the event is the item's, not the watchlist's --------------------------------------------


def test_the_event_score_does_not_depend_on_the_watchlist(relevance: Relevance) -> None:
    raw = {
        "id": "x",
        "title": "China tells tech giants to halt purchases of Nvidia's RTX Pro 6000D",
        "summary": "The internet regulator told companies to stop ordering the chip.",
    }
    item = item_from_mapping(raw, source="t")
    narrow = Relevance([WatchlistConfig(name="one", tickers=["AAPL"])])
    assert narrow.score(item).event_score == relevance.score(item).event_score
    assert narrow.score(item).policy_event


def test_a_weak_name_in_the_title_does_not_put_the_company_there(score: Score) -> None:
    scored = score(
        "US curbs HBM exports to China; Samsung Electronics hit hardest",
        "The Commerce Department said high-bandwidth memory sales to China need a licence, "
        "which will cost Samsung Electronics most. Shares of SK hynix also fell.",
    )
    assert "005930.KS" in alerted(scored)
    assert "000660.KS" not in alerted(scored)
