"""The leader lock on a real Redis: one holder, token-checked renew and release, expiry."""

from __future__ import annotations

import time

import redis

from worker.runtime.leader import LeaderLock

KEY = "policywatch:scheduler:leader"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_only_one_scheduler_holds_the_lock(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    first, second = LeaderLock(client, KEY, 10), LeaderLock(client, KEY, 10)
    assert first.acquire()
    assert not second.acquire()
    assert first.acquire()  # taking it again is a renewal
    assert first.holder() == first.token != second.token


def test_a_stranger_can_neither_renew_nor_release_the_lock(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    owner, stranger = LeaderLock(client, KEY, 10), LeaderLock(client, KEY, 10)
    owner.acquire()
    assert not stranger.renew()
    assert not stranger.release()
    assert owner.holder() == owner.token
    assert owner.release()
    assert stranger.acquire()


def test_an_expired_lock_goes_to_the_next_scheduler_and_the_old_one_cannot_renew_it(
    redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    old, new = LeaderLock(client, KEY, 0.2), LeaderLock(client, KEY, 0.2)
    assert old.acquire()
    time.sleep(0.3)
    assert new.acquire()
    assert not old.renew()
    assert not old.held()
    assert new.holder() == new.token


def test_a_holder_stops_trusting_its_lock_once_the_ttl_has_passed_without_a_renewal(
    redis_url: str,
) -> None:
    clock = FakeClock()
    lock = LeaderLock(redis.Redis.from_url(redis_url), KEY, 10, clock=clock)
    assert lock.acquire() and lock.held()
    clock.now += 9.9
    assert lock.held()
    clock.now += 0.2
    assert not lock.held()
    assert lock.renew() and lock.held()
