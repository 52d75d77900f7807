"""One poll cycle of 1,000 feeds through the real pipeline: wall time and peak memory.

    python bench/poll_1000_feeds.py [--feeds 1000] [--hosts 50] [--max-fetches N]

A feed server runs in its own process on --hosts loopback addresses (127.0.1.1, 127.0.1.2,
...), --feeds / --hosts feeds each, so the per-host cap works as it would across real
publishers. A first cycle (not the one timed) fills the state: every feed answers 200 with 20
items and an ETag. Then the server turns to the mix a real poll meets, and one cycle is timed
(`EmbeddedRuntime.run_once`: fetch, parse, score, store, alert, deliver to a JSON Lines
outbox) in a fresh process, whose peak RSS is reported:

    90.0 %  unchanged: 304 to the conditional GET
     6.0 %  changed: 200 with two new stories at the top (some of them export-control news)
     2.5 %  slow: the same 304, after 1-2 s
     1.5 %  failing: 500, 503, 429 with Retry-After, 410, a server that never answers and one
            that drips bytes (both cut by a 3 s deadline)

Prints figures; never fails on a time. Only 127.0.0.0/8 is used.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ITEMS_PER_FEED = 20
SLOW_S = (1.0, 2.0)
DEADLINE_S = 3.0
POLICY_TITLES = [
    "US adds new export controls on Nvidia H20 chips to China, Commerce Department says",
    "Commerce adds 80 Chinese entities to the Entity List over advanced AI chips",
    "China restricts gallium and germanium exports in retaliation for US chip curbs",
    "AMD says new US licence requirement on MI308 exports will cost up to $800 million",
]
QUIET_TITLES = [
    "City council approves new cycle lanes downtown",
    "Local bakery wins regional bread award",
    "Museum extends opening hours for summer season",
]


def kind_of(n: int, total: int) -> str:
    """The role feed `n` plays in the timed cycle (spread evenly over hosts by position)."""
    slot = (n * 7919) % total / total  # a fixed shuffle
    if slot < 0.900:
        return "unchanged"
    if slot < 0.960:
        return "changed"
    if slot < 0.985:
        return "slow"
    return ["500", "503", "429", "410", "hang", "drip"][n % 6]


def rss(feed: int, version: int) -> bytes:
    rows = []
    for i in range(ITEMS_PER_FEED + 2 * (version - 1), 0, -1)[:ITEMS_PER_FEED]:
        title = (POLICY_TITLES if (feed + i) % 9 == 0 else QUIET_TITLES)[(feed + i) % 3]
        rows.append(
            f"<item><guid>https://feeds.example/{feed}/{i}</guid>"
            f"<title>{title} ({feed}-{i})</title>"
            f"<link>https://feeds.example/{feed}/{i}</link>"
            f"<description>Story {i} of feed {feed}. {title}.</description>"
            f"<pubDate>Mon, 02 Mar 2026 09:{i % 60:02d}:00 GMT</pubDate></item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title>{''.join(rows)}</channel></rss>"
    ).encode()


# --- the feed server (its own process) ---------------------------------------------------


def serve(port: int, hosts: int, feeds: int) -> None:
    state = {"mode": 1, "counts": Counter[str]()}
    lock = threading.Lock()
    bodies = {(f, v): rss(f, v) for f in range(feeds) for v in (1, 2)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            if self.path.startswith("/_mode/"):
                state["mode"] = int(self.path.rsplit("/", 1)[1])
                self._send(200, b"ok", {})
                return
            if self.path == "/_counts":
                with lock:
                    body = json.dumps(state["counts"]).encode()
                self._send(200, body, {})
                return
            feed = int(self.path.strip("/").split("/")[1])
            kind = kind_of(feed, feeds) if state["mode"] == 2 else "first"
            with lock:
                state["counts"][kind] += 1
            version = 2 if kind == "changed" else 1
            etag = f'"{feed}-v{version}"'
            if kind == "slow":
                time.sleep(random.uniform(*SLOW_S))
            if kind in ("500", "503"):
                self._send(int(kind), b"oops", {})
            elif kind == "429":
                self._send(429, b"slow down", {"Retry-After": "120"})
            elif kind == "410":
                self._send(410, b"gone", {})
            elif kind == "hang":
                time.sleep(DEADLINE_S * 3)
                self.close_connection = True
            elif kind == "drip":
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                for _ in range(int(DEADLINE_S * 3 / 0.2)):
                    self.wfile.write(b" " * 16)
                    self.wfile.flush()
                    time.sleep(0.2)
                self.close_connection = True
            elif self.headers.get("If-None-Match") == etag:
                self._send(304, b"", {"ETag": etag})
            else:
                self._send(200, bodies[(feed, version)], {"ETag": etag})

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            try:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass  # clients that cut a hanging or dripping answer short

    servers = [Server((host_ip(h), port), Handler) for h in range(hosts)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()  # until the parent closes our stdin


def host_ip(h: int) -> str:
    return f"127.0.{1 + h // 250}.{1 + h % 250}"


# --- one cycle (its own process, so its peak RSS is its own) ------------------------------


def config(
    workdir: Path, port: int, feeds: int, hosts: int, max_fetches: int | None
) -> dict[str, Any]:
    polling = {"max_fetches": max_fetches} if max_fetches else {}
    return {
        "state": f"sqlite:///{workdir / 'state.db'}",
        "polling": polling,  # otherwise the defaults: 16 fetches at once, 2 per host
        "watchlists": [
            {"name": "semis", "tickers": ["NVDA", "AMD", "INTC", "TSM"], "notify": ["outbox"]}
        ],
        "channels": {"outbox": {"type": "file", "path": str(workdir / "outbox.jsonl")}},
        "feeds": [
            {
                "name": f"feed-{n:04d}",
                "url": f"http://{host_ip(n % hosts)}:{port}/feed/{n}",
                "every": "5m",
                "timeout_s": DEADLINE_S,
            }
            for n in range(feeds)
        ],
    }


def cycle(config_file: Path) -> None:
    from worker.config import load_settings
    from worker.runtime.embedded import build_runtime

    settings = load_settings(config_file)
    runtime = build_runtime(settings)
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    try:
        report = runtime.run_once()
    finally:
        runtime.close()
    took = time.perf_counter() - started
    out = {
        "seconds": round(took, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_mb": round(rss_before, 1),
        "statuses": Counter(p.status for p in report.polls),
        "new_items": report.new_items,
        "alerts": report.alerts,
        "deliveries_sent": sum(1 for d in report.deliveries if d.state == "sent"),
    }
    print(json.dumps(out), flush=True)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


# --- the orchestra -----------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.1.1", 0))
        return int(s.getsockname()[1])


def run_child(*args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, env=env, timeout=600
    )
    if done.returncode != 0:
        raise SystemExit(f"cycle failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--max-fetches", type=int, help="polling.max_fetches (default 16)")
    parser.add_argument("--serve", nargs=3, type=int, metavar=("PORT", "HOSTS", "FEEDS"))
    parser.add_argument("--cycle", type=Path, metavar="CONFIG")
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return
    if args.cycle:
        cycle(args.cycle)
        return

    import httpx

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port), str(args.hosts), str(args.feeds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            config_file = workdir / "bench.json"  # JSON is YAML
            settings = config(workdir, port, args.feeds, args.hosts, args.max_fetches)
            config_file.write_text(json.dumps(settings))
            first = run_child("--cycle", str(config_file))
            httpx.get(f"http://{host_ip(0)}:{port}/_mode/2")
            timed = run_child("--cycle", str(config_file))
            served = httpx.get(f"http://{host_ip(0)}:{port}/_counts").json()
    finally:
        if server.stdin:
            server.stdin.close()
        server.terminate()
        server.wait(10)

    print(f"policywatch bench: one poll cycle of {args.feeds} feeds on {args.hosts} hosts")
    fetches = args.max_fetches or "16 (default)"
    print(f"  python {sys.version.split()[0]}, {os.cpu_count()} CPUs, max_fetches={fetches}")
    print(
        f"  first cycle (fills state, every feed 200 with {ITEMS_PER_FEED} items): "
        f"{first['seconds']:.2f} s, peak RSS {first['peak_rss_mb']:.0f} MB, "
        f"{first['new_items']} new items, {first['alerts']} alerts"
    )
    print(
        f"  TIMED cycle: {timed['seconds']:.2f} s, peak RSS {timed['peak_rss_mb']:.0f} MB "
        f"(of which {timed['rss_before_mb']:.0f} MB before the cycle started)"
    )
    print(f"    poll outcomes: {dict(sorted(timed['statuses'].items()))}")
    print(
        f"    {timed['new_items']} new items, {timed['alerts']} alerts, "
        f"{timed['deliveries_sent']} deliveries sent"
    )
    mix = {k: v for k, v in served.items() if k != "first"}
    print(f"    server saw (timed cycle): {dict(sorted(mix.items()))}")


if __name__ == "__main__":
    main()
