"""The embedded runtime: one process, APScheduler in it, a thread pool calling the stages."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from worker.channels import build_channel
from worker.config import FeedConfig, Settings
from worker.models import DeliveryState
from worker.pipeline import DeliveryOutcome, Pipeline, PollOutcome
from worker.runtime.dispatch import DeliveryDispatcher
from worker.store import Store, open_store

log = logging.getLogger(__name__)

MAX_DELIVERY_WAIT_S = 5.0
# While a due delivery waits for its channel's send in flight, look again this often (a
# finished send wakes the loop at once; this only bounds how late other targets can be).
BLOCKED_POLL_S = 0.25
# `run --once` stays for paced deliveries whose slot comes within this; longer waits (a
# target's Retry-After) are left for the next run, like retries.
RUN_ONCE_PACE_WAIT_S = 10.0


@dataclass
class CycleReport:
    """What one `run --once` cycle did."""

    polls: list[PollOutcome] = field(default_factory=list)
    new_items: int = 0
    alerts: int = 0
    deliveries: list[DeliveryOutcome] = field(default_factory=list)


def make_http_client(user_agent: str) -> httpx.Client:
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
        timeout=httpx.Timeout(20.0, connect=10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
    )


class EmbeddedRuntime:
    """Polls feeds, scores and delivers inside this process.

    `run_once` does one full cycle; `run_forever` polls every feed at start and then on each
    feed's schedule, and delivers whatever is due, until `stop` is set.
    """

    def __init__(self, pipeline: Pipeline, client: httpx.Client) -> None:
        self.pipeline = pipeline
        self.client = client
        self.settings = pipeline.settings
        self._wake = threading.Event()
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="pw")
        self._dispatcher = DeliveryDispatcher(pipeline, self.settings.workers, self._wake)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._dispatcher.close()
        self.client.close()
        self.pipeline.store.close()

    def wake(self) -> None:
        """Make the delivery loop look again now (new deliveries, or time to stop)."""
        self._wake.set()

    def poll_and_process(self, feed: FeedConfig) -> tuple[PollOutcome, int, int]:
        outcome = self.pipeline.poll_feed(feed, self.client)
        if not outcome.items:
            return outcome, 0, 0
        scored, created = self.pipeline.process_items(feed.name, outcome.items)
        if created:
            self._wake.set()
        alerts = sum(1 for s in scored for m in s.matches if m.alert)
        return outcome, len(scored), alerts

    def run_once(self) -> CycleReport:
        report = CycleReport()
        futures = [self._pool.submit(self.poll_and_process, f) for f in self.settings.feeds]
        for future in futures:
            outcome, new, alerts = future.result()
            report.polls.append(outcome)
            report.new_items += new
            report.alerts += alerts
        report.deliveries.extend(self.deliver_due_now())
        return report

    def deliver_due_now(self) -> list[DeliveryOutcome]:
        """Deliver everything due now, in parallel across channels, and return the outcomes.

        Deliveries held back by pacing are sent at their pace before this returns (when their
        slot comes within RUN_ONCE_PACE_WAIT_S); failed ones keep their retry time for later.
        """
        outcomes: dict[str, DeliveryOutcome] = {}
        paced: set[str] = set()
        while True:
            self._wake.clear()
            round_ = self._dispatcher.dispatch()
            in_flight = self._dispatcher.in_flight  # before collecting: none can slip past
            for outcome in self._dispatcher.take_outcomes():
                if outcome.state == "skipped":
                    continue
                outcomes[outcome.delivery_id] = outcome
                (paced.add if outcome.state == "paced" else paced.discard)(outcome.delivery_id)
            paced = self._still_pacing(paced)
            idle = round_.started == 0 and not round_.blocked and in_flight == 0
            if idle and not paced:
                return list(outcomes.values())
            self._wake.wait(BLOCKED_POLL_S if round_.blocked else self._seconds_to_next_due())

    def _still_pacing(self, paced: set[str]) -> set[str]:
        """The paced deliveries still waiting for a slot that comes soon enough to wait for."""
        horizon = self.pipeline.clock() + timedelta(seconds=RUN_ONCE_PACE_WAIT_S)
        waiting = set()
        for delivery_id in paced:
            d = self.pipeline.store.get_delivery(delivery_id)
            waits = d is not None and d.state in (DeliveryState.PENDING, DeliveryState.FAILED)
            if waits and d is not None and d.next_attempt_at <= horizon:
                waiting.add(delivery_id)
        return waiting

    def run_forever(self, stop: threading.Event) -> None:
        scheduler = BackgroundScheduler(timezone="UTC")
        now = self.pipeline.clock()
        for feed in self.settings.feeds:
            scheduler.add_job(
                self._poll_job,
                IntervalTrigger(seconds=feed.every, jitter=min(30.0, feed.every * 0.1)),
                args=[feed],
                id=f"poll:{feed.name}",
                name=f"poll {feed.name}",
                next_run_time=now,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(feed.every // 2)),
            )
        scheduler.start()
        log.info(
            "running: %d feeds, %d watchlists",
            len(self.settings.feeds),
            len(self.settings.watchlists),
        )
        try:
            while not stop.is_set():
                self._wake.clear()
                round_ = self._dispatcher.dispatch()
                self._dispatcher.take_outcomes()  # each outcome was logged by the pipeline
                self._wake.wait(BLOCKED_POLL_S if round_.blocked else self._seconds_to_next_due())
        finally:
            scheduler.shutdown(wait=True)
            log.info("stopped")

    def _poll_job(self, feed: FeedConfig) -> None:
        try:
            self.poll_and_process(feed)
        except Exception:  # a task boundary: one feed's bug must not stop the scheduler
            log.exception("polling %s failed unexpectedly", feed.name)

    def _seconds_to_next_due(self) -> float:
        due = self.pipeline.store.next_due_at()
        if due is None:
            return MAX_DELIVERY_WAIT_S
        wait = (due - self.pipeline.clock()) / timedelta(seconds=1)
        return max(0.05, min(MAX_DELIVERY_WAIT_S, wait))


def open_settings_store(settings: Settings) -> Store:
    """The store `state:` names; relative SQLite paths are relative to the working folder."""
    return open_store(settings.state)


def build_runtime(settings: Settings) -> EmbeddedRuntime:
    """Everything `policywatch run` needs, from one settings object."""
    channels = {name: build_channel(name, cfg) for name, cfg in settings.channels.items()}
    pipeline = Pipeline(settings, open_settings_store(settings), channels)
    return EmbeddedRuntime(pipeline, make_http_client(settings.user_agent))
