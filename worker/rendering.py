"""The one Jinja2 environment, its filters, and the view of a Notification that templates see.

Story text (titles, evidence, sources) is untrusted: it reaches templates only as data, never
as template source, and it is cleaned of control characters first. Templates run in an
immutable sandbox with `StrictUndefined`; `.html` templates autoescape, `.txt` ones do not.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from worker.models import Alert, Notification

ELLIPSIS = "…"

# Bidi embeddings, overrides and isolates can make a title read differently from what it says.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_WHITESPACE = re.compile(r"\s+")
_SUBJECT_TICKERS_MAX = 6


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Drop control characters, lone surrogates and bidi overrides from untrusted text.

    With `multiline` False every run of whitespace (newlines included) becomes one space, so the
    result is safe for a header, a subject or a one-line field.
    """
    kept = []
    for char in text:
        if char in "\n\t":
            kept.append(char)
        elif char in _BIDI_CONTROLS or unicodedata.category(char) in ("Cc", "Cs"):
            kept.append(" " if char == "\r" else "")
        else:
            kept.append(char)
    cleaned = "".join(kept)
    if multiline:
        lines = (_WHITESPACE.sub(" ", line).strip() for line in cleaned.split("\n"))
        return "\n".join(line for line in lines if line)
    return _WHITESPACE.sub(" ", cleaned).strip()


def safe_link(url: str) -> str:
    """The link if it is an absolute http(s) URL, else "" (no javascript:, data: or relative)."""
    url = clean_text(url)
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def slack_escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control: & < > (nothing else)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate_chars(text: str, limit: int, end: str = ELLIPSIS) -> str:
    """`text` cut to at most `limit` characters, ending in `end` when it was cut."""
    if len(text) <= limit:
        return text
    if limit <= len(end):
        return end[:limit]
    return text[: limit - len(end)].rstrip() + end


def datetime_utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M UTC") -> str:
    """A datetime shown in UTC (a naive one is taken to be UTC already); None gives ""."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(fmt)


def isoformat_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, or None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as templates and payloads see it: untrusted text cleaned, link checked."""

    id: str
    watchlist: str
    ticker: str
    company: str
    score: int
    title: str
    link: str
    source: str
    published: datetime | None
    evidence: str
    terms: tuple[str, ...]

    @classmethod
    def of(cls, alert: Alert) -> AlertView:
        return cls(
            id=alert.id,
            watchlist=clean_text(alert.watchlist),
            ticker=clean_text(alert.ticker),
            company=clean_text(alert.company),
            score=alert.score,
            title=clean_text(alert.title) or "(untitled)",
            link=safe_link(alert.link),
            source=clean_text(alert.source),
            published=alert.published,
            evidence=clean_text(alert.evidence),
            terms=tuple(t for t in (clean_text(term) for term in alert.terms) if t),
        )

    def as_dict(self) -> dict[str, Any]:
        """The alert as JSON-ready data (used by the webhook and file channels)."""
        return {
            "id": self.id,
            "watchlist": self.watchlist,
            "ticker": self.ticker,
            "company": self.company,
            "score": self.score,
            "title": self.title,
            "link": self.link,
            "source": self.source,
            "published": isoformat_utc(self.published),
            "evidence": self.evidence,
            "terms": list(self.terms),
        }


def summary_line(notification: Notification) -> str:
    """One line naming what a notification is about.

    One alert: "NVDA 87: <title>"; several: "3 alerts: NVDA, AMD" (tickers in order, deduped).
    """
    views = [AlertView.of(alert) for alert in notification.alerts]
    if len(views) == 1:
        only = views[0]
        return f"{only.ticker} {only.score}: {truncate_chars(only.title, 140)}"
    tickers = list(dict.fromkeys(view.ticker for view in views))
    shown = ", ".join(tickers[:_SUBJECT_TICKERS_MAX])
    if len(tickers) > _SUBJECT_TICKERS_MAX:
        shown += f" +{len(tickers) - _SUBJECT_TICKERS_MAX}"
    return f"{len(views)} alerts: {shown}"


def notification_context(notification: Notification) -> dict[str, Any]:
    """The variables every channel template gets for `notification`."""
    alerts = [AlertView.of(alert) for alert in notification.alerts]
    return {
        "delivery_id": notification.delivery_id,
        "channel": notification.channel,
        "kind": notification.kind,
        "alerts": alerts,
        "count": len(alerts),
        "summary": summary_line(notification),
    }


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    """The shared, sandboxed template environment (built on first use, then reused)."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.PackageLoader("worker", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["slack_escape"] = slack_escape
    env.filters["truncate_chars"] = truncate_chars
    env.filters["datetime_utc"] = datetime_utc
    return env


def render(template_name: str, **context: Any) -> str:
    """Render a packaged template (e.g. "email.html") with `context` as its variables."""
    return environment().get_template(template_name).render(**context)


def render_notification(template_name: str, notification: Notification) -> str:
    """Render a packaged template for `notification` with `notification_context`."""
    return render(template_name, **notification_context(notification))
