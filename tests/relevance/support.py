"""Helpers shared by the relevance tests."""

from __future__ import annotations

from collections.abc import Callable

from worker.models import ScoredItem

Score = Callable[..., ScoredItem]


def alerted(scored: ScoredItem) -> set[str]:
    """Tickers the item alerts for, on any watchlist."""
    return {m.ticker for m in scored.matches if m.alert}


def matched(scored: ScoredItem) -> set[str]:
    """Tickers the item names at all."""
    return {m.ticker for m in scored.matches}
