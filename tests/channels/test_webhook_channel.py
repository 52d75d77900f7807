"""The generic webhook channel: versioned body, Standard Webhooks signature, error mapping."""

from __future__ import annotations

import base64
import traceback
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.channels.factories import DELIVERY_ID, closed_port, make_alert, make_notification
from tests.support.receivers import HttpReceiver, Reply
from worker.channels.webhook import WebhookChannel
from worker.config import WebhookChannelConfig
from worker.errors import ConfigError, DeliveryError, TargetGoneError
from worker.retry_after import parse_retry_after

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SECRET_PATH = "/in/hooks/3f9c-very-secret-token"


def webhook_channel(url: str, **options: Any) -> WebhookChannel:
    return WebhookChannel("hooks", WebhookChannelConfig(type="webhook", url=url, **options))


def test_a_webhook_body_carries_version_kind_delivery_id_and_every_alert_field(
    http_receiver: HttpReceiver,
) -> None:
    answer = webhook_channel(http_receiver.url()).send(make_notification())

    assert answer == "200 OK"
    [request] = http_receiver.requests
    assert request.headers["content-type"] == "application/json"
    body = request.json()
    assert body["version"] == "1"
    assert body["delivery_id"] == DELIVERY_ID
    assert body["kind"] == "instant"
    [alert] = body["alerts"]
    assert alert == {
        "id": make_alert().id,
        "watchlist": "semis",
        "ticker": "NVDA",
        "company": "NVIDIA Corp",
        "score": 87,
        "title": "US tightens export curbs on AI chips",
        "link": "https://news.example/story?id=1&src=rss",
        "source": "Example Wire",
        "published": "2026-03-04T14:05:00Z",
        "evidence": "The Commerce Department added new restrictions on advanced GPUs.",
        "terms": ["export controls", "entity list"],
    }


def test_the_delivery_id_and_body_stay_the_same_across_two_sends(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(503))
    channel = webhook_channel(http_receiver.url(), secret=SECRET)
    notification = make_notification()

    with pytest.raises(DeliveryError):
        channel.send(notification)
    channel.send(notification)

    first, second = http_receiver.requests
    assert first.json()["delivery_id"] == second.json()["delivery_id"] == DELIVERY_ID
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == DELIVERY_ID
    assert first.body == second.body


def test_a_signed_webhook_verifies_with_the_standardwebhooks_library(
    http_receiver: HttpReceiver,
) -> None:
    webhook_channel(http_receiver.url(), secret=SECRET).send(make_notification())

    [request] = http_receiver.requests
    verified = Webhook(SECRET).verify(request.body, request.headers)
    assert verified["delivery_id"] == DELIVERY_ID
    assert request.headers["webhook-signature"].startswith("v1,")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"another key of 24 bytes!").decode()).verify(
            request.body, request.headers
        )
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(request.body.replace(b"NVDA", b"AMD!"), request.headers)


def test_an_unsigned_webhook_sends_no_signature_headers(http_receiver: HttpReceiver) -> None:
    webhook_channel(http_receiver.url()).send(make_notification())

    headers = http_receiver.requests[0].headers
    assert not {"webhook-id", "webhook-timestamp", "webhook-signature"} & headers.keys()


def test_extra_headers_are_sent_but_cannot_replace_the_signature_or_content_type(
    http_receiver: HttpReceiver,
) -> None:
    headers = {"Authorization": "Bearer t0ken", "Webhook-Id": "forged", "Content-Type": "text/x"}
    webhook_channel(http_receiver.url(), secret=SECRET, headers=headers).send(make_notification())

    [request] = http_receiver.requests
    assert request.headers["authorization"] == "Bearer t0ken"
    assert request.headers["webhook-id"] == DELIVERY_ID
    assert request.headers["content-type"] == "application/json"
    Webhook(SECRET).verify(request.body, request.headers)


def test_a_webhook_500_is_a_retryable_failure(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(500))

    with pytest.raises(DeliveryError) as caught:
        webhook_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable
    assert caught.value.retry_after_s is None
    assert str(caught.value) == "webhook channel 'hooks': HTTP 500"


def test_a_webhook_429_with_retry_after_7_is_retried_after_7_seconds(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(429, headers={"Retry-After": "7"}))

    with pytest.raises(DeliveryError) as caught:
        webhook_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable
    assert caught.value.retry_after_s == 7


def test_a_503_with_an_http_date_retry_after_waits_until_that_date(
    http_receiver: HttpReceiver,
) -> None:
    when = datetime.now(UTC) + timedelta(seconds=120)
    http_receiver.script(Reply(503, headers={"Retry-After": format_datetime(when, usegmt=True)}))

    with pytest.raises(DeliveryError) as caught:
        webhook_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable
    assert caught.value.retry_after_s is not None
    assert 115 <= caught.value.retry_after_s <= 120


def test_a_webhook_400_is_not_retried(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(400))

    with pytest.raises(DeliveryError) as caught:
        webhook_channel(http_receiver.url()).send(make_notification())

    assert not caught.value.retryable
    assert not isinstance(caught.value, TargetGoneError)


@pytest.mark.parametrize("status", [404, 410])
def test_a_webhook_404_or_410_means_the_target_is_gone(
    http_receiver: HttpReceiver, status: int
) -> None:
    http_receiver.script(Reply(status))

    with pytest.raises(TargetGoneError) as caught:
        webhook_channel(http_receiver.url()).send(make_notification())

    assert not caught.value.retryable


def test_a_refused_connection_is_a_retryable_failure() -> None:
    with pytest.raises(DeliveryError) as caught:
        webhook_channel(f"http://127.0.0.1:{closed_port()}/hook").send(make_notification())

    assert caught.value.retryable


def test_the_secret_url_and_headers_never_appear_in_a_webhook_error(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(500, body=SECRET_PATH.encode()), Reply(401))
    urls = [
        http_receiver.url(SECRET_PATH),
        http_receiver.url(SECRET_PATH),
        f"http://127.0.0.1:{closed_port()}{SECRET_PATH}",
        f"gopher://127.0.0.1{SECRET_PATH}",
        f"http://[not-an-ip{SECRET_PATH}",
    ]
    for url in urls:
        channel = webhook_channel(url, secret=SECRET, headers={"X-Api-Key": "k3y-value"})
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_notification())
        shown = "".join(traceback.format_exception(caught.value)) + repr(channel)
        for secret in ("very-secret-token", "k3y-value", SECRET[6:]):
            assert secret not in shown, url


def test_a_header_value_that_is_not_ascii_is_a_permanent_failure_that_hides_it() -> None:
    channel = webhook_channel("http://127.0.0.1/hook", headers={"X-Token": "sécret"})

    with pytest.raises(DeliveryError) as caught:
        channel.send(make_notification())

    assert not caught.value.retryable
    assert "sécret" not in "".join(traceback.format_exception(caught.value))


def test_a_secret_that_is_not_base64_is_a_config_error_that_hides_it() -> None:
    with pytest.raises(ConfigError) as caught:
        webhook_channel("http://127.0.0.1/hook", secret="whsec_not*base64!")

    assert "channels.hooks.secret" in str(caught.value)
    assert "not*base64" not in str(caught.value)


def test_retry_after_is_read_as_seconds_or_as_an_http_date() -> None:
    now = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
    assert parse_retry_after("7", now) == 7
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("Wed, 04 Mar 2026 12:00:30 GMT", now) == 30
    assert parse_retry_after("Wed, 04 Mar 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None
    assert parse_retry_after(None, now) is None
    assert parse_retry_after("nan", now) is None
