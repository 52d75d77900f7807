"""End-to-end latency: a story appears in a served feed → its alert reaches a webhook receiver.

    .venv/bin/python bench/e2e_latency.py [--items 200] [--every 1s] [--gap 0.25]

Starts `policywatch run` (the embedded runtime) as a user would, in a subprocess, and, when
this tree has the distributed runtime, `policywatch scheduler` and `policywatch worker` on a
fresh redis-server (AOF, appendfsync always, as docker-compose.yml runs it). Each gets one
RSS feed served from a thread in this process (polled every `--every`, ETag/304 when
unchanged) and a webhook channel pointing at a receiver thread here. It then publishes
`--items` policy stories, one every `--gap` seconds (± 50%, so they land at every phase of
the poll cycle), and notes:

  after the poll   receipt time minus the arrival time of the first poll whose answer carried
                   the story: fetch, parse, seen-check, score, route, record, wake the delivery
                   loop, render, sign and POST. This is what the target (p99 < 1 s) is about.
  after publishing receipt time minus publishing time: adds the wait for the next poll, so it
                   is bounded below by the poll interval.

Every story is checked beforehand to alert on the benchmark's watchlist, so a story that never
arrives is a loss, and is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import _data
import yaml
from _servers import Hook, NewsFeed, Story

from worker.config import parse_duration_s
from worker.models import Item
from worker.relevance import Relevance

_ACTIONS = (
    (
        "US adds {n} Chinese firms to Entity List; {co} says licence rule hits ${m} million of "
        "sales",
        "The Commerce Department's Bureau of Industry and Security added {n} companies "
        "to the Entity List. {co} said the new export controls could affect about ${m} million "
        "of revenue from customers in China this quarter.",
    ),
    (
        "{co} warns of ${m} million charge as export curbs on China tighten",
        "{co} said it expects a charge of about ${m} million after US officials told it that "
        "shipments of its accelerators to China now need an export licence.",
    ),
    (
        "Commerce requires licences for {co} chips bound for China, {co} books ${m} million hit",
        "Washington told {co} that exports of its data-centre chips to China require a licence, "
        "and the company said it would record a ${m} million write-down.",
    ),
    (
        "Netherlands expands export controls; {co} sees ${m} million sales impact",
        "The Dutch government widened licence requirements for chipmaking equipment sold to "
        "China, and {co} said about ${m} million of orders were affected.",
    ),
)


def policy_stories(count: int, names: Sequence[str], rng: random.Random) -> list[Story]:
    stories = []
    for n in range(count):
        title, summary = rng.choice(_ACTIONS)
        fill = {"co": rng.choice(names), "n": rng.randint(5, 140), "m": rng.randint(50, 990)}
        stories.append(
            Story(n, title.format(**fill), summary.format(**fill), 1.6e9 + n * 3 * 86400)
        )
    return stories


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summarise(label: str, values: Sequence[float]) -> str:
    if not values:
        return f"{label}: no samples"
    ms = [v * 1000 for v in values]
    parts = [f"p{q} {percentile(ms, q):6.0f} ms" for q in (50, 90, 99)]
    parts += [f"max {max(ms):6.0f} ms", f"mean {statistics.mean(ms):4.0f} ms"]
    return f"{label}: " + "  ".join(parts)


NAMES = [
    "Nvidia",
    "AMD",
    "Intel",
    "TSMC",
    "ASML",
    "Applied Materials",
    "Lam Research",
    "KLA",
    "Micron",
    "Qualcomm",
    "Broadcom",
    "Arm",
    "Super Micro",
    "Texas Instruments",
    "Samsung Electronics",
    "SK Hynix",
    "Tokyo Electron",
    "SMIC",
    "Teradyne",
    "onsemi",
]


def write_config(folder: Path, feed_url: str, hook_url: str, every: str, state: str) -> Path:
    config: dict[str, object] = {
        "state": state,
        "watchlists": [
            {
                "name": "semis",
                "tickers": list(_data.DEMO_TICKERS),
                "min_score": 40,
                "notify": ["hook"],
            }
        ],
        "feeds": [{"name": "wire", "url": feed_url, "every": every}],
        "channels": {"hook": {"type": "webhook", "url": hook_url}},
    }
    if state.startswith("redis"):
        config["distributed"] = {"sweep_every": "2s", "leader_ttl_s": "10s"}
    path = folder / "policywatch.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
    return path


def check_stories_alert(config: Path, stories: Sequence[Story]) -> None:
    from worker.config import load_settings

    relevance = Relevance(load_settings(config).watchlists)
    for s in stories:
        scored = relevance.score(Item(id=s.link, title=s.title, summary=s.summary))
        if not any(m.alert for m in scored.matches):
            raise SystemExit(f"story {s.number} would not alert: {s.title!r}")


def celery_available() -> bool:
    return (_data.REPO / "worker/runtime/celery_app.py").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--maxmemory-policy",
            "noeviction",
            "--save",
            "",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("redis-server did not start")


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGINT) -> None:
    """Stop a process this script started in its own session, and whatever it started."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of its session (py-spy's child, etc.)


