"""`policywatch status`: after a demo-like run, and with every kind of trouble at once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from tests.conftest import run_cli
from tests.ops.conftest import ALERTING_MATCHES, write_config
from worker.config import load_settings
from worker.models import Alert, Delivery, DeliveryState, FeedState, Heartbeat
from worker.status import collect_status, render_status, status_json
from worker.store.sqlite import SqliteStore

NOW = datetime(2025, 4, 16, 12, 0, tzinfo=UTC)


def test_status_after_a_run_shows_feeds_channels_and_nothing_waiting(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert run_cli("run", "--once", "--config", str(config), cwd=tmp_path).returncode == 0
    table = run_cli("status", "--config", str(config), cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    rows = {line.split()[1]: line for line in table.stdout.splitlines() if line.startswith("│")}
    assert "ok" in rows["extra"] and " 7 " in rows["extra"], rows
    assert rows["outbox"].split()[3:9] == ["file", "│", str(ALERTING_MATCHES), "│", "0", "│"]
    assert "Deliveries waiting: 0 (0 due now)" in table.stdout
    assert "All good" in table.stdout

    data = json.loads(run_cli("status", "--json", "--config", str(config), cwd=tmp_path).stdout)
    assert data["healthy"] is True and data["attention"] == []
    [feed] = data["feeds"]
    assert feed["name"] == "extra" and feed["state"] == "ok" and feed["items_seen"] == 7
    assert datetime.fromisoformat(feed["next_poll_at"]) > datetime.fromisoformat(
        feed["last_success_at"]
    )
    [channel] = data["channels"]
    assert channel == {
        "name": "outbox",
        "type": "file",
        "sent": ALERTING_MATCHES,
        "pending": 0,
        "failed": 0,
        "dead": 0,
        "disabled_reason": "",
    }
    assert data["pending"]["waiting"] == 0 and data["pending"]["oldest_age_s"] is None
    assert data["schedulers"] == [] and data["digests"] == []


def _delivery(channel: str, n: int, created: datetime) -> tuple[Alert, Delivery]:
    alert = Alert(
        id=Alert.make_id("semis", "NVDA", f"item-{n}", channel),
        watchlist="semis",
        ticker="NVDA",
        channel=channel,
        event_key=f"item-{n}",
        item_id=f"item-{n}",
        score=80,
        title="t",
        link="",
        source="s",
        published=None,
        evidence="",
        terms=(),
        created_at=created,
    )
    delivery = Delivery(
        id=Delivery.make_id(channel, (alert.id,)),
        channel=channel,
        alert_ids=(alert.id,),
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=created,
        next_attempt_at=created,
    )
    return alert, delivery


def test_status_names_every_kind_of_trouble(tmp_path: Path) -> None:
    channels = "outbox: {type: file, path: o.jsonl}\n  desk: {type: webhook, url: 'http://x/h'}"
    feeds = "- {name: wire, url: w.xml, every: 5m}"
    settings = load_settings(
        write_config(tmp_path, channels=channels, notify="[outbox, desk]", feeds=feeds)
    )
    store = SqliteStore(tmp_path / "state.db")
    store.save_feed_state(
        FeedState(
            name="wire",
            url="w.xml",
            last_polled_at=NOW - timedelta(minutes=1),
            last_success_at=NOW - timedelta(hours=2),
            last_error="HTTP 503",
            consecutive_failures=24,
            next_poll_at=NOW + timedelta(minutes=4),
            items_seen=40,
        )
    )
    old = _delivery("desk", 1, NOW - timedelta(minutes=30))
    dead = _delivery("desk", 2, NOW - timedelta(hours=1))
    sent = _delivery("outbox", 3, NOW - timedelta(hours=1))
    store.record_batch("wire", ["item-1", "item-2", "item-3"], [old[0], dead[0], sent[0]],
                       [old[1], dead[1], sent[1]], NOW - timedelta(hours=1))  # fmt: skip
    store.claim(dead[1].id, NOW, 60)
    store.mark_dead(dead[1].id, "HTTP 410")
    store.disable_channel("desk", "HTTP 410 from the target")
    store.claim(sent[1].id, NOW, 60)
    store.mark_sent(sent[1].id, NOW)
    morning = NOW.replace(hour=8) + timedelta(days=1)
    store.record_heartbeat(
        Heartbeat("scheduler", "box:42", NOW - timedelta(minutes=5), {"digest:morning": morning})
    )

    report = collect_status(settings, store, NOW)

    [feed] = report.feeds
    assert feed.state == "stale" and feed.consecutive_failures == 24
    by_name = {c.name: c for c in report.channels}
    assert (by_name["desk"].pending, by_name["desk"].dead) == (1, 1)
    assert by_name["desk"].disabled_reason == "HTTP 410 from the target"
    assert by_name["outbox"].sent == 1
    assert report.pending.waiting == 1 and report.pending.due_now == 1
    assert report.pending.oldest_age_s == 30 * 60
    [scheduler] = report.schedulers
    assert scheduler.holder == "box:42" and not scheduler.alive
    assert report.digests == [], "a dead scheduler's plans are not shown as next runs"
    assert report.attention == [
        "feed wire is stale: HTTP 503",
        "channel desk is disabled: HTTP 410 from the target",
        "channel desk has 1 dead deliveries (policywatch deliveries)",
        "the oldest pending delivery has waited 30m",
        "scheduler on box:42 last beat 5m ago",
    ]
    assert status_json(report)["healthy"] is False

    store.record_heartbeat(Heartbeat("scheduler", "box:43", NOW, {"digest:morning": morning}))
    report = collect_status(settings, store, NOW)
    assert [(d.name, d.next_run_at) for d in report.digests] == [("morning", morning)]
    console = Console(record=True, width=120)
    render_status(report, console)
    text = console.export_text()
    assert "Scheduler (scheduler): alive, leader box:43" in text
    assert "Digest morning: next run in 20.0h" in text
    assert "Needs attention:" in text and "stale (24x)" in text
    store.close()
