"""Memory: resident memory of `policywatch run` with 1,000 feeds and 100,000 seen items, and
how the seen-items store stays bounded under `retention.seen`.

    .venv/bin/python bench/memory.py [--feeds 1000] [--seen 100000] [--duration 100]

Part 1 (live). Seeds a SQLite store with `--seen` seen items spread over the feeds, last
carried 0 to 45 days ago, then starts `policywatch run` in a subprocess against `--feeds`
feeds served from a thread here (20 items each; 200 on the first poll, 304 after, polled
every `--every`), watchlists of `--tickers` tickers and `retention: {seen: 30d}`. It samples
the process's VmRSS every 0.2 s and reads its peak (VmHWM) before stopping it.

Part 2 (simulated time). A Pipeline with a fake clock over `--days` days: `--sim-feeds` feeds,
each showing its latest 20 items and adding `--per-day` a day, pruned once a day. Prints the
number of seen rows over time with `retention: {seen: 30d}` and with retention off.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _data
import yaml
from _servers import FeedFarm

from worker.config import parse_settings
from worker.models import Item
from worker.pipeline import Pipeline
from worker.store.sqlite import SqliteStore


def read_status(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM and friends from /proc/PID/status, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key.startswith("Vm"):
                out[key] = int(value.split()[0])
    return out


def seed_store(path: Path, feeds: int, seen: int) -> None:
    rng = random.Random(_data.SEED)
    now = datetime.now(UTC)
    store = SqliteStore(path)
    try:
        per_feed = max(1, seen // feeds)
        made = 0
        for n in range(feeds):
            count = min(per_feed, seen - made) if n < feeds - 1 else seen - made
            if count <= 0:
                break
            # One batch per feed and age, as polls would have recorded them.
            by_age: dict[int, list[str]] = {}
            for i in range(count):
                by_age.setdefault(rng.randint(0, 45), []).append(f"old-{n}-{i}")
            for age, ids in by_age.items():
                store.record_batch(f"feed-{n}", ids, [], [], now - timedelta(days=age))
            made += count
    finally:
        store.close()


def live_run(args: argparse.Namespace) -> None:
    farm = FeedFarm(args.feeds, per_feed=20)
    farm.start()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = folder / "state.db"
        seed_store(db, args.feeds, args.seen)
        config = {
            "state": "sqlite:///state.db",
            "watchlists": _data.watchlists_yaml(args.tickers),
            "feeds": [
                {"name": f"feed-{n}", "url": farm.url(f"/feed/{n}.rss"), "every": args.every}
                for n in range(args.feeds)
            ],
            "retention": {"seen": "30d"},
        }
        path = folder / "policywatch.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False), "utf-8")
        before = _count_seen(db)
        log = (folder / "run.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "worker", "run", "--config", str(path)],
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(_data.REPO)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        samples: list[tuple[float, int]] = []
        start = time.monotonic()
        peak = 0
        try:
            while time.monotonic() - start < args.duration and proc.poll() is None:
                status = read_status(proc.pid)
                samples.append((time.monotonic() - start, status.get("VmRSS", 0)))
                peak = max(peak, status.get("VmHWM", 0))
                time.sleep(0.2)
            if proc.poll() is not None:
                raise SystemExit((folder / "run.log").read_text("utf-8")[-3000:])
        finally:
            proc.terminate()
            proc.wait(60)
            log.close()
        run_log = (folder / "run.log").read_text("utf-8")
        missed = run_log.count("was missed by")
        after = _count_seen(db)
        db_mib = sum(p.stat().st_size for p in folder.glob("state.db*")) / 2**20
    farm.stop()

    mib = 1024
    rss = [kib for _, kib in samples]
    print(f"`policywatch run`, {args.feeds} feeds every {args.every}, {args.tickers} tickers,")
    print(f"  {before:,} seen items at start ({after:,} after the run, retention 30d)")
    counts = farm.status_counts
    total = sum(counts.values())
    print(
        f"  feed answers: {counts.get(200, 0):,} × 200, {counts.get(304, 0):,} × 304"
        f" ({counts.get(304, 0) / max(1, total):.0%} not modified)"
    )
    if farm.first_at and farm.last_200_at:
        print(
            f"  the first round (every feed answered 200) took"
            f" {farm.last_200_at - farm.first_at:.1f} s"
        )
    if missed:
        print(f"  {missed} scheduled polls were skipped as late (APScheduler misfire)")
    late = [kib for t, kib in samples if t >= 5]
    print(f"  peak RSS (VmHWM) {peak / mib:.0f} MiB; RSS at the end {rss[-1] / mib:.0f} MiB;")
    print(
        f"  RSS after start-up: median {sorted(late)[len(late) // 2] / mib:.0f} MiB,"
        f" max {max(late) / mib:.0f} MiB; store file {db_mib:.0f} MiB"
    )


def _count_seen(db: Path) -> int:
    store = SqliteStore(db)
    try:
        return store.count_seen()
    finally:
        store.close()


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def simulate(args: argparse.Namespace, retention: str) -> list[tuple[int, int]]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    text = f"watchlists: [{{name: semis, tickers: [NVDA, AMD]}}]\nretention: {{seen: {retention}}}"
    settings = parse_settings(text, "sim.yaml", {})
    clock = _Clock(start)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "sim.db")
        pipeline = Pipeline(settings, store, {}, clock=clock)
        counts = []
        for day in range(args.days + 1):
            clock.now = start + timedelta(days=day)
            newest = (day + 1) * args.per_day
            for feed in range(args.sim_feeds):
                window = range(max(0, newest - 20), newest)
                items = [Item(id=f"f{feed}-{i}", title=f"Market update {i}") for i in window]
                pipeline.process_items(f"feed-{feed}", items)
            pipeline.prune_seen()
            if day % args.report_every == 0:
                counts.append((day, store.count_seen()))
        store.close()
    return counts


def bounded_store(args: argparse.Namespace) -> None:
    kept = simulate(args, "30d")
    unbounded = simulate(args, "null")
    print()
    print(
        f"seen rows over simulated time: {args.sim_feeds} feeds, each showing its latest 20"
        f" items and adding {args.per_day} a day, pruned daily"
    )
    print(f"  {'day':>5} {'retention 30d':>14} {'retention off':>14}")
    for (day, a), (_, b) in zip(kept, unbounded, strict=True):
        print(f"  {day:>5} {a:>14,} {b:>14,}")
    bound = args.sim_feeds * (20 + args.per_day * 31)
    print(f"  bound with 30d: feeds × (20 in the feed + {args.per_day}/day × 31 days) = {bound:,}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--seen", type=int, default=100_000)
    parser.add_argument("--tickers", type=int, default=2000)
    parser.add_argument("--every", default="20s")
    parser.add_argument("--duration", type=float, default=100.0, help="seconds to run")
    parser.add_argument("--days", type=int, default=150)
    parser.add_argument("--sim-feeds", type=int, default=50)
    parser.add_argument("--per-day", type=int, default=10)
    parser.add_argument("--report-every", type=int, default=15)
    parser.add_argument("--skip-live", action="store_true")
    parser.add_argument("--skip-sim", action="store_true")
    args = parser.parse_args(argv)
    if not args.skip_live:
        live_run(args)
    if not args.skip_sim:
        bounded_store(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
