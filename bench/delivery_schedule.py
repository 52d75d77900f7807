"""Prints the delivery timings the embedded runtime actually achieves, in real time:

1. a 429 with Retry-After: 2, then 200: the gap between the two requests;
2. a scripted failure run (500, 500, 503 with Retry-After: 8, then 200): the retry schedule;
3. ten alerts to one Slack target (default pace, 1 a second) and one to another target.

Run from the repository root:  PYTHONPATH=. .venv/bin/python bench/delivery_schedule.py
A benchmark prints figures; it never fails on a time.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.delivery.harness import seed
from tests.support.receivers import HttpReceiver, Reply
from worker.config import Settings, parse_settings
from worker.runtime.embedded import build_runtime


def settings(folder: Path, channels: str, delivery: str = "") -> Settings:
    text = (
        f"state: sqlite:///{folder / 'state.db'}\n"
        "watchlists: [{name: semis, tickers: [NVDA]}]\nchannels:\n" + channels
    )
    if delivery:
        text += "delivery:\n" + delivery
    return parse_settings(text, str(folder / "bench.yaml"), {})


def run_until(config: Settings, work: Callable[[object], None], done: Callable[[], bool]) -> float:
    runtime = build_runtime(config)
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run_forever, args=(stop,), daemon=True)
    thread.start()
    started = time.monotonic()
    work(runtime)
    deadline = started + 60
    while not done() and time.monotonic() < deadline:
        time.sleep(0.005)
    stop.set()
    runtime.wake()
    thread.join(10)
    runtime.close()
    return started


def add(runtime: object, channel: str, n: int = 1) -> None:
    store = runtime.pipeline.store  # type: ignore[attr-defined]
    seed(store, channel, n, datetime.now(UTC))
    runtime.wake()  # type: ignore[attr-defined]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, HttpReceiver() as hook, HttpReceiver() as other:
        folder = Path(tmp)

        hook.script(Reply(429, headers={"Retry-After": "2"}))
        config = settings(
            folder / "a",
            f"  hook: {{type: webhook, url: '{hook.url()}'}}\n",
            "  backoff_base_s: 0.2s\n",
        )
        run_until(config, lambda r: add(r, "hook"), lambda: len(hook.requests) >= 2)
        gap = hook.requests[1].at - hook.requests[0].at
        print(f"1. 429 Retry-After: 2, then 200: retry came {gap:.3f} s after the 429")

        hook.requests.clear()
        hook.script(Reply(500), Reply(500), Reply(503, headers={"Retry-After": "8"}))
        config = settings(
            folder / "b",
            f"  hook: {{type: webhook, url: '{hook.url()}'}}\n",
            "  backoff_base_s: 1s\n",
        )
        run_until(config, lambda r: add(r, "hook"), lambda: len(hook.requests) >= 4)
        t0 = hook.requests[0].at
        answers = ["500", "500", "503 Retry-After: 8", "200"]
        print("2. scripted failure run, backoff_base_s 1s (±25 % jitter):")
        for n, (request, said) in enumerate(zip(hook.requests, answers, strict=False), 1):
            print(f"   attempt {n} at t={request.at - t0:6.3f} s -> {said}")

        hook.requests.clear()
        channels = (
            f"  desk: {{type: slack, url: '{hook.url('/services/T/B/x')}'}}\n"
            f"  ops: {{type: webhook, url: '{other.url()}'}}\n"
        )
        config = settings(folder / "c", channels)

        def work(runtime: object) -> None:
            add(runtime, "desk", 10)
            add(runtime, "ops")

        started = run_until(
            config, work, lambda: len(hook.requests) >= 10 and len(other.requests) >= 1
        )
        times = [r.at - started for r in hook.requests]
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        print("3. ten alerts to one Slack target (min_interval_s 1) and one to another target:")
        print(f"   Slack arrivals at t = {', '.join(f'{t:.2f}' for t in times)} s")
        print(
            f"   first to last: {times[-1] - times[0]:.2f} s; gaps min {min(gaps):.3f} s,"
            f" max {max(gaps):.3f} s; all {len(hook.requests)} arrived"
        )
        print(f"   the other target's alert arrived at t = {other.requests[0].at - started:.3f} s")


if __name__ == "__main__":
    main()
