"""Failure classes seen on unseen news, each fixed by a general mechanism: French, Dutch and
Spanish policy wording, trade remedies on chips, weak names in lists of companies, rivals said
to gain, arms export licences, split verbs in title-only items and a regulator's risk finding.
Stories written for these tests, on the 20-ticker watchlist."""

from __future__ import annotations

import pytest

from tests.relevance.support import Score, alerted


@pytest.mark.parametrize(
    ("title", "summary", "ticker"),
    [
        (  # French
            "Washington durcit les contrôles à l'exportation de puces vers la Chine",
            "Nvidia devra obtenir une licence pour vendre ses processeurs H20.",
            "NVDA",
        ),
        (  # Dutch
            "Den Haag scherpt exportvergunningen voor chipmachines aan",
            "ASML heeft voortaan een vergunning nodig voor meer lithografiesystemen.",
            "ASML",
        ),
        (  # Spanish
            "Estados Unidos endurece los controles a la exportación de semiconductores",
            "La medida afecta a las ventas de Applied Materials a fábricas chinas.",
            "AMAT",
        ),
    ],
)
def test_french_dutch_and_spanish_export_controls_alert(
    score: Score, title: str, summary: str, ticker: str
) -> None:
    scored = score(title, summary)
    assert scored.policy_event
    assert ticker in alerted(scored)


def test_a_state_takeover_of_a_chipmaker_told_in_french_is_an_event(score: Score) -> None:
    scored = score(
        "Le gouvernement néerlandais prend le contrôle d'un fabricant de puces",
        "La Haye invoque une loi d'urgence pour bloquer les décisions de la direction.",
    )
    assert scored.policy_event


def test_an_anti_dumping_probe_into_chips_is_a_trade_measure(score: Score) -> None:
    scored = score(
        "China opens dumping and countervailing probe into US analog chips",
        "Texas Instruments is the largest supplier of the interface chips in the case.",
    )
    assert scored.policy_event
    assert "TXN" in alerted(scored)


def test_an_anti_dumping_probe_into_other_goods_is_not(score: Score) -> None:
    scored = score(
        "EU opens anti-dumping investigation into Chinese steel wire",
        "The case follows a complaint from European producers.",
    )
    assert not scored.policy_event


def test_weak_names_listed_with_a_strong_name_count_as_names(score: Score) -> None:
    scored = score(
        "Applied, Lam and Tokyo Electron halt service visits to Chinese fabs under new US rules",
        "",
    )
    assert {"AMAT", "LRCX", "8035.T"} <= alerted(scored)


def test_weak_names_listed_only_with_each_other_stay_weak(score: Score) -> None:
    scored = score("Lam and Applied halt service visits to Chinese fabs under new US rules", "")
    assert not {"AMAT", "LRCX"} & alerted(scored)


def test_rivals_said_to_gain_from_a_ban_are_not_hit(score: Score) -> None:
    scored = score(
        "China bars Micron chips from critical infrastructure",
        "The Cyberspace Administration told operators to stop buying Micron products; "
        "Samsung and SK Hynix could gain share as buyers switch suppliers.",
    )
    hit = alerted(scored)
    assert "MU" in hit
    assert not {"005930.KS", "000660.KS"} & hit


def test_a_company_that_gains_from_an_eased_rule_is_still_hit(score: Score) -> None:
    scored = score(
        "US lifts curbs on H20 exports to China",
        "Nvidia stands to gain as the Commerce Department grants licences for the chip.",
    )
    assert "NVDA" in alerted(scored)


def test_arms_export_licences_are_not_a_chip_event(score: Score) -> None:
    scored = score(
        "Ottawa suspends arms export permits to Saudi Arabia",
        "Officials cited concerns over how the weapons could be used.",
    )
    assert not scored.policy_event


def test_export_licences_for_chips_in_weapons_still_count(score: Score) -> None:
    scored = score(
        "US restricts export licences for chips used in weapons by Russia",
        "Nvidia and AMD processors were found in drones.",
    )
    assert scored.policy_event


def test_a_title_only_item_with_a_split_verb_reaches_the_event_threshold(score: Score) -> None:
    scored = score("Beijing locks Micron out of state telecom networks", "")
    assert scored.policy_event
    assert "MU" in alerted(scored)


def test_a_regulators_serious_risk_finding_is_a_security_review_outcome(score: Score) -> None:
    scored = score(
        "Cyber watchdog finds 'serious' risks in Micron memory products",
        "Operators of key networks were told to review their purchases.",
    )
    assert scored.policy_event
    assert "MU" in alerted(scored)
