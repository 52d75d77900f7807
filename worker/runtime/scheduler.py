"""`policywatch scheduler`: APScheduler behind the Redis leader lock, only enqueuing work.

Run two or more for safety. The one holding the lock queues a poll of each feed at fixed,
per-feed staggered times (every `feeds[].every`), and a sweep (held alerts and digests that
are due, then due deliveries) every `distributed.sweep_every` and at each digest's time;
the others retry the lock every tenth of its TTL. When the leader dies its lock expires after
`distributed.leader_ttl_s`, so a standby leads again within 1.1 × that TTL. The new leader
first queues the current slot of every feed, which is skipped when the old leader already
did: a hand-over neither repeats a poll nor skips one (see queueing.poll_slot).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import redis
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from worker.config import FeedConfig, Settings
from worker.health import scheduler_heartbeat
from worker.pipeline import PRUNE_SEEN_EVERY_S
from worker.routing import policies_for
from worker.runtime.digest_jobs import schedule_digest_jobs
from worker.runtime.leader import LeaderLock
from worker.runtime.queueing import TaskQueue, poll_slot
from worker.store import Store

log = logging.getLogger(__name__)


def feed_offset_s(feed: FeedConfig) -> float:
    """Where in its interval a feed is polled: fixed per name, spread over the interval."""
    digest = hashlib.sha256(feed.name.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 * feed.every


class LeaderScheduler:
    """Schedules polls and sweeps while (and only while) `lock` is held.

    `start()` starts the (empty) job scheduler; `tick()` takes, keeps or loses the lead;
    `close()` steps down and releases the lock. `run(stop)` does all three until `stop` is
    set. While leading, a "scheduler" heartbeat (holder: the lock token; every job's next run)
    goes to `store` every `health.heartbeat_every`, for `status` and the workers' /readyz.
    `clock` returns unix seconds.
    """

    def __init__(
        self,
        settings: Settings,
        lock: LeaderLock,
        queue: TaskQueue,
        store: Store | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.lock = lock
        self.queue = queue
        self.store = store
        self.clock = clock
        self.leading = False
        ttl_s = settings.distributed.leader_ttl_s
        self.renew_every_s = ttl_s / 3
        self.retry_every_s = max(0.05, ttl_s / 10)
        self._jobs = BackgroundScheduler(timezone="UTC")

    def start(self) -> None:
        self._jobs.start()
        log.info("scheduler %s: standing by for the leader lock", self.lock.token)

    def close(self) -> None:
        """Stop scheduling and release the lock, so a standby leads at its next try."""
        self._step_down("stopping")
        if self._jobs.running:
            self._jobs.shutdown(wait=True)
        try:
            self.lock.release()
        except redis.RedisError as exc:
            log.warning("could not release the leader lock (it will expire): %s", exc)

    def run(self, stop: threading.Event) -> None:
        self.start()
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(self.renew_every_s if self.leading else self.retry_every_s)
        finally:
            self.close()

    def tick(self) -> None:
        try:
            if self.leading:
                if not self.lock.renew():
                    self._step_down("the leader lock was lost")
            elif self.lock.acquire():
                self._step_up()
        except redis.RedisError as exc:
            if self.leading and not self.lock.held():
                self._step_down(f"Redis is unreachable ({exc})")
            log.warning("scheduler: Redis error while checking the leader lock: %s", exc)

    def _step_up(self) -> None:
        self.leading = True
        log.info(
            "scheduler %s: leading; scheduling %d feeds", self.lock.token, len(self.settings.feeds)
        )
        now = datetime.fromtimestamp(self.clock(), UTC)
        for feed in self.settings.feeds:
            offset = feed_offset_s(feed)
            anchor = datetime.fromtimestamp(offset, UTC)
            self._jobs.add_job(
                self.enqueue_poll,
                IntervalTrigger(seconds=feed.every, start_date=anchor, timezone=UTC),
                args=[feed],
                id=f"poll:{feed.name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(1, int(feed.every / 2)),
                replace_existing=True,
            )
            self._jobs.add_job(
                self.enqueue_poll,
                args=[feed],
                id=f"poll-now:{feed.name}",
                next_run_time=now,
                replace_existing=True,
            )
        every = self.settings.distributed.sweep_every
        self._every(self.enqueue_sweep, every, "sweep", now, grace_s=max(1, int(every)))
        # Digests go out on the minute: their jobs wake a sweep, which makes what is due.
        schedule_digest_jobs(self._jobs, policies_for(self.settings), self.enqueue_sweep)
        if self.store is not None and self.settings.retention.seen is not None:
            # late behind a burst of jobs, never skipped
            self._every(self.prune_seen, PRUNE_SEEN_EVERY_S, "prune-seen", now, grace_s=None)
        if self.store is not None:
            beat_every = self.settings.health.heartbeat_every
            self._every(self.beat, beat_every, "heartbeat", now, grace_s=max(1, int(beat_every)))

    def _every(
        self,
        job: Callable[[], object],
        seconds: float,
        job_id: str,
        now: datetime,
        grace_s: int | None,
    ) -> None:
        """A repeating job that runs at once, never overlaps itself and coalesces missed runs."""
        self._jobs.add_job(
            job,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            next_run_time=now,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace_s,
            replace_existing=True,
        )

    def beat(self) -> None:
        """Write the leader's heartbeat (skipped once the lock may have passed to another)."""
        if self.store is None or not self.lock.held():
            return
        now = datetime.fromtimestamp(self.clock(), UTC)
        try:
            self.store.record_heartbeat(
                scheduler_heartbeat(self._jobs, "scheduler", self.lock.token, now)
            )
        except Exception as exc:  # a job boundary: the next beat tries again
            log.warning("heartbeat not written: %s", exc)

    def prune_seen(self) -> int:
        """Forget seen items no poll has carried for `retention.seen` (the leader only)."""
        keep_s = self.settings.retention.seen
        if self.store is None or keep_s is None or not self.lock.held():
            return 0
        before = datetime.fromtimestamp(self.clock() - keep_s, UTC)
        try:
            pruned = self.store.prune_seen(before)
        except Exception as exc:  # a job boundary: the next run tries again
            log.warning("could not forget old seen items: %s", exc)
            return 0
        if pruned:
            log.info("forgot %d seen items no feed has carried for %gs", pruned, keep_s)
        return pruned

    def _step_down(self, why: str) -> None:
        if self.leading:
            level = logging.INFO if why == "stopping" else logging.WARNING
            log.log(level, "scheduler %s: no longer leading: %s", self.lock.token, why)
        self.leading = False
        self._jobs.remove_all_jobs()

    def enqueue_poll(self, feed: FeedConfig) -> None:
        if not self.lock.held():
            return
        slot = poll_slot(self.clock(), feed.every, feed_offset_s(feed))
        try:
            if self.queue.poll(feed.name, slot, feed.every):
                log.info("queued a poll of %s (slot %d)", feed.name, slot)
        except Exception as exc:  # a job boundary: the next slot tries again
            log.warning("could not queue a poll of %s: %s", feed.name, exc)

    def enqueue_sweep(self) -> None:
        if not self.lock.held():
            return
        try:
            self.queue.request_sweep(ttl_s=max(30.0, 10 * self.settings.distributed.sweep_every))
        except Exception as exc:  # a job boundary: the next sweep tries again
            log.warning("could not queue a sweep: %s", exc)


def run_scheduler(settings: Settings, stop: threading.Event) -> None:
    """Everything `policywatch scheduler` does, until `stop` is set."""
    from worker.runtime.celery_app import DistributedApp
    from worker.runtime.embedded import open_settings_store
    from worker.store.redis import RedisStore, connect, redacted

    app = DistributedApp(settings)
    # Fail fast rather than sit on a hung connection: the lock must be renewed within its TTL.
    ttl_s = settings.distributed.leader_ttl_s
    client = connect(app.broker_url, retries=1, socket_timeout_s=max(0.5, min(5.0, ttl_s / 3)))
    for problem in RedisStore(client, app.keys).durability_problems():
        log.warning("Redis at %s: %s", redacted(app.broker_url), problem)
    lock = LeaderLock(client, app.keys.leader, settings.distributed.leader_ttl_s)
    queue = TaskQueue(client, app.keys, app.send, settings.distributed.requeue_after_s)
    store = open_settings_store(settings)
    try:
        LeaderScheduler(settings, lock, queue, store).run(stop)
    finally:
        store.close()
