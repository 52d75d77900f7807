"""Relevance: which items are policy events, and how much each matters to each ticker."""

from __future__ import annotations

from worker.relevance.native import compiled, ensure_fresh, use_source

ensure_fresh()  # before the compiled modules are imported: a stale build runs from source

try:
    from worker.relevance.engine import Explanation, Relevance
except ImportError as e:  # a build that is there but does not load
    if not compiled():
        raise
    use_source(f"the build does not load ({e})")
    from worker.relevance.engine import Explanation, Relevance

__all__ = ["Explanation", "Relevance", "compiled"]
