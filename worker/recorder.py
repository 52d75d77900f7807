"""The Recorder: what the stages and runtimes report as they work (for metrics).

The pipeline calls a Recorder and knows nothing of Prometheus; `worker.metrics` provides the
Prometheus one, and `NULL_RECORDER` ignores everything (tests, one-shot commands).
"""

from __future__ import annotations

from typing import Protocol


class Recorder(Protocol):
    """Counts what happened. Every method is cheap, thread-safe and never raises."""

    def fetched(self, feed: str, outcome: str, items: int) -> None:
        """A poll of `feed` ended with `outcome` (new, unchanged, not-modified, error,
        disabled, ...) and the document held `items` items."""

    def scored(self, feed: str, new_items: int) -> None:
        """`new_items` unseen items of `feed` were scored."""

    def alerted(self, watchlist: str, ticker: str) -> None:
        """A match of `ticker` on `watchlist` passed its threshold."""

    def delivered(self, channel: str, outcome: str, send_s: float, latency_s: float | None) -> None:
        """One attempt to `channel` ended with `outcome` (sent, failed, dead, ...) after
        `send_s` seconds; `latency_s` is from the delivery's creation to now, when sent."""

    def ticked(self, component: str) -> None:
        """`component` (e.g. "scheduler") is alive and ticking."""

    def reloaded(self, outcome: str) -> None:
        """A config reload was `applied` or `rejected`."""


class NullRecorder:
    """A Recorder that records nothing."""

    def fetched(self, feed: str, outcome: str, items: int) -> None:
        pass

    def scored(self, feed: str, new_items: int) -> None:
        pass

    def alerted(self, watchlist: str, ticker: str) -> None:
        pass

    def delivered(self, channel: str, outcome: str, send_s: float, latency_s: float | None) -> None:
        pass

    def ticked(self, component: str) -> None:
        pass

    def reloaded(self, outcome: str) -> None:
        pass


NULL_RECORDER: Recorder = NullRecorder()
