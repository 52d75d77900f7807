"""Queueing work without piling it up: hints, poll slots and sweeps, on a real Redis."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

import redis

from tests.store.test_store_contract import T0, make_alert, pending
from worker.runtime.queueing import DELIVER, POLL_FEED, SWEEP, TaskQueue, poll_slot, sweep
from worker.store.keys import DELIVER_QUEUE, POLL_QUEUE, Keys
from worker.store.redis import RedisStore


class Outbox:
    """Records what would have been published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, list[str], str]] = []

    def __call__(self, name: str, args: Sequence[str], queue: str) -> None:
        self.sent.append((name, list(args), queue))


def queue(redis_url: str, outbox: Outbox, requeue_after_s: float = 60) -> TaskQueue:
    return TaskQueue(redis.Redis.from_url(redis_url), Keys(), outbox, requeue_after_s)


def test_a_delivery_is_queued_once_until_its_task_has_run(redis_url: str) -> None:
    outbox = Outbox()
    hints = queue(redis_url, outbox)
    assert hints.deliver("dlv_1")
    assert not hints.deliver("dlv_1")
    hints.delivery_done("dlv_1")
    assert hints.deliver("dlv_1")
    assert outbox.sent == [(DELIVER, ["dlv_1"], DELIVER_QUEUE)] * 2


def test_a_hint_whose_message_was_lost_expires_and_the_delivery_is_queued_again(
    redis_url: str,
) -> None:
    outbox = Outbox()
    hints = queue(redis_url, outbox, requeue_after_s=0.05)
    assert hints.deliver("dlv_1")
    time.sleep(0.1)
    assert hints.deliver("dlv_1")
    assert len(outbox.sent) == 2


def test_two_schedulers_queue_one_poll_per_feed_and_slot(redis_url: str) -> None:
    outbox = Outbox()
    old_leader, new_leader = queue(redis_url, outbox), queue(redis_url, outbox)
    assert old_leader.poll("wire", 41, every_s=300)
    assert not new_leader.poll("wire", 41, every_s=300)
    assert new_leader.poll("wire", 42, every_s=300)
    assert new_leader.poll("other", 41, every_s=300)
    assert outbox.sent == [
        (POLL_FEED, ["wire"], POLL_QUEUE),
        (POLL_FEED, ["wire"], POLL_QUEUE),
        (POLL_FEED, ["other"], POLL_QUEUE),
    ]


def test_every_scheduler_computes_the_same_slot_for_a_fire_time() -> None:
    every, offset = 300.0, 17.5
    fire = 1_700_000_000 // 300 * 300 + offset
    assert poll_slot(fire, every, offset) == poll_slot(fire + 149, every, offset)
    assert poll_slot(fire - 1e-4, every, offset) == poll_slot(fire, every, offset)
    assert poll_slot(fire + every, every, offset) == poll_slot(fire, every, offset) + 1


def test_only_one_sweep_waits_in_the_queue(redis_url: str) -> None:
    outbox = Outbox()
    sweeps = queue(redis_url, outbox)
    assert sweeps.request_sweep(ttl_s=30)
    assert not sweeps.request_sweep(ttl_s=30)
    sweeps.sweep_started()
    assert sweeps.request_sweep(ttl_s=30)
    assert outbox.sent == [(SWEEP, [], POLL_QUEUE)] * 2


def test_the_sweeper_queues_due_and_lease_expired_deliveries_only(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    alerts = [make_alert(t) for t in ("NVDA", "AMD", "INTC")]
    due, later, stalled = (pending(a) for a in alerts)
    later = replace(later, next_attempt_at=T0 + timedelta(hours=1))
    store.record_batch("wire", ["item-1"], alerts, [due, later, stalled], T0)
    store.claim(stalled.id, T0, lease_s=30)  # its worker died holding it
    outbox = Outbox()
    hints = queue(redis_url, outbox)
    assert sweep(store, hints, T0 + timedelta(seconds=10)) == 1
    assert sweep(store, hints, T0 + timedelta(seconds=31)) == 1  # `due` is already queued
    assert [args for _, args, _ in outbox.sent] == [[due.id], [stalled.id]]
