"""Mechanisms that carry the scorer to news it was not tuned on: events told with few explicit
policy words, hedged and negated stories, and names whose case says nothing. One story each,
written for these tests, on the 20-ticker watchlist."""

from __future__ import annotations

import pytest

from tests.relevance.support import Score, alerted, matched

# --- events with few explicit policy words ------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary", "ticker"),
    [
        (  # a penalty, with the enforcer named only in the body
            "Micron faces penalty over memory chips that reached Huawei",
            "A US probe found the parts were routed through a reseller in Singapore.",
            "MU",
        ),
        (  # a summons over a security risk
            "Regulators summon Nvidia managers over H20 security risks",
            "Officials asked the company whether the chip can be tracked or switched off.",
            "NVDA",
        ),
        (  # criminal charges over chip shipments
            "Two executives face criminal charges over AI chip shipments to China",
            "Prosecutors say the pair routed Nvidia GPUs through Malaysia.",
            "NVDA",
        ),
        (  # a passive directive, the actor in the first body sentence
            "TSMC told to stop making AI chips for Chinese customers",
            "The Commerce Department sent a letter to the foundry on Friday.",
            "TSM",
        ),
        (  # an approval to export, no state named
            "AMD gets green light to export MI308 to China",
            "",
            "AMD",
        ),
        (  # a state right before the verb, in an ALL-CAPS headline
            "NVIDIA SHARES SLIDE AS US CURBS AI CHIP EXPORTS",
            "",
            "NVDA",
        ),
        (  # a company's cost of a rule, told in one sentence
            "Lam Research trims outlook",
            "The toolmaker said new China rules would cut next year's revenue by $2 billion.",
            "LRCX",
        ),
        (  # an outlook cut due to restrictions
            "KLA lowers outlook due to restrictions on sales to Chinese fabs",
            "The inspection-tool maker expects a revenue headwind of about $500 million.",
            "KLAC",
        ),
        (  # a company leaving a market after a ban
            "Micron to pull out of China server market after ban",
            "",
            "MU",
        ),
        (  # a cut-down chip let through
            "Washington lets AMD sell a cut-down MI308 to Chinese buyers",
            "Officials signed off on a slower version of the accelerator.",
            "AMD",
        ),
        (  # a senator's bill; Intel named by its Core chips
            "Senator proposes licence rule for Core chips bound for China",
            "The bill would require export licences for Intel processors sold to Chinese buyers.",
            "INTC",
        ),
        (  # an export fee
            "US to levy export fee on Nvidia chips sold to China",
            "The administration would take a share of revenue from each licensed sale.",
            "NVDA",
        ),
        (  # Korean: approval for fabs to bring in equipment; bare 삼성 is Samsung Electronics
            "美, 삼성·SK하이닉스 中공장 장비 반입 허가",
            "미국 정부가 두 회사 중국 공장에 별도 허가 없이 장비 반입을 허용했다.",
            "005930.KS",
        ),
    ],
)
def test_an_event_told_with_few_policy_words_alerts_the_company(
    score: Score, title: str, summary: str, ticker: str
) -> None:
    scored = score(title, summary)
    assert scored.policy_event, scored.event_score
    assert ticker in alerted(scored)


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("中国海关加强对进口芯片的查验", "海关总署表示将对部分进口半导体产品开展专项检查。"),
        (
            "Regierung übernimmt Kontrolle bei Chiphersteller",
            "Die Regierung berief sich auf ein Gesetz, um den Verkauf zu blockieren.",
        ),
    ],
)
def test_customs_checks_and_takeovers_in_other_languages_are_events(
    score: Score, title: str, summary: str
) -> None:
    assert score(title, summary).policy_event


# --- look-alikes that share those words -----------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("Samsung heir indicted on bribery charges", "Prosecutors said bribes were paid."),
        (
            "Lawmakers summon Samsung executives over phone battery fires",
            "The hearing will look at consumer safety.",
        ),
        ("Intel settles patent dispute with VLSI", "The two agreed a licence for the patents."),
        (
            "Nvidia settles shareholder lawsuit over crypto sales",
            "The chipmaker agreed to pay to end a class action about mining revenue.",
        ),
        ("Taiwan export orders hit record on AI server demand", "Electronics orders led."),
        ("EU approves Nvidia's Run:ai acquisition", "The Commission cleared the deal."),
        ("Lam Research extends share buyback", "The board approved the extension."),
    ],
)
def test_a_non_trade_case_or_business_news_is_not_an_event(
    score: Score, title: str, summary: str
) -> None:
    assert not score(title, summary).policy_event


# --- hedges, questions and negations -------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (  # a question is asked, not reported
            "Will Washington tighten AI chip curbs after the election?",
            "Brokers are divided on the timing.",
        ),
        (  # a hedge that closes the sentence qualifies all of it
            "New US chip export curbs unlikely before the summit, analysts say",
            "Brokers expect the administration to hold off while talks continue.",
        ),
        (  # a negation a few words before the term
            "No fresh chip export curbs expected this year",
            "Brokers see no new semiconductor restrictions while talks continue.",
        ),
        (  # opinion about rules is not a rule
            "Huang says US export controls were a failure",
            "The Nvidia chief said the curbs pushed Chinese customers to local suppliers.",
        ),
        (  # an approval only wondered about
            "Nvidia readies a new Blackwell chip for China",
            "It is unclear whether Washington would approve it.",
        ),
        (  # a vow with no action; "declined to say" is no revenue decline, and "China should
            # be stopped" is not China stopping anything
            "Trade nominee promises a hard line on Beijing",
            "At his confirmation hearing he said China should be stopped from buying US chips, "
            "but declined to say which rules he would change.",
        ),
    ],
)
def test_a_hedged_asked_or_negated_story_is_not_an_event(
    score: Score, title: str, summary: str
) -> None:
    scored = score(title, summary)
    assert not scored.policy_event, scored.event_score


# --- names whose case says nothing -------------------------------------------------------------


def test_a_capitals_name_in_an_all_caps_headline_needs_the_company_named_otherwise(
    score: Score,
) -> None:
    wordplay = score(
        "ARM-WRESTLING OVER CHIPS: US ORDERS FOUNDRY TO HALT SHIPMENTS TO HUAWEI",
        "Commerce told TSMC to stop sending advanced chips to Chinese customers.",
    )
    assert wordplay.policy_event
    assert "ARM" not in matched(wordplay)
    assert "TSM" in alerted(wordplay)
    named = score(
        "ARM SHARES SLIDE AS US CURBS CHIP DESIGN EXPORTS",
        "Arm Holdings said the new licence rule covers its Neoverse designs.",
    )
    assert "ARM" in alerted(named)


def test_a_title_case_multi_word_name_counts_in_a_list_of_names_only(score: Score) -> None:
    listed = score(
        "Texas Instruments, On Semiconductor face China anti-dumping duties",
        "Beijing imposed provisional duties on US analog chips.",
    )
    assert {"TXN", "ON"} <= alerted(listed)
    caps = score("US TIGHTENS CURBS ON SEMICONDUCTOR EXPORTS TO CHINA", "")
    assert caps.policy_event
    assert "ON" not in matched(caps)


def test_another_samsung_group_company_is_not_samsung_electronics(score: Score) -> None:
    for title in ("Samsung Heavy wins LNG carrier order", "삼성중공업, LNG 운반선 수주"):
        assert "005930.KS" not in matched(score(title, ""))
