"""Builders shared by the channel tests: alerts, notifications, ports, TLS certificates."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from worker.models import Alert, Notification

PUBLISHED = datetime(2026, 3, 4, 14, 5, tzinfo=UTC)
DELIVERY_ID = "dlv_0123456789abcdef"


def make_alert(**overrides: Any) -> Alert:
    """An alert for NVDA about new export curbs; any field can be overridden."""
    fields: dict[str, Any] = {
        "watchlist": "semis",
        "ticker": "NVDA",
        "channel": "desk",
        "event_key": "evt_1",
        "item_id": "item_1",
        "score": 87,
        "title": "US tightens export curbs on AI chips",
        "link": "https://news.example/story?id=1&src=rss",
        "source": "Example Wire",
        "published": PUBLISHED,
        "evidence": "The Commerce Department added new restrictions on advanced GPUs.",
        "terms": ("export controls", "entity list"),
        "created_at": PUBLISHED,
        "company": "NVIDIA Corp",
    }
    fields.update(overrides)
    fields.setdefault(
        "id",
        Alert.make_id(
            fields["watchlist"], fields["ticker"], fields["event_key"], fields["channel"]
        ),
    )
    return Alert(**fields)


def make_notification(*alerts: Alert, kind: str = "instant") -> Notification:
    """A notification of `alerts` (one default alert when none given) to channel "desk"."""
    chosen = alerts or (make_alert(),)
    return Notification(delivery_id=DELIVERY_ID, channel="desk", alerts=chosen, kind=kind)


def require_tool(name: str) -> str:
    """The path of a command-line tool; skips the test on a laptop, fails it when CI is set."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed"
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def closed_port() -> int:
    """A local port with nothing listening on it (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, usable as its own CA."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context