def measure(runtime: str, stories: Sequence[Story], args: argparse.Namespace) -> None:
    rng = random.Random(_data.SEED + 2)
    feed, hook = NewsFeed(window=30), Hook()
    feed.start()
    hook.start()
    env = {**os.environ, "PYTHONPATH": str(_data.REPO)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        procs: list[subprocess.Popen[bytes]] = []
        redis = None
        if runtime == "celery":
            redis, state = start_redis(folder)
            commands = [["scheduler"], ["worker"]]
        else:
            state = "sqlite:///state.db"
            commands = [["run"]]
        config = write_config(folder, feed.url("/feed.rss"), hook.url("/hook"), args.every, state)
        check_stories_alert(config, stories)
        log = (folder / "run.log").open("w")
        for sub in commands:
            command = [sys.executable, "-m", "worker", *sub, "--config", str(config)]
            if args.py_spy and runtime == "embedded":
                fmt = "raw" if args.py_spy.endswith(".txt") else "flamegraph"
                out = str(Path(args.py_spy).resolve())
                command = ["py-spy", "record", "-o", out, "-f", fmt, "--", *command]
            procs.append(
                subprocess.Popen(
                    command, cwd=folder, env=env, stdout=log, stderr=log, start_new_session=True
                )
            )
        try:
            deadline = time.monotonic() + 60
            while not feed.polls and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(parse_duration_s(args.every) * 3)
            for story in stories:
                feed.publish(story)
                time.sleep(rng.uniform(0.5, 1.5) * args.gap)
            deadline = time.monotonic() + args.settle
            while len(hook.received) < len(stories) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            for proc in reversed(procs):
                stop(proc)  # SIGINT: py-spy writes its profile then
            if redis is not None:
                stop(redis, signal.SIGTERM)
            log.close()
            tail = (folder / "run.log").read_text("utf-8").splitlines()[-5:]
    feed.stop()
    hook.stop()

    after_poll = [hook.received[n] - feed.first_served[n] for n in hook.received]
    after_pub = [hook.received[n] - feed.published_at[n] for n in hook.received]
    missing = sorted(set(range(len(stories))) - set(hook.received))
    what = {"embedded": "`policywatch run`", "celery": "`policywatch scheduler` + `worker`"}
    print(f"{runtime} runtime ({what[runtime]}), feed polled every {args.every}:")
    print(
        f"  {len(feed.polls)} polls, {len(stories)} stories published, {len(hook.received)}"
        f" alerted, {len(missing)} missing, {hook.requests} webhook requests"
    )
    print("  " + summarise("after the poll  ", after_poll))
    print("  " + summarise("after publishing", after_pub))
    if missing:
        print(f"  missing stories: {missing[:20]}; last log lines:")
        for line in tail:
            print("    " + line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--every", default="1s", help="the feed's poll interval")
    parser.add_argument("--gap", type=float, default=0.25, help="mean seconds between stories")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait at the end")
    parser.add_argument(
        "--runtime",
        choices=["embedded", "celery", "all"],
        default="all",
        help="all: embedded, and Celery when this tree has it",
    )
    parser.add_argument(
        "--py-spy", default="", metavar="FILE", help="profile the embedded runtime (.svg/.txt)"
    )
    args = parser.parse_args(argv)

    stories = policy_stories(args.items, NAMES, random.Random(_data.SEED))
    runtimes = ["embedded", "celery"] if args.runtime == "all" else [args.runtime]
    for runtime in runtimes:
        if runtime == "celery" and not celery_available():
            print("celery runtime: not in this tree (worker/runtime/celery_app.py); skipped")
            continue
        if runtime == "celery" and not shutil.which("redis-server"):
            print("celery runtime: redis-server is not installed; skipped")
            continue
        measure(runtime, stories, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
