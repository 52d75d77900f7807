"""Retries as a user sees them: what is retried, when, how often, and what ends up DEAD."""

from __future__ import annotations

import base64
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from tests.channels.factories import closed_port
from tests.delivery.harness import Harness, build_harness, settings_for
from tests.support.receivers import HttpReceiver, Reply, SmtpReceiver
from worker.models import DeliveryState
from worker.pipeline import retry_delay_s


def webhook_harness(tmp_path: Path, url: str, delivery: str = "") -> Harness:
    channels = f"  hook:\n    type: webhook\n    url: {url}\n"
    return build_harness(settings_for(channels, delivery, tmp_path), tmp_path)


def test_a_500_is_retried_after_a_backoff_and_then_sent_with_the_same_id(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(500))
    h = webhook_harness(tmp_path, hook.url())
    [did] = h.add("hook")

    first = h.deliver(did)
    assert first.state == "failed"
    assert 3.75 <= h.wait_s(did) <= 6.25  # backoff_base_s 5s, ±25 %
    assert h.deliver(did).state == "skipped"  # not due yet: nothing sent early
    assert h.retry_when_due(did).state == "sent"

    assert [r.json()["delivery_id"] for r in hook.requests] == [did, did]
    assert h.get(did).state is DeliveryState.SENT and h.get(did).attempts == 2


def test_backoff_doubles_each_attempt_with_jitter_and_stops_at_the_cap() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        raw = min(600.0, 5.0 * 2 ** (attempt - 1))
        delays = [retry_delay_s(attempt, 5.0, 600.0, rng) for _ in range(200)]
        assert all(0.75 * raw <= d <= min(600.0, 1.25 * raw) for d in delays), attempt
        assert len({round(d, 6) for d in delays}) > 150  # jittered, not one fixed wait
    assert max(retry_delay_s(30, 5.0, 600.0, rng) for _ in range(200)) <= 600.0


