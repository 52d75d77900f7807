"""A worker killed with SIGKILL in the middle of a delivery loses nothing."""

from __future__ import annotations

from pathlib import Path

from tests.distributed.cluster import (
    Cluster,
    NewsServer,
    nvidia_stories,
    rss,
    wait_until,
    write_config,
)
from tests.support.receivers import HttpReceiver, Reply
from worker.models import DeliveryState
from worker.store.redis import RedisStore


def test_a_worker_killed_mid_delivery_still_gets_the_alert_delivered_under_the_same_id(
    tmp_path: Path, redis_url: str, receiver: HttpReceiver, clusters: list[Cluster]
) -> None:
    receiver.script(Reply(delay_s=5.0))  # the first attempt hangs until the worker is gone
    with NewsServer(rss(nvidia_stories(1))) as news:
        config = write_config(tmp_path, redis_url, news.url, receiver.url(), lease="3s")
        cluster = Cluster(config, tmp_path)
        clusters.append(cluster)
        cluster.worker("poll")
        doomed = cluster.worker("deliver")
        cluster.scheduler()
        wait_until(lambda: receiver.requests, 20, "the first attempt reaches the receiver")
        doomed.kill()
        cluster.worker("deliver")
        store = RedisStore.from_url(redis_url)
        wait_until(
            lambda: store.list_deliveries([DeliveryState.SENT]), 20, "the alert is delivered"
        )
    [sent] = store.list_deliveries([DeliveryState.SENT])
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids == [sent.id, sent.id]  # the receiver can drop the repeat by its id
    assert sent.attempts == 2
    assert [r.json()["alerts"][0]["ticker"] for r in receiver.requests] == ["NVDA", "NVDA"]
