"""The Slack incoming-webhook channel: Block Kit blocks plus a plain-text fallback.

Blocks are built in Python, not in a template, so that every piece of untrusted text passes
through `slack_escape` (only & < > are escaped, as Slack asks) and JSON encoding is exact.
"""

from __future__ import annotations

import json
import re
from typing import Any

from worker.channels.webhook import USER_AGENT, post, raise_for_answer
from worker.config import SlackChannelConfig
from worker.models import Notification
from worker.rendering import (
    AlertView,
    datetime_utc,
    slack_escape,
    summary_line,
    truncate_chars,
)

MAX_BLOCKS = 50
# Slack's section limit is 3,000 characters; msg_blocks_too_long has been seen below the
# documented totals (slackapi/bolt-js#2509), so keep headroom.
SECTION_MAX_CHARS = 2900
_TITLE_MAX_CHARS = 600  # escaped characters, like the other per-field budgets below
_TERMS_MAX_CHARS = 500
_LINK_MAX_CHARS = 1000
_BLOCKS_PER_ALERT = 3  # section, context, divider
_MAX_ALERTS_SHOWN = (MAX_BLOCKS - 2) // _BLOCKS_PER_ALERT  # room for the heading and "N more"
_SLACK_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")


def slack_link(url: str, text: str) -> str:
    """A Slack `<url|text>` link; `text` must already be escaped. No URL, no link."""
    safe_url = slack_escape(url.replace("|", "%7C").replace(" ", "%20"))
    if not safe_url or len(safe_url) > _LINK_MAX_CHARS:
        return text
    return f"<{safe_url}|{text}>"


def _escaped_within(text: str, limit: int) -> str:
    """`text` cut (before escaping, so no entity is split) until its escaped form fits `limit`."""
    keep = limit
    while True:
        escaped = slack_escape(truncate_chars(text, keep))
        if len(escaped) <= limit or keep <= 1:
            return escaped if len(escaped) <= limit else ""
        keep -= len(escaped) - limit


def section_text(view: AlertView) -> str:
    """The mrkdwn of one alert's section, at most SECTION_MAX_CHARS long.

    Each field has an escaped-length budget, so at least ~700 characters stay for the evidence;
    a longer evidence snippet is cut and followed by a link to the full story.
    """
    head = f"*{_escaped_within(view.ticker, 50)}*"
    if view.company:
        head += f" · {_escaped_within(view.company, 200)}"
    head += f" · score *{view.score}*"
    title = _escaped_within(view.title, _TITLE_MAX_CHARS)
    lines = [head, f"*{slack_link(view.link, title)}*"]
    source = _escaped_within(view.source, 200)
    meta = " · ".join(part for part in (source, datetime_utc(view.published)) if part)
    if meta:
        lines.append(meta)
    fixed = "\n".join(lines)
    if not view.evidence:
        return fixed
    quote_prefix = "\n>"
    budget = SECTION_MAX_CHARS - len(fixed) - len(quote_prefix)
    evidence = slack_escape(view.evidence)
    if len(evidence) > budget:
        more = " " + slack_link(view.link, "full story") if view.link else ""
        evidence = _escaped_within(view.evidence, budget - len(more)) + more
    return fixed + quote_prefix + evidence


def _context_text(view: AlertView) -> str:
    text = f"watchlist {_escaped_within(view.watchlist, 200)}"
    if view.terms:
        terms = _escaped_within(", ".join(view.terms), _TERMS_MAX_CHARS)
        text = f"matched: {terms} · " + text
    return text


def slack_payload(notification: Notification) -> dict[str, Any]:
    """The incoming-webhook body: at most MAX_BLOCKS blocks and a top-level `text` fallback."""
    views = [AlertView.of(alert) for alert in notification.alerts]
    summary = slack_escape(summary_line(notification))
    heading = "*policywatch digest*" if notification.kind == "digest" else "*policywatch*"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{heading} · {summary}"}}
    ]
    for index, view in enumerate(views[:_MAX_ALERTS_SHOWN]):
        if index:
            blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section_text(view)}})
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _context_text(view)}]}
        )
    hidden = len(views) - _MAX_ALERTS_SHOWN
    if hidden > 0:
        more = f"…and {hidden} more alert{'s' if hidden != 1 else ''} not shown here"
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": more}]})
    return {
        "text": f"policywatch: {summary}",
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


class SlackChannel:
    """Posts Block Kit messages to a Slack incoming webhook (or anything speaking its protocol).

    Success is a 2xx (Slack answers 200 `ok`). Raises TargetGoneError on 404/410 (e.g.
    channel_not_found, channel_is_archived), a retryable DeliveryError on network errors,
    timeouts (`timeout_s`), 5xx and 429 (with `retry_after_s`), a permanent one on other 4xx.
    """

    def __init__(self, name: str, config: SlackChannelConfig) -> None:
        self.name = name
        self._config = config

    def __repr__(self) -> str:
        return f"SlackChannel(name={self.name!r})"

    @property
    def label(self) -> str:
        return f"slack channel {self.name!r}"

    def send(self, notification: Notification) -> str:
        body = json.dumps(slack_payload(notification), ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json; charset=utf-8", "user-agent": USER_AGENT}
        answer = post(self.label, self._config.url, body, headers, self._config.timeout_s)
        said = answer.body.decode("utf-8", "replace").strip()
        # Slack's error bodies are short codes (invalid_payload, channel_not_found); anything
        # else a gateway sends could echo secrets, so it stays out of messages.
        detail = said if _SLACK_ERROR_CODE.match(said) else ""
        raise_for_answer(self.label, answer, detail)
        return f"{answer.status} {detail or answer.reason}".strip()
