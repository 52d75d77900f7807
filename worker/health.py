"""Health: is this process alive, and is it ready (store reachable, scheduler ticking, ...).

`/healthz` only says the process answers. `/readyz` runs the `Readiness` checks: each is a
small function that returns a short detail ("reachable") or raises with what is wrong. A
runtime composes its own: the embedded one checks the store and its scheduler's tick; a
Celery worker adds `broker_check`; a Celery scheduler checks its own tick too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from apscheduler.schedulers.base import BaseScheduler

from worker.models import Heartbeat
from worker.store import Store

log = logging.getLogger(__name__)

Check = Callable[[], str]


class NotReady(Exception):
    """A readiness check failed; the message says why (and must be safe to show)."""


class Ticker:
    """When something last ticked, on a monotonic clock (seconds)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._last: float | None = None

    def tick(self) -> None:
        self._last = self._clock()

    def age_s(self) -> float | None:
        """Seconds since the last tick; None before the first."""
        return None if self._last is None else self._clock() - self._last


def scheduler_heartbeat(
    scheduler: BaseScheduler, component: str, holder: str, now: datetime
) -> Heartbeat:
    """The heartbeat a running APScheduler writes to the store: every job's next run, except
    the heartbeat job's own (id `heartbeat`). Used by both runtimes' schedulers."""
    jobs = {job.id: job.next_run_time for job in scheduler.get_jobs() if job.id != "heartbeat"}
    return Heartbeat(component, holder, now, jobs)


def store_check(store: Store) -> Check:
    """Ready when the store answers a query."""

    def check() -> str:
        store.next_due_at()
        return "reachable"

    return check


def ticking_check(ticker: Ticker, stale_after_s: float) -> Check:
    """Ready when `ticker` ticked within the last `stale_after_s` seconds."""

    def check() -> str:
        age = ticker.age_s()
        if age is None:
            raise NotReady("no tick yet")
        if age > stale_after_s:
            raise NotReady(f"last tick {age:.0f}s ago (limit {stale_after_s:g}s)")
        return f"last tick {age:.1f}s ago"

    return check


def heartbeat_check(
    store: Store, component: str, stale_after_s: float, clock: Callable[[], datetime]
) -> Check:
    """Ready when some process wrote a `component` heartbeat to the store recently (for a
    process that depends on a scheduler running elsewhere)."""

    def check() -> str:
        beats = [b for b in store.list_heartbeats() if b.component == component]
        if not beats:
            raise NotReady(f"no {component} heartbeat in the store")
        age = (clock() - beats[0].beat_at).total_seconds()
        if age > stale_after_s:
            raise NotReady(f"{component} last beat {age:.0f}s ago (limit {stale_after_s:g}s)")
        return f"{beats[0].holder} beat {age:.1f}s ago"

    return check


def broker_check(url: str, timeout_s: float = 2.0) -> Check:
    """Ready when the Celery broker at `url` accepts a connection."""

    def check() -> str:
        from kombu.connection import Connection

        with Connection(url, connect_timeout=timeout_s) as connection:  # type: ignore[no-untyped-call]
            try:
                connection.ensure_connection(max_retries=1, interval_start=0, timeout=timeout_s)
            except Exception as exc:  # kombu raises its transport's errors
                # the message may hold the URL; name only the kind of failure
                raise NotReady(f"broker unreachable ({type(exc).__name__})") from None
        return "reachable"

    return check


@dataclass(frozen=True)
class ReadinessReport:
    ready: bool
    checks: dict[str, str]


class Readiness:
    """Named checks, run together; ready when all pass. Logs each change of readiness.

    `redact` scrubs failure messages before they are shown or logged.
    """

    def __init__(
        self,
        checks: Mapping[str, Check] | None = None,
        redact: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._checks: dict[str, Check] = dict(checks or {})
        self._redact = redact
        self._lock = threading.Lock()
        self._was_ready: bool | None = None

    def add(self, name: str, check: Check) -> None:
        with self._lock:
            self._checks[name] = check

    def evaluate(self) -> ReadinessReport:
        with self._lock:
            checks = dict(self._checks)
        results: dict[str, str] = {}
        ready = True
        for name, check in checks.items():
            try:
                results[name] = "ok: " + check()
            except NotReady as exc:
                ready = False
                results[name] = "failing: " + self._redact(str(exc))
            except Exception as exc:  # a probe boundary: any failure means not ready
                ready = False
                results[name] = f"failing: {type(exc).__name__}: {self._redact(str(exc))}"
        self._note_change(ready, results)
        return ReadinessReport(ready, results)

    def _note_change(self, ready: bool, results: dict[str, str]) -> None:
        with self._lock:
            changed, self._was_ready = ready != self._was_ready, ready
        if not changed:
            return
        if ready:
            log.info("ready: %s", "; ".join(f"{k} {v}" for k, v in results.items()))
        else:
            failing = {k: v for k, v in results.items() if v.startswith("failing")}
            log.warning("not ready: %s", "; ".join(f"{k} {v}" for k, v in failing.items()))
