"""The embedded runtime's delivery dispatcher: due deliveries onto a thread pool, one send at a
time per channel, so that a slow, failing or paced target never holds up the others.

Nothing here sleeps on a target's behalf: waits (backoff, Retry-After, pacing) live in the
store as `next_attempt_at`, and the dispatcher just starts what is due whenever it is asked.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from worker.pipeline import DeliveryOutcome, Pipeline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DispatchRound:
    """What one `dispatch` call did: how many sends it started, and whether a due delivery
    had to stay behind because its channel was busy with another send."""

    started: int
    blocked: bool


class DeliveryDispatcher:
    """Starts due deliveries on `workers` threads, at most one in flight per channel.

    `changed` is set whenever a send finishes, so a loop waiting on it can dispatch again at
    once. Outcomes pile up until `take_outcomes` collects them.
    """

    def __init__(
        self, pipeline: Pipeline, workers: int, changed: threading.Event, limit: int = 1000
    ) -> None:
        self._pipeline = pipeline
        self._limit = limit
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="pw-send")
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._channel_of: dict[str, str] = {}
        self._outcomes: list[DeliveryOutcome] = []
        self.changed = changed

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def use(self, pipeline: Pipeline) -> None:
        """Send with `pipeline` from now on (a reloaded config's channels)."""
        self._pipeline = pipeline

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._busy)

    def dispatch(self) -> DispatchRound:
        """Start every delivery due now whose channel has no send in flight."""
        store = self._pipeline.store
        due = store.due_ids(self._pipeline.clock(), self._limit)
        # A delivery's channel never changes: look each one up once while it is due.
        self._channel_of = {i: self._channel_of.get(i) or self._lookup(i) for i in due}
        started, blocked = 0, False
        for delivery_id in due:
            channel = self._channel_of[delivery_id]
            with self._lock:
                if channel in self._busy:
                    blocked = True
                    continue
                self._busy.add(channel)
            self._pool.submit(self._send, delivery_id, channel)
            started += 1
        return DispatchRound(started, blocked)

    def take_outcomes(self) -> list[DeliveryOutcome]:
        with self._lock:
            taken, self._outcomes = self._outcomes, []
        return taken

    def _lookup(self, delivery_id: str) -> str:
        delivery = self._pipeline.store.get_delivery(delivery_id)
        return delivery.channel if delivery else ""

    def _send(self, delivery_id: str, channel: str) -> None:
        try:
            outcome = self._pipeline.deliver(delivery_id)
        except Exception:  # a task boundary: one delivery's bug must not stop the others
            log.exception("delivery %s to %s failed unexpectedly", delivery_id, channel)
            outcome = DeliveryOutcome(delivery_id, channel, "error", "unexpected error (logged)")
        with self._lock:
            self._busy.discard(channel)
            self._outcomes.append(outcome)
        self.changed.set()
