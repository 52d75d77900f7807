"""Fixtures for the distributed runtime: a flushed Redis, a webhook receiver, a cluster of
real `policywatch scheduler` / `worker` processes stopped at the end of each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.conftest import RedisServer
from tests.distributed.cluster import Cluster
from tests.support.receivers import HttpReceiver


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    if redis_server.proc is None:
        redis_server.start()
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushdb()
    return redis_server.url


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as hooks:
        yield hooks


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[list[Cluster]]:
    """Append Clusters here; every process they started is stopped after the test."""
    started: list[Cluster] = []
    yield started
    for cluster in started:
        cluster.stop(graceful=False)  # what a test checks is done; a warm shutdown takes seconds
