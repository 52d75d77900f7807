"""Metrics over real HTTP: counters after a run, store gauges, /healthz and /readyz."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, RedisServer, free_port
from tests.ops.conftest import ALERTING_MATCHES, get, wait_for, write_config
from tests.support.receivers import HttpReceiver, Reply
from worker.config import load_settings
from worker.health import NotReady, Ticker, broker_check, ticking_check
from worker.metrics import MetricsServer, PrometheusRecorder
from worker.runtime.embedded import EmbeddedRuntime, build_runtime
from worker.runtime.operations import start_metrics

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    """GET /metrics and index every sample by (name, sorted labels)."""
    response = get(url + "/metrics")
    assert response.status_code == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def runtime_for(config: Path) -> EmbeddedRuntime:
    return build_runtime(load_settings(config), PrometheusRecorder())


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[EmbeddedRuntime, str]]:
    """A runtime that ran one cycle (file channel), with its metrics endpoint on a free port."""
    monkeypatch.chdir(tmp_path)
    runtime = runtime_for(write_config(tmp_path, extra="metrics: {port: 0}\n"))
    runtime.run_once()
    server = start_metrics(runtime)
    assert isinstance(server, MetricsServer)
    yield runtime, server.url
    server.close()
    runtime.close()


def test_the_endpoint_serves_what_a_run_did(served: tuple[EmbeddedRuntime, str]) -> None:
    _, url = served
    m = scrape(url)
    assert m[("policywatch_fetches_total", (("feed", "extra"), ("outcome", "new")))] == 1
    assert m[("policywatch_items_fetched_total", (("feed", "extra"),))] == 7
    assert m[("policywatch_items_new_total", (("feed", "extra"),))] == 7
    for ticker, alerts in (("NVDA", 3), ("AMD", 2)):
        key = ("policywatch_alerts_total", (("ticker", ticker), ("watchlist", "semis")))
        assert m[key] == alerts
    sent = (("channel", "outbox"), ("outcome", "sent"))
    assert m[("policywatch_deliveries_total", sent)] == ALERTING_MATCHES
    latency = ("policywatch_delivery_latency_seconds_count", (("channel", "outbox"),))
    assert m[latency] == ALERTING_MATCHES
    in_state = (("channel", "outbox"), ("state", "sent"))
    assert m[("policywatch_deliveries_in_state", in_state)] == ALERTING_MATCHES
    assert m[("policywatch_oldest_pending_delivery_age_seconds", ())] == 0
    assert 0 <= m[("policywatch_feed_staleness_seconds", (("feed", "extra"),))] < 60
    assert m[("policywatch_feed_poll_interval_seconds", (("feed", "extra"),))] == 300
    assert m[("policywatch_store_up", ())] == 1


def test_a_failing_channel_shows_as_failed_deliveries_and_a_pending_age(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with HttpReceiver([Reply(503)] * ALERTING_MATCHES) as hook:
        config = write_config(
            tmp_path,
            channels=f"hook: {{type: webhook, url: '{hook.url()}'}}",
            notify="[hook]",
            extra="metrics: {port: 0}\n",
        )
        runtime = runtime_for(config)
        runtime.run_once()
    server = start_metrics(runtime)
    assert server is not None
    try:
        m = scrape(server.url)
    finally:
        server.close()
        runtime.close()
    failed = (("channel", "hook"), ("outcome", "failed"))
    assert m[("policywatch_deliveries_total", failed)] == ALERTING_MATCHES
    waiting = (("channel", "hook"), ("state", "failed"))
    assert m[("policywatch_deliveries_in_state", waiting)] == ALERTING_MATCHES
    assert m[("policywatch_oldest_pending_delivery_age_seconds", ())] > 0


def test_readyz_waits_for_the_first_scheduler_tick(served: tuple[EmbeddedRuntime, str]) -> None:
    runtime, url = served
    not_yet = get(url + "/readyz")
    assert not_yet.status_code == 503
    assert not_yet.json()["checks"]["scheduler"] == "failing: no tick yet"
    runtime.beat()
    ready = get(url + "/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert ready.json()["checks"]["store"] == "ok: reachable"


def test_readyz_fails_and_healthz_holds_when_the_store_is_unreachable(
    served: tuple[EmbeddedRuntime, str],
) -> None:
    runtime, url = served
    runtime.beat()
    assert get(url + "/readyz").status_code == 200
    runtime.pipeline.store.close()
    broken = get(url + "/readyz")
    assert broken.status_code == 503
    assert broken.json()["checks"]["store"].startswith("failing: StoreError")
    assert get(url + "/healthz").status_code == 200, "alive, though not ready"
    assert scrape(url)[("policywatch_store_up", ())] == 0, "a scrape still succeeds"


def test_a_scheduler_that_stops_ticking_is_not_ready() -> None:
    now = [1000.0]
    ticker = Ticker(clock=lambda: now[0])
    check = ticking_check(ticker, stale_after_s=60)
    ticker.tick()
    now[0] += 59
    assert check().startswith("last tick 59")
    now[0] += 2
    with pytest.raises(NotReady, match="last tick 61s ago"):
        check()


def test_the_broker_check_sees_a_live_broker_and_a_dead_one(redis_server: RedisServer) -> None:
    assert broker_check(redis_server.url)() == "reachable"
    with pytest.raises(NotReady, match="broker unreachable"):
        broker_check(f"redis://127.0.0.1:{free_port()}/0", timeout_s=0.5)()


MULTIPROCESS_SCRIPT = textwrap.dedent(
    """
    import multiprocessing, os, sys
    from worker.config import parse_settings
    from worker.health import Readiness
    from worker.metrics import CeleryMetrics
    from worker.store.sqlite import SqliteStore

    folder, port, state = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    settings = parse_settings(
        "watchlists: [{name: w, tickers: [NVDA]}]\\n"
        f"metrics: {{port: {port}, multiprocess_dir: '{folder}'}}\\n",
        "cfg.yaml",
        {},
    )
    metrics = CeleryMetrics(settings, SqliteStore(state), Readiness())

    def task(n):  # what a pool process does: count deliveries, then exit
        for _ in range(n):
            metrics.recorder.delivered("desk", "sent", 0.01, 0.5)
        metrics.on_process_exit(os.getpid())

    metrics.on_worker_init()
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=task, args=(n,)) for n in (3, 4)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    print("ready", flush=True)
    sys.stdin.readline()  # serve until the test is done
    """
)


def test_celery_pool_processes_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    port = free_port()
    script = tmp_path / "pool.py"
    script.write_text(MULTIPROCESS_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "prom"), str(port), str(tmp_path / "s.db")],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        m = scrape(f"http://127.0.0.1:{port}")
    finally:
        proc.communicate("done\n", timeout=10)
    assert m[("policywatch_deliveries_total", (("channel", "desk"), ("outcome", "sent")))] == 7
    latency = ("policywatch_delivery_latency_seconds_count", (("channel", "desk"),))
    assert m[latency] == 7
    assert m[("policywatch_store_up", ())] == 1, "the store gauges are served beside them"


def test_policywatch_run_serves_metrics_health_and_readiness(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        tmp_path,
        extra=f"metrics: {{port: {port}}}\nhealth: {{heartbeat_every: 1s, stale_after: 5s}}\n",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "worker", "run", "--config", str(config)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:

        def delivered() -> bool:
            try:
                m = scrape(url)
            except Exception:
                return False
            sent = (("channel", "outbox"), ("outcome", "sent"))
            return m.get(("policywatch_deliveries_total", sent)) == ALERTING_MATCHES

        wait_for(delivered, what="the first cycle's deliveries in /metrics")
        assert get(url + "/healthz").text == "ok\n"
        wait_for(lambda: get(url + "/readyz").status_code == 200, what="readiness")
        beats = scrape(url)
        assert any(name == "policywatch_heartbeat_age_seconds" for name, _ in beats)
        status = subprocess.run(
            [sys.executable, "-m", "worker", "status", "--json", "--config", str(config)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            check=True,
        )
        [scheduler] = json.loads(status.stdout)["schedulers"]
        assert scheduler["alive"] and scheduler["holder"].endswith(f":{proc.pid}")
        assert set(scheduler["jobs"]) == {"poll:extra"}, "every job but the heartbeat itself"
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0, stderr
    assert f"metrics on http://127.0.0.1:{port}/metrics" in stderr


def test_celery_worker_signals_start_and_stop_the_endpoint(tmp_path: Path) -> None:
    from celery import signals

    from worker.config import parse_settings
    from worker.health import Readiness, store_check
    from worker.metrics import CeleryMetrics
    from worker.store.sqlite import SqliteStore

    port = free_port()
    settings = parse_settings(
        f"watchlists: [{{name: w, tickers: [NVDA]}}]\nmetrics: {{port: {port}}}\n", "c.yaml", {}
    )
    store = SqliteStore(tmp_path / "s.db")
    metrics = CeleryMetrics(settings, store, Readiness({"store": store_check(store)}))
    disconnect = metrics.connect()
    try:
        signals.worker_init.send(sender=None)
        metrics.recorder.delivered("desk", "sent", 0.1, 1.0)
        url = f"http://127.0.0.1:{port}"
        assert get(url + "/readyz").json() == {"ready": True, "checks": {"store": "ok: reachable"}}
        sent = (("channel", "desk"), ("outcome", "sent"))
        assert scrape(url)[("policywatch_deliveries_total", sent)] == 1
        signals.worker_shutdown.send(sender=None)
        assert metrics.server is None
    finally:
        disconnect()
        store.close()


def test_a_worker_is_ready_only_while_some_scheduler_beats(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from worker.health import heartbeat_check
    from worker.models import Heartbeat
    from worker.store.sqlite import SqliteStore

    now = datetime(2025, 4, 16, 12, tzinfo=UTC)
    store = SqliteStore(tmp_path / "s.db")
    check = heartbeat_check(store, "scheduler", 60, lambda: now)
    with pytest.raises(NotReady, match="no scheduler heartbeat"):
        check()
    store.record_heartbeat(Heartbeat("scheduler", "leader:1", now - timedelta(seconds=10)))
    assert check() == "leader:1 beat 10.0s ago"
    store.record_heartbeat(Heartbeat("scheduler", "leader:1", now - timedelta(seconds=90)))
    with pytest.raises(NotReady, match="last beat 90s ago"):
        check()
    store.close()


def test_a_metrics_port_in_use_stops_run_with_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path, extra=f"metrics: {{port: {port}}}\n")
        done = subprocess.run(
            [sys.executable, "-m", "worker", "run", "--config", str(config)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert f"metrics: got '127.0.0.1:{port}'; expected an address this process can" in done.stderr
