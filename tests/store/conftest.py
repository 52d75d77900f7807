"""The store contract runs against every backend: add a backend by adding a param here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.store import Store
from worker.store.sqlite import SqliteStore

BACKENDS = ["sqlite", "redis"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened: Store = SqliteStore(tmp_path / "state.db")
    elif request.param == "redis":
        import redis

        from worker.store.redis import RedisStore

        url = request.getfixturevalue("redis_server").url
        with redis.Redis.from_url(url) as client:
            client.flushdb()
        opened = RedisStore.from_url(url)
    else:  # pragma: no cover - each backend adds its branch
        raise AssertionError(request.param)
    yield opened
    opened.close()
