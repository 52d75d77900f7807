"""The console channel: readable text on standard output."""

from __future__ import annotations

import pytest

from tests.channels.factories import make_alert, make_notification
from worker.channels.console import ConsoleChannel
from worker.config import ConsoleChannelConfig


def test_the_console_channel_prints_ticker_score_title_link_source_and_terms(
    capsys: pytest.CaptureFixture[str],
) -> None:
    channel = ConsoleChannel("screen", ConsoleChannelConfig(type="console"))

    assert channel.send(make_notification()) == "printed 1 alert"

    out = capsys.readouterr().out
    assert out.startswith("policywatch · NVDA 87: US tightens export curbs on AI chips\n\n")
    assert "1. NVDA (NVIDIA Corp) · score 87 · semis" in out
    assert "https://news.example/story?id=1&src=rss" in out
    assert "Example Wire · 2026-03-04 14:05 UTC" in out
    assert "terms: export controls, entity list" in out


def test_the_console_shows_terminal_escape_sequences_in_titles_as_harmless_text(
    capsys: pytest.CaptureFixture[str],
) -> None:
    alert = make_alert(title="Curbs \x1b[2J\x1b]0;pwned\x07 widen")

    ConsoleChannel("screen", ConsoleChannelConfig(type="console")).send(make_notification(alert))

    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out
