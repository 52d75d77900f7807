"""The leader scheduler in-process: only the leader enqueues, and a hand-over repeats nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from tests.distributed.cluster import wait_until, write_config
from tests.distributed.test_queueing import Outbox
from worker.config import load_settings
from worker.runtime.leader import LeaderLock
from worker.runtime.queueing import POLL_FEED, SWEEP, TaskQueue
from worker.runtime.scheduler import LeaderScheduler, feed_offset_s
from worker.store.keys import Keys
from worker.store.redis import RedisStore


@pytest.fixture
def pair(tmp_path: Path, redis_url: str) -> Iterator[list[tuple[LeaderScheduler, Outbox]]]:
    config = write_config(tmp_path, redis_url, "http://127.0.0.1:9/feed.xml", "http://x/hook")
    settings = load_settings(config)
    made = []
    for _ in range(2):
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        outbox = Outbox()
        lock = LeaderLock(client, Keys().leader, settings.distributed.leader_ttl_s)
        queue = TaskQueue(client, Keys(), outbox, 60)
        scheduler = LeaderScheduler(settings, lock, queue, RedisStore.from_url(redis_url))
        scheduler.start()
        made.append((scheduler, outbox))
    yield made
    for scheduler, _ in made:
        scheduler.close()


def polls(outbox: Outbox) -> list[list[str]]:
    return [args for name, args, _ in outbox.sent if name == POLL_FEED]


def test_only_the_leader_queues_polls_and_sweeps(
    pair: list[tuple[LeaderScheduler, Outbox]],
) -> None:
    (leader, leader_out), (standby, standby_out) = pair
    leader.tick()
    standby.tick()
    assert leader.leading and not standby.leading
    wait_until(
        lambda: polls(leader_out) and any(n == SWEEP for n, _, _ in leader_out.sent),
        5,
        "the leader queues the first poll and a sweep",
    )
    standby.tick()
    assert standby_out.sent == []
    assert polls(leader_out) == [["wire"]]


def test_the_leader_writes_a_heartbeat_naming_itself_and_its_next_runs(
    pair: list[tuple[LeaderScheduler, Outbox]],
) -> None:
    (leader, _), (standby, _) = pair
    leader.tick()
    standby.tick()
    assert leader.store is not None
    store = leader.store
    wait_until(lambda: store.list_heartbeats(), 5, "a heartbeat in the store")
    [beat] = store.list_heartbeats()
    assert beat.component == "scheduler" and beat.holder == leader.lock.token
    assert {"poll:wire", "sweep"} <= set(beat.jobs)
    assert beat.jobs["poll:wire"] is not None


def test_a_new_leader_does_not_poll_again_what_the_old_one_polled_this_interval(
    pair: list[tuple[LeaderScheduler, Outbox]],
) -> None:
    (old, old_out), (new, new_out) = pair
    old.tick()
    wait_until(lambda: polls(old_out), 5, "the first leader polls at once")
    old.close()  # steps down and releases the lock
    old.queue.sweep_started()  # as a worker would, so the next sweep may be queued
    new.tick()
    assert new.leading
    wait_until(lambda: any(n == SWEEP for n, _, _ in new_out.sent), 5, "the new leader sweeps")
    assert polls(new_out) == []  # the feed's current slot was already queued


def test_feeds_are_spread_over_their_interval_the_same_way_by_every_scheduler(
    tmp_path: Path, redis_url: str
) -> None:
    settings = load_settings(write_config(tmp_path, redis_url, "http://a/f", "http://b/h"))
    [feed] = settings.feeds
    assert 0 <= feed_offset_s(feed) < feed.every
    assert feed_offset_s(feed) == feed_offset_s(feed.model_copy())


def test_the_leader_forgets_seen_items_no_feed_has_carried_for_the_retention(
    pair: list[tuple[LeaderScheduler, Outbox]],
) -> None:
    (leader, _), (standby, _) = pair
    assert leader.store is not None
    store = leader.store
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=60)  # the default retention is 30 days
    store.record_batch("wire", ["gone-1"], [], [], long_ago)
    store.touch_seen("wire", ["gone-1"], long_ago)
    store.record_batch("wire", ["fresh-1"], [], [], now)
    store.touch_seen("wire", ["fresh-1"], now)
    assert standby.prune_seen() == 0  # not leading: leaves it to the leader

    leader.tick()

    wait_until(lambda: store.unseen(["gone-1"]) == ["gone-1"], 5, "the old item forgotten")
    assert store.unseen(["fresh-1"]) == []
