"""`policywatch worker`: Celery worker nodes, one per queue, so a slow webhook never holds up
polling.

Without `--queue`, this process supervises two children, `policywatch worker --queue poll` and
`--queue deliver`: it passes SIGTERM/SIGINT on and waits for both; a child that exits on its
own (killed, or restarted by its watchdog) is started again, unless it keeps exiting (then
both stop and the status says so, for Docker or systemd). With `--queue`, this process is
the Celery node itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from worker.config import Settings
from worker.store.keys import DELIVER_QUEUE, POLL_QUEUE

if TYPE_CHECKING:
    from worker.metrics import CeleryMetrics
    from worker.runtime.celery_app import DistributedApp

log = logging.getLogger(__name__)

QUEUES = (POLL_QUEUE, DELIVER_QUEUE)
_PR_SET_PDEATHSIG = 1
# A warm shutdown lets tasks in hand finish; a delivery may take up to its lease (2 min).
_STOP_GRACE_S = 140.0
# A node that exits this often within the window is not restarted again.
_MAX_RESTARTS = 5
_RESTART_WINDOW_S = 300.0


def node_argv(queue: str, concurrency: int, log_level: str) -> list[str]:
    """The `celery worker` arguments for one node consuming `queue`."""
    return [
        "worker",
        f"--queues={queue}",
        f"--concurrency={concurrency}",
        f"--hostname={queue}-{os.getpid()}@%h",
        f"--loglevel={log_level.upper()}",
        "--pool=prefork",
        "--task-events",
        "--without-mingle",
        "--without-gossip",
    ]


def run_node(settings: Settings, queue: str, concurrency: int | None, log_level: str) -> int:
    """Be one Celery worker node for `queue` until it shuts down; return its exit status."""
    from celery import signals as celery_signals

    from worker.runtime.celery_app import DistributedApp
    from worker.runtime.watchdog import EXIT_STALLED, Watchdog
    from worker.store.redis import RedisStore, connect, redacted

    app = DistributedApp(settings)
    app.relevance()  # built before the pool forks, so every process shares it
    client = connect(app.broker_url)
    try:
        for problem in RedisStore(client, app.keys).durability_problems():
            log.warning("Redis at %s: %s", redacted(app.broker_url), problem)
    finally:
        client.close()
    metrics = node_metrics(app, queue)
    if concurrency is None:
        d = settings.distributed
        concurrency = d.poll_concurrency if queue == POLL_QUEUE else d.deliver_concurrency
    if log_level.upper() != "DEBUG":
        # Celery logs every task received and finished; sweeps alone would flood the log.
        for name in ("celery.app.trace", "celery.worker.strategy"):
            logging.getLogger(name).setLevel(logging.WARNING)
    watchdog = Watchdog(connect(app.broker_url, retries=1), queue)
    celery_signals.worker_ready.connect(lambda **_: watchdog.start(), weak=False)
    try:
        status = app.celery.worker_main(node_argv(queue, concurrency, log_level))
    finally:
        watchdog.stop()
        if metrics is not None:
            metrics.on_worker_shutdown()
    return EXIT_STALLED if watchdog.stalled else int(status or 0)


def node_metrics(app: DistributedApp, queue: str) -> CeleryMetrics | None:
    """With a `metrics:` section: this node's /metrics, /healthz and /readyz, and the recorder
    its pool processes count into. The poll node serves on `metrics.port`, the deliver node
    on the next port, each summing its own pool (a subfolder of `multiprocess_dir`)."""
    from worker.health import Readiness, broker_check, heartbeat_check, store_check
    from worker.logs import Redactor, secrets_of
    from worker.metrics import CeleryMetrics
    from worker.pipeline import utc_now
    from worker.runtime.embedded import open_settings_store

    settings = app.settings
    if settings.metrics is None:
        return None
    config = settings.metrics
    updates: dict[str, object] = {}
    if config.port and queue != POLL_QUEUE:
        updates["port"] = config.port + 1
    if config.multiprocess_dir:
        updates["multiprocess_dir"] = str(Path(config.multiprocess_dir) / queue)
    node_settings = settings.model_copy(update={"metrics": config.model_copy(update=updates)})
    store = open_settings_store(settings)
    readiness = Readiness(
        {
            "store": store_check(store),
            "broker": broker_check(app.broker_url),
            "scheduler": heartbeat_check(store, "scheduler", settings.health.stale_after, utc_now),
        },
        redact=Redactor(secrets_of(settings)).redact,
    )
    metrics = CeleryMetrics(node_settings, store, readiness)
    app.recorder = metrics.recorder
    metrics.connect()
    return metrics


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the supervisor dies, even by SIGKILL (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def run_pair(config_path: str, log_level: str, log_format: str = "human") -> int:
    """Supervise one node per queue (see the module docstring); return the exit status."""

    def start(queue: str) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "worker", "--log-level", log_level]
        argv += ["--log-format", log_format, "worker", "--config", config_path, "--queue", queue]
        return subprocess.Popen(argv, preexec_fn=_die_with_parent)  # no threads here yet

    children = {queue: start(queue) for queue in QUEUES}
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        for child in children.values():
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    restarts: dict[str, list[float]] = {queue: [] for queue in QUEUES}
    while not stopping:
        for queue, child in list(children.items()):
            status = child.poll()
            if status is None or stopping:
                continue
            recent = [t for t in restarts[queue] if time.monotonic() - t < _RESTART_WINDOW_S]
            if len(recent) >= _MAX_RESTARTS:
                log.error("worker node for %s keeps exiting (%s); giving up", queue, status)
                stopping.append(signal.SIGTERM)
                forward(signal.SIGTERM, None)
                break
            log.warning("worker node for %s exited with %s; starting it again", queue, status)
            restarts[queue] = [*recent, time.monotonic()]
            children[queue] = start(queue)
        time.sleep(0.2)
    deadline = time.monotonic() + _STOP_GRACE_S
    statuses = []
    for child in children.values():
        try:
            statuses.append(child.wait(max(0.1, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            child.kill()
            statuses.append(child.wait())
    worst = max((s if s >= 0 else 128 - s for s in statuses), default=0)
    return worst
