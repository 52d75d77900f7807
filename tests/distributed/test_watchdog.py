"""The node watchdog: an idle pool while the queue holds tasks means the node is stuck."""

from __future__ import annotations

import redis

from worker.runtime.watchdog import StallDetector, Watchdog


def test_a_node_is_stalled_only_after_idling_beside_waiting_tasks_for_the_whole_span() -> None:
    detector = StallDetector(stall_after_s=30)
    assert not detector.observe(idle=True, waiting=3, now=0)
    assert not detector.observe(idle=True, waiting=3, now=29)
    assert detector.observe(idle=True, waiting=1, now=30)


def test_work_in_hand_or_an_empty_queue_resets_the_count() -> None:
    detector = StallDetector(stall_after_s=30)
    detector.observe(idle=True, waiting=3, now=0)
    assert not detector.observe(idle=False, waiting=3, now=20)  # it took a task
    assert not detector.observe(idle=True, waiting=3, now=40)
    assert not detector.observe(idle=True, waiting=0, now=60)  # nothing to do is fine
    assert not detector.observe(idle=True, waiting=2, now=61)
    assert detector.observe(idle=True, waiting=2, now=91)


def test_the_watchdog_reads_the_queue_length_from_the_broker(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    watchdog = Watchdog(client, "deliver", idle=lambda: True, detector=StallDetector(0))
    assert not watchdog.check()
    client.rpush("deliver", "a task message")
    assert watchdog.check()


def test_an_unreachable_broker_is_not_taken_for_a_stall() -> None:
    client = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    watchdog = Watchdog(client, "deliver", idle=lambda: True, detector=StallDetector(0))
    assert not watchdog.check()
