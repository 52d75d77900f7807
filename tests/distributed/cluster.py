"""Helpers shared by the distributed tests and bench/chaos.py: a news feed served over HTTP,
a distributed config file, and `policywatch scheduler` / `worker` processes run as a user would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

_ACTIONS = [
    (
        "US orders Nvidia to obtain export licence for H20 chips to China",
        "The Commerce Department's Bureau of Industry and Security told Nvidia that exports of "
        "its H20 AI accelerators to China now require a licence, citing national security.",
    ),
    (
        "Commerce adds Chinese firms to Entity List over Nvidia GPU diversion",
        "New export controls restrict shipments of Nvidia A100 and H100 chips to the listed "
        "companies; the rule takes effect next month.",
    ),
    (
        "BIS tightens export controls on Nvidia AI chips bound for China",
        "The Bureau of Industry and Security widened the licence requirement to more Nvidia "
        "accelerators, in a rule published in the Federal Register.",
    ),
]


@dataclass(frozen=True)
class Story:
    guid: str
    title: str
    summary: str


def nvidia_stories(count: int, tag: str = "") -> list[Story]:
    """`count` distinct export-control stories about NVIDIA (each one alerts NVDA)."""
    stories = []
    for n in range(count):
        title, summary = _ACTIONS[n % len(_ACTIONS)]
        stories.append(
            Story(f"urn:story:{tag}{n}", f"{title} (report {tag}{n})", f"{summary} Ref {tag}{n}.")
        )
    return stories


def rss(stories: Sequence[Story], now: datetime | None = None) -> bytes:
    base = now or datetime.now(UTC)
    items = "".join(
        f"<item><title>{escape(s.title)}</title><guid>{escape(s.guid)}</guid>"
        f"<link>https://news.example.com/{escape(s.guid.rsplit(':', 1)[-1])}</link>"
        f"<description>{escape(s.summary)}</description>"
        f"<pubDate>{format_datetime(base - timedelta(minutes=i))}</pubDate></item>"
        for i, s in enumerate(stories)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Wire</title><link>https://news.example.com/</link><description>wire</description>"
        f"{items}</channel></rss>"
    ).encode()


class NewsServer:
    """Serves one RSS body at /feed.xml from a thread; counts GETs; can hold each answer back
    for `delay_s` (so two pollers are in flight at once)."""

    def __init__(self, body: bytes = b"", delay_s: float = 0.0) -> None:
        self.body = body
        self.delay_s = delay_s
        self.gets = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.gets += 1
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                    body = server.body
                try:
                    if server.delay_s:
                        time.sleep(server.delay_s)
                    self.send_response(200)
                    self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/feed.xml"

    def __enter__(self) -> NewsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def write_config(
    folder: Path,
    redis_url: str,
    feed_url: str,
    hook_url: str,
    *,
    every: str = "1h",
    lease: str = "3s",
    leader_ttl: str = "2s",
    deliver_concurrency: int = 2,
    extra: str = "",
    hook_extra: str = "",
) -> Path:
    """A distributed config: one NVDA watchlist, one feed, one signed webhook; short timers;
    no clustering, so every story alerts."""
    path = folder / "policywatch.yaml"
    path.write_text(
        f"""\
state: {redis_url}
watchlists:
  - name: semis
    tickers: [NVDA]
    min_score: 50
    notify: [hook]
feeds:
  - name: wire
    url: {feed_url}
    every: {every}
channels:
  hook:
    type: webhook
    url: {hook_url}
    secret: {WEBHOOK_SECRET}
    timeout_s: 30
{hook_extra}delivery:
  lease_s: {lease}
  backoff_base_s: 1s
  backoff_max_s: 2s
  max_attempts: 50
clustering:
  enabled: false  # each served story is its own event (they are deliberately alike)
distributed:
  visibility_timeout_s: 30s
  task_time_limit_s: 20s
  sweep_every: 0.5s
  requeue_after_s: 5s
  leader_ttl_s: {leader_ttl}
  poll_concurrency: 1
  deliver_concurrency: {deliver_concurrency}
{extra}""",
        encoding="utf-8",
    )
    return path


class Process:
    """One `python -m worker ...` process in its own session, logging to a file."""

    def __init__(self, args: Sequence[str], log_path: Path) -> None:
        self.args = list(args)
        self.log_path = log_path
        self._log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "--log-level", "INFO", *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, text: str, timeout_s: float = 20.0, count: int = 1) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.log().count(text) >= count:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.args} exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise AssertionError(f"{self.args}: no {text!r} within {timeout_s}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the whole process group: the node and every pool process, mid-task."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self, timeout_s: float = 15.0) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


class Cluster:
    """Starts schedulers and workers for one config; stops them all at the end."""

    def __init__(self, config: Path, folder: Path) -> None:
        self.config = config
        self.folder = folder
        self.processes: list[Process] = []

    def _start(self, name: str, *args: str) -> Process:
        log_path = self.folder / f"{name}-{len(self.processes)}.log"
        process = Process([*args, "--config", str(self.config)], log_path)
        self.processes.append(process)
        return process

    def scheduler(self) -> Process:
        return self._start("scheduler", "scheduler")

    def worker(self, queue: str, ready: bool = True) -> Process:
        process = self._start(f"worker-{queue}", "worker", "--queue", queue)
        if ready:
            process.wait_for(" ready.")
        return process

    def worker_pair(self) -> Process:
        """`policywatch worker` as users run it: a poll node and a deliver node."""
        process = self._start("worker-pair", "worker")
        process.wait_for(" ready.", count=2)
        return process

    def stop(self, graceful: bool = True) -> None:
        for process in reversed(self.processes):
            if not graceful:
                process.kill()
            process.stop()


def wait_until(condition: Any, timeout_s: float, what: str, every_s: float = 0.05) -> float:
    """Poll `condition()` until true; return the seconds it took. Fails after `timeout_s`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        if condition():
            return time.monotonic() - start
        time.sleep(every_s)
    raise AssertionError(f"not within {timeout_s}s: {what}")
