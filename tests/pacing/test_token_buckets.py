"""Token buckets: a slot per interval, bursts, holds; in one process and shared through Redis."""

from __future__ import annotations

import time

import pytest
import redis

from tests.conftest import RedisServer, free_port
from worker.errors import StoreError
from worker.pacing import LocalTokenBucket, build_pacer, pace_key
from worker.pacing.redis import KEY_PREFIX, RedisTokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bucket(clock: FakeClock) -> LocalTokenBucket:
    return LocalTokenBucket(clock)


def test_the_first_send_goes_at_once_and_the_next_waits_one_interval(
    bucket: LocalTokenBucket, clock: FakeClock
) -> None:
    assert bucket.acquire("slack", 1.0) == 0.0
    assert bucket.acquire("slack", 1.0) == pytest.approx(1.0)
    clock.advance(0.4)
    assert bucket.acquire("slack", 1.0) == pytest.approx(0.6)
    clock.advance(0.6)
    assert bucket.acquire("slack", 1.0) == 0.0


def test_asking_while_refused_takes_nothing(bucket: LocalTokenBucket, clock: FakeClock) -> None:
    bucket.acquire("slack", 1.0)
    for _ in range(5):
        assert bucket.acquire("slack", 1.0) == pytest.approx(1.0)
    clock.advance(1.0)
    assert bucket.acquire("slack", 1.0) == 0.0


def test_a_burst_lets_that_many_through_at_once_then_one_per_interval(
    bucket: LocalTokenBucket, clock: FakeClock
) -> None:
    assert [bucket.acquire("hook", 2.0, burst=3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.acquire("hook", 2.0, burst=3) == pytest.approx(2.0)
    clock.advance(2.0)
    assert bucket.acquire("hook", 2.0, burst=3) == 0.0
    assert bucket.acquire("hook", 2.0, burst=3) == pytest.approx(2.0)


def test_a_quiet_target_does_not_save_up_more_than_its_burst(
    bucket: LocalTokenBucket, clock: FakeClock
) -> None:
    bucket.acquire("slack", 1.0)
    clock.advance(3600)
    assert bucket.acquire("slack", 1.0) == 0.0
    assert bucket.acquire("slack", 1.0) == pytest.approx(1.0)


def test_targets_have_separate_buckets(bucket: LocalTokenBucket) -> None:
    assert bucket.acquire("a", 1.0) == 0.0
    assert bucket.acquire("b", 1.0) == 0.0
    assert bucket.acquire("a", 1.0) > 0


def test_a_hold_stops_a_target_without_pacing_and_is_never_shortened(
    bucket: LocalTokenBucket, clock: FakeClock
) -> None:
    bucket.hold("hook", 30)
    bucket.hold("hook", 5)
    assert bucket.acquire("hook", 0.0) == pytest.approx(30)
    assert bucket.acquire("other", 0.0) == 0.0
    clock.advance(30)
    assert bucket.acquire("hook", 0.0) == 0.0
    assert bucket.acquire("hook", 0.0) == 0.0


def test_the_pace_key_hides_the_url_and_is_shared_by_channels_with_one_url() -> None:
    url = "https://hooks.slack.com/services/T0/B0/s3cret"
    assert pace_key("desk", url) == pace_key("desk-copy", url)
    assert "s3cret" not in pace_key("desk", url)
    assert pace_key("mail", "") == "channel:mail"


def test_a_sqlite_state_paces_in_process() -> None:
    assert isinstance(build_pacer("sqlite:///x.db"), LocalTokenBucket)


# Redis: real time, so intervals are short and bounds are loose on the slow side only.


@pytest.fixture
def redis_client(redis_server: RedisServer) -> redis.Redis:
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    return client


def test_two_workers_share_one_redis_bucket(redis_client: redis.Redis) -> None:
    first, second = RedisTokenBucket(redis_client), RedisTokenBucket(redis_client)

    assert first.acquire("slack", 0.5) == 0.0
    wait = second.acquire("slack", 0.5)

    assert 0.3 < wait <= 0.5
    time.sleep(wait)
    assert second.acquire("slack", 0.5) == 0.0
    assert 0.3 < first.acquire("slack", 0.5) <= 0.5


def test_a_redis_burst_and_a_redis_hold(redis_client: redis.Redis) -> None:
    bucket = RedisTokenBucket(redis_client)
    assert [bucket.acquire("hook", 10.0, burst=2) for _ in range(2)] == [0.0, 0.0]
    assert 9.5 < bucket.acquire("hook", 10.0, burst=2) <= 10.0

    bucket.hold("held", 20)
    bucket.hold("held", 1)
    assert 19.5 < bucket.acquire("held", 0.0) <= 20


def test_redis_buckets_expire_once_idle(redis_client: redis.Redis) -> None:
    bucket = RedisTokenBucket(redis_client)
    bucket.acquire("slack", 1.0)
    ttl_ms = redis_client.pttl(KEY_PREFIX + "slack")
    assert 0 < ttl_ms <= 2000


def test_a_redis_state_paces_through_redis(redis_server: RedisServer) -> None:
    pacer = build_pacer(redis_server.url)
    assert isinstance(pacer, RedisTokenBucket)
    key = f"built-{time.monotonic_ns()}"
    assert pacer.acquire(key, 5.0) == 0.0
    assert pacer.acquire(key, 5.0) > 4


def test_an_unreachable_redis_is_a_store_error_that_names_no_password() -> None:
    client = redis.Redis.from_url(
        f"redis://:hunter2@127.0.0.1:{free_port()}/0", socket_connect_timeout=0.5
    )
    with pytest.raises(StoreError) as caught:
        RedisTokenBucket(client).acquire("slack", 1.0)
    assert "hunter2" not in str(caught.value)
