"""Digest channels get `digest:<channel>` scheduler jobs; `status` shows their next run."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler

from tests.conftest import run_cli
from tests.routing.test_routing_cli import write_config
from worker.config import parse_settings
from worker.routing import policies_for
from worker.runtime.digest_jobs import ScheduleTrigger, schedule_digest_jobs
from worker.schedule import parse_schedule


def test_the_trigger_fires_at_the_schedule_times_across_dst() -> None:
    trigger = ScheduleTrigger(parse_schedule("daily 08:00").in_zone("America/New_York"))
    first = trigger.get_next_fire_time(None, datetime(2025, 3, 8, 14, 0, tzinfo=UTC))
    second = trigger.get_next_fire_time(first, first)
    assert (first, second) == (
        datetime(2025, 3, 9, 12, 0, tzinfo=UTC),
        datetime(2025, 3, 10, 12, 0, tzinfo=UTC),
    )


def test_one_job_per_digest_channel_replaced_on_reload() -> None:
    text = """
watchlists: [{name: semis, tickers: [NVDA], notify: [desk, am, pm]}]
channels:
  desk: {type: console}
  am: {type: console, mode: digest, schedule: "daily 07:00"}
  pm: {type: console, mode: digest, schedule: "daily 18:00"}
"""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.start(paused=True)
    try:
        policies = policies_for(parse_settings(text, "x", {}))
        schedule_digest_jobs(scheduler, policies, lambda: None)
        assert sorted(j.id for j in scheduler.get_jobs()) == ["digest:am", "digest:pm"]
        fewer = text.replace('mode: digest, schedule: "daily 18:00"', "mode: instant")
        schedule_digest_jobs(scheduler, policies_for(parse_settings(fewer, "x", {})), lambda: None)
        assert [j.id for j in scheduler.get_jobs()] == ["digest:am"]
    finally:
        scheduler.shutdown(wait=False)


def test_status_shows_when_each_digest_goes_out_next(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    result = run_cli("status", "--json", "--config", str(config), cwd=tmp_path)
    [digest] = json.loads(result.stdout)["digests"]
    assert digest["name"] == "morning"
    when = datetime.fromisoformat(digest["next_run_at"])
    assert when > datetime.now(UTC) and when.weekday() < 5
