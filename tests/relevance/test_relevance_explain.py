"""`policywatch explain`: every term that fired, where, whether it counted, and every point."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from worker.relevance import Relevance
from worker.reports import render_explanation
from worker.sources.items import item_from_mapping


def explain(relevance: Relevance, title: str, summary: str) -> str:
    item = item_from_mapping({"id": "e-1", "title": title, "summary": summary}, source="t")
    return render_explanation(relevance.explain(item))


def test_explain_names_each_term_its_place_and_whether_it_counted(relevance: Relevance) -> None:
    text = explain(
        relevance,
        "Commerce adds SMIC to Entity List",
        "China's largest contract chipmaker faces a presumption of denial for licences.",
    )
    lines = text.splitlines()
    entity = next(line for line in lines if "'Entity List'" in line)
    assert "control" in entity and "title" in entity and "counted" in entity
    smic = next(line for line in lines if "'SMIC'" in line)
    assert "0981.HK (name)" in smic and "title" in smic
    assert any("lead" in line and "'presumption of denial'" in line for line in lines)


def test_explain_shows_every_part_of_the_event_and_ticker_scores(relevance: Relevance) -> None:
    text = explain(
        relevance,
        "Commerce adds SMIC to Entity List",
        "China's largest contract chipmaker faces a presumption of denial for licences.",
    )
    assert "event score" in text and "a policy event" in text
    assert "control terms" in text
    assert "0981.HK:" in text
    assert "named in title" in text
    assert "=> evaluation/0981.HK:" in text and "ALERT" in text
    # Points add up: the listed parts of the event score sum to the score (capped at 100).
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  event score"))
    points = []
    for line in lines[start + 1 :]:
        if not line.startswith("    ") or line.startswith("     '"):
            break
        points.append(int(line.split()[0]))
    score = int(lines[start].split()[2].rstrip(":"))
    assert score == max(0, min(100, sum(points)))


def test_explain_says_why_a_term_did_not_count(relevance: Relevance) -> None:
    text = explain(
        relevance,
        "Analysts see little chance of new chip curbs before the summit",
        "Earnings beat forecasts; revenue remains below levels seen before export controls.",
    )
    assert "not a policy event" in text
    assert "negated by" in text
    assert "background" in text
    assert "look-alike" in text


def test_explain_reports_a_missing_id(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "a", "title": "x"}) + "\n", encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text("watchlists:\n  - name: w\n    tickers: [NVDA]\n", encoding="utf-8")
    done = run_cli("explain", "--config", str(config), str(items), "--id", "zz")
    assert done.returncode == 1
    assert "no item with id 'zz'" in done.stderr


def test_policywatch_explain_prints_the_item_and_its_alert(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    row = {
        "id": "h20",
        "title": "Nvidia flags $5.5 billion charge tied to H20",
        "summary": "The US government told it licences will be needed for shipments to China.",
    }
    items.write_text(json.dumps(row) + "\n", encoding="utf-8")
    config = tmp_path / "c.yaml"
    config.write_text("watchlists:\n  - name: desk\n    tickers: [NVDA, AMD]\n", encoding="utf-8")
    done = run_cli("explain", "--config", str(config), str(items), "--id", "h20")
    assert done.returncode == 0, done.stderr
    assert "item h20:" in done.stdout
    assert "'H20'" in done.stdout and "NVDA (product)" in done.stdout
    assert "=> desk/NVDA:" in done.stdout and "ALERT" in done.stdout
