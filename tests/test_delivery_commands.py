"""`policywatch deliveries`, `deliveries retry`, `send-test` and `channels`, run as a user would."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.delivery.harness import seed
from tests.support.receivers import HttpReceiver, Reply
from worker.channels.slack import MAX_BLOCKS
from worker.models import DeliveryState
from worker.store.sqlite import SqliteStore

SECRET_PATH = "/services/T0/B0/s3cr3tpath"


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with HttpReceiver() as receiver:
        yield receiver


def write_config(folder: Path, hook: HttpReceiver, delivery: str = "") -> Path:
    config = folder / "policywatch.yaml"
    config.write_text(
        f"""
state: sqlite:///state.db
watchlists: [{{name: semis, tickers: [NVDA], notify: [hook, desk]}}]
channels:
  hook:
    type: webhook
    url: "{hook.url()}"
  desk:
    type: slack
    url: "${{DESK_URL}}"
delivery:
  max_attempts: 2
  backoff_base_s: 1h
{delivery}""",
        encoding="utf-8",
    )
    return config


def cli(config: Path, *args: str, hook: HttpReceiver) -> tuple[int, str, str]:
    env = {"DESK_URL": hook.url(SECRET_PATH)}
    done = run_cli(*args, "--config", str(config), cwd=config.parent, env=env)
    return done.returncode, done.stdout, done.stderr


def open_state(folder: Path) -> SqliteStore:
    return SqliteStore(folder / "state.db")


def test_the_deliveries_table_shows_state_tries_age_next_try_and_last_error(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    config = write_config(tmp_path, hook)
    store = open_state(tmp_path)
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    dead, failed, waiting = seed(store, "hook", 3, an_hour_ago)
    for did in (dead, failed):
        store.claim(did, an_hour_ago, 60)
    store.mark_dead(dead, "webhook channel 'hook': HTTP 400")
    store.mark_failed(
        failed, "webhook channel 'hook': HTTP 503", datetime.now(UTC) + timedelta(minutes=30)
    )
    store.disable_channel("desk", "slack channel 'desk': HTTP 410 channel_is_archived")
    store.close()

    code, out, _ = cli(config, "deliveries", hook=hook)

    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "CHANNEL", "STATE", "TRIES", "AGE", "NEXT", "LAST", "ERROR"]
    rows = {line.split()[0]: line for line in lines[1:4]}
    assert rows[dead].split()[1:6] == ["hook", "dead", "1", "1h", "-"]
    assert rows[dead].endswith("webhook channel 'hook': HTTP 400")
    assert rows[failed].split()[1:5] == ["hook", "failed", "1", "1h"]
    assert "in 29m" in rows[failed] and rows[failed].endswith("HTTP 503")
    assert rows[waiting].split()[1:6] == ["hook", "pending", "0", "1h", "now"]
    assert "3 deliveries: 1 dead, 1 failed, 1 pending" in out
    assert re.search(
        r"channel desk is disabled for \d+s: slack channel 'desk': HTTP 410 channel_is_archived"
        r" \(policywatch channels enable desk\)",
        out,
    )


def test_a_delivery_dead_after_its_last_attempt_is_listed_and_retry_sends_it_again(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(500), Reply(500))
    config = write_config(tmp_path, hook, "  backoff_base_s: 0.1s\n")
    store = open_state(tmp_path)
    [did] = seed(store, "hook", 1, datetime.now(UTC))
    store.close()

    assert cli(config, "run", "--once", hook=hook)[0] == 0  # attempt 1 fails: retry in ~0.1 s
    code, out, _ = cli(config, "run", "--once", hook=hook)  # attempt 2 fails: the last one
    assert code == 0 and "dead" in out

    _, listed, _ = cli(config, "deliveries", "--state", "dead", hook=hook)
    assert did in listed and "HTTP 500 (after 2 attempts)" in listed

    code, out, _ = cli(config, "deliveries", "retry", did, hook=hook)
    assert code == 0 and "requeued 1 deliveries" in out
    assert cli(config, "run", "--once", hook=hook)[0] == 0

    assert len(hook.requests) == 3
    assert {r.json()["delivery_id"] for r in hook.requests} == {did}
    store = open_state(tmp_path)
    sent = store.get_delivery(did)
    store.close()
    assert sent is not None and sent.state is DeliveryState.SENT


def test_retry_all_dead_requeues_every_dead_delivery_and_only_those(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    config = write_config(tmp_path, hook)
    store = open_state(tmp_path)
    now = datetime.now(UTC)
    dead_one, dead_two, sent = seed(store, "hook", 3, now)
    for did in (dead_one, dead_two, sent):
        store.claim(did, now, 60)
    store.mark_dead(dead_one, "x")
    store.mark_dead(dead_two, "y")
    store.mark_sent(sent, now)
    store.close()

    code, out, _ = cli(config, "deliveries", "retry", "--all-dead", hook=hook)

    assert code == 0 and "requeued 2 deliveries" in out
    store = open_state(tmp_path)
    states = {d: store.get_delivery(d).state for d in (dead_one, dead_two, sent)}  # type: ignore[union-attr]
    store.close()
    assert states == {
        dead_one: DeliveryState.PENDING,
        dead_two: DeliveryState.PENDING,
        sent: DeliveryState.SENT,
    }
    code, _, err = cli(config, "deliveries", "retry", sent, hook=hook)
    assert code == 1 and "sent; only dead or failed deliveries are retried" in err
    code, _, err = cli(config, "deliveries", "retry", "dlv_nope", hook=hook)
    assert code == 1 and "not found" in err


def test_send_test_sends_a_sample_alert_and_prints_what_the_target_answered(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    config = write_config(tmp_path, hook)

    code, out, _ = cli(config, "send-test", "desk", hook=hook)

    assert code == 0
    host = f"127.0.0.1:{hook.port}"
    assert out.splitlines()[0] == f"sent a test alert to desk (slack, {host}); it answered: 200 ok"
    assert "s3cr3tpath" not in out
    [request] = hook.requests
    assert request.path == SECRET_PATH
    assert "Sample alert: US adds chipmakers to the Entity List" in request.body.decode()


def test_send_test_exits_non_zero_and_says_why_when_the_target_refuses(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(404, body=b"channel_not_found"), Reply(503))
    config = write_config(tmp_path, hook)

    code, out, err = cli(config, "send-test", "desk", hook=hook)
    assert code == 1 and out == ""
    assert "the target is gone: slack channel 'desk': HTTP 404 channel_not_found" in err
    assert "s3cr3tpath" not in err

    code, _, err = cli(config, "send-test", "hook", hook=hook)
    assert code == 1 and "(a retry may help): webhook channel 'hook': HTTP 503" in err

    code, _, err = cli(config, "send-test", "nope", hook=hook)
    assert code == 2 and "no channel 'nope' (channels: desk, hook)" in err


def test_send_test_long_arrives_at_slack_cut_to_its_limits_with_links(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    config = write_config(tmp_path, hook)

    code, _, _ = cli(config, "send-test", "desk", "--long", hook=hook)

    assert code == 0
    payload = hook.requests[0].json()
    assert len(payload["blocks"]) <= MAX_BLOCKS
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert all(len(t) <= 3000 for t in texts)
    assert all("|full story>" in t for t in texts[1:])
    assert "more alerts not shown here" in json.dumps(payload["blocks"][-1])


def test_channels_lists_each_target_by_host_and_enable_brings_a_disabled_one_back(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    config = write_config(tmp_path, hook)
    store = open_state(tmp_path)
    store.disable_channel("desk", "slack channel 'desk': HTTP 404 channel_not_found")
    store.close()

    code, out, _ = cli(config, "channels", hook=hook)
    assert code == 0
    host = f"127.0.0.1:{hook.port}"
    assert f"hook: webhook to {host}, unpaced; ok" in out
    assert f"desk: slack to {host}, 1 per 1s; DISABLED for " in out
    assert "HTTP 404 channel_not_found" in out and "s3cr3tpath" not in out

    code, out, _ = cli(config, "channels", "enable", "desk", hook=hook)
    assert code == 0 and "enabled desk" in out
    _, out, _ = cli(config, "channels", hook=hook)
    assert f"desk: slack to {host}, 1 per 1s; ok" in out


def test_check_config_reports_a_channel_only_its_module_can_check(tmp_path: Path) -> None:
    config = tmp_path / "policywatch.yaml"
    config.write_text(
        "watchlists: [{name: w, tickers: [NVDA]}]\n"
        "channels:\n  hook: {type: webhook, url: 'http://127.0.0.1/x', secret: 'whsec_!!'}\n",
        encoding="utf-8",
    )

    done = run_cli("check-config", "--config", str(config), cwd=tmp_path)

    assert done.returncode == 2
    assert f"{config}: channels.hook.secret" in done.stderr
