"""The Slack channel against a local receiver that speaks Slack's incoming-webhook protocol."""

from __future__ import annotations

import re
import traceback
from typing import Any

import pytest

from tests.channels.factories import closed_port, make_alert, make_notification
from tests.support.receivers import HttpReceiver, Reply
from worker.channels.slack import MAX_BLOCKS, SlackChannel
from worker.config import SlackChannelConfig
from worker.errors import DeliveryError, TargetGoneError

SECRET_PATH = "/services/T0001/B0002/s3cr3tT0kenXYZ"


def slack_channel(url: str, timeout_s: float = 2.0) -> SlackChannel:
    return SlackChannel("desk", SlackChannelConfig(type="slack", url=url, timeout_s=timeout_s))


def sections(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]


def test_a_slack_message_has_blocks_and_a_plain_text_fallback(http_receiver: HttpReceiver) -> None:
    answer = slack_channel(http_receiver.url()).send(make_notification())

    assert answer == "200 ok"
    [request] = http_receiver.requests
    assert request.method == "POST"
    assert request.headers["content-type"].startswith("application/json")
    payload = request.json()
    assert payload["text"] == "policywatch: NVDA 87: US tightens export curbs on AI chips"
    assert 1 < len(payload["blocks"]) <= MAX_BLOCKS
    alert_text = sections(payload)[1]
    assert "*NVDA* · NVIDIA Corp · score *87*" in alert_text
    assert "<https://news.example/story?id=1&amp;src=rss|US tightens export curbs on AI chips>" in (
        alert_text
    )
    assert "Example Wire · 2026-03-04 14:05 UTC" in alert_text
    context = [b for b in payload["blocks"] if b["type"] == "context"][0]
    assert "export controls, entity list" in context["elements"][0]["text"]


def test_untrusted_text_is_escaped_for_slack_with_only_ampersand_and_angle_brackets(
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(
        title='<!channel> Tom & Jerry "quoted" <https://evil.example|click>',
        evidence="a <b>bold</b> claim & more",
        source="<@U123>",
    )
    slack_channel(http_receiver.url()).send(make_notification(alert))

    raw = http_receiver.requests[0].body.decode()
    payload = http_receiver.requests[0].json()
    assert "<!channel>" not in raw and "<@U123>" not in raw and "<https://evil" not in raw
    text = sections(payload)[1]
    assert '&lt;!channel&gt; Tom &amp; Jerry "quoted" &lt;https://evil.example|click&gt;' in text
    assert "a &lt;b&gt;bold&lt;/b&gt; claim &amp; more" in text
    assert "&lt;@U123&gt;" in text
    assert "&amp;lt;" not in raw  # escaped once, never twice


def test_a_long_evidence_is_cut_below_3000_chars_with_a_link_to_the_full_story(
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(evidence="chips & <tools> " * 2000, title="T&" * 2000)
    slack_channel(http_receiver.url()).send(make_notification(alert))

    text = sections(http_receiver.requests[0].json())[1]
    assert len(text) <= 3000
    assert text.endswith("… <https://news.example/story?id=1&amp;src=rss|full story>")
    assert not re.search(r"&(?!amp;|lt;|gt;)", text)  # no escape entity was cut in half


def test_many_alerts_stay_within_50_blocks_and_say_how_many_were_left_out(
    http_receiver: HttpReceiver,
) -> None:
    alerts = [make_alert(ticker=f"T{i}", event_key=f"e{i}") for i in range(40)]
    slack_channel(http_receiver.url()).send(make_notification(*alerts))

    payload = http_receiver.requests[0].json()
    assert len(payload["blocks"]) <= MAX_BLOCKS
    assert payload["text"].startswith("policywatch: 40 alerts: T0, T1")
    assert "…and 24 more alerts not shown here" in payload["blocks"][-1]["elements"][0]["text"]


def test_a_slack_500_is_a_retryable_failure(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(500, body=b"rollup_error"))

    with pytest.raises(DeliveryError) as caught:
        slack_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable
    assert str(caught.value) == "slack channel 'desk': HTTP 500 rollup_error"


def test_a_slack_429_is_retried_after_the_seconds_slack_asks_for(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(429, headers={"Retry-After": "7"}, body=b"rate_limited"))

    with pytest.raises(DeliveryError) as caught:
        slack_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable
    assert caught.value.retry_after_s == 7


def test_a_slack_400_invalid_payload_is_not_retried(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(400, body=b"invalid_payload"))

    with pytest.raises(DeliveryError) as caught:
        slack_channel(http_receiver.url()).send(make_notification())

    assert not caught.value.retryable
    assert not isinstance(caught.value, TargetGoneError)
    assert "invalid_payload" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "said"), [(404, b"channel_not_found"), (410, b"channel_is_archived")]
)
def test_a_deleted_or_archived_slack_channel_is_a_target_gone(
    http_receiver: HttpReceiver, status: int, said: bytes
) -> None:
    http_receiver.script(Reply(status, body=said))

    with pytest.raises(TargetGoneError) as caught:
        slack_channel(http_receiver.url()).send(make_notification())

    assert not caught.value.retryable
    assert said.decode() in str(caught.value)


def test_a_redirect_is_not_followed_and_not_retried(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(302, headers={"Location": http_receiver.url("/elsewhere")}))

    with pytest.raises(DeliveryError) as caught:
        slack_channel(http_receiver.url()).send(make_notification())

    assert not caught.value.retryable
    assert [r.path for r in http_receiver.requests] == ["/hook"]


def test_a_slack_target_that_answers_too_slowly_is_a_retryable_timeout(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(200, delay_s=0.2))

    with pytest.raises(DeliveryError) as caught:
        slack_channel(http_receiver.url(), timeout_s=0.05).send(make_notification())

    assert caught.value.retryable
    assert "timed out after 0.05s" in str(caught.value)


def test_the_webhook_url_never_appears_in_a_slack_error(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(500, body=SECRET_PATH.encode()), Reply(403, body=b"x" * 50))
    urls = [http_receiver.url(SECRET_PATH), http_receiver.url(SECRET_PATH)]
    urls.append(f"http://127.0.0.1:{closed_port()}{SECRET_PATH}")
    urls.append(f"ftp://127.0.0.1{SECRET_PATH}")

    for url in urls:
        channel = slack_channel(url)
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_notification())
        shown = "".join(traceback.format_exception(caught.value)) + repr(channel)
        assert "s3cr3tT0ken" not in shown, url
        assert "T0001" not in shown, url


def test_an_unreachable_slack_endpoint_is_a_retryable_failure() -> None:
    with pytest.raises(DeliveryError) as caught:
        slack_channel(f"http://127.0.0.1:{closed_port()}/hook").send(make_notification())

    assert caught.value.retryable
    assert str(caught.value) == "slack channel 'desk': network error (ConnectError)"
