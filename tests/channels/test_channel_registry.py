"""The channel registry: every config type builds its channel; unknown types are refused."""

from __future__ import annotations

import typing
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter

from worker.channels import CHANNEL_TYPES, Channel, build_channel
from worker.config import ChannelConfig
from worker.errors import ConfigError

CONFIGS: dict[str, dict[str, Any]] = {
    "console": {"type": "console"},
    "file": {"type": "file", "path": "outbox.jsonl"},
    "slack": {"type": "slack", "url": "https://hooks.slack.example/services/x"},
    "webhook": {"type": "webhook", "url": "https://hooks.example/in"},
    "email": {"type": "email", "host": "smtp.example", "from": "a@b.example", "to": ["c@d.e"]},
    "discord": {"type": "discord", "url": "https://discord.example/api/webhooks/1/x"},
    "teams": {"type": "teams", "url": "https://flows.example/workflows/x/triggers/manual/run"},
    "apprise": {"type": "apprise", "url": "json://127.0.0.1/hook"},
}


def config_types() -> set[str]:
    union = typing.get_args(ChannelConfig)[0]
    return {
        typing.get_args(cls.model_fields["type"].annotation)[0] for cls in typing.get_args(union)
    }


def test_every_channel_type_in_the_config_has_a_channel_class() -> None:
    assert set(CHANNEL_TYPES) == config_types() == set(CONFIGS)


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_every_config_type_builds_its_channel(kind: str) -> None:
    config = TypeAdapter(ChannelConfig).validate_python(CONFIGS[kind])

    channel = build_channel("desk", config)

    assert isinstance(channel, CHANNEL_TYPES[kind])
    assert isinstance(channel, Channel)
    assert channel.name == "desk"


def test_an_unknown_channel_type_is_an_error_that_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        build_channel("chat", SimpleNamespace(type="irc"))  # type: ignore[arg-type]

    message = str(caught.value)
    assert "channels.chat.type" in message and "'irc'" in message
    assert "apprise, console, discord, email, file, slack, teams, webhook" in message
