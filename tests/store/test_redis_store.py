"""What only the Redis store must do: survive a restart, fail clearly, warn about eviction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.conftest import RedisServer, free_port
from tests.store.test_store_contract import T0, make_alert, pending
from worker.errors import StoreError
from worker.models import DeliveryState
from worker.store.redis import RedisStore, redacted


@pytest.fixture
def fresh(redis_server: RedisServer) -> Iterator[RedisStore]:
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushdb()
    store = RedisStore.from_url(redis_server.url)
    yield store
    store.close()


def test_a_restarted_redis_still_holds_every_delivery_and_lease(
    fresh: RedisStore, redis_server: RedisServer
) -> None:
    alert = make_alert()
    fresh.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    claimed = fresh.claim(pending(alert).id, T0, lease_s=60)
    redis_server.stop()
    redis_server.start()
    again = fresh.get_delivery(pending(alert).id)
    assert again == claimed
    assert fresh.unseen(["item-1"]) == []
    assert fresh.due_ids(T0, 10) == []
    assert again is not None and again.state is DeliveryState.SENDING


def test_an_unreachable_redis_is_a_store_error_that_hides_the_password() -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(StoreError) as caught:
        RedisStore.from_url(url, retries=0)
    assert "hunter2" not in str(caught.value)
    assert f"redis://***@127.0.0.1:{url.rsplit(':', 1)[1]}" in str(caught.value)


def test_a_redis_url_password_is_redacted() -> None:
    assert redacted("redis://user:pw@h:6379/2") == "redis://user:***@h:6379/2"
    assert redacted("redis://h:6379/0") == "redis://h:6379/0"


def test_an_evicting_redis_is_reported_as_a_durability_problem(
    fresh: RedisStore, redis_server: RedisServer
) -> None:
    assert fresh.durability_problems() == []
    with redis.Redis.from_url(redis_server.url) as client:
        client.config_set("maxmemory-policy", "allkeys-lru")
        try:
            problems = fresh.durability_problems()
        finally:
            client.config_set("maxmemory-policy", "noeviction")
    assert len(problems) == 1 and "noeviction" in problems[0]