def test_the_observed_schedule_of_a_target_that_keeps_failing_grows_and_ends_dead(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(*[Reply(503)] * 10)
    h = webhook_harness(tmp_path, hook.url(), "  max_attempts: 6\n  backoff_base_s: 2s\n")
    [did] = h.add("hook")

    waits = []
    outcome = h.deliver(did)
    while outcome.state == "failed":
        waits.append(h.wait_s(did))
        outcome = h.retry_when_due(did)

    assert outcome.state == "dead"
    assert len(hook.requests) == 6 and len(waits) == 5
    for n, wait in enumerate(waits):
        assert 0.75 * 2 * 2**n <= wait <= 1.25 * 2 * 2**n
    dead = h.get(did)
    assert dead.state is DeliveryState.DEAD
    assert dead.last_error == "webhook channel 'hook': HTTP 503 (after 6 attempts)"
    assert [d.id for d in h.store.list_deliveries([DeliveryState.DEAD])] == [did]


def test_a_429_with_retry_after_in_seconds_waits_exactly_that_long(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(429, headers={"Retry-After": "30"}))
    h = webhook_harness(tmp_path, hook.url(), "  backoff_base_s: 1s\n")
    [did] = h.add("hook")

    assert h.deliver(did).state == "failed"

    assert h.wait_s(did) == pytest.approx(30)
    h.clock.advance(29.9)
    assert h.deliver(did).state == "skipped"
    h.clock.advance(0.1)
    assert h.deliver(did).state == "sent"


def test_a_503_with_an_http_date_retry_after_waits_until_that_date(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    h = webhook_harness(tmp_path, hook.url(), "  backoff_base_s: 1s\n")
    when = datetime.now(UTC) + timedelta(seconds=120)
    hook.script(Reply(503, headers={"Retry-After": format_datetime(when, usegmt=True)}))
    [did] = h.add("hook")

    h.deliver(did)

    assert 117 <= h.wait_s(did) <= 121


def test_a_retry_after_shorter_than_the_backoff_keeps_the_backoff(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(429, headers={"Retry-After": "1"}))
    h = webhook_harness(tmp_path, hook.url(), "  backoff_base_s: 1m\n")
    [did] = h.add("hook")

    h.deliver(did)

    assert 45 <= h.wait_s(did) <= 75


def test_a_retry_after_holds_every_delivery_to_that_target_but_no_other_target(
    tmp_path: Path, hook: HttpReceiver, other_hook: HttpReceiver
) -> None:
    hook.script(Reply(429, headers={"Retry-After": "30"}))
    channels = (
        f"  hook:\n    type: webhook\n    url: {hook.url()}\n"
        f"  other:\n    type: webhook\n    url: {other_hook.url()}\n"
    )
    h = build_harness(settings_for(channels, "  backoff_base_s: 1s\n", tmp_path), tmp_path)
    first, second = h.add("hook", 2)
    [elsewhere] = h.add("other")

    assert h.deliver(first).state == "failed"
    held = h.deliver(second)
    assert h.deliver(elsewhere).state == "sent"

    assert held.state == "paced"
    assert len(hook.requests) == 1  # the second was not sent into the rate limit
    waiting = h.get(second)
    assert waiting.state is DeliveryState.PENDING and waiting.attempts == 0
    assert 30 <= h.wait_s(second) <= 30.1
    assert len(other_hook.requests) == 1
    h.clock.advance(30.05)
    assert {h.deliver(first).state, h.deliver(second).state} == {"sent"}


def test_a_400_is_dead_at_once_without_a_second_request(tmp_path: Path, hook: HttpReceiver) -> None:
    hook.script(Reply(400))
    h = webhook_harness(tmp_path, hook.url())
    [did] = h.add("hook")

    assert h.deliver(did).state == "dead"

    h.clock.advance(86400)
    assert h.deliver(did).state == "skipped"
    assert len(hook.requests) == 1
    assert h.get(did).last_error == "webhook channel 'hook': HTTP 400"


@pytest.mark.parametrize("status", [404, 410])
def test_a_gone_target_disables_its_channel_with_a_reason_and_a_log_line_without_the_url(
    tmp_path: Path, hook: HttpReceiver, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    hook.script(Reply(status, body=b"channel_not_found"))
    url = hook.url("/services/T1/B2/s3cr3t")
    channels = f"  desk:\n    type: slack\n    url: {url}\n    min_interval_s: 0\n"
    h = build_harness(settings_for(channels, "", tmp_path), tmp_path)
    first, second = h.add("desk", 2)

    with caplog.at_level(logging.INFO, logger="worker"):
        assert h.deliver(first).state == "dead"
        assert h.deliver(second).state == "dead"

    [disabled] = h.store.list_disabled_channels()
    assert disabled.name == "desk"
    assert disabled.reason == f"slack channel 'desk': HTTP {status} channel_not_found"
    assert len(hook.requests) == 1  # nothing more is sent to a gone target
    assert h.get(second).last_error.startswith("channel disabled: slack channel 'desk'")
    assert "channel desk disabled" in caplog.text
    assert "policywatch channels enable desk" in caplog.text
    assert "s3cr3t" not in caplog.text


def test_a_refused_connection_and_a_timeout_are_retried(tmp_path: Path, hook: HttpReceiver) -> None:
    hook.script(Reply(200, delay_s=0.5))
    channels = (
        f"  down:\n    type: webhook\n    url: http://127.0.0.1:{closed_port()}/x\n"
        f"  slow:\n    type: webhook\n    url: {hook.url()}\n    timeout_s: 0.1\n"
    )
    h = build_harness(settings_for(channels, "", tmp_path), tmp_path)
    [down] = h.add("down")
    [slow] = h.add("slow")

    assert h.deliver(down).state == "failed"
    assert h.deliver(slow).state == "failed"

    assert "network error" in h.get(down).last_error
    assert "timed out after 0.1s" in h.get(slow).last_error
    assert h.get(down).state is h.get(slow).state is DeliveryState.FAILED
    assert h.wait_s(down) > 0 and h.wait_s(slow) > 0


def test_no_retry_is_scheduled_past_max_age(tmp_path: Path, hook: HttpReceiver) -> None:
    hook.script(*[Reply(500)] * 5)
    delivery = "  backoff_base_s: 40s\n  max_age: 1m\n  max_attempts: 10\n"
    h = webhook_harness(tmp_path, hook.url(), delivery)
    [did] = h.add("hook")

    h.deliver(did)  # t=0, next in 30-50 s
    h.retry_when_due(did)  # the next backoff (60-100 s) would pass 1m: one last try at 1m
    assert h.get(did).next_attempt_at == h.get(did).created_at + timedelta(seconds=60)
    outcome = h.retry_when_due(did)

    assert outcome.state == "dead"
    assert len(hook.requests) == 3
    assert h.get(did).last_error.endswith("(gave up: older than delivery.max_age 1m)")


def test_a_retry_after_beyond_max_age_makes_the_delivery_dead_at_once(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(503, headers={"Retry-After": "7200"}))
    h = webhook_harness(tmp_path, hook.url(), "  max_age: 1h\n")
    [did] = h.add("hook")

    assert h.deliver(did).state == "dead"
    assert "older than delivery.max_age 1h" in h.get(did).last_error


def email_harness(tmp_path: Path, smtp: SmtpReceiver) -> Harness:
    channels = (
        "  mail:\n    type: email\n    host: 127.0.0.1\n"
        f"    port: {smtp.port}\n    tls: none\n    from: pw@example.com\n"
        "    to: [desk@example.com]\n"
    )
    return build_harness(settings_for(channels, "", tmp_path), tmp_path)


def test_an_smtp_451_is_retried_and_delivered_by_the_next_attempt(
    tmp_path: Path, smtp: SmtpReceiver
) -> None:
    smtp.answer_data_with("451 4.3.0 try again later")
    h = email_harness(tmp_path, smtp)
    [did] = h.add("mail")

    assert h.deliver(did).state == "failed"
    assert "SMTP 451" in h.get(did).last_error
    assert h.retry_when_due(did).state == "sent"
    assert len(smtp.messages) == 1


def test_an_smtp_550_is_dead_at_once(tmp_path: Path, smtp: SmtpReceiver) -> None:
    smtp.answer_data_with("550 5.1.1 no such mailbox")
    h = email_harness(tmp_path, smtp)
    [did] = h.add("mail")

    assert h.deliver(did).state == "dead"
    assert "SMTP 550" in h.get(did).last_error
    assert smtp.messages == []


def test_a_signed_webhook_keeps_its_id_across_retries_and_every_attempt_verifies(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    secret = "whsec_" + base64.b64encode(b"policywatch-test-key-0123456789").decode()
    hook.script(Reply(502))
    channels = f"  hook:\n    type: webhook\n    url: {hook.url()}\n    secret: {secret}\n"
    h = build_harness(settings_for(channels, "", tmp_path), tmp_path)
    [did] = h.add("hook")

    h.deliver(did)
    time.sleep(1.1)  # webhook-timestamp is in whole seconds: the retry is signed afresh
    h.retry_when_due(did)

    first, second = hook.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == did
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert first.body == second.body
    for request in (first, second):
        assert Webhook(secret).verify(request.body, request.headers)["delivery_id"] == did
