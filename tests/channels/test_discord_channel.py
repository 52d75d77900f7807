"""The Discord channel against a local receiver speaking Discord's webhook protocol."""

from __future__ import annotations

import json
import traceback
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.channels.factories import closed_port, make_alert, make_notification
from tests.support.receivers import HttpReceiver, Reply
from worker.channels.discord import (
    CONTENT_MAX_CHARS,
    DESCRIPTION_MAX_CHARS,
    EMBEDS_TOTAL_MAX_CHARS,
    FIELD_VALUE_MAX_CHARS,
    FOOTER_MAX_CHARS,
    MAX_EMBEDS,
    TITLE_MAX_CHARS,
    DiscordChannel,
    discord_escape,
    embed_chars,
)
from worker.config import DiscordChannelConfig
from worker.errors import DeliveryError, TargetGoneError

TOKEN_PATH = "/api/webhooks/1234567890/Zx9-s3cr3t-webhook-token"
SAVED = json.dumps({"id": "1187000000000000001", "channel_id": "42", "content": "…"}).encode()


def discord_channel(url: str, **options: Any) -> DiscordChannel:
    return DiscordChannel("ops", DiscordChannelConfig(type="discord", url=url, **options))


def assert_within_discord_limits(payload: dict[str, Any]) -> None:
    assert len(payload["content"]) <= CONTENT_MAX_CHARS
    assert len(payload["embeds"]) <= MAX_EMBEDS
    assert sum(embed_chars(e) for e in payload["embeds"]) <= EMBEDS_TOTAL_MAX_CHARS
    for embed in payload["embeds"]:
        assert len(embed["title"]) <= TITLE_MAX_CHARS
        assert len(embed.get("description", "")) <= DESCRIPTION_MAX_CHARS
        assert len(embed.get("fields", [])) <= 25
        assert all(len(f["value"]) <= FIELD_VALUE_MAX_CHARS for f in embed.get("fields", []))
        assert all(f["value"] and f["name"] for f in embed.get("fields", []))
        assert len(embed.get("footer", {}).get("text", "")) <= FOOTER_MAX_CHARS


def test_a_discord_message_waits_for_the_save_allows_no_mentions_and_has_an_embed(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(200, body=SAVED, headers={"Content-Type": "application/json"}))
    channel = discord_channel(http_receiver.url(TOKEN_PATH + "?thread_id=77"), username="pw")

    answer = channel.send(make_notification())

    assert answer == "200 OK, message 1187000000000000001"
    [request] = http_receiver.requests
    query = parse_qs(urlsplit(request.path).query)
    assert query == {"wait": ["true"], "thread_id": ["77"]}
    payload = request.json()
    assert payload["allowed_mentions"] == {"parse": []}
    assert payload["username"] == "pw"
    assert payload["content"] == "**policywatch** · NVDA 87: US tightens export curbs on AI chips"
    [embed] = payload["embeds"]
    assert embed["title"] == "NVDA · 87 · US tightens export curbs on AI chips"
    assert embed["url"] == "https://news.example/story?id=1&src=rss"
    assert embed["description"].startswith("The Commerce Department added new restrictions")
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "Company": "NVIDIA Corp",
        "Watchlist": "semis",
        "Matched": "export controls, entity list",
    }
    assert embed["footer"]["text"] == "Example Wire · 2026-03-04T14:05:00Z"
    assert embed["timestamp"] == "2026-03-04T14:05:00Z"
    assert_within_discord_limits(payload)


