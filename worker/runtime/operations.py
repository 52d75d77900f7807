"""What a long-running `policywatch run` adds around its loop: the metrics and health
endpoint, and config reloads on SIGHUP and on file change."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType

from worker.config import Settings
from worker.errors import ConfigError, ConfigProblem
from worker.health import Readiness, store_check, ticking_check
from worker.logs import Redactor, secrets_of
from worker.metrics import MetricsServer, PrometheusRecorder, StoreCollector, serve_metrics
from worker.recorder import NULL_RECORDER, Recorder
from worker.reload import ConfigWatcher
from worker.runtime.embedded import EmbeddedRuntime

log = logging.getLogger(__name__)


def recorder_for(settings: Settings) -> Recorder:
    """A Prometheus recorder when `metrics:` is configured, else one that records nothing."""
    return PrometheusRecorder() if settings.metrics else NULL_RECORDER


def readiness_for(runtime: EmbeddedRuntime) -> Readiness:
    """Ready when the store answers and the scheduler ticked within `health.stale_after`."""
    settings = runtime.settings
    return Readiness(
        {
            "store": store_check(runtime.pipeline.store),
            "scheduler": ticking_check(runtime.ticker, settings.health.stale_after),
        },
        redact=Redactor(secrets_of(settings)).redact,
    )


def start_metrics(runtime: EmbeddedRuntime) -> MetricsServer | None:
    """Serve /metrics, /healthz, /readyz when `metrics:` is configured and the runtime's
    recorder is a Prometheus one. Raises ConfigError when the address cannot be used."""
    config, recorder = runtime.settings.metrics, runtime.pipeline.recorder
    if config is None or not isinstance(recorder, PrometheusRecorder):
        return None
    collector = StoreCollector(runtime.pipeline.store, lambda: runtime.settings)
    try:
        return serve_metrics(config, recorder, collector, readiness_for(runtime))
    except OSError as exc:
        where = f"{config.bind}:{config.port}"
        problem = ConfigProblem(
            runtime.settings.source_file,
            None,
            "metrics",
            where,
            f"an address this process can listen on ({exc.strerror or exc})",
        )
        raise ConfigError([problem]) from None


@contextmanager
def operations(runtime: EmbeddedRuntime, config_path: str | Path) -> Iterator[ConfigWatcher]:
    """Metrics endpoint, config watcher and SIGHUP handler for the block's duration."""
    with ExitStack() as stack:
        server = start_metrics(runtime)
        if server is not None:
            stack.callback(server.close)
        reload = runtime.settings.reload
        watcher = ConfigWatcher(
            config_path,
            runtime.apply_settings,
            watch=reload.watch,
            check_every_s=reload.check_every,
            recorder=runtime.pipeline.recorder,
        ).start()
        stack.callback(watcher.close)

        def on_hangup(signum: int, frame: FrameType | None) -> None:
            watcher.request()

        previous = signal.signal(signal.SIGHUP, on_hangup)
        stack.callback(signal.signal, signal.SIGHUP, previous)
        yield watcher
