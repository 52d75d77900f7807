"""The embedded runtime: one process, APScheduler in it, a thread pool calling the stages."""

from __future__ import annotations

import importlib.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor as SchedulerThreadPool
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from worker.channels import build_channel
from worker.config import FeedConfig, Settings
from worker.feed_health import feed_health, report_changes
from worker.pipeline import DeliveryOutcome, Pipeline, PollOutcome
from worker.politeness import interleave_by_host, phase_s
from worker.store import Store, open_store

log = logging.getLogger(__name__)

MAX_DELIVERY_WAIT_S = 5.0
HEALTH_CHECK_S = 300.0


@dataclass
class CycleReport:
    """What one `run --once` cycle did."""

    polls: list[PollOutcome] = field(default_factory=list)
    new_items: int = 0
    alerts: int = 0
    deliveries: list[DeliveryOutcome] = field(default_factory=list)


def make_http_client(user_agent: str, http2: bool = False) -> httpx.Client:
    """The one HTTP client for feeds; HTTP/2 (negotiated per server) when `http2` is asked for
    and the optional h2 package is installed (`pip install policywatch[http2]`)."""
    use_http2 = http2 and importlib.util.find_spec("h2") is not None
    return httpx.Client(
        headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
        follow_redirects=False,
        timeout=httpx.Timeout(20.0, connect=10.0),
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        http2=use_http2,
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
        # Fetching is waiting on the network: its own, wider pool (polling.max_fetches).
        self._poll_pool = ThreadPoolExecutor(
            self.settings.polling.max_fetches, thread_name_prefix="pw-poll"
        )
        self._scheduler: BackgroundScheduler | None = None
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()
        self._health: dict[str, str] = {}

    def close(self) -> None:
        self._poll_pool.shutdown(wait=True, cancel_futures=True)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()
        self.pipeline.store.close()

    def wake(self) -> None:
        """Make the delivery loop look again now (new deliveries, or time to stop)."""
        self._wake.set()

    def poll_and_process(self, feed: FeedConfig) -> tuple[PollOutcome, int, int]:
        outcome = self.pipeline.poll_feed(feed, self.client)
        if not outcome.items:
            self.pipeline.finish_poll(outcome)
            return outcome, 0, 0
        scored, created = self.pipeline.process_items(feed.name, outcome.items)
        self.pipeline.finish_poll(outcome)
        if created:
            self._wake.set()
        alerts = sum(1 for s in scored for m in s.matches if m.alert)
        return outcome, len(scored), alerts

    def poll_safely(self, feed: FeedConfig) -> tuple[PollOutcome, int, int]:
        """poll_and_process, with any unexpected fault kept to this feed's outcome."""
        try:
            return self.poll_and_process(feed)
        except Exception as exc:  # a task boundary: one feed's bug must not stop the others
            log.exception("polling %s failed unexpectedly", feed.name)
            return PollOutcome(feed.name, "error", error=f"unexpected {type(exc).__name__}"), 0, 0

    def run_once(self) -> CycleReport:
        report = CycleReport()
        # Submitted round-robin across hosts so the per-host cap does not idle the pool;
        # reported in config order.
        futures = {
            f.name: self._poll_pool.submit(self.poll_safely, f)
            for f in interleave_by_host(self.settings.feeds)
        }
        for feed in self.settings.feeds:
            outcome, new, alerts = futures[feed.name].result()
            report.polls.append(outcome)
            report.new_items += new
            report.alerts += alerts
        report.deliveries.extend(self.deliver_due_now())
        self.check_feed_health()
        return report

    def check_feed_health(self) -> None:
        """Log the feeds that started (or stopped) failing or staying silent too long."""
        states = self.pipeline.store.list_feed_states()
        healths = feed_health(self.settings.feeds, states, self.pipeline.clock())
        self._health = report_changes(healths, self._health)

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

    def run_forever(self, stop: threading.Event, poll: bool = True) -> None:
        """Deliver until `stop` is set; with `poll`, also poll every feed now and then on its
        schedule (each feed at its own phase of its interval, so feeds sharing an interval do
        not fire together; one that is backing off is rescheduled to when it is due)."""
        executor = SchedulerThreadPool(self.settings.polling.max_fetches)
        scheduler = BackgroundScheduler(timezone="UTC", executors={"default": executor})
        self._scheduler = scheduler
        now = self.pipeline.clock()
        for feed in self.settings.feeds if poll else []:
            scheduler.add_job(
                self._poll_job,
                IntervalTrigger(
                    seconds=feed.every,
                    start_date=now + timedelta(seconds=phase_s(feed.name, feed.every)),
                    jitter=min(30.0, feed.every * 0.1),
                ),
                args=[feed],
                id=f"poll:{feed.name}",
                name=f"poll {feed.name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(feed.every // 2)),
            )
        if poll and self.settings.feeds:
            scheduler.add_job(
                self.check_feed_health,
                IntervalTrigger(seconds=HEALTH_CHECK_S),
                id="feed-health",
                next_run_time=now + timedelta(seconds=60),
                coalesce=True,
                max_instances=1,
            )
        scheduler.start()
        for feed in interleave_by_host(self.settings.feeds) if poll else []:
            self._poll_pool.submit(self._poll_job, feed)  # every feed once at start
        log.info(
            "running: %d feeds, %d watchlists",
            len(self.settings.feeds),
            len(self.settings.watchlists),
        )
        try:
            while not stop.is_set():
                # cleared before delivering: a wake() during delivery is not lost
                self._wake.clear()
                self.deliver_due_now()
                self._wake.wait(self._seconds_to_next_due())
        finally:
            scheduler.shutdown(wait=True)
            log.info("stopped")

    def _poll_job(self, feed: FeedConfig) -> None:
        with self._in_flight_lock:
            if feed.name in self._in_flight:
                return  # the start-up poll of a slow feed is still running
            self._in_flight.add(feed.name)
        try:
            self.poll_safely(feed)
            self._follow_backoff(feed)
        except Exception:  # a task boundary: one feed's bug must not stop the scheduler
            log.exception("after polling %s", feed.name)
        finally:
            with self._in_flight_lock:
                self._in_flight.discard(feed.name)

    def _follow_backoff(self, feed: FeedConfig) -> None:
        """A feed backing off (or told Retry-After) past its next scheduled poll is polled
        when it is due rather than at the first tick after that."""
        state = self.pipeline.store.get_feed_state(feed.name)
        job = self._scheduler.get_job(f"poll:{feed.name}") if self._scheduler else None
        if job is None or state is None or not state.consecutive_failures:
            return
        if state.next_poll_at and job.next_run_time and job.next_run_time < state.next_poll_at:
            job.modify(next_run_time=state.next_poll_at)

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
    client = make_http_client(settings.user_agent, settings.polling.http2)
    return EmbeddedRuntime(pipeline, client)
