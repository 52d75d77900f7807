"""The bundled example news scores as examples/news/README.md says a careful desk would expect."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.relevance.support import alerted
from worker.models import Item
from worker.relevance import Relevance
from worker.sources.feed import parse_feed
from worker.sources.jsonl import parse_jsonl

NEWS = Path(__file__).resolve().parents[2] / "examples" / "news"

# id → tickers that should alert; None for items that are not policy events.
EXPECTED: dict[str, set[str] | None] = {
    "wiretech-20250615-taiwan-huawei-smic": {"0981.HK"},
    "wiretech-20250514-huawei-ascend-guidance": set(),
    "wiretech-20250421-huang-ishiba-tokyo": None,
    "wiretech-20250416-amd-mi308-charge": {"AMD"},
    "wiretech-20250415-nvidia-h20-charge": {"NVDA"},
    "wiretech-20250122-galaxy-s25-launch": None,
    "wiretech-20241212-broadcom-q4-ai": None,
    "wiretech-20241202-entity-list-140-hbm": {
        "AMAT",
        "LRCX",
        "KLAC",
        "005930.KS",
        "000660.KS",
        "MU",
    },
    "wiretech-20241108-tsmc-7nm-halt": {"TSM"},
    "wiretech-20240918-qualcomm-eu-court": None,
    "wiretech-20240703-micro-optics-printing": None,
    "wiretech-20240614-amd-eye-trial": None,
    "tag:policydesk.example.org,2025-08-29:veu-revocation": {"005930.KS", "000660.KS"},
    "tag:policydesk.example.org,2025-06-12:jera-us-lng": None,
    "tag:policydesk.example.org,2025-05-31:champions-league-final": None,
    "tag:policydesk.example.org,2025-05-13:ai-diffusion-rescinded": {"NVDA", "AMD"},
    "tag:policydesk.example.org,2025-04-16:h20-licence-charge": {"NVDA"},
    "tag:policydesk.example.org,2025-02-20:arm-mortgage-rates": None,
    "tag:policydesk.example.org,2025-01-13:ai-diffusion-rule": {"NVDA"},
    "tag:policydesk.example.org,2025-01-13:china-car-exports-2024": None,
    "tag:policydesk.example.org,2024-12-09:samr-nvidia-probe": {"NVDA"},
    "tag:policydesk.example.org,2024-12-03:china-minerals-ban-us": set(),
    "tag:policydesk.example.org,2024-09-06:dutch-duv-expansion": {"ASML"},
    "pcr-2025-10-16-tsmc-q3": None,
    "ctb-2025-10-09-rare-earths": set(),
    "wtd-2025-08-12-h20-guidance": {"NVDA"},
    "amb-2025-08-11-revenue-share": {"NVDA", "AMD"},
    "sf-2025-06-22-nba-finals": None,
    "amb-2025-04-16-h20": {"NVDA", "AMD"},
    "dtw-2025-03-04-release-4-2": None,
}


def bundled_items() -> list[Item]:
    items: list[Item] = []
    for name in ("wire-tech.rss.xml", "policy-desk.atom.xml"):
        # The feed's name namespaces bare guids; these tests know items by their guids.
        parsed = parse_feed((NEWS / name).read_bytes(), name).items
        items += [replace(i, id=i.id.removeprefix(f"{name}:")) for i in parsed]
    items += parse_jsonl((NEWS / "extra.jsonl").read_bytes(), "extra").items
    return items


def test_every_bundled_item_is_scored_as_the_desk_expects(relevance: Relevance) -> None:
    items = bundled_items()
    assert {i.id for i in items} == set(EXPECTED)
    wrong = []
    for item in items:
        scored = relevance.score(item)
        expected = EXPECTED[item.id]
        got = alerted(scored) if scored.policy_event else None
        if got != expected:
            wrong.append((item.id, expected, got, scored.event_score))
    assert wrong == []
