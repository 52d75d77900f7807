"""The same feed item seen by two workers at once alerts once."""

from __future__ import annotations

import time
from pathlib import Path

from tests.distributed.cluster import (
    Cluster,
    NewsServer,
    nvidia_stories,
    rss,
    wait_until,
    write_config,
)
from tests.support.receivers import HttpReceiver
from worker.config import load_settings
from worker.models import DeliveryState
from worker.runtime.celery_app import DistributedApp
from worker.runtime.queueing import POLL_FEED
from worker.store.keys import POLL_QUEUE
from worker.store.redis import RedisStore


def test_two_workers_polling_the_same_story_at_once_alert_once(
    tmp_path: Path, redis_url: str, receiver: HttpReceiver, clusters: list[Cluster]
) -> None:
    with NewsServer(rss(nvidia_stories(1)), delay_s=1.0) as news:
        config = write_config(tmp_path, redis_url, news.url, receiver.url())
        cluster = Cluster(config, tmp_path)
        clusters.append(cluster)
        cluster.worker("poll")
        cluster.worker("poll")
        cluster.worker("deliver")
        app = DistributedApp(load_settings(config))
        app.send(POLL_FEED, ["wire"], POLL_QUEUE)
        app.send(POLL_FEED, ["wire"], POLL_QUEUE)
        wait_until(lambda: receiver.requests, 20, "the alert reaches the webhook")
        store = RedisStore.from_url(redis_url)
        wait_until(lambda: news.gets == 2 and news.in_flight == 0, 10, "both polls finished")
        time.sleep(1.0)  # time for a second alert, if there were one
    assert news.max_in_flight == 2  # the two polls really overlapped
    assert len(receiver.requests) == 1
    assert len(store.list_deliveries()) == 1
    assert store.list_deliveries()[0].state is DeliveryState.SENT
