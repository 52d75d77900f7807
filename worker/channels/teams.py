"""The Microsoft Teams channel: an Adaptive Card posted to a Teams Workflows webhook.

Story text goes into `TextRun`s of `RichTextBlock`s, which Teams shows as written (a TextBlock
or a FactSet value would read it as Markdown, so a title could carry a link). The card stays
well under Teams' message size limit (about 28 KB): at most MAX_ALERTS_SHOWN alerts, each
evidence cut with a link to the full story. Legacy Office 365 connector URLs
(`*.webhook.office.com`) are refused when the config is read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from worker.channels.webhook import USER_AGENT, HttpAnswer, post, raise_for_answer
from worker.config import TeamsChannelConfig
from worker.models import Notification
from worker.rendering import AlertView, datetime_utc, summary_line, truncate_chars

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
MAX_ALERTS_SHOWN = 10
# Teams refuses messages over about 28 KB; keep clear of it.
MAX_BODY_BYTES = 24_000
_EVIDENCE_MAX_CHARS = 1000
_TITLE_MAX_CHARS = 300
_LINK_MAX_CHARS = 2000
_ERROR_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_.]{0,63}$")


def _run(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextRun", "text": text, **style}


def _open(url: str) -> dict[str, Any]:
    return {"type": "Action.OpenUrl", "url": url}


def alert_container(view: AlertView, evidence_max_chars: int) -> dict[str, Any]:
    """One alert: who and how strong, the title (a link), where from, and the evidence."""
    link = view.link if len(view.link) <= _LINK_MAX_CHARS else ""
    head = f"{view.ticker}" + (f" · {view.company}" if view.company else "")
    title = _run(truncate_chars(view.title, _TITLE_MAX_CHARS), weight="Bolder", size="Medium")
    if link:
        title["selectAction"] = _open(link)
    meta = " · ".join(p for p in (view.source, datetime_utc(view.published)) if p)
    items: list[dict[str, Any]] = [
        {
            "type": "RichTextBlock",
            "inlines": [_run(head, weight="Bolder"), _run(f"  score {view.score}")],
        },
        {"type": "RichTextBlock", "inlines": [title]},
    ]
    if meta:
        items.append({"type": "RichTextBlock", "inlines": [_run(meta, isSubtle=True)]})
    if view.evidence:
        evidence = [_run(truncate_chars(view.evidence, evidence_max_chars))]
        if len(view.evidence) > evidence_max_chars and link:
            evidence.append(_run(" full story", color="Accent", selectAction=_open(link)))
        items.append({"type": "RichTextBlock", "inlines": evidence})
    context = f"watchlist {view.watchlist}"
    if view.terms:
        context = f"matched: {truncate_chars(', '.join(view.terms), 300)} · {context}"
    items.append({"type": "RichTextBlock", "inlines": [_run(context, isSubtle=True, size="Small")]})
    if link:
        items.append({"type": "ActionSet", "actions": [{**_open(link), "title": "Open story"}]})
    return {"type": "Container", "separator": True, "spacing": "Medium", "items": items}


def _card(notification: Notification, shown: int, evidence_max_chars: int) -> dict[str, Any]:
    views = [AlertView.of(alert) for alert in notification.alerts]
    heading = "policywatch digest" if notification.kind == "digest" else "policywatch"
    body: list[dict[str, Any]] = [
        {
            "type": "RichTextBlock",
            "inlines": [
                _run(f"{heading} · ", weight="Bolder"),
                _run(summary_line(notification)),
            ],
        }
    ]
    body.extend(alert_container(view, evidence_max_chars) for view in views[:shown])
    hidden = len(views) - shown
    if hidden > 0:
        more = f"…and {hidden} more alert{'s' if hidden != 1 else ''} not shown here"
        body.append({"type": "RichTextBlock", "inlines": [_run(more, isSubtle=True)]})
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": CARD_CONTENT_TYPE,
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": CARD_VERSION,
                    "msteams": {"width": "Full"},
                    "body": body,
                },
            }
        ],
    }


def teams_body(notification: Notification) -> bytes:
    """The request body: a message with one Adaptive Card, at most MAX_BODY_BYTES long.

    Shorter evidence first, then fewer alerts, until it fits.
    """
    shown = min(MAX_ALERTS_SHOWN, len(notification.alerts))
    evidence = _EVIDENCE_MAX_CHARS
    while True:
        body = json.dumps(_card(notification, shown, evidence), ensure_ascii=False)
        encoded = body.encode("utf-8")
        if len(encoded) <= MAX_BODY_BYTES or (shown <= 1 and evidence <= 100):
            return encoded
        if evidence > 200:
            evidence //= 2
        elif shown > 1:
            shown -= 1
        else:
            evidence = 100


class TeamsChannel:
    """Posts an Adaptive Card to a Microsoft Teams Workflows webhook (Power Automate).

    Success is a 2xx (Workflows answers 202 Accepted). Raises TargetGoneError on 404/410 (the
    workflow was deleted), a retryable DeliveryError on network errors, timeouts, 5xx and 429
    (with Retry-After), and a permanent one on other 4xx (e.g. a bad signature in the URL).
    """

    def __init__(self, name: str, config: TeamsChannelConfig) -> None:
        self.name = name
        self._config = config

    def __repr__(self) -> str:
        return f"TeamsChannel(name={self.name!r})"

    @property
    def label(self) -> str:
        return f"teams channel {self.name!r}"

    def send(self, notification: Notification) -> str:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        body = teams_body(notification)
        answer = post(self.label, self._config.url, body, headers, self._config.timeout_s)
        raise_for_answer(self.label, answer, _error_code(answer))
        return f"{answer.status} {answer.reason}".strip()


def _error_code(answer: HttpAnswer) -> str:
    """The `error.code` of a Workflows error body (e.g. WorkflowTriggerIsNotEnabled): a short
    identifier, safe to log; anything else a gateway said stays out of messages."""
    try:
        said = json.loads(answer.body)
    except ValueError:
        return ""
    error = said.get("error") if isinstance(said, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) and _ERROR_CODE.match(code) else ""
