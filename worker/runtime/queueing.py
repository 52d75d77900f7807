"""Putting work on the queues without piling it up: at most one queued hint per delivery, one
poll per feed per schedule slot, one queued sweep.

A hint is only a nudge; the store decides (a deliver task that finds its delivery not due or
taken does nothing). The marks below keep a backlog or a hand-over between schedulers from
multiplying messages; each mark expires, so a message the broker lost is sent again later.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime

import redis

from worker.store import Store
from worker.store.keys import DELIVER_QUEUE, POLL_QUEUE, Keys

log = logging.getLogger(__name__)

POLL_FEED = "policywatch.poll_feed"
DELIVER = "policywatch.deliver"
SWEEP = "policywatch.sweep"

# send(task name, args, queue): publishes one message.
Send = Callable[[str, Sequence[str], str], None]

SWEEP_BATCH = 1000


def poll_slot(now_s: float, every_s: float, offset_s: float) -> int:
    """The number of the `every_s`-long interval (shifted by `offset_s`) that `now_s` falls in.

    Every scheduler computes the same slot for the same moment, so a poll enqueued by one is
    recognised by the other. A fire time a hair early still counts for its own slot.
    """
    return math.floor((now_s - offset_s) / every_s + 1e-6)


class TaskQueue:
    """Publishes poll, deliver and sweep tasks, guarded by expiring marks in Redis.

    `requeue_after_s`: how long a queued deliver hint blocks another for the same delivery
    (the task clears it when it ends, so this only matters when a message is lost or stuck).
    Raises redis.RedisError or the broker's error when either is unreachable.
    """

    def __init__(self, client: redis.Redis, keys: Keys, send: Send, requeue_after_s: float) -> None:
        self._r = client
        self._keys = keys
        self._send = send
        self._hint_ms = max(1, int(requeue_after_s * 1000))

    def deliver(self, delivery_id: str) -> bool:
        """Queue a deliver task unless one is already queued for this delivery."""
        key = self._keys.hint(delivery_id)
        if not self._r.set(key, "1", nx=True, px=self._hint_ms):
            return False
        try:
            self._send(DELIVER, [delivery_id], DELIVER_QUEUE)
        except BaseException:
            self._r.delete(key)
            raise
        return True

    def delivery_done(self, delivery_id: str) -> None:
        """The deliver task ended (whatever the outcome): the next hint may be queued."""
        self._r.delete(self._keys.hint(delivery_id))

    def poll(self, feed: str, slot: int, every_s: float) -> bool:
        """Queue a poll of `feed` for `slot` unless some scheduler already did."""
        ttl_ms = int((2 * every_s + 60) * 1000)
        if not self._r.set(self._keys.poll_slot(feed, slot), "1", nx=True, px=ttl_ms):
            return False
        self._send(POLL_FEED, [feed], POLL_QUEUE)
        return True

    def request_sweep(self, ttl_s: float) -> bool:
        """Queue a sweep unless one is queued and not yet started (the mark expires after
        `ttl_s`, in case the message was lost)."""
        if not self._r.set(self._keys.sweep_queued, "1", nx=True, px=int(ttl_s * 1000)):
            return False
        self._send(SWEEP, [], POLL_QUEUE)
        return True

    def sweep_started(self) -> None:
        self._r.delete(self._keys.sweep_queued)


def sweep(store: Store, queue: TaskQueue, now: datetime, limit: int = SWEEP_BATCH) -> int:
    """Queue a deliver hint for every delivery that is due now: new or failed ones whose time
    has come, and ones whose lease ran out because their worker died. Returns how many."""
    return sum(1 for delivery_id in store.due_ids(now, limit) if queue.deliver(delivery_id))
