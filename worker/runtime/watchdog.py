"""A worker node's watchdog: a node whose pool sits idle while its queue holds messages has
stopped consuming (seen after a broker restart, inside Celery's reconnect), so it restarts.

The store loses nothing meanwhile; the watchdog only bounds how long such a node keeps work
waiting. `policywatch worker` starts a node again when it exits this way.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)

CHECK_EVERY_S = 5.0
STALL_AFTER_S = 30.0
# After asking for a warm shutdown, how long before the process is ended outright.
FORCE_EXIT_AFTER_S = 60.0
EXIT_STALLED = 75  # EX_TEMPFAIL: start me again


class StallDetector:
    """Says a node is stalled once its pool was idle while messages waited, at every
    observation for `stall_after_s` seconds. `now` is monotonic seconds."""

    def __init__(self, stall_after_s: float = STALL_AFTER_S) -> None:
        self.stall_after_s = stall_after_s
        self._since: float | None = None

    def observe(self, idle: bool, waiting: int, now: float) -> bool:
        if not idle or waiting <= 0:
            self._since = None
            return False
        if self._since is None:
            self._since = now
        return now - self._since >= self.stall_after_s


def pool_idle() -> bool:
    """No task running or reserved in this node (Celery's own bookkeeping)."""
    from celery.worker import state

    return not state.active_requests and not state.reserved_requests


class Watchdog:
    """Checks `queue` on the broker every CHECK_EVERY_S; on a stall, logs it and stops this
    process (SIGTERM, then a hard exit with EXIT_STALLED if the shutdown hangs)."""

    def __init__(
        self,
        client: redis.Redis,
        queue: str,
        idle: Callable[[], bool] = pool_idle,
        detector: StallDetector | None = None,
    ) -> None:
        self._r = client
        self.queue = queue
        self._idle = idle
        self._detector = detector or StallDetector()
        self._stop = threading.Event()
        self.stalled = False

    def start(self) -> None:
        threading.Thread(target=self._run, name="pw-watchdog", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def check(self) -> bool:
        """One observation; true when the node is stalled."""
        try:
            waiting = int(self._r.llen(self.queue))
        except redis.RedisError:
            return False  # the broker is away: Celery is reconnecting, nothing to judge
        return self._detector.observe(self._idle(), waiting, time.monotonic())

    def _run(self) -> None:
        while not self._stop.wait(CHECK_EVERY_S):
            if self.check():
                self.stalled = True
                log.error(
                    "worker node for %s: its pool was idle for %.0fs while tasks waited in"
                    " the queue; restarting it",
                    self.queue,
                    self._detector.stall_after_s,
                )
                os.kill(os.getpid(), signal.SIGTERM)
                if not self._stop.wait(FORCE_EXIT_AFTER_S):
                    os._exit(EXIT_STALLED)
                return
