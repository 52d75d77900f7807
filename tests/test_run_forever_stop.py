"""The embedded runtime stops promptly even while a scheduled poll is in flight."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from tests.sources.feed_samples import RSS_20
from tests.support.feedserver import FeedServer, Reply
from worker.config import FeedConfig, Settings
from worker.pipeline import Pipeline
from worker.runtime.embedded import EmbeddedRuntime
from worker.store.sqlite import SqliteStore


def test_stopping_while_a_scheduled_poll_is_running_does_not_hang(tmp_path: Path) -> None:
    with FeedServer() as server:
        # A slow feed: each poll takes about a second, so one is in flight when we stop.
        url = server.serve(
            "/slow", Reply(body=RSS_20, drip_bytes=len(RSS_20) // 10 + 1, drip_interval_s=0.1)
        )
        feed = FeedConfig(name="slow", url=url, every=0.5)
        settings = Settings.model_validate(
            {"watchlists": [{"name": "w", "tickers": ["NVDA"]}], "feeds": [feed]}
        )
        pipeline = Pipeline(settings, SqliteStore(tmp_path / "s.db"), {})
        runtime = EmbeddedRuntime(pipeline, httpx.Client())
        stop = threading.Event()
        runner = threading.Thread(target=runtime.run_forever, args=(stop,), daemon=True)
        runner.start()
        deadline = time.monotonic() + 15
        # The start-up poll, then a poll the scheduler started.
        while len(server.requests_to("/slow")) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(server.requests_to("/slow")) >= 2

        stop.set()
        runtime.wake()
        runner.join(timeout=15)

        assert not runner.is_alive(), "run_forever did not return after stop"
        runtime.close()
