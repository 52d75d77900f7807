"""`policywatch backfill`: would-be alerts from a feed or an archive; nothing sent or stored;
a progress bar on a terminal and none in a pipe."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, run_cli
from tests.ops.conftest import ALERTING_MATCHES, NEWS, write_config
from tests.support.feedserver import FeedServer
from tests.support.feedserver import Reply as FeedReply
from tests.support.receivers import HttpReceiver

WIRE = REPO / "examples" / "news" / "wire-tech.rss.xml"


def test_backfill_of_a_feed_prints_would_be_alerts_and_sends_nothing(tmp_path: Path) -> None:
    with HttpReceiver() as hook:
        config = write_config(
            tmp_path,
            channels=f"hook: {{type: webhook, url: '{hook.url()}'}}",
            notify="[hook]",
        )
        done = run_cli("backfill", "extra", "--config", str(config), cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert hook.requests == [], "nothing was sent"
    assert not (tmp_path / "state.db").exists(), "nothing was stored"
    alerts = [line for line in done.stdout.splitlines() if line.startswith("ALERT")]
    assert len(alerts) == ALERTING_MATCHES
    assert all("→ hook" in line for line in alerts)
    first = alerts[0]
    assert first.startswith("ALERT 2025-04-15 19:15") and "(min  60)" in first
    assert any("semis/NVDA" in a for a in alerts if a.startswith("ALERT 2025-04-15"))
    assert done.stdout.splitlines()[-1] == (
        "7 items, 7 scored, 4 policy events: 5 alerts would have fired for 2 tickers"
    )


def test_backfill_since_a_date_replays_only_what_came_after(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = run_cli("backfill", "extra", "--since", "2025-06-01", "--config", str(config))
    alerts = [line for line in done.stdout.splitlines() if line.startswith("ALERT")]
    assert [line.split()[1] for line in alerts] == ["2025-08-11", "2025-08-11", "2025-08-12"]
    assert "(2 outside the dates skipped)" in done.stdout


def test_backfill_of_an_archive_tries_another_threshold(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    args = ("backfill", "--jsonl", str(NEWS), "--json", "--config", str(config))
    rows = [json.loads(x) for x in run_cli(*args).stdout.splitlines()]
    assert len(rows) == ALERTING_MATCHES and all(r["alert"] for r in rows)
    scores = [(r["ticker"], r["score"]) for r in rows]
    strict = run_cli(*args, "--min-score", "95", "--near", "30").stdout.splitlines()
    rows = [json.loads(x) for x in strict]
    fired = [(r["ticker"], r["score"]) for r in rows if r["alert"]]
    near = sorted(r["score"] for r in rows if not r["alert"])
    assert fired and sorted(fired) == sorted(t for t in scores if t[1] >= 95)
    assert near == sorted(s for _, s in scores if 65 <= s < 95), (
        "policy-event matches within 30 points of 95"
    )


def test_backfill_fetches_a_feed_over_http(tmp_path: Path) -> None:
    with FeedServer() as server:
        url = server.serve("/wire.xml", FeedReply(WIRE.read_bytes()))
        config = write_config(tmp_path, feeds=f"- {{name: wire, url: '{url}'}}")
        done = run_cli("backfill", "wire", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("12 items, 12 scored")
    assert "ALERT" in done.stdout


def test_an_unknown_feed_is_a_config_error_naming_the_feeds(tmp_path: Path) -> None:
    done = run_cli("backfill", "nope", "--config", str(write_config(tmp_path)))
    assert done.returncode == 2
    assert "got 'nope'; expected extra" in done.stderr


def test_no_progress_bar_in_a_pipe(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    done = run_cli("backfill", "extra", "--config", str(config))
    assert "scoring" not in done.stderr and "━" not in done.stderr + done.stdout
    assert done.stdout.startswith("backfill of feed extra")


def test_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "backfill", "extra", "--config", str(config)],
        stdout=secondary,
        stderr=secondary,
        env={**os.environ, "PYTHONPATH": str(REPO), "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert proc.wait(30) == 0
    text = seen.decode("utf-8", "replace")
    assert "scoring feed extra" in text and "━" in text and "/7" in text
    assert f"{ALERTING_MATCHES} alerts would have fired" in text
