"""Prometheus metrics and the HTTP endpoint serving /metrics, /healthz and /readyz.

Two kinds of metric:
- counted as work happens, by `PrometheusRecorder` (the pipeline's Recorder): fetches by
  outcome, items fetched and new, alerts by watchlist and ticker, deliveries by channel and
  outcome, delivery latency (alert created → sent) and send duration, scheduler ticks,
  config reloads;
- read from the store at each scrape, by `StoreCollector`: deliveries by channel and state,
  the age of the oldest pending delivery, each feed's staleness, failures and interval,
  disabled channels, heartbeat ages. The store is shared, so these are right whichever
  process serves them.

The Celery runtime's prefork pool runs tasks in several processes. `CeleryMetrics` handles it
with prometheus-client's multiprocess mode (`metrics.multiprocess_dir`): every pool process
writes its counters to files in that folder and the worker's main process serves their sum,
with the store gauges and /readyz, on `metrics.port`. See README "Metrics and health".
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from worker import __version__
from worker.config import MetricsConfig, Settings
from worker.health import Readiness
from worker.store import Store

log = logging.getLogger(__name__)

# alert created → sent: seconds for instant alerts, up to hours after retries
LATENCY_BUCKETS_S = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600)
SEND_BUCKETS_S = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)


class PrometheusRecorder:
    """The Recorder that counts into Prometheus metrics in `registry` (a new one if None)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        reg = CollectorRegistry() if registry is None else registry
        self.registry = reg
        # `_created` series double the output and no dashboard here reads them
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self._fetches = Counter(
            "policywatch_fetches", "Feed polls by outcome", ["feed", "outcome"], registry=reg
        )
        self._items = Counter(
            "policywatch_items_fetched", "Items in fetched feed documents", ["feed"], registry=reg
        )
        self._new = Counter("policywatch_items_new", "Unseen items scored", ["feed"], registry=reg)
        self._alerts = Counter(
            "policywatch_alerts",
            "Matches that passed their watchlist's threshold",
            ["watchlist", "ticker"],
            registry=reg,
        )
        self._deliveries = Counter(
            "policywatch_deliveries",
            "Delivery attempts by channel and outcome (sent, failed, dead, ...)",
            ["channel", "outcome"],
            registry=reg,
        )
        self._latency = Histogram(
            "policywatch_delivery_latency_seconds",
            "From a delivery's creation (its alert) to the target accepting it",
            ["channel"],
            buckets=LATENCY_BUCKETS_S,
            registry=reg,
        )
        self._send = Histogram(
            "policywatch_send_duration_seconds",
            "How long one send attempt took",
            ["channel"],
            buckets=SEND_BUCKETS_S,
            registry=reg,
        )
        self._tick = Gauge(
            "policywatch_last_tick_timestamp_seconds",
            "Unix time of the last scheduler tick in this process",
            ["component"],
            multiprocess_mode="mostrecent",
            registry=reg,
        )
        self._reloads = Counter(
            "policywatch_config_reloads", "Config reloads by outcome", ["outcome"], registry=reg
        )
        info = Gauge(
            "policywatch_build_info",
            "Always 1; the version in a label",
            ["version"],
            multiprocess_mode="max",
            registry=reg,
        )
        info.labels(__version__).set(1)

    def fetched(self, feed: str, outcome: str, items: int) -> None:
        self._fetches.labels(feed, outcome).inc()
        if items:
            self._items.labels(feed).inc(items)

    def scored(self, feed: str, new_items: int) -> None:
        self._new.labels(feed).inc(new_items)

    def alerted(self, watchlist: str, ticker: str) -> None:
        self._alerts.labels(watchlist, ticker).inc()

    def delivered(self, channel: str, outcome: str, send_s: float, latency_s: float | None) -> None:
        self._deliveries.labels(channel, outcome).inc()
        self._send.labels(channel).observe(send_s)
        if latency_s is not None:
            self._latency.labels(channel).observe(latency_s)

    def ticked(self, component: str) -> None:
        self._tick.labels(component).set(time.time())

    def reloaded(self, outcome: str) -> None:
        self._reloads.labels(outcome).inc()


