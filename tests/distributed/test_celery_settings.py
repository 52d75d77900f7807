"""What we promise about Celery's settings, read from the app a config builds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.distributed.cluster import write_config
from worker.config import load_settings, parse_settings
from worker.errors import ConfigError
from worker.runtime.celery_app import DistributedApp, broker_url
from worker.runtime.queueing import DELIVER, POLL_FEED, SWEEP


def test_tasks_ack_late_requeue_on_a_lost_worker_and_prefetch_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, "redis://127.0.0.1:1/0", "http://a/f", "http://b/h")
    conf = DistributedApp(load_settings(config)).celery.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_ignore_result
    assert conf.broker_transport_options["visibility_timeout"] == 30
    assert conf.result_backend_transport_options["visibility_timeout"] == 30


def test_every_task_has_time_limits_inside_the_visibility_timeout_and_the_lease(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, "redis://127.0.0.1:1/0", "http://a/f", "http://b/h")
    app = DistributedApp(load_settings(config))
    tasks = app.celery.tasks
    for name in (POLL_FEED, SWEEP, DELIVER):
        task = tasks[name]
        assert 0 < task.soft_time_limit < task.time_limit < 30, name
    assert tasks[DELIVER].time_limit <= 3  # the lease: a send never outlives it
    assert app.celery.amqp.router.route({}, DELIVER)["queue"].name == "deliver"
    assert app.celery.amqp.router.route({}, POLL_FEED)["queue"].name == "poll"


def test_the_distributed_runtime_needs_a_redis_url() -> None:
    settings = parse_settings(
        "state: sqlite:///x.db\nwatchlists: [{name: a, tickers: [NVDA]}]\n", "p.yaml", {}
    )
    with pytest.raises(ConfigError, match="redis://"):
        broker_url(settings)
    both = parse_settings(
        "state: sqlite:///x.db\nbroker: redis://h:6379/1\n"
        "watchlists: [{name: a, tickers: [NVDA]}]\n",
        "p.yaml",
        {},
    )
    assert broker_url(both) == "redis://h:6379/1"


def test_a_task_time_limit_beyond_the_visibility_timeout_is_a_config_error() -> None:
    text = (
        "watchlists: [{name: a, tickers: [NVDA]}]\n"
        "distributed:\n  visibility_timeout_s: 60s\n  task_time_limit_s: 2m\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "p.yaml", {})
    assert "p.yaml:4: distributed.task_time_limit_s" in str(caught.value)
