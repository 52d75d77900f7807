"""`policywatch eval`: the labelled development set clears its floor, and the report is right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_cli
from tests.relevance.conftest import BLIND2_SET, BLIND3_SET, BLIND_SET, DEV_SET
from worker.errors import SourceError
from worker.evaluation import (
    EVAL_TICKERS,
    Counts,
    evaluate,
    evaluation_watchlist,
    id_parity,
    is_held_out,
    load_labelled,
    select,
)
from worker.relevance import Relevance

# Floors that a regression would break; the sets score above them (see tests/data/README).
FLOOR = {"precision": 0.95, "recall": 0.95, "policy_event": 0.95}
HELD_OUT_FLOOR = 0.90
BLIND_FLOOR = 0.90
# The second blind set, half of it never tuned on (tests/data/README).
BLIND2_FLOOR = 0.85


def run_eval(*args: str, path: Path = DEV_SET) -> dict[str, Any]:
    done = run_cli("eval", str(path), "--json", *args)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_the_development_set_clears_the_floor_through_policywatch_eval() -> None:
    report = run_eval()
    assert report["items"] >= 100
    assert report["tickers"] == list(EVAL_TICKERS)
    assert report["overall"]["precision"] >= FLOOR["precision"], report["false_alarms"]
    assert report["overall"]["recall"] >= FLOOR["recall"], report["misses"]
    assert report["policy_event"]["accuracy"] >= FLOOR["policy_event"], report[
        "policy_event_errors"
    ]


def test_the_held_out_third_clears_its_floor() -> None:
    report = run_eval("--subset", "held-out")
    assert report["overall"]["precision"] >= HELD_OUT_FLOOR
    assert report["overall"]["recall"] >= HELD_OUT_FLOOR
    assert report["policy_event"]["accuracy"] >= HELD_OUT_FLOOR


def test_the_blind_set_clears_its_floor() -> None:
    report = run_eval(path=BLIND_SET)
    assert report["items"] >= 130
    assert report["overall"]["precision"] >= BLIND_FLOOR, report["false_alarms"]
    assert report["overall"]["recall"] >= BLIND_FLOOR, report["misses"]
    assert report["policy_event"]["accuracy"] >= BLIND_FLOOR, report["policy_event_errors"]


def test_the_second_blind_set_clears_its_floor() -> None:
    report = run_eval(path=BLIND2_SET)
    assert report["items"] >= 130
    assert report["overall"]["precision"] >= BLIND2_FLOOR, report["false_alarms"]
    assert report["overall"]["recall"] >= BLIND2_FLOOR, report["misses"]
    assert report["policy_event"]["accuracy"] >= BLIND2_FLOOR, report["policy_event_errors"]


def test_the_third_blind_set_clears_its_floor() -> None:
    # Measured unseen at its first run: P 0.937, R 0.908, policy_event 0.962. Its errors have
    # not been tuned on; keep it that way, so it stays an honest estimate (tests/data/README.md).
    report = run_eval(path=BLIND3_SET)
    assert report["items"] >= 130
    assert report["overall"]["precision"] >= BLIND2_FLOOR, report["false_alarms"]
    assert report["overall"]["recall"] >= BLIND2_FLOOR, report["misses"]
    assert report["policy_event"]["accuracy"] >= BLIND2_FLOOR, report["policy_event_errors"]


def test_odd_and_even_ids_split_a_set_in_two() -> None:
    labelled = load_labelled(BLIND_SET)
    odd, even = select(labelled, "odd"), select(labelled, "even")
    assert len(odd) + len(even) == len(labelled)
    assert abs(len(odd) - len(even)) <= 1
    assert id_parity("blind-007") == "odd" and id_parity("dev-010") == "even"
    assert id_parity("no-number") == ""
    assert run_eval("--subset", "even", path=BLIND_SET)["items"] == len(even)


def write_labelled(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {  # a real event, rightly alerted for NVDA
        "id": "a",
        "title": "Nvidia flags $5.5 billion charge tied to H20",
        "summary": "The US government told it licences will be needed for shipments to China.",
        "policy_event": True,
        "relevant": ["NVDA"],
        "category": "disclosure",
    },
    {  # labelled (wrongly, on purpose) as relevant to AMD: the scorer misses it
        "id": "b",
        "title": "Release 4.2 adds export to CSV",
        "summary": "Tables export in one click.",
        "policy_event": True,
        "relevant": ["AMD"],
        "category": "lookalike",
    },
    {  # labelled (wrongly, on purpose) as not an event: the NVDA alert is a false alarm
        "id": "c",
        "title": "Commerce adds Nvidia's H20 to licence requirement",
        "summary": "Washington now requires a licence for H20 shipments to China.",
        "policy_event": False,
        "relevant": [],
        "category": "lookalike",
    },
]


def test_the_report_counts_alert_pairs_and_policy_event_accuracy(tmp_path: Path) -> None:
    labelled = load_labelled(write_labelled(tmp_path / "l.jsonl", ROWS))
    report = evaluate(Relevance([evaluation_watchlist()]), labelled)
    assert (report.overall.tp, report.overall.fp, report.overall.fn) == (1, 1, 1)
    assert report.per_ticker["NVDA"].precision == 0.5
    assert report.per_ticker["AMD"].recall == 0.0
    assert report.per_ticker["TER"].precision is None
    assert (report.event.correct, report.event.items) == (1, 3)
    assert [(e.item_id, e.ticker) for e in report.misses] == [("b", "AMD")]
    assert [(e.item_id, e.ticker) for e in report.false_alarms] == [("c", "NVDA")]
    assert report.false_alarms[0].score >= 60
    assert report.per_category["lookalike"].event.accuracy == 0.0
    assert report.per_category["disclosure"].alerts.precision == 1.0


def test_policywatch_eval_prints_figures_misses_and_false_alarms(tmp_path: Path) -> None:
    path = write_labelled(tmp_path / "l.jsonl", ROWS)
    done = run_cli("eval", str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "overall                0.500  0.500  0.500" in out
    assert "policy_event accuracy 0.333 (1/3)" in out
    assert "misses (1):" in out and "b          AMD" in out and "export to CSV" in out
    assert "false alarms (1):" in out and "c          NVDA" in out
    assert "per category:" in out and "lookalike" in out


def test_eval_with_a_config_uses_its_watchlists(tmp_path: Path) -> None:
    path = write_labelled(tmp_path / "l.jsonl", ROWS)
    config = tmp_path / "c.yaml"
    config.write_text("watchlists:\n  - name: w\n    tickers: [NVDA]\n", encoding="utf-8")
    done = run_cli("eval", str(path), "--config", str(config), "--json")
    report = json.loads(done.stdout)
    assert report["tickers"] == ["NVDA"]
    assert report["unwatched_labels"] == {"AMD": 1}
    assert report["overall"]["fn"] == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"id": "x", "title": "t", "relevant": []}, "policy_event"),
        ({"id": "x", "title": "t", "policy_event": "yes", "relevant": []}, "policy_event"),
        ({"id": "x", "title": "t", "policy_event": True, "relevant": "NVDA"}, "relevant"),
        ({"title": "t", "policy_event": True, "relevant": []}, "id"),
    ],
)
def test_a_malformed_label_is_an_error_naming_line_and_field(
    tmp_path: Path, row: dict[str, Any], message: str
) -> None:
    path = write_labelled(tmp_path / "l.jsonl", [ROWS[0], row])
    with pytest.raises(SourceError, match=rf"l\.jsonl:2: {message}"):
        load_labelled(path)
    done = run_cli("eval", str(path))
    assert done.returncode == 1
    assert "l.jsonl:2" in done.stderr


def test_a_repeated_id_is_an_error(tmp_path: Path) -> None:
    path = write_labelled(tmp_path / "l.jsonl", [ROWS[0], ROWS[0]])
    with pytest.raises(SourceError, match="repeats"):
        load_labelled(path)


def test_the_held_out_third_is_fixed_and_about_a_third() -> None:
    labelled = load_labelled(DEV_SET)
    held = select(labelled, "held-out")
    tune = select(labelled, "tune")
    assert len(held) + len(tune) == len(labelled)
    assert 0.25 < len(held) / len(labelled) < 0.42
    assert {x.item.id for x in held} == {x.item.id for x in labelled if is_held_out(x.item.id)}
    assert is_held_out("dev-001") == is_held_out("dev-001")


def test_counts_leave_undefined_figures_undefined() -> None:
    empty = Counts()
    assert empty.precision is None and empty.recall is None and empty.f1 is None
    assert Counts(tp=3, fp=1, fn=0).as_dict()["f1"] == round(2 * 0.75 / 1.75, 4)
