"""Channels: where alerts go. One module per kind, and the explicit registry below.

A channel has a `name` and a `send(notification) -> str` that returns what the target answered
(e.g. "200 OK") and raises DeliveryError (TargetGoneError for 404/410) when it fails; it never
returns False. Adding a kind: one module, one line in CHANNEL_TYPES, one config class.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from worker.channels.apprise import AppriseChannel
from worker.channels.console import ConsoleChannel
from worker.channels.discord import DiscordChannel
from worker.channels.email import EmailChannel
from worker.channels.file import FileChannel
from worker.channels.slack import SlackChannel
from worker.channels.teams import TeamsChannel
from worker.channels.webhook import WebhookChannel
from worker.config import ChannelConfig
from worker.errors import ConfigError, ConfigProblem
from worker.models import Notification

__all__ = [
    "CHANNEL_TYPES",
    "AppriseChannel",
    "Channel",
    "ConsoleChannel",
    "DiscordChannel",
    "EmailChannel",
    "FileChannel",
    "SlackChannel",
    "TeamsChannel",
    "WebhookChannel",
    "build_channel",
]


@runtime_checkable
class Channel(Protocol):
    """Something that delivers a Notification to one target."""

    name: str

    def send(self, notification: Notification) -> str:
        """Deliver; return a short description of the answer; raise DeliveryError on failure."""
        ...


# Keyed by the config's `type:`; each class takes (name, config of that type).
CHANNEL_TYPES: dict[str, type[Any]] = {
    "console": ConsoleChannel,
    "file": FileChannel,
    "slack": SlackChannel,
    "webhook": WebhookChannel,
    "email": EmailChannel,
    "discord": DiscordChannel,
    "teams": TeamsChannel,
    "apprise": AppriseChannel,
}


def build_channel(name: str, config: ChannelConfig) -> Channel:
    """The channel for `config` under `name`.

    Raises ConfigError for an unknown `type` (listing the known ones) or an unusable setting
    such as a webhook secret that is not `whsec_` + base64.
    """
    kind = getattr(config, "type", None)
    cls = CHANNEL_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        known = ", ".join(sorted(CHANNEL_TYPES))
        problem = ConfigProblem("", None, f"channels.{name}.type", kind, f"one of {known}")
        raise ConfigError([problem])
    channel: Channel = cls(name, config)
    return channel
