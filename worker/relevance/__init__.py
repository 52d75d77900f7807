"""Relevance: which items are policy events, and how much each matters to each ticker."""

from __future__ import annotations

from worker.relevance.native import compiled, ensure_fresh

ensure_fresh()  # before the compiled modules are imported: a stale build runs from source

from worker.relevance.engine import Explanation, Relevance  # noqa: E402

__all__ = ["Explanation", "Relevance", "compiled"]
