"""Redis restarted in the middle of a run: every alert still arrives."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import RedisServer
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

STORIES = 20


def test_a_redis_restart_mid_run_loses_no_alert(
    tmp_path: Path,
    redis_url: str,
    redis_server: RedisServer,
    receiver: HttpReceiver,
    clusters: list[Cluster],
) -> None:
    receiver.script(*[Reply(delay_s=0.15)] * (3 * STORIES))
    with NewsServer(rss(nvidia_stories(STORIES))) as news:
        config = write_config(tmp_path, redis_url, news.url, receiver.url())
        cluster = Cluster(config, tmp_path)
        clusters.append(cluster)
        cluster.worker("poll")
        cluster.worker("deliver")
        cluster.scheduler()
        wait_until(lambda: len(receiver.requests) >= 3, 20, "deliveries are under way")
        redis_server.stop()
        time.sleep(1.0)
        redis_server.start()
        store = RedisStore.from_url(redis_url)

        def all_sent() -> bool:
            return len(store.list_deliveries([DeliveryState.SENT], limit=1000)) == STORIES

        wait_until(all_sent, 45, f"all {STORIES} deliveries are sent", every_s=0.2)
    received = {r.headers["webhook-id"] for r in receiver.requests}
    recorded = {d.id for d in store.list_deliveries(limit=1000)}
    assert len(recorded) == STORIES
    assert received == recorded
