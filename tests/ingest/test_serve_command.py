"""`policywatch serve` as a user runs it: refuses to start without tokens, accepts items,
delivers them, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO, run_cli
from tests.ingest.conftest import TOKEN

CONFIG = """
state: sqlite:///state.db
watchlists: [{name: semis, tickers: [NVDA], notify: [outbox]}]
channels: {outbox: {type: file, path: outbox.jsonl}}
"""


def test_serve_without_tokens_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "pw.yaml").write_text(CONFIG)

    done = run_cli("serve", "--config", "pw.yaml", cwd=tmp_path, timeout=30)

    assert done.returncode == 2
    assert "serve.tokens" in done.stderr and "at least one bearer token" in done.stderr


def test_serve_accepts_items_delivers_them_and_stops_on_sigterm(tmp_path: Path) -> None:
    (tmp_path / "pw.yaml").write_text(
        CONFIG + 'serve: {port: 0, tokens: {desk: "${PW_DESK_TOKEN}"}}\n'
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "PW_DESK_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "serve", "--config", "pw.yaml"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split("POST ", 1)[1].strip()
        item = {
            "id": "h20",
            "title": "US adds new export controls on Nvidia H20 chips to China, Commerce says",
        }
        answer = httpx.post(
            url,
            json=item,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        outbox = tmp_path / "outbox.jsonl"
        deadline = time.monotonic() + 15
        while not outbox.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)

    assert answer.status_code == 202 and answer.json()["alerts"] == 1
    assert json.loads(outbox.read_text().splitlines()[0])["ticker"] == "NVDA"
    assert proc.returncode == 0
    assert TOKEN not in stderr
