"""End-to-end latency: a story appears in a served feed → its alert reaches a webhook receiver.

    .venv/bin/python bench/e2e_latency.py [--items 200] [--every 1s] [--gap 0.25]

Starts `policywatch run` (the embedded runtime) as a user would, in a subprocess, with one
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
import os
import random
import signal
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
        stories.append(Story(n, title.format(**fill), summary.format(**fill), 1.6e9 + n * 86400))
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


def write_config(folder: Path, feed_url: str, hook_url: str, every: str) -> Path:
    config = {
        "state": "sqlite:///state.db",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--every", default="1s", help="the feed's poll interval")
    parser.add_argument("--gap", type=float, default=0.25, help="mean seconds between stories")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait at the end")
    parser.add_argument(
        "--py-spy", default="", metavar="FILE", help="profile the runtime (FILE.svg, or .txt raw)"
    )
    args = parser.parse_args(argv)

    rng = random.Random(_data.SEED)
    names = [
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
    stories = policy_stories(args.items, names, rng)
    feed, hook = NewsFeed(window=30), Hook()
    feed.start()
    hook.start()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = write_config(folder, feed.url("/feed.rss"), hook.url("/hook"), args.every)
        check_stories_alert(config, stories)
        log = (folder / "run.log").open("w")
        command = [sys.executable, "-m", "worker", "run", "--config", str(config)]
        if args.py_spy:
            fmt = "raw" if args.py_spy.endswith(".txt") else "flamegraph"
            out = str(Path(args.py_spy).resolve())
            command = ["py-spy", "record", "-o", out, "-f", fmt, "--", *command]
        proc = subprocess.Popen(
            command,
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(_data.REPO)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while not feed.polls and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(parse_duration_s(args.every) * 1.5)
            print(f"runtime up; publishing {len(stories)} stories, one every ~{args.gap}s")
            for story in stories:
                feed.publish(story)
                time.sleep(rng.uniform(0.5, 1.5) * args.gap)
            deadline = time.monotonic() + args.settle
            while len(hook.received) < len(stories) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            proc.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            proc.wait(60)
            log.close()
            tail = (folder / "run.log").read_text("utf-8").splitlines()[-5:]
    feed.stop()
    hook.stop()

    after_poll = [hook.received[n] - feed.first_served[n] for n in hook.received]
    after_pub = [hook.received[n] - feed.published_at[n] for n in hook.received]
    missing = sorted(set(range(len(stories))) - set(hook.received))
    polls = len(feed.polls)
    print(f"embedded runtime (`policywatch run`), feed polled every {args.every}: {polls} polls,")
    print(
        f"  {len(stories)} stories published, {len(hook.received)} alerted, "
        f"{len(missing)} missing, {hook.requests} webhook requests"
    )
    print("  " + summarise("after the poll  ", after_poll))
    print("  " + summarise("after publishing", after_pub))
    if missing:
        print(f"  missing stories: {missing[:20]}; last log lines:")
        for line in tail:
            print("    " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
