"""`policywatch run`: polls at start, stops cleanly on SIGTERM, and restarts without repeats."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO
from tests.support.feedserver import FeedServer
from tests.support.feedserver import Reply as FeedReply
from tests.support.receivers import HttpReceiver
from tests.test_run_once import NEWS, write_config


def start(config: Path, cwd: Path, hook: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "DESK_HOOK": hook}
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "run", "--config", str(config)],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition: object, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def wait_until_quiet(hook: HttpReceiver, quiet_s: float = 1.5, timeout_s: float = 30) -> None:
    """Wait until the receiver has seen no new request for `quiet_s` (the burst is over)."""
    deadline = time.monotonic() + timeout_s
    count, since = len(hook.requests), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        if len(hook.requests) != count:
            count, since = len(hook.requests), time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
    raise AssertionError("deliveries kept coming")


def test_run_polls_at_start_stops_on_sigterm_and_restarts_without_repeats(tmp_path: Path) -> None:
    with FeedServer() as feeds, HttpReceiver() as hook:
        feeds.serve("/wire.rss", FeedReply(body=(NEWS / "wire-tech.rss.xml").read_bytes()))
        feeds.serve("/desk.atom", FeedReply(body=(NEWS / "policy-desk.atom.xml").read_bytes()))
        config = write_config(tmp_path, feeds, hook.url())

        proc = start(config, tmp_path, hook.url())
        wait_for(lambda: len(hook.requests) >= 5)
        wait_until_quiet(hook)
        sent = len(hook.requests)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
        assert "stopped" in stderr

        proc = start(config, tmp_path, hook.url())
        wait_for(lambda: len(feeds.requests_to("/wire.rss")) >= 2)
        wait_until_quiet(hook)
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
        assert len(hook.requests) == sent  # nothing alerted twice
        ids = [r.json()["delivery_id"] for r in hook.requests]
        assert len(ids) == len(set(ids))
