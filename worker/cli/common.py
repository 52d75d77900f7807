"""Helpers every command shares: loading the config, reading items, stopping on signals."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from worker.config import Settings, load_settings
from worker.errors import ConfigError, PolicywatchError, SourceError
from worker.logs import LogFormat, protect, secrets_of, setup_logging

if TYPE_CHECKING:
    from worker.runtime.embedded import EmbeddedRuntime

log = logging.getLogger("policywatch")
DEFAULT_CONFIG = "policywatch.yaml"
EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def setup_cli_logging(level: str, fmt: LogFormat = "human") -> None:
    setup_logging(level, fmt)


def load(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    protect(secrets_of(settings))
    return settings


def read_items(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    stream: TextIO = sys.stdin if path in ("-", "") else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for n, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{path}:{n}: not valid JSON: {exc.msg}") from exc


def build_channels(settings: Settings) -> None:
    """Build every channel, as `run` will, so that what only a channel can check (a webhook
    secret's encoding, Apprise being installed and knowing the URL) fails here too."""
    from dataclasses import replace

    from worker.channels import build_channel
    from worker.errors import ConfigProblem

    problems: list[ConfigProblem] = []
    for name, config in settings.channels.items():
        try:
            build_channel(name, config)
        except ConfigError as exc:
            problems.extend(replace(p, file=p.file or settings.source_file) for p in exc.problems)
    if problems:
        raise ConfigError(problems)


def stop_on_signals(runtime: EmbeddedRuntime) -> threading.Event:
    """An event that SIGTERM and SIGINT set (waking the runtime), for a clean stop."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing what is in hand, then stopping", signum)
        stop.set()
        runtime.wake()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def figure(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def parse_when(value: str) -> datetime:
    """An ISO 8601 time for --start/--until; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        expected = f"an ISO 8601 time such as 2025-04-16T08:00Z: {value!r}"
        raise argparse.ArgumentTypeError(expected) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_duration(value: str) -> float:
    from worker.config import parse_duration_s

    try:
        return parse_duration_s(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration such as 30m, 4h or 2d: {value!r}") from None


def short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def note_if_disabled(settings: Settings, name: str) -> None:
    from worker.runtime.embedded import open_settings_store

    try:
        store = open_settings_store(settings)
    except PolicywatchError:
        return
    try:
        reason = store.channel_disabled(name)
    finally:
        store.close()
    if reason:
        print(
            f"note: alerts do not go to {name}: it was disabled ({reason});"
            f" if the target works again: policywatch channels enable {name}"
        )