class StoreCollector:
    """Gauges read from the store at scrape time; `settings` gives the current config (it
    can change on reload). A store that fails yields `policywatch_store_up 0` and nothing
    else, never a failed scrape."""

    def __init__(
        self,
        store: Store,
        settings: Callable[[], Settings],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock

    def describe(self) -> Iterable[Metric]:
        return []  # keeps the registry from scraping the store when this is registered

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("policywatch_store_up", "1 when the store answered this scrape")
        try:
            families = list(self._families())
        except Exception as exc:  # a scrape boundary: report the store down, keep serving
            log.warning("metrics: the store did not answer: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self) -> Iterable[Metric]:
        settings, store, now = self._settings(), self._store, self._clock()
        by_state = GaugeMetricFamily(
            "policywatch_deliveries_in_state",
            "Deliveries in the store by channel and state",
            labels=["channel", "state"],
        )
        for (channel, delivery_state), n in sorted(store.count_deliveries().items()):
            by_state.add_metric([channel, delivery_state.value], n)
        yield by_state

        oldest = store.oldest_pending_at()
        yield GaugeMetricFamily(
            "policywatch_oldest_pending_delivery_age_seconds",
            "Age of the oldest delivery not yet sent or dead (0 when none waits)",
            value=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
        )

        staleness = GaugeMetricFamily(
            "policywatch_feed_staleness_seconds",
            "Seconds since the feed's last successful poll (+Inf if polled but never ok)",
            labels=["feed"],
        )
        failures = GaugeMetricFamily(
            "policywatch_feed_consecutive_failures",
            "Failed polls in a row",
            labels=["feed"],
        )
        interval = GaugeMetricFamily(
            "policywatch_feed_poll_interval_seconds", "The feed's `every`", labels=["feed"]
        )
        states = {s.name: s for s in store.list_feed_states()}
        for feed in settings.feeds:
            interval.add_metric([feed.name], feed.every)
            state = states.get(feed.name)
            if state is None or state.last_polled_at is None:
                continue
            failures.add_metric([feed.name], state.consecutive_failures)
            if state.last_success_at is not None:
                staleness.add_metric(
                    [feed.name], max(0.0, (now - state.last_success_at).total_seconds())
                )
            else:
                staleness.add_metric([feed.name], math.inf)
        yield from (staleness, failures, interval)

        disabled = GaugeMetricFamily(
            "policywatch_channel_disabled",
            "1 when the channel is disabled (its target is gone)",
            labels=["channel"],
        )
        for name in settings.channels:
            disabled.add_metric([name], 1 if store.channel_disabled(name) else 0)
        yield disabled

        beats = GaugeMetricFamily(
            "policywatch_heartbeat_age_seconds",
            "Seconds since a scheduler wrote its heartbeat to the store",
            labels=["component", "holder"],
        )
        for beat in store.list_heartbeats():
            age = max(0.0, (now - beat.beat_at).total_seconds())
            beats.add_metric([beat.component, beat.holder], age)
        yield beats


def _handler(registry: CollectorRegistry, readiness: Readiness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "policywatch"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._reply(200, encoder(registry), content_type)
            elif path == "/healthz":
                self._reply(200, b"ok\n", "text/plain; charset=utf-8")
            elif path == "/readyz":
                report = readiness.evaluate()
                body = json.dumps({"ready": report.ready, "checks": report.checks}, indent=1)
                self._reply(200 if report.ready else 503, body.encode(), "application/json")
            else:
                self._reply(404, b"not found: try /metrics, /healthz, /readyz\n", "text/plain")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a scrape every few seconds is not news

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class MetricsServer:
    """Serves /metrics (from `registry`), /healthz and /readyz (from `readiness`) on
    `bind`:`port` in a daemon thread. Port 0 picks a free one (see `port`).

    Raises OSError from the constructor when the address is taken.
    """

    def __init__(
        self, registry: CollectorRegistry, readiness: Readiness, bind: str, port: int
    ) -> None:
        self._server = _Server((bind, port), _handler(registry, readiness))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="pw-metrics",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics on %s/metrics, health on /healthz and /readyz", self.url)
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serve_metrics(
    config: MetricsConfig,
    recorder: PrometheusRecorder,
    collector: StoreCollector,
    readiness: Readiness,
) -> MetricsServer:
    """One process's endpoint: its recorder's counters plus the store gauges."""
    recorder.registry.register(collector)
    return MetricsServer(recorder.registry, readiness, config.bind, config.port).start()


def enable_multiprocess(path: str | Path) -> None:
    """Switch prometheus-client to multiprocess mode here and in processes forked from here.

    Call before any metric exists (before `PrometheusRecorder`); it empties `path` of the
    files of earlier runs, whose counts would otherwise be added to this run's.
    """
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.db"):
        old.unlink()
    # prometheus-client's own switch: it reads this variable itself, in every process, to find
    # the folder; setting it is the documented way to turn multiprocess mode on.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


class CeleryMetrics:
    """Metrics for the Celery runtime's worker (prefork pool).

    Create it in the worker's main process before the pool forks, pass `recorder` to the
    pipeline the tasks use, and `connect()` it (or call the `on_*` methods yourself).
    With `metrics.multiprocess_dir` set, the pool processes count into files there and the
    main process serves their sum, plus the store gauges and /readyz, on `metrics.port`.
    Without it (a solo or threads pool: one process) the counters are served as they are.
    `readiness` should hold the worker's checks (store, `health.broker_check(...)`).
    """

    def __init__(self, settings: Settings, store: Store, readiness: Readiness) -> None:
        self.config = settings.metrics or MetricsConfig()
        self._settings = settings
        self._store = store
        self._readiness = readiness
        if self.config.multiprocess_dir:
            enable_multiprocess(self.config.multiprocess_dir)
        self.recorder = PrometheusRecorder()
        self.server: MetricsServer | None = None

    def on_worker_init(self) -> MetricsServer:
        """In the main process, once: start serving."""
        collector = StoreCollector(self._store, lambda: self._settings)
        if not self.config.multiprocess_dir:
            self.server = serve_metrics(self.config, self.recorder, collector, self._readiness)
            return self.server
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.config.multiprocess_dir)  # type: ignore[no-untyped-call]
        registry.register(collector)
        self.server = MetricsServer(
            registry, self._readiness, self.config.bind, self.config.port
        ).start()
        return self.server

    def on_process_exit(self, pid: int) -> None:
        """When a pool process exits: drop its live gauges (its counters are kept)."""
        if self.config.multiprocess_dir:
            mark_process_dead(pid, self.config.multiprocess_dir)  # type: ignore[no-untyped-call]

    def on_worker_shutdown(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def connect(self) -> Callable[[], None]:
        """Wire the `on_*` methods to Celery's worker signals; returns what unwires them."""
        from celery import signals

        def worker_init(**_: Any) -> None:
            self.on_worker_init()

        def process_shutdown(pid: int | None = None, **_: Any) -> None:
            self.on_process_exit(pid or os.getpid())

        def worker_shutdown(**_: Any) -> None:
            self.on_worker_shutdown()

        wired = [
            (signals.worker_init, worker_init),
            (signals.worker_process_shutdown, process_shutdown),
            (signals.worker_shutdown, worker_shutdown),
        ]
        for signal, receiver in wired:
            signal.connect(receiver, weak=False)

        def disconnect() -> None:
            for signal, receiver in wired:
                signal.disconnect(receiver)

        return disconnect
