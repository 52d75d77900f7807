"""The embedded runtime: one process, APScheduler in it, a thread pool calling the stages."""

from __future__ import annotations

import logging
import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from worker.channels import build_channel
from worker.config import FeedConfig, Settings
from worker.errors import ConfigError, ConfigProblem
from worker.health import Ticker, scheduler_heartbeat
from worker.models import DeliveryState, Heartbeat
from worker.pipeline import DeliveryOutcome, Pipeline, PollOutcome
from worker.recorder import NULL_RECORDER, Recorder
from worker.runtime.digest_jobs import schedule_digest_jobs
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
        self.ticker = Ticker()
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._scheduler: BackgroundScheduler | None = None
        self._swap = threading.Lock()

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
        alerts = sum(1 for s in scored for m in s.matches if m.alert)
        if created or alerts:  # alerts may have been held: the loop looks at when they are due
            self._wake.set()
        return outcome, len(scored), alerts

    def run_once(self) -> CycleReport:
        report = CycleReport()
        futures = [self._pool.submit(self.poll_and_process, f) for f in self.settings.feeds]
        for future in futures:
            outcome, new, alerts = future.result()
            report.polls.append(outcome)
            report.new_items += new
            report.alerts += alerts
        # What grouping held back goes now; quiet hours and digests keep their own time
        # (a digest that fell due while we were down is made here too).
        self.pipeline.flush_due(force_groups=True)
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
        schedule_digest_jobs(scheduler, self.pipeline.router.policies, self._flush_job)
        self._scheduler = scheduler
        self._add_heartbeat_job(scheduler)
        scheduler.start()
        log.info(
            "running: %d feeds, %d watchlists",
            len(self.settings.feeds),
            len(self.settings.watchlists),
        )
        try:
            while not stop.is_set():
                # Held alerts whose time has come (group_wait, quiet hours) and digests due,
                # or missed while we were down, become deliveries here.
                self._flush_job()
                self._wake.clear()
                round_ = self._dispatcher.dispatch()
                self._dispatcher.take_outcomes()  # each outcome was logged by the pipeline
                self._wake.wait(BLOCKED_POLL_S if round_.blocked else self._seconds_to_next_due())
        finally:
            scheduler.shutdown(wait=True)
            self._scheduler = None
            log.info("stopped")

    # heartbeat: /readyz and `status` know the scheduler is ticking
    def _add_heartbeat_job(self, scheduler: BackgroundScheduler) -> None:
        scheduler.add_job(
            self.beat,
            IntervalTrigger(seconds=self.settings.health.heartbeat_every),
            id="heartbeat",
            name="heartbeat",
            next_run_time=self.pipeline.clock(),
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(self.settings.health.heartbeat_every)),
        )

    def beat(self) -> None:
        """Tick, and write a heartbeat with every job's next run to the store."""
        self.ticker.tick()
        self.pipeline.recorder.ticked("scheduler")
        scheduler, now = self._scheduler, self.pipeline.clock()
        beat = (
            scheduler_heartbeat(scheduler, "scheduler", self.holder, now)
            if scheduler is not None
            else Heartbeat("scheduler", self.holder, now)
        )
        try:
            self.pipeline.store.record_heartbeat(beat)
        except Exception as exc:  # a job boundary: /readyz reports the store itself
            log.warning("heartbeat not written: %s", exc)

    # reload: a new config replaces the running one between jobs
    def apply_settings(self, new: Settings) -> None:
        """Run with `new` from now on: new channels and pipeline (same store), feed jobs
        added, removed or rescheduled. Jobs already running finish with the old config.

        Raises ConfigError, and changes nothing, when `new` cannot be applied while running
        (a different `state`) or its channels cannot be built.
        """
        old = self.settings
        if new.state != old.state or new.broker != old.broker:
            problem = ConfigProblem(
                new.source_file, None, "state", "(changed)", "the same store; restart to switch"
            )
            raise ConfigError([problem])
        channels = {name: build_channel(name, cfg) for name, cfg in new.channels.items()}
        p = self.pipeline
        pipeline = Pipeline(
            new, p.store, channels, clock=p.clock, rng=p.rng, recorder=p.recorder, pacer=p.pacer
        )
        with self._swap:
            self.pipeline, self.settings = pipeline, new
            self._dispatcher.use(pipeline)
            if self._scheduler is not None:
                self._reschedule(self._scheduler, old, new)
        for key in ("workers", "metrics"):
            if getattr(old, key) != getattr(new, key):
                log.warning("config reload: %s changes take effect after a restart", key)
        self._wake.set()

    def _reschedule(self, scheduler: BackgroundScheduler, old: Settings, new: Settings) -> None:
        schedule_digest_jobs(scheduler, self.pipeline.router.policies, self._flush_job)
        before = {f.name: f for f in old.feeds}
        after = {f.name: f for f in new.feeds}
        for name in before.keys() - after.keys():
            scheduler.remove_job(f"poll:{name}")
            log.info("config reload: feed %s removed", name)
        for name, feed in after.items():
            job_id = f"poll:{name}"
            if name not in before:
                scheduler.add_job(
                    self._poll_job,
                    IntervalTrigger(seconds=feed.every, jitter=min(30.0, feed.every * 0.1)),
                    args=[feed],
                    id=job_id,
                    name=f"poll {name}",
                    next_run_time=self.pipeline.clock(),
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=max(1, int(feed.every // 2)),
                )
                log.info("config reload: feed %s added, polling now", name)
            elif feed != before[name]:
                scheduler.modify_job(job_id, args=[feed])
                if feed.every != before[name].every:
                    trigger = IntervalTrigger(
                        seconds=feed.every, jitter=min(30.0, feed.every * 0.1)
                    )
                    scheduler.reschedule_job(job_id, trigger=trigger)
                log.info("config reload: feed %s changed", name)

    def _poll_job(self, feed: FeedConfig) -> None:
        try:
            self.poll_and_process(feed)
        except Exception:  # a task boundary: one feed's bug must not stop the scheduler
            log.exception("polling %s failed unexpectedly", feed.name)

    def _flush_job(self) -> None:
        try:
            if self.pipeline.flush_due():
                self._wake.set()
        except Exception:  # a task boundary: keep the scheduler alive, try again next tick
            log.exception("flushing held alerts failed unexpectedly")

    def _seconds_to_next_due(self) -> float:
        store = self.pipeline.store
        times = [t for t in (store.next_due_at(), store.next_release_at()) if t is not None]
        due = min(times, default=None)
        if due is None:
            return MAX_DELIVERY_WAIT_S
        wait = (due - self.pipeline.clock()) / timedelta(seconds=1)
        return max(0.05, min(MAX_DELIVERY_WAIT_S, wait))


def open_settings_store(settings: Settings) -> Store:
    """The store `state:` names; relative SQLite paths are relative to the working folder."""
    return open_store(settings.state)


def build_runtime(settings: Settings, recorder: Recorder = NULL_RECORDER) -> EmbeddedRuntime:
    """Everything `policywatch run` needs, from one settings object."""
    channels = {name: build_channel(name, cfg) for name, cfg in settings.channels.items()}
    pipeline = Pipeline(settings, open_settings_store(settings), channels, recorder=recorder)
    return EmbeddedRuntime(pipeline, make_http_client(settings.user_agent))
