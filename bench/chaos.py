"""Chaos and throughput figures for the distributed runtime. Prints figures; never fails on time.

    python -m bench.chaos                     # 200 alerts under chaos, then throughput 1 vs 2
    python -m bench.chaos --alerts 500 --kill-every 2 --skip-throughput

Chaos: a real redis-server (AOF, noeviction), two schedulers, one poll worker and two deliver
workers (`policywatch worker --queue ...` processes) deliver N alerts from a served RSS feed to
a webhook receiver that answers slowly. Every `--kill-every` seconds one deliver worker is
SIGKILLed (with its pool processes) and a new one started; Redis is restarted once; the
leading scheduler is SIGKILLed once. Reported: alerts lost (created but never received; must
be 0), duplicates seen by the receiver (same delivery id twice), time to deliver all.

Throughput: the same N alerts with one deliver worker, then with two, each of
`--concurrency` processes, against a receiver answering in `--latency-ms`.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis  # noqa: E402

from tests.conftest import RedisServer  # noqa: E402
from tests.distributed.cluster import (  # noqa: E402
    Cluster,
    NewsServer,
    Process,
    nvidia_stories,
    rss,
    write_config,
)
from tests.support.receivers import HttpReceiver, RecordedRequest, Reply  # noqa: E402
from worker.errors import StoreError  # noqa: E402
from worker.models import DeliveryState  # noqa: E402
from worker.store.redis import RedisStore  # noqa: E402


class TimedReceiver(HttpReceiver):
    """An HttpReceiver that also notes when each request arrived, and answers after a delay."""

    def __init__(self, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.arrived: list[float] = []

    def _next_reply(self, request: RecordedRequest) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.arrived.append(time.monotonic())
        return Reply(delay_s=self.delay_s)

    def delivery_ids(self) -> list[str]:
        with self._lock:
            return [r.headers["webhook-id"] for r in self.requests]


def progress(store: RedisStore, stories: int) -> tuple[int, int]:
    """(deliveries recorded, deliveries sent) once every story is recorded, else (0, 0)."""
    if store.count_seen() < stories:
        return 0, 0
    everything = store.list_deliveries(limit=100_000)
    return len(everything), sum(1 for d in everything if d.state is DeliveryState.SENT)


def run_chaos(args: argparse.Namespace, folder: Path, server: RedisServer) -> None:
    stories = nvidia_stories(args.alerts, tag="chaos-")
    with NewsServer(rss(stories)) as news, TimedReceiver(args.receiver_delay) as hooks:
        config = write_config(
            folder,
            server.url,
            news.url,
            hooks.url(),
            lease=f"{args.lease}s",
            deliver_concurrency=args.concurrency,
        )
        cluster = Cluster(config, folder)
        deliver = [cluster.worker("deliver"), cluster.worker("deliver")]
        cluster.worker("poll")
        schedulers = [cluster.scheduler(), cluster.scheduler()]
        store = RedisStore.from_url(server.url)
        started = time.monotonic()
        next_kill = started + args.kill_every
        restart_at = started + args.redis_restart_after
        scheduler_kill_at = started + args.scheduler_kill_after
        kills = restarts = scheduler_kills = 0
        created = sent = 0
        try:
            while time.monotonic() - started < args.timeout:
                now = time.monotonic()
                if now >= next_kill and (created == 0 or sent < created):
                    victim = deliver.pop(0)
                    victim.kill()
                    deliver.append(cluster.worker("deliver", ready=False))
                    kills += 1
                    next_kill += args.kill_every
                if restarts == 0 and now >= restart_at:
                    server.stop()
                    time.sleep(1.0)
                    server.start()
                    restarts += 1
                if scheduler_kills == 0 and now >= scheduler_kill_at:
                    leader = leading_scheduler(server.url, schedulers)
                    if leader is not None:
                        leader.kill()
                        schedulers.remove(leader)
                        schedulers.append(cluster.scheduler())
                        scheduler_kills += 1
                with contextlib.suppress(StoreError):  # Redis may be restarting
                    created, sent = progress(store, len(stories))
                if created and sent == created:
                    break
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            time.sleep(args.settle)  # let any late repeat arrive before counting
        finally:
            cluster.stop()
        received = Counter(hooks.delivery_ids())
        recorded = {d.id for d in store.list_deliveries(limit=100_000)}
        lost = recorded - set(received)
        print(f"chaos: {len(stories)} stories -> {len(recorded)} alerts (deliveries) recorded")
        print(
            f"  deliver workers SIGKILLed: {kills}; Redis restarts: {restarts}; "
            f"leader schedulers SIGKILLed: {scheduler_kills}"
        )
        print(f"  alerts lost: {len(lost)}")
        print(
            f"  duplicates seen by the receiver: {sum(received.values()) - len(received)} "
            f"({sum(1 for n in received.values() if n > 1)} deliveries received more than once)"
        )
        print(
            f"  all delivered: {'yes' if not lost and sent == len(recorded) else 'NO'} "
            f"in {elapsed:.1f} s (receiver answers in {args.receiver_delay * 1000:.0f} ms)"
        )
        print(f"  logs: {folder}")


def leading_scheduler(url: str, schedulers: list[Process]) -> Process | None:
    try:
        with redis.Redis.from_url(url, decode_responses=True) as client:
            token = client.get("policywatch:scheduler:leader") or ""
    except redis.RedisError:
        return None
    return next((s for s in schedulers if f":{s.pid}:" in token), None)


def run_throughput(args: argparse.Namespace, folder: Path, server: RedisServer, nodes: int) -> None:
    with redis.Redis.from_url(server.url) as client:
        client.flushdb()
    stories = nvidia_stories(args.alerts, tag=f"tp{nodes}-")
    run_folder = folder / f"throughput-{nodes}"
    run_folder.mkdir()
    with NewsServer(rss(stories)) as news, TimedReceiver(args.latency_ms / 1000) as hooks:
        config = write_config(
            run_folder,
            server.url,
            news.url,
            hooks.url(),
            lease="30s",
            deliver_concurrency=args.concurrency,
        )
        cluster = Cluster(config, run_folder)
        try:
            for _ in range(nodes):
                cluster.worker("deliver")
            cluster.worker("poll")
            cluster.scheduler()
            deadline = time.monotonic() + args.timeout
            while time.monotonic() < deadline:
                if len(set(hooks.delivery_ids())) >= len(stories):
                    break
                time.sleep(0.05)
        finally:
            cluster.stop()
    if len(hooks.arrived) < 2:
        print(f"throughput, {nodes} worker(s): no deliveries arrived")
        return
    span = hooks.arrived[-1] - hooks.arrived[0]
    rate = (len(hooks.arrived) - 1) / span if span else float("inf")
    print(
        f"throughput, {nodes} deliver worker(s) x {args.concurrency} processes: "
        f"{len(hooks.arrived)} deliveries in {span:.2f} s = {rate:.0f}/s "
        f"(receiver latency {args.latency_ms:g} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--kill-every", type=float, default=3.0, help="seconds between kills")
    parser.add_argument("--redis-restart-after", type=float, default=5.0)
    parser.add_argument("--scheduler-kill-after", type=float, default=8.0)
    parser.add_argument("--receiver-delay", type=float, default=0.1, help="chaos: s per answer")
    parser.add_argument("--lease", type=float, default=5.0, help="delivery lease, s")
    parser.add_argument("--concurrency", type=int, default=2, help="processes per worker")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="throughput receiver")
    parser.add_argument("--settle", type=float, default=3.0)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--skip-chaos", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load} at start (figures shift with it)")
    folder = Path(tempfile.mkdtemp(prefix="policywatch-chaos-"))
    (folder / "redis").mkdir()
    server = RedisServer(folder / "redis")
    server.start()
    try:
        if not args.skip_chaos:
            chaos_folder = folder / "chaos"
            chaos_folder.mkdir()
            run_chaos(args, chaos_folder, server)
        if not args.skip_throughput:
            for nodes in (1, 2):
                run_throughput(args, folder, server, nodes)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
