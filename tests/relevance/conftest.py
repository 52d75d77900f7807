"""Relevance fixtures: the evaluation watchlist, built once, and a way to score a story."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.relevance.support import Score
from worker.evaluation import evaluation_watchlist
from worker.models import ScoredItem
from worker.relevance import Relevance
from worker.sources.items import item_from_mapping

DEV_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_dev.jsonl"
BLIND_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_blind.jsonl"
BLIND2_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_blind2.jsonl"
BLIND3_SET = Path(__file__).resolve().parents[1] / "data" / "relevance_blind3.jsonl"


@pytest.fixture(scope="session")
def relevance() -> Relevance:
    return Relevance([evaluation_watchlist()])


@pytest.fixture(scope="session")
def score(relevance: Relevance) -> Score:
    """score(title, summary="", content="") → ScoredItem, as a feed would deliver the story
    (HTML and mojibake are cleaned by the same code the sources use)."""

    def run(title: str, summary: str = "", content: str = "") -> ScoredItem:
        raw = {"id": "t-1", "title": title, "summary": summary, "content": content}
        return relevance.score(item_from_mapping(raw, source="test"))

    return run
