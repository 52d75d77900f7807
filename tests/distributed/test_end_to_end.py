"""From a served feed to the webhook receiver through the scheduler, Redis and Celery workers."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import httpx

from tests.distributed.cluster import (
    Cluster,
    NewsServer,
    nvidia_stories,
    rss,
    wait_until,
    write_config,
)
from tests.support.receivers import HttpReceiver
from worker.models import DeliveryState
from worker.store.redis import RedisStore


def test_a_served_export_control_story_reaches_the_webhook_once(
    tmp_path: Path, redis_url: str, receiver: HttpReceiver, clusters: list[Cluster]
) -> None:
    with NewsServer(rss(nvidia_stories(1))) as news:
        extra = (
            f"metrics: {{port: 0, multiprocess_dir: {tmp_path / 'prom'}}}\n"
            "health: {heartbeat_every: 1s, stale_after: 10s}\n"
        )
        config = write_config(tmp_path, redis_url, news.url, receiver.url(), extra=extra)
        cluster = Cluster(config, tmp_path)
        clusters.append(cluster)
        workers = cluster.worker_pair()
        cluster.scheduler()
        wait_until(lambda: receiver.requests, 20, "the alert reaches the webhook")
        store = RedisStore.from_url(redis_url)
        wait_until(
            lambda: store.list_deliveries([DeliveryState.SENT]), 5, "the delivery is recorded"
        )
        time.sleep(1.5)  # several sweeps later, still one request
    [request] = receiver.requests
    body = request.json()
    [alert] = body["alerts"]
    assert alert["ticker"] == "NVDA"
    assert "H20" in alert["title"]
    [sent] = store.list_deliveries([DeliveryState.SENT])
    assert request.headers["webhook-id"] == sent.id == body["delivery_id"]
    assert sent.attempts == 1
    assert news.gets == 1

    # each node serves its pool's counters and readiness (store, broker, scheduler heartbeat)
    urls = re.findall(r"metrics on (http://[\d.:]+)/metrics", workers.log())
    assert len(urls) == 2
    pages = [httpx.get(f"{url}/metrics").text for url in urls]
    assert any(
        'policywatch_deliveries_total{channel="hook",outcome="sent"} 1.0' in p for p in pages
    )
    assert all(httpx.get(f"{url}/readyz").status_code == 200 for url in urls)

    # a node that dies is started again by `policywatch worker`
    [deliver_pid] = re.findall(r"deliver-(\d+)@\S+ ready\.", workers.log())
    os.kill(int(deliver_pid), signal.SIGKILL)
    workers.wait_for(" ready.", count=3)
    assert "worker node for deliver exited with -9; starting it again" in workers.log()

    os.kill(workers.pid, signal.SIGTERM)  # a warm shutdown of both nodes
    assert workers.proc.wait(20) == 0
    assert workers.log().count("Warm shutdown") == 2


def test_alerts_held_by_group_wait_are_released_together_by_the_sweeper(
    tmp_path: Path, redis_url: str, receiver: HttpReceiver, clusters: list[Cluster]
) -> None:
    hook_extra = "    group_by: [watchlist, ticker]\n    group_wait: 2s\n"
    with NewsServer(rss(nvidia_stories(3))) as news:
        config = write_config(tmp_path, redis_url, news.url, receiver.url(), hook_extra=hook_extra)
        cluster = Cluster(config, tmp_path)
        clusters.append(cluster)
        cluster.worker("poll")
        cluster.worker("deliver")
        cluster.scheduler()
        store = RedisStore.from_url(redis_url)
        wait_until(lambda: store.list_holds(), 20, "the alerts are held for group_wait")
        assert receiver.requests == []
        wait_until(lambda: receiver.requests, 20, "the group goes out")
        time.sleep(1.0)  # and only once
    [request] = receiver.requests
    assert len(request.json()["alerts"]) == 3
    assert store.list_holds() == []
