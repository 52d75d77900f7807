"""Two schedulers: only the leader schedules; kill it and the other takes over in time,
without polling a feed twice or skipping a poll."""

from __future__ import annotations

import time
from pathlib import Path

import redis

from tests.distributed.cluster import Cluster, NewsServer, rss, wait_until, write_config
from tests.support.receivers import HttpReceiver
from worker.store.keys import Keys

LEADER_TTL_S = 2.0
EVERY_S = 4


def test_a_standby_scheduler_takes_over_within_the_stated_time_without_repeating_a_poll(
    tmp_path: Path, redis_url: str, receiver: HttpReceiver, clusters: list[Cluster]
) -> None:
    keys = Keys()
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    with NewsServer(rss([])) as news:
        config = write_config(
            tmp_path,
            redis_url,
            news.url,
            receiver.url(),
            every=f"{EVERY_S}s",
            leader_ttl=f"{LEADER_TTL_S}s",
        )
        cluster = Cluster(config, tmp_path)
        clusters.append(cluster)
        cluster.worker("poll")
        first = cluster.scheduler()
        first.wait_for("leading")
        second = cluster.scheduler()
        second.wait_for("standing by")
        time.sleep(EVERY_S)
        assert "leading" not in second.log()
        leader_token = client.get(keys.leader)
        assert leader_token is not None and f":{first.pid}:" in leader_token

        first.kill()
        took_over_s = wait_until(
            lambda: f":{second.pid}:" in (client.get(keys.leader) or ""), 10, "a new leader"
        )
        time.sleep(EVERY_S + 1)
        second.kill()  # no more polls are queued from here on
        slots = sorted(int(k.rsplit(":", 1)[1]) for k in client.keys(keys.poll_slot("wire", "*")))
        wait_until(lambda: news.gets == len(slots), 10, "every queued poll is done")
        time.sleep(0.5)  # and no poll is done twice
    assert took_over_s <= 1.1 * LEADER_TTL_S + 1.0  # the stated bound, plus process start-up slack
    assert slots == list(range(slots[0], slots[0] + len(slots)))  # no slot skipped
    assert news.gets == len(slots) >= 3  # and none polled twice
