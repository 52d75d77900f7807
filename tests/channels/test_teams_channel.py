"""The Teams channel: an Adaptive Card to a Workflows webhook; legacy connector URLs refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.channels.factories import make_alert, make_notification
from tests.support.receivers import HttpReceiver, Reply
from worker.channels.teams import CARD_CONTENT_TYPE, MAX_BODY_BYTES, TeamsChannel
from worker.config import TeamsChannelConfig, legacy_teams_host, parse_settings
from worker.errors import ConfigError, DeliveryError, TargetGoneError

WORKFLOWS_PATH = "/workflows/0a1b2c/triggers/manual/paths/invoke?api-version=1&sig=S1gS3cret"


def teams_channel(url: str) -> TeamsChannel:
    return TeamsChannel("desk", TeamsChannelConfig(type="teams", url=url))


def elements(node: Any) -> Iterator[dict[str, Any]]:
    """Every card element and inline, depth first."""
    if isinstance(node, dict):
        if "type" in node:
            yield node
        for value in node.values():
            yield from elements(value)
    elif isinstance(node, list):
        for value in node:
            yield from elements(value)


def card_of(payload: dict[str, Any]) -> dict[str, Any]:
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    card: dict[str, Any] = attachment["content"]
    return card


def test_a_teams_message_is_one_adaptive_card_with_the_alert_and_a_link(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(202, body=b""))

    answer = teams_channel(http_receiver.url(WORKFLOWS_PATH)).send(make_notification())

    assert answer == "202 Accepted"
    [request] = http_receiver.requests
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert payload["type"] == "message"
    card = card_of(payload)
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    runs = [e["text"] for e in elements(card) if e["type"] == "TextRun"]
    assert "NVDA 87: US tightens export curbs on AI chips" in runs
    assert "NVDA · NVIDIA Corp" in runs and "  score 87" in runs
    assert "Example Wire · 2026-03-04 14:05 UTC" in runs
    assert any(r.startswith("The Commerce Department added") for r in runs)
    [title] = [e for e in elements(card) if e.get("text") == "US tightens export curbs on AI chips"]
    link = "https://news.example/story?id=1&src=rss"
    assert title["selectAction"] == {"type": "Action.OpenUrl", "url": link}
    [open_story] = [e for e in elements(card) if e.get("title") == "Open story"]
    assert open_story == {"type": "Action.OpenUrl", "url": link, "title": "Open story"}


def test_story_text_only_ever_goes_into_text_runs_where_markdown_is_not_read(
    http_receiver: HttpReceiver,
) -> None:
    alert = make_alert(title="**Buy** [now](https://evil.example)", evidence="- _x_ [y](z)")
    teams_channel(http_receiver.url()).send(make_notification(alert))

    card = card_of(http_receiver.requests[0].json())
    kinds = {e["type"] for e in elements(card)}
    assert not kinds & {"TextBlock", "FactSet"}
    holders = [e for e in elements(card) if "[now](https://evil.example)" in e.get("text", "")]
    assert holders and all(e["type"] == "TextRun" for e in holders)


def test_a_long_teams_message_is_cut_to_fit_and_links_the_full_story(
    http_receiver: HttpReceiver,
) -> None:
    alerts = [
        make_alert(ticker=f"T{i}", event_key=f"e{i}", evidence="export curbs " * 900)
        for i in range(30)
    ]
    teams_channel(http_receiver.url()).send(make_notification(*alerts))

    [request] = http_receiver.requests
    assert len(request.body) <= MAX_BODY_BYTES
    card = card_of(request.json())
    runs = [e for e in elements(card) if e["type"] == "TextRun"]
    more = [r for r in runs if r["text"].startswith("…and ")]
    assert more and more[0]["text"].endswith("more alerts not shown here")
    full = [r for r in runs if r["text"] == " full story"]
    assert full and all(r["selectAction"]["url"].startswith("https://news.example/") for r in full)
    assert all(len(r["text"]) <= 1000 for r in runs)


@pytest.mark.parametrize(
    "url",
    [
        "https://contoso.webhook.office.com/webhookb2/S3CRETGUID@tenant/IncomingWebhook/abc/def",
        "https://outlook.office.com/webhook/S3CRETGUID@tenant/IncomingWebhook/abc/def",
    ],
)
def test_a_legacy_office_365_connector_url_is_a_config_error_that_hides_the_url(url: str) -> None:
    text = "watchlists: [{name: w, tickers: [NVDA], notify: [desk]}]\n"
    text += "channels:\n  desk:\n    type: teams\n    url: ${TEAMS_URL}\n"

    with pytest.raises(ConfigError) as caught:
        parse_settings(text, "pw.yaml", {"TEAMS_URL": url})

    message = str(caught.value)
    assert "pw.yaml:5: channels.desk.url" in message
    assert "legacy Office 365 connector URL" in message and "Workflows" in message
    assert legacy_teams_host(url) in message
    assert "S3CRETGUID" not in message


@pytest.mark.parametrize(
    "url",
    [
        "https://prod-11.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke",
        "https://default123.environment.api.powerplatform.com/powerautomate/automations/direct/x",
        "http://127.0.0.1:8080/teams-proxy",
    ],
)
def test_workflows_and_proxy_urls_are_accepted(url: str) -> None:
    assert legacy_teams_host(url) == ""
    assert TeamsChannelConfig(type="teams", url=url).url == url


def test_a_deleted_workflow_is_a_target_gone(http_receiver: HttpReceiver) -> None:
    said = json.dumps({"error": {"code": "WorkflowNotFound", "message": "..."}}).encode()
    http_receiver.script(Reply(404, body=said))

    with pytest.raises(TargetGoneError) as caught:
        teams_channel(http_receiver.url()).send(make_notification())

    assert str(caught.value) == "teams channel 'desk': HTTP 404 WorkflowNotFound"


def test_a_throttled_workflow_is_retried_after_its_retry_after(
    http_receiver: HttpReceiver,
) -> None:
    http_receiver.script(Reply(429, headers={"Retry-After": "12"}))

    with pytest.raises(DeliveryError) as caught:
        teams_channel(http_receiver.url()).send(make_notification())

    assert caught.value.retryable and caught.value.retry_after_s == 12


def test_a_refused_card_is_not_retried(http_receiver: HttpReceiver) -> None:
    said = json.dumps({"error": {"code": "InvalidRequestContent", "message": "x"}}).encode()
    http_receiver.script(Reply(400, body=said))

    with pytest.raises(DeliveryError) as caught:
        teams_channel(http_receiver.url()).send(make_notification())

    assert not caught.value.retryable
    assert "InvalidRequestContent" in str(caught.value)
