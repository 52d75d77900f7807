"""The Discord webhook channel: a one-line content and one embed per alert, within Discord's limits.

Discord rejects a message over its limits instead of cutting it, so everything is cut here: the
content to 2,000 characters, at most 10 embeds, each field to its own limit and all embeds
together to 6,000 characters; a cut story keeps a link to the full text. Untrusted text has its
Markdown escaped, and `allowed_mentions: {"parse": []}` stops any @everyone or role ping. The
URL gets `?wait=true`, without which Discord answers 204 even for a message it did not save.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from worker.channels.webhook import (
    USER_AGENT,
    HttpAnswer,
    post,
    raise_for_answer,
)
from worker.config import DiscordChannelConfig
from worker.errors import ConfigError, ConfigProblem, DeliveryError
from worker.models import Notification
from worker.rendering import AlertView, clean_text, isoformat_utc, summary_line, truncate_chars
from worker.retry_after import parse_retry_after

CONTENT_MAX_CHARS = 2000
MAX_EMBEDS = 10
EMBEDS_TOTAL_MAX_CHARS = 6000
TITLE_MAX_CHARS = 256
DESCRIPTION_MAX_CHARS = 4096
FIELD_VALUE_MAX_CHARS = 1024
FOOTER_MAX_CHARS = 2048
# Headroom under the 6,000 total, as for Slack: limits are counted by Discord, not by us.
_EMBEDS_BUDGET = EMBEDS_TOTAL_MAX_CHARS - 100
_LINK_MAX_CHARS = 1000  # a longer link is left out rather than risk a rejected embed
_FIELD_CAPS = {"Company": 200, "Watchlist": 200, "Matched": 500}
_MARKDOWN = re.compile(r"([\\*_~`|<>\[\]()#+\-])")
_LIST_NUMBER = re.compile(r"^(\d+)\.")
_COLOURS = ((80, 0xD93F0B), (60, 0xFBCA04))  # score at least → colour; else grey
_GREY = 0x8C8C8C


def discord_escape(text: str) -> str:
    """Backslash-escape Markdown so story text shows as written (no links, headings, spoilers)."""
    return _LIST_NUMBER.sub(r"\1\\.", _MARKDOWN.sub(r"\\\1", text))


def _escaped_within(text: str, limit: int) -> str:
    """`text` cut before escaping (so no escape is split) until its escaped form fits `limit`."""
    keep = limit
    while keep > 0:
        escaped = discord_escape(truncate_chars(text, keep))
        if len(escaped) <= limit:
            return escaped
        keep -= max(1, len(escaped) - limit)
    return ""


def embed_chars(embed: dict[str, Any]) -> int:
    """How many characters Discord counts toward the 6,000 total for one embed."""
    count = len(embed.get("title", "")) + len(embed.get("description", ""))
    count += sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", ()))
    count += len(embed.get("footer", {}).get("text", ""))
    return count + len(embed.get("author", {}).get("name", ""))


def _colour(score: int) -> int:
    return next((colour for floor, colour in _COLOURS if score >= floor), _GREY)


def _description(view: AlertView, limit: int) -> str:
    """The evidence, escaped, within `limit`; when cut, it ends with a link to the full story."""
    whole = discord_escape(view.evidence)
    if len(whole) <= limit:
        return whole
    more = f" [full story]({view.link})" if view.link and len(view.link) <= 300 else ""
    if len(more) >= limit:
        more = ""
    return _escaped_within(view.evidence, limit - len(more)) + more


def alert_embed(view: AlertView, budget: int) -> dict[str, Any]:
    """One alert as an embed counting at most `budget` characters, each field within its own
    limit. Every part gets a share of the budget; the evidence gets what is left."""
    title_cap = min(TITLE_MAX_CHARS, max(20, budget // 4))
    title = _escaped_within(f"{view.ticker} · {view.score} · {view.title}", title_cap)
    fields = [
        {
            "name": name,
            "value": _escaped_within(value, min(_FIELD_CAPS[name], max(10, budget // 8))),
            "inline": True,
        }
        for name, value in (
            ("Company", view.company),
            ("Watchlist", view.watchlist),
            ("Matched", ", ".join(view.terms)),
        )
        if value
    ]
    embed: dict[str, Any] = {"title": title, "color": _colour(view.score), "fields": fields}
    if view.link and len(view.link) <= _LINK_MAX_CHARS:
        embed["url"] = view.link
    # Footers are not Markdown: plain text, only cut.
    footer = " · ".join(p for p in (view.source, isoformat_utc(view.published) or "") if p)
    if footer:
        embed["footer"] = {"text": truncate_chars(footer, min(FOOTER_MAX_CHARS, budget // 6))}
    if view.published is not None:
        embed["timestamp"] = isoformat_utc(view.published)
    if embed_chars(embed) > budget:  # only for a budget far below what MAX_EMBEDS leaves
        embed.pop("fields")
        embed.pop("footer", None)
    room = budget - embed_chars(embed)
    if view.evidence and room > 0:
        embed["description"] = _description(view, min(DESCRIPTION_MAX_CHARS, room))
    return embed


def discord_payload(notification: Notification, username: str = "") -> dict[str, Any]:
    """The webhook body: content, at most MAX_EMBEDS embeds within 6,000 characters in all,
    and no mentions allowed."""
    views = [AlertView.of(alert) for alert in notification.alerts]
    shown = views[:MAX_EMBEDS]
    heading = "policywatch digest" if notification.kind == "digest" else "policywatch"
    content = f"**{heading}** · {discord_escape(summary_line(notification))}"
    hidden = len(views) - len(shown)
    if hidden > 0:
        content += f"\n…and {hidden} more alert{'s' if hidden != 1 else ''} not shown here"
    per_embed = _EMBEDS_BUDGET // max(1, len(shown))
    payload: dict[str, Any] = {
        "content": truncate_chars(content, CONTENT_MAX_CHARS),
        "embeds": [alert_embed(view, per_embed) for view in shown],
        "allowed_mentions": {"parse": []},
    }
    if username:
        payload["username"] = username
    return payload


def with_wait(url: str) -> str:
    """`url` with `wait=true` in its query (other parameters, e.g. thread_id, are kept)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "wait"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("wait", "true")])))


