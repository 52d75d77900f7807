"""The email channel against a real local SMTP server (aiosmtpd), with and without TLS."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.channels.factories import (
    DELIVERY_ID,
    Certificate,
    closed_port,
    make_alert,
    make_notification,
)
from tests.support.receivers import PasswordAuthenticator, SmtpReceiver
from worker.channels.email import EmailChannel
from worker.config import EmailChannelConfig
from worker.errors import DeliveryError

NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)


def email_channel(port: int, **options: Any) -> EmailChannel:
    fields: dict[str, Any] = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "policywatch <alerts@desk.example>",
        "to": ["trader@desk.example", "risk@desk.example"],
        "timeout_s": 5,
    }
    fields.update(options)
    return EmailChannel("mail", EmailChannelConfig.model_validate(fields), clock=lambda: NOW)


def test_an_email_arrives_with_a_text_part_then_an_html_part(
    smtp_receiver: SmtpReceiver,
) -> None:
    answer = email_channel(smtp_receiver.port).send(make_notification())

    assert answer == "250 accepted for 2 recipients"
    [mail] = smtp_receiver.messages
    assert mail.mail_from == "alerts@desk.example"
    assert mail.rcpt_tos == ["trader@desk.example", "risk@desk.example"]
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    plain, html = message.iter_parts()
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert "US tightens export curbs on AI chips" in plain.get_content()
    assert '<a href="https://news.example/story?id=1&amp;src=rss"' in html.get_content()
    assert message["Subject"] == "[policywatch] NVDA 87: US tightens export curbs on AI chips"
    assert message["Message-ID"] == f"<{DELIVERY_ID}@desk.example>"
    assert email.utils.parsedate_to_datetime(message["Date"]) == NOW
    assert message["To"] == "trader@desk.example, risk@desk.example"
    assert message["Auto-Submitted"] == "auto-generated"


def test_a_script_tag_in_a_title_arrives_escaped_in_the_html_part(
    smtp_receiver: SmtpReceiver,
) -> None:
    alert = make_alert(
        title="Curbs <script>alert('x')</script> widen",
        evidence='<img src=x onerror="steal()">',
        link="javascript:alert(1)",
    )
    email_channel(smtp_receiver.port).send(make_notification(alert))

    plain, html = smtp_receiver.messages[0].message.iter_parts()
    html_text = html.get_content()
    assert "<script>" not in html_text and "<img" not in html_text
    assert "Curbs &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; widen" in html_text
    assert "javascript:" not in html_text
    assert "Curbs <script>alert('x')</script> widen" in plain.get_content()


def test_several_alerts_make_one_email_with_a_count_in_the_subject(
    smtp_receiver: SmtpReceiver,
) -> None:
    alerts = [
        make_alert(),
        make_alert(ticker="AMD", company="Advanced Micro Devices", event_key="e2"),
        make_alert(ticker="NVDA", event_key="e3", title="Second story"),
    ]
    email_channel(smtp_receiver.port).send(make_notification(*alerts))

    message = smtp_receiver.messages[0].message
    assert message["Subject"] == "[policywatch] 3 alerts: NVDA, AMD"
    html = message.get_body(("html",))
    assert html is not None and "Advanced Micro Devices" in html.get_content()


def test_a_resent_email_carries_the_same_message_id(smtp_receiver: SmtpReceiver) -> None:
    channel = email_channel(smtp_receiver.port)

    channel.send(make_notification())
    channel.send(make_notification())

    first, second = (mail.message["Message-ID"] for mail in smtp_receiver.messages)
    assert first == second == f"<{DELIVERY_ID}@desk.example>"


def test_an_smtp_4xx_is_retryable_and_a_5xx_is_not(smtp_receiver: SmtpReceiver) -> None:
    smtp_receiver.answer_data_with("451 4.3.0 Try again later", "554 5.7.1 Rejected as spam")
    channel = email_channel(smtp_receiver.port)

    with pytest.raises(DeliveryError) as temporary:
        channel.send(make_notification())
    with pytest.raises(DeliveryError) as permanent:
        channel.send(make_notification())

    assert temporary.value.retryable
    assert str(temporary.value) == "email channel 'mail': SMTP 451 4.3.0 Try again later"
    assert not permanent.value.retryable
    assert "SMTP 554" in str(permanent.value)
    assert smtp_receiver.messages == []


def test_an_unreachable_smtp_server_is_a_retryable_failure() -> None:
    with pytest.raises(DeliveryError) as caught:
        email_channel(closed_port()).send(make_notification())

    assert caught.value.retryable


def test_a_wrong_password_is_refused_and_not_retried_and_not_shown() -> None:
    authenticator = PasswordAuthenticator("desk", "right-password")
    with SmtpReceiver(authenticator=authenticator, auth_require_tls=False) as receiver:
        channel = email_channel(receiver.port, username="desk", password="wr0ng-pa55")
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_notification())

    assert not caught.value.retryable
    assert "SMTP 535" in str(caught.value)
    assert "wr0ng-pa55" not in str(caught.value) and "wr0ng-pa55" not in repr(channel)
    assert set(authenticator.attempts) == {"desk"}  # smtplib tries PLAIN, then LOGIN


def test_the_channel_logs_in_only_when_a_username_is_set() -> None:
    authenticator = PasswordAuthenticator("desk", "right-password")
    options = {"authenticator": authenticator, "auth_require_tls": False}
    with SmtpReceiver(**options) as receiver:
        email_channel(receiver.port).send(make_notification())
        email_channel(receiver.port, username="desk", password="right-password").send(
            make_notification()
        )
        assert len(receiver.messages) == 2

    assert authenticator.attempts == ["desk"]


def test_starttls_delivers_to_a_server_trusted_through_ca_file(certificate: Certificate) -> None:
    options = {"tls_context": certificate.server_context(), "require_starttls": True}
    with SmtpReceiver(**options) as receiver:
        channel = email_channel(receiver.port, tls="starttls", ca_file=str(certificate.cert_file))
        channel.send(make_notification())
        assert len(receiver.messages) == 1


def test_implicit_tls_delivers_to_a_server_trusted_through_ca_file(
    certificate: Certificate,
) -> None:
    with SmtpReceiver(ssl_context=certificate.server_context()) as receiver:
        channel = email_channel(receiver.port, tls="implicit", ca_file=str(certificate.cert_file))
        channel.send(make_notification())
        assert len(receiver.messages) == 1


def test_an_untrusted_certificate_is_refused_and_not_retried(certificate: Certificate) -> None:
    options = {"tls_context": certificate.server_context(), "require_starttls": True}
    with SmtpReceiver(**options) as receiver:
        with pytest.raises(DeliveryError) as caught:
            email_channel(receiver.port, tls="starttls").send(make_notification())
        assert receiver.messages == []

    assert not caught.value.retryable
    assert "TLS certificate not trusted" in str(caught.value)


def test_a_server_without_starttls_is_refused_when_starttls_is_required(
    smtp_receiver: SmtpReceiver,
) -> None:
    with pytest.raises(DeliveryError) as caught:
        email_channel(smtp_receiver.port, tls="starttls").send(make_notification())

    assert not caught.value.retryable
    assert "STARTTLS" in str(caught.value)
    assert smtp_receiver.messages == []
