"""`policywatch send-test`: a sample alert, rendered and sent through one configured channel."""

from __future__ import annotations

import secrets
from datetime import datetime
from urllib.parse import urlsplit

from worker.config import ChannelConfig
from worker.models import Alert, Notification

SAMPLE_LINK = "https://example.com/policywatch/send-test"
_SAMPLE_EVIDENCE = (
    "This is a sample alert from policywatch send-test, checking that this channel works. "
    "The Commerce Department added new licence requirements for advanced AI chips."
)


def sample_alert(channel: str, now: datetime, *, index: int = 0, long: bool = False) -> Alert:
    """A made-up but realistic alert; with `long`, text far beyond any target's limits."""
    title = "Sample alert: US adds chipmakers to the Entity List"
    evidence = _SAMPLE_EVIDENCE
    if long:
        title = (title + " ") * 20
        evidence = " ".join([_SAMPLE_EVIDENCE] * 200)
    return Alert(
        id=Alert.make_id("send-test", "NVDA", f"send-test-{index}", channel),
        watchlist="send-test",
        ticker="NVDA",
        channel=channel,
        event_key=f"send-test-{index}",
        item_id=f"send-test-{index}",
        score=90,
        title=title.strip(),
        link=SAMPLE_LINK,
        source="policywatch send-test",
        published=now,
        evidence=evidence,
        terms=("Entity List", "licence requirement"),
        created_at=now,
        company="NVIDIA Corp",
    )


def sample_notification(channel: str, now: datetime, *, long: bool = False) -> Notification:
    """One sample alert (with `long`: 60 of them, each far too long) under a fresh delivery id,
    so a receiver that drops repeats by id still shows every test."""
    count = 60 if long else 1
    alerts = tuple(sample_alert(channel, now, index=i, long=long) for i in range(count))
    return Notification(f"dlv_test_{secrets.token_hex(8)}", channel, alerts)


def describe_target(config: ChannelConfig) -> str:
    """Where a channel sends, without secrets: a URL's host (and port) only, never its path."""
    url = getattr(config, "url", None)
    if isinstance(url, str):
        try:
            parts = urlsplit(url)
            host = parts.hostname or ""
            port = f":{parts.port}" if parts.port else ""
        except ValueError:
            return "an unparsable URL"
        if config.type == "apprise":
            return f"{parts.scheme}:// (Apprise)"
        return f"{host}{port}" if host else "a URL without a host"
    smtp_host = getattr(config, "host", None)
    if isinstance(smtp_host, str):
        return f"{smtp_host}:{getattr(config, 'port', '')}"
    path = getattr(config, "path", None)
    if isinstance(path, str):
        return path
    return "standard output"