def _error_detail(answer: HttpAnswer) -> tuple[str, float | None]:
    """Discord's error code and message (safe: they never echo the token), and a 429's
    `retry_after`, which is in the body with more precision than the header."""
    try:
        said = json.loads(answer.body)
    except ValueError:
        return "", None
    if not isinstance(said, dict):
        return "", None
    detail = ""
    code, message = said.get("code"), said.get("message")
    if isinstance(message, str):
        detail = truncate_chars(clean_text(message), 120)
        if isinstance(code, int):
            detail = f"{code} {detail}"
    if said.get("global") is True:
        detail = f"{detail} (global)".strip()
    retry_after = said.get("retry_after")
    if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
        return detail, max(0.0, float(retry_after))
    return detail, None


class DiscordChannel:
    """Posts to a Discord webhook (or anything speaking its protocol) with `?wait=true`.

    Success is a 2xx (Discord answers 200 with the saved message; its id is in the answer).
    Raises TargetGoneError on 404/410 (a deleted webhook), a retryable DeliveryError on network
    errors, timeouts, 5xx and 429 (waiting the body's `retry_after`, else Retry-After), and a
    permanent one on other 4xx. A URL that cannot be parsed is a ConfigError (URL hidden).
    """

    def __init__(self, name: str, config: DiscordChannelConfig) -> None:
        self.name = name
        self._config = config
        try:
            self._url = with_wait(config.url)
        except ValueError:
            problem = ConfigProblem("", None, f"channels.{name}.url", "(hidden)", "an http(s) URL")
            raise ConfigError([problem]) from None

    def __repr__(self) -> str:
        return f"DiscordChannel(name={self.name!r})"

    @property
    def label(self) -> str:
        return f"discord channel {self.name!r}"

    def send(self, notification: Notification) -> str:
        payload = discord_payload(notification, self._config.username)
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        answer = post(self.label, self._url, body, headers, self._config.timeout_s)
        if not 200 <= answer.status < 300:
            detail, retry_after_s = _error_detail(answer)
            if answer.status == 429:
                if retry_after_s is None:
                    retry_after_s = parse_retry_after(answer.headers.get("retry-after"))
                message = f"{self.label}: HTTP 429 {detail}".rstrip()
                raise DeliveryError(message, retryable=True, retry_after_s=retry_after_s)
            raise_for_answer(self.label, answer, detail)
        return f"{answer.status} {answer.reason}{_message_id(answer)}".strip()


def _message_id(answer: HttpAnswer) -> str:
    try:
        saved = json.loads(answer.body)
    except ValueError:
        return ""
    message_id = saved.get("id") if isinstance(saved, dict) else None
    return f", message {message_id}" if isinstance(message_id, str | int) else ""
