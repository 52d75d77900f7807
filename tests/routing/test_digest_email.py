"""The digest email, through a real local SMTP server: ranked, grouped by ticker, each story
once with its evidence, link and sources; a plain-text part; List-Unsubscribe headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.routing.conftest import MakeDesk
from tests.routing.digest_fixture import LONG_LINK, digest_notification
from tests.routing.stories import ITEMS
from tests.support.receivers import SmtpReceiver
from worker.channels.email import EmailChannel
from worker.config import EmailChannelConfig

NOW = datetime(2025, 4, 16, 12, 0, 5, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


def mail_channel(port: int, **options: Any) -> EmailChannel:
    fields: dict[str, Any] = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "policywatch <digest@desk.example>",
        "to": ["pm@desk.example"],
        "mode": "digest",
        "timezone": "America/New_York",
        "unsubscribe_url": "https://desk.example/unsubscribe?list=pm",
    }
    fields.update(options)
    return EmailChannel("pm", EmailChannelConfig.model_validate(fields), clock=lambda: NOW)


def test_the_digest_email_ranks_groups_and_cites_every_source(
    smtp: SmtpReceiver, make_desk: MakeDesk
) -> None:
    mail_channel(smtp.port).send(digest_notification(make_desk))
    [mail] = smtp.messages
    message = mail.message
    assert message["Subject"] == "[policywatch] digest: 3 stories · NVDA, 000977.SZ, AMD"
    assert message["List-Unsubscribe"] == "<https://desk.example/unsubscribe?list=pm>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    plain, html = message.iter_parts()
    text = plain.get_content()
    # grouped by ticker, best first; the H20 story once, with the four other outlets
    nvda, inspur, amd = (text.index(f"== {t}") for t in ("NVDA", "000977.SZ", "AMD"))
    assert nvda < inspur < amd  # by their best score: 97, 94, 87
    assert text.count(ITEMS["asia-h20"].title) == 2  # under NVDA, and AMD's "see NVDA" line
    for outlet in ("Wire Tech Daily", "Global Tech Wire", "Policy Desk", "Market Pulse"):
        assert f"- {outlet}, 15 Apr" in text
    assert "[97] What the H20 licence requirement means" in text
    assert '"The Trump administration put dozens of companies' in text  # evidence
    assert "https://asiamarketsbrief.example.com/asia-h20" in text  # link
    assert "Also affects: AMD 71" in text
    assert "Unsubscribe: https://desk.example/unsubscribe?list=pm" in text
    page = html.get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert LONG_LINK.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page


def test_a_mailto_unsubscribe_has_no_one_click_header(
    smtp: SmtpReceiver, make_desk: MakeDesk
) -> None:
    channel = mail_channel(smtp.port, unsubscribe_url="mailto:leave@desk.example")
    channel.send(digest_notification(make_desk))
    [mail] = smtp.messages
    assert mail.message["List-Unsubscribe"] == "<mailto:leave@desk.example>"
    assert mail.message["List-Unsubscribe-Post"] is None


def test_an_unsubscribe_url_must_be_https_or_mailto() -> None:
    with pytest.raises(ValueError, match="https:// URL or a mailto"):
        mail_channel(25, unsubscribe_url="http://desk.example/u")
