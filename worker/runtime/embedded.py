"""The embedded runtime: one process, APScheduler in it, a thread pool calling the stages."""

from __future__ import annotations

import importlib.util
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from apscheduler.executors.pool import ThreadPoolExecutor as SchedulerThreadPool
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from worker.channels import build_channel
from worker.config import FeedConfig, Settings
from worker.errors import ConfigError, ConfigProblem
from worker.feed_health import feed_health, report_changes
from worker.health import Ticker, scheduler_heartbeat
from worker.models import DeliveryState, Heartbeat
from worker.pipeline import PRUNE_SEEN_EVERY_S, DeliveryOutcome, Pipeline, PollOutcome
from worker.politeness import interleave_by_host, phase_s
from worker.recorder import NULL_RECORDER, Recorder
from worker.runtime.digest_jobs import schedule_digest_jobs
from worker.runtime.dispatch import DeliveryDispatcher
from worker.store import Store, open_store

log = logging.getLogger(__name__)

MAX_DELIVERY_WAIT_S = 5.0
DRAIN_POLLS_S = 60.0  # on stop, how long polls in flight may take to finish
# Failing and silent feeds are looked for this long after start, then this often.
HEALTH_CHECK_FIRST_S = 60.0
HEALTH_CHECK_S = 300.0
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
        # Fetching is waiting on the network: its own, wider pool (polling.max_fetches).
        self._poll_pool = ThreadPoolExecutor(
            self.settings.polling.max_fetches, thread_name_prefix="pw-poll"
        )
        self._in_flight: set[str] = set()
        self._in_flight_lock = threading.Lock()
        # Set while run_forever stops: polls then leave the scheduler alone (see _drain_polls).
        self._stopping = threading.Event()
        self._health: dict[str, str] = {}
        self.ticker = Ticker()
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._scheduler: BackgroundScheduler | None = None
        self._swap = threading.Lock()

        self._dispatcher = DeliveryDispatcher(pipeline, self.settings.workers, self._wake)

    def close(self) -> None:
        self._poll_pool.shutdown(wait=True, cancel_futures=True)
        self._dispatcher.close()
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
        alerts = sum(1 for s in scored for m in s.matches if m.alert)
        if created or alerts:  # alerts may have been held: the loop looks at when they are due
            self._wake.set()
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
        # What grouping held back goes now; quiet hours and digests keep their own time
        # (a digest that fell due while we were down is made here too).
        self.pipeline.flush_due(force_groups=True)
        report.deliveries.extend(self.deliver_due_now())
        self.pipeline.prune_seen()
        self.check_feed_health()
        return report

    def _check_feed_health_safely(self) -> None:
        try:
            self.check_feed_health()
        except Exception:  # a loop boundary: a report must not stop deliveries
            log.exception("checking feed health failed")

    def check_feed_health(self) -> None:
        """Log the feeds that started (or stopped) failing or staying silent too long."""
        states = self.pipeline.store.list_feed_states()
        healths = feed_health(self.settings.feeds, states, self.pipeline.clock())
        self._health = report_changes(healths, self._health)

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
        scheduler.add_job(
            self._prune_job,
            IntervalTrigger(seconds=PRUNE_SEEN_EVERY_S),
            id="prune-seen",
            name="forget old seen items",
            next_run_time=now,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,  # behind a burst of polls it is late, never skipped
        )
        schedule_digest_jobs(scheduler, self.pipeline.router.policies, self._flush_job)
        self._scheduler = scheduler
        self._add_heartbeat_job(scheduler)
        scheduler.start()
        for feed in interleave_by_host(self.settings.feeds) if poll else []:
            self._poll_pool.submit(self._poll_job, feed)  # every feed once at start
        log.info(
            "running: %d feeds, %d watchlists",
            len(self.settings.feeds),
            len(self.settings.watchlists),
        )
        next_health_check = time.monotonic() + HEALTH_CHECK_FIRST_S
        try:
            while not stop.is_set():
                # Held alerts whose time has come (group_wait, quiet hours) and digests due,
                # or missed while we were down, become deliveries here.
                self._flush_job()
                self._wake.clear()
                round_ = self._dispatcher.dispatch()
                self._dispatcher.take_outcomes()  # each outcome was logged by the pipeline
                if poll and time.monotonic() >= next_health_check:
                    next_health_check = time.monotonic() + HEALTH_CHECK_S
                    self._check_feed_health_safely()
                self._wake.wait(BLOCKED_POLL_S if round_.blocked else self._seconds_to_next_due())
        finally:
            self._drain_polls()
            scheduler.shutdown(wait=True)
            self._scheduler = None
            self._stopping.clear()
            log.info("stopped")

    def _drain_polls(self) -> None:
        # APScheduler's shutdown holds its job-store lock while it waits for running jobs; a
        # poll that then asks the scheduler about its job (_follow_backoff) would wait for that
        # lock for ever. So polls are told to stop touching the scheduler, and the ones in
        # flight are let finish, before the shutdown begins.
        self._stopping.set()
        deadline = time.monotonic() + DRAIN_POLLS_S
        while time.monotonic() < deadline:
            with self._in_flight_lock:
                if not self._in_flight:
                    return
            time.sleep(0.05)
        log.warning("stopping with polls still running after %gs", DRAIN_POLLS_S)

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
            new,
            p.store,
            channels,
            clock=p.clock,
            rng=p.rng,
            recorder=p.recorder,
            pacer=p.pacer,
            hosts=p.hosts,
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
        with self._in_flight_lock:
            if self._stopping.is_set():
                return  # queued before the stop: not started any more
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
        if self._stopping.is_set():
            return  # the scheduler is shutting down: asking it would deadlock
        state = self.pipeline.store.get_feed_state(feed.name)
        job = self._scheduler.get_job(f"poll:{feed.name}") if self._scheduler else None
        if job is None or state is None or not state.consecutive_failures:
            return
        if state.next_poll_at and job.next_run_time and job.next_run_time < state.next_poll_at:
            job.modify(next_run_time=state.next_poll_at)

    def _flush_job(self) -> None:
        try:
            if self.pipeline.flush_due():
                self._wake.set()
        except Exception:  # a task boundary: keep the scheduler alive, try again next tick
            log.exception("flushing held alerts failed unexpectedly")

    def _prune_job(self) -> None:
        try:
            self.pipeline.prune_seen()
        except Exception:  # a task boundary: a busy or broken store must not stop the scheduler
            log.exception("forgetting old seen items failed")

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
    client = make_http_client(settings.user_agent, settings.polling.http2)
    return EmbeddedRuntime(pipeline, client)
