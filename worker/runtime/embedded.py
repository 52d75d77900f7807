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
from worker.pipeline import DeliveryOutcome, Pipeline, PollOutcome
from worker.store import Store, open_store

log = logging.getLogger(__name__)

MAX_DELIVERY_WAIT_S = 5.0


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

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
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
        """Deliver everything due at this moment, in parallel; stop when nothing is due."""
        outcomes: list[DeliveryOutcome] = []
        while True:
            ids = self.pipeline.store.due_ids(self.pipeline.clock(), limit=200)
            if not ids:
                return outcomes
            batch = list(self._pool.map(self.pipeline.deliver, ids))
            outcomes.extend(o for o in batch if o.state != "skipped")
            if all(o.state == "skipped" for o in batch):
                return outcomes

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
                self.deliver_due_now()
                self._wake.clear()
                self._wake.wait(self._seconds_to_next_due())
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