def test_mentions_and_markdown_in_a_story_arrive_as_plain_text(
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(
        title="@everyone <@&123> [click](https://evil.example) **now** ||spoiler||",
        evidence="# Heading\n- item `code` ~~gone~~ _it_",
    )
    discord_channel(http_receiver.url()).send(make_notification(alert))

    payload = http_receiver.requests[0].json()
    title = payload["embeds"][0]["title"]
    assert r"\<@&123\>" in title and r"\[click\]\(https://evil.example\)" in title
    assert r"\*\*now\*\*" in title and r"\|\|spoiler\|\|" in title
    assert payload["embeds"][0]["description"].startswith(r"\# Heading \- item \`code\`")
    assert payload["allowed_mentions"] == {"parse": []}


def test_discord_escape_leaves_plain_words_alone_and_escapes_a_leading_list_number() -> None:
    assert discord_escape("Nvidia H20 licence") == "Nvidia H20 licence"
    assert discord_escape("1. First") == r"1\. First"
    assert discord_escape(r"a\b") == r"a\\b"


def test_a_long_story_is_cut_to_discords_limits_with_a_link_to_the_full_story(
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(evidence="chips *and* tools " * 1000, title="T_" * 400)
    discord_channel(http_receiver.url()).send(make_notification(alert))

    payload = http_receiver.requests[0].json()
    assert_within_discord_limits(payload)
    description = payload["embeds"][0]["description"]
    assert description.endswith("… [full story](https://news.example/story?id=1&src=rss)")
    assert len(description) > 3000  # a single alert gets most of the room


def test_many_long_alerts_fit_ten_embeds_and_6000_characters_and_say_what_was_left_out(
    http_receiver: HttpReceiver,
) -> None:
    alerts = [
        make_alert(
            ticker=f"T{i}",
            event_key=f"e{i}",
            title="Long title " * 60,
            evidence="evidence " * 800,
            company="Company " * 100,
            terms=tuple(f"term {n}" for n in range(200)),
            source="Source " * 400,
        )
        for i in range(25)
    ]
    discord_channel(http_receiver.url()).send(make_notification(*alerts))

    payload = http_receiver.requests[0].json()
    assert_within_discord_limits(payload)
    assert len(payload["embeds"]) == MAX_EMBEDS
    assert payload["content"].endswith("…and 15 more alerts not shown here")
    assert all(e["url"] == "https://news.example/story?id=1&src=rss" for e in payload["embeds"])


def test_a_discord_429_waits_for_the_retry_after_in_its_body(http_receiver: HttpReceiver) -> None:
    said = {"message": "You are being rate limited.", "retry_after": 0.75, "global": False}
    http_receiver.script(Reply(429, headers={"Retry-After": "1"}, body=json.dumps(said).encode()))

    with pytest.raises(DeliveryError) as caught:
        discord_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable
    assert caught.value.retry_after_s == 0.75
    assert "You are being rate limited" in str(caught.value)


def test_a_discord_429_without_a_body_falls_back_to_the_header(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(429, headers={"Retry-After": "3"}, body=b"slow down"))

    with pytest.raises(DeliveryError) as caught:
        discord_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable and caught.value.retry_after_s == 3


def test_a_deleted_discord_webhook_is_a_target_gone(http_receiver: HttpReceiver) -> None:
    body = json.dumps({"message": "Unknown Webhook", "code": 10015}).encode()
    http_receiver.script(Reply(404, body=body))

    with pytest.raises(TargetGoneError) as caught:
        discord_channel(http_receiver.url()).send(make_notification())

    assert str(caught.value) == "discord channel 'ops': HTTP 404 10015 Unknown Webhook"


@pytest.mark.parametrize(
    ("status", "retryable"), [(400, False), (401, False), (403, False), (500, True), (502, True)]
)
def test_discord_answers_are_classified(
    http_receiver: HttpReceiver, status: int, retryable: bool
) -> None:
    http_receiver.script(Reply(status, body=b'{"message": "Invalid Form Body", "code": 50035}'))

    with pytest.raises(DeliveryError) as caught:
        discord_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable is retryable
    assert not isinstance(caught.value, TargetGoneError)


def test_the_webhook_token_never_appears_in_a_discord_error(http_receiver: HttpReceiver) -> None:
    http_receiver.script(Reply(500, body=TOKEN_PATH.encode()))
    for url in (http_receiver.url(TOKEN_PATH), f"http://127.0.0.1:{closed_port()}{TOKEN_PATH}"):
        channel = discord_channel(url)
        with pytest.raises(DeliveryError) as caught:
            channel.send(make_notification())
        shown = "".join(traceback.format_exception(caught.value)) + repr(channel)
        assert "s3cr3t" not in shown and "1234567890" not in shown, url
