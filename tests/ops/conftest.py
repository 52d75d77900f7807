"""Fixtures for operations tests: a small config over the bundled example news."""

from __future__ import annotations

import shutil
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.conftest import REPO

NEWS = REPO / "examples" / "news" / "extra.jsonl"
# In extra.jsonl, two stories alert both NVDA and AMD at min_score 60, and one NVDA alone
# (see test_backfill and examples/news/README.md).
ALERTING_MATCHES = 5


def write_config(
    folder: Path,
    *,
    channels: str = "outbox: {type: file, path: outbox.jsonl}",
    notify: str = "[outbox]",
    extra: str = "",
    feeds: str = "- {name: extra, url: news.jsonl, every: 5m}",
    name: str = "policywatch.yaml",
) -> Path:
    """A config in `folder` watching NVDA and AMD in a copy of the example news."""
    if not (folder / "news.jsonl").exists():
        shutil.copy(NEWS, folder / "news.jsonl")
    path = folder / name
    path.write_text(
        textwrap.dedent(
            """\
            state: sqlite:///state.db
            watchlists:
              - name: semis
                tickers: [NVDA, AMD]
                min_score: 60
                notify: {notify}
            feeds:
              {feeds}
            channels:
              {channels}
            """
        ).format(notify=notify, feeds=feeds, channels=channels)
        + textwrap.dedent(extra),
        encoding="utf-8",
    )
    return path


def wait_for(
    condition: Callable[[], object], timeout_s: float = 15.0, what: str = "condition"
) -> None:
    """Poll `condition` until it is truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=5.0)
