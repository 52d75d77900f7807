"""`policywatch run` releases what group_wait held back on its own, between polls."""

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


def test_run_sends_a_burst_as_one_message_once_group_wait_is_over(tmp_path: Path) -> None:
    with FeedServer() as feeds, HttpReceiver() as hook:
        feeds.serve("/wire.rss", FeedReply(body=(NEWS / "wire-tech.rss.xml").read_bytes()))
        feeds.serve("/desk.atom", FeedReply(body=(NEWS / "policy-desk.atom.xml").read_bytes()))
        config = write_config(
            tmp_path,
            feeds,
            hook.url(),
            extra="    group_by: [watchlist]\n    group_wait: 4s\n    group_interval: 1h\n",
        )
        env = {**os.environ, "PYTHONPATH": str(REPO), "DESK_HOOK": hook.url()}
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "--config", str(config)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not hook.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # anything else would have gone out with it
        finally:
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=20)
        assert proc.returncode == 0, stderr
        [message] = [r.json() for r in hook.requests]
        tickers = {a["ticker"] for a in message["alerts"]}
        assert {"NVDA", "AMD", "ASML", "TSM"} <= tickers  # both feeds' alerts, one message
