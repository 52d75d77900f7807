"""`policywatch score`: the public JSON Lines contract of DESIGN.md."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli

CONFIG = "watchlists:\n  - name: semis\n    tickers: [NVDA, AMD, ASML]\n    min_score: 60\n"

ITEMS = [
    {
        "id": "h20",
        "title": "US requires licences for Nvidia H20 chip exports to China",
        "summary": "Nvidia said it expects a $5.5 billion charge after the Commerce Department "
        "told it the H20 needs an export licence.",
        "published": "Wed, 16 Apr 2025 08:00:00 GMT",
        "source": "wire",
    },
    {"id": "lng", "title": "Japan signs LNG export deal with Qatar", "published": "2025-04-16"},
    {
        "id": "eye",
        "title": "New drug slows AMD, the leading cause of vision loss",
        "summary": "Age-related macular degeneration (AMD) affects millions.",
        "published": "2025-04-16T10:00:00+02:00",
    },
]


def test_score_writes_one_line_per_item_in_input_order(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    stdin = "".join(json.dumps(i) + "\n" for i in ITEMS)
    result = run_cli("score", "--config", str(config), "-", input_text=stdin)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["id"] for line in lines] == ["h20", "lng", "eye"]
    for line in lines:
        assert set(line) == {"id", "policy_event", "event_score", "matches"}
        assert 0 <= line["event_score"] <= 100
        for m in line["matches"]:
            assert set(m) == {"ticker", "watchlist", "score", "alert", "terms", "evidence"}
            assert m["alert"] == (line["policy_event"] and m["score"] >= 60)


def test_the_h20_story_alerts_nvda_and_look_alikes_alert_nothing(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    src = tmp_path / "items.jsonl"
    src.write_text("".join(json.dumps(i) + "\n" for i in ITEMS))
    result = run_cli("score", "--config", str(config), str(src))
    h20, lng, eye = (json.loads(line) for line in result.stdout.splitlines())
    assert h20["policy_event"] is True
    nvda = next(m for m in h20["matches"] if m["ticker"] == "NVDA")
    assert nvda["alert"] is True and nvda["evidence"]
    assert any("H20" in t or "Nvidia" in t for t in nvda["terms"])
    assert lng["policy_event"] is False and lng["matches"] == []
    assert not any(m["alert"] for m in eye["matches"])


def test_an_item_without_a_title_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    result = run_cli("score", "--config", str(config), "-", input_text='{"id": "x"}\n')
    assert result.returncode != 0
    assert "title" in result.stderr and ":1" in result.stderr
