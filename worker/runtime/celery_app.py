"""The Celery app of the distributed runtime, built from one Settings object.

Reliability settings (see notes/reliability.md): late acks, requeue when a worker process is
lost, prefetch 1, no results, hard and soft time limits on every task, one visibility timeout
everywhere, and no countdown or ETA at all (long waits live in the store's next-attempt time
and the sweeper). Each worker process builds its own store, HTTP client and Redis connection
on first use, after the prefork pool has forked.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from celery import Celery
from kombu.entity import Exchange, Queue

from worker.channels import build_channel
from worker.config import FeedConfig, Settings
from worker.errors import ConfigError, ConfigProblem
from worker.pipeline import Pipeline
from worker.recorder import NULL_RECORDER, Recorder
from worker.relevance import Relevance
from worker.runtime.embedded import make_http_client, open_settings_store
from worker.runtime.queueing import DELIVER, POLL_FEED, SWEEP, TaskQueue
from worker.store.keys import DELIVER_QUEUE, POLL_QUEUE, Keys
from worker.store.redis import connect

log = logging.getLogger(__name__)

SOFT_LIMIT_SHARE = 0.9
SOFT_SHUTDOWN_S = 10.0
BROKER_SOCKET_TIMEOUT_S = 10.0
BROKER_CONNECT_TIMEOUT_S = 5.0
_REDIS_SCHEMES = ("redis", "rediss", "unix")


def broker_url(settings: Settings) -> str:
    """`broker:`, else the `state:` URL when it is Redis. Raises ConfigError otherwise."""
    url = settings.broker or settings.state
    if urlsplit(url).scheme in _REDIS_SCHEMES:
        return url
    field = "broker" if settings.broker else "state"
    problem = ConfigProblem(
        settings.source_file,
        None,
        field,
        url,
        "a redis:// URL: the distributed runtime needs Redis (set state: or broker:)",
    )
    raise ConfigError([problem])


def task_limits_s(settings: Settings, queue: str) -> tuple[float, float]:
    """(soft, hard) time limits for the tasks of `queue`. A delivery never outlives its
    lease, so no second worker can take it over while the first is still sending."""
    hard = settings.distributed.task_time_limit_s
    if queue == DELIVER_QUEUE:
        hard = min(hard, settings.delivery.lease_s)
    return round(hard * SOFT_LIMIT_SHARE, 3), hard


def _queue(name: str) -> Queue:
    """A queue with its own direct exchange and routing key, so no message reaches both."""
    return Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]


def celery_config(settings: Settings) -> dict[str, Any]:
    """Everything we set on Celery, as one plain dict."""
    visibility = settings.distributed.visibility_timeout_s
    soft, hard = task_limits_s(settings, POLL_QUEUE)
    return {
        "broker_url": broker_url(settings),
        "broker_transport_options": {
            "visibility_timeout": visibility,
            # a hung Redis or network is an error after this, not a worker stuck forever
            "socket_timeout": BROKER_SOCKET_TIMEOUT_S,
            "socket_connect_timeout": BROKER_CONNECT_TIMEOUT_S,
            "socket_keepalive": True,
        },
        "result_backend_transport_options": {"visibility_timeout": visibility},
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,
        "result_backend": None,
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_time_limit": hard,
        "task_soft_time_limit": soft,
        "task_queues": tuple(_queue(name) for name in (POLL_QUEUE, DELIVER_QUEUE)),
        "task_default_queue": POLL_QUEUE,
        "task_routes": {
            POLL_FEED: {"queue": POLL_QUEUE},
            SWEEP: {"queue": POLL_QUEUE},
            DELIVER: {"queue": DELIVER_QUEUE},
        },
        "task_serializer": "json",
        "accept_content": ["json"],
        "task_send_sent_event": True,
        "worker_send_task_events": True,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": True,
        "worker_soft_shutdown_timeout": SOFT_SHUTDOWN_S,
        "enable_utc": True,
        "timezone": "UTC",
    }


@dataclass
class WorkerContext:
    """What the tasks of one worker process use."""

    pipeline: Pipeline
    client: httpx.Client
    queue: TaskQueue
    feeds: dict[str, FeedConfig]


class DistributedApp:
    """The Celery app plus the settings, and per-process resources built on first use.

    `recorder` (metrics) is set by the worker node before its pool forks, if at all.
    """

    def __init__(self, settings: Settings, keys: Keys | None = None) -> None:
        from worker.runtime.tasks import register_tasks

        self.settings = settings
        self.keys = keys or Keys()
        self.broker_url = broker_url(settings)
        self.celery = Celery("policywatch", set_as_current=False)
        self.celery.conf.update(celery_config(settings))
        self.recorder: Recorder = NULL_RECORDER
        self._relevance: Relevance | None = None
        self._task_queue: tuple[int, TaskQueue] | None = None
        self._context: tuple[int, WorkerContext] | None = None
        register_tasks(self)

    def send(self, name: str, args: Any, queue: str) -> None:
        self.celery.send_task(name, args=list(args), queue=queue)

    def relevance(self) -> Relevance:
        """Built once and shared by forked pool processes (it is read-only)."""
        if self._relevance is None:
            self._relevance = Relevance(
                self.settings.watchlists, source_file=self.settings.source_file
            )
        return self._relevance

    def task_queue(self) -> TaskQueue:
        pid = os.getpid()
        if self._task_queue is None or self._task_queue[0] != pid:
            client = connect(self.broker_url)
            requeue_after = self.settings.distributed.requeue_after_s
            self._task_queue = (pid, TaskQueue(client, self.keys, self.send, requeue_after))
        return self._task_queue[1]

    def context(self) -> WorkerContext:
        pid = os.getpid()
        if self._context is None or self._context[0] != pid:
            settings = self.settings
            channels = {name: build_channel(name, cfg) for name, cfg in settings.channels.items()}
            pipeline = Pipeline(
                settings,
                open_settings_store(settings),
                channels,
                relevance=self.relevance(),
                recorder=self.recorder,
            )
            context = WorkerContext(
                pipeline=pipeline,
                client=make_http_client(settings.user_agent),
                queue=self.task_queue(),
                feeds={feed.name: feed for feed in settings.feeds},
            )
            self._context = (pid, context)
        return self._context[1]
