"""The Apprise channel, through Apprise's own json:// service to a local receiver."""

from __future__ import annotations

import importlib.util
import logging
import sys
import traceback
from collections.abc import Iterator

import pytest

from tests.channels.factories import DELIVERY_ID, closed_port, make_notification
from tests.conftest import need
from tests.support.receivers import HttpReceiver, Reply
from worker.channels.apprise import AppriseChannel, redact
from worker.config import AppriseChannelConfig
from worker.errors import ConfigError, DeliveryError


@pytest.fixture(autouse=True)
def apprise_installed(request: pytest.FixtureRequest) -> None:
    if "monkeypatch" not in request.fixturenames:  # the one test that removes it on purpose
        need(importlib.util.find_spec("apprise") is not None, "apprise is not installed")


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # HTTP client libraries log request lines at DEBUG; the CLI keeps them at WARNING.
        if not record.name.startswith(("urllib3", "httpx", "httpcore")):
            self.lines.append(record.getMessage())


@pytest.fixture
def app_log() -> Iterator[list[str]]:
    """What reaches the application's own (root) log handlers, at DEBUG."""
    root, keep = logging.getLogger(), _Keep()
    level = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    yield keep.lines
    root.removeHandler(keep)
    root.setLevel(level)


def apprise_channel(url: str) -> AppriseChannel:
    return AppriseChannel("push", AppriseChannelConfig(type="apprise", url=url, timeout_s=5))


def test_an_alert_goes_out_through_apprise_with_its_title_link_and_evidence(
    http_receiver: HttpReceiver,
) -> None:
    channel = apprise_channel(f"json://127.0.0.1:{http_receiver.port}/hook")

    answer = channel.send(make_notification())

    assert answer == "accepted by JSON"
    [request] = http_receiver.requests
    said = request.json()
    assert said["title"] == "policywatch: NVDA 87: US tightens export curbs on AI chips"
    message = said["message"]
    assert "NVDA (NVIDIA Corp) · score 87 · US tightens export curbs on AI chips" in message
    assert "https://news.example/story?id=1&src=rss" in message
    assert "The Commerce Department added new restrictions" in message
    assert f"delivery {DELIVERY_ID}" in message


def test_a_failure_apprise_reports_is_retryable_and_names_no_part_of_the_url(
    http_receiver: HttpReceiver, app_log: list[str]
) -> None:
    http_receiver.script(Reply(500))
    channel = apprise_channel(f"json://bot:pa55w0rd@127.0.0.1:{http_receiver.port}/t0kenpath")

    with pytest.raises(DeliveryError) as caught:
        channel.send(make_notification())

    assert caught.value.retryable
    assert "Apprise reported failure" in str(caught.value)
    assert "error=500" in str(caught.value)
    shown = "".join(traceback.format_exception(caught.value)) + "\n".join(app_log) + repr(channel)
    assert "pa55w0rd" not in shown and "t0kenpath" not in shown


def test_an_unreachable_apprise_target_is_retryable() -> None:
    with pytest.raises(DeliveryError) as caught:
        apprise_channel(f"json://127.0.0.1:{closed_port()}/hook").send(make_notification())

    assert caught.value.retryable


def test_a_url_apprise_does_not_know_is_a_config_error_that_hides_it(
    app_log: list[str],
) -> None:
    with pytest.raises(ConfigError) as caught:
        apprise_channel("nosuchservice://S3cretT0ken/chat")

    assert "channels.push.url" in str(caught.value)
    assert "S3cretT0ken" not in str(caught.value) + "\n".join(app_log)


def test_without_apprise_installed_the_channel_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # what a missing package looks like

    with pytest.raises(ConfigError) as caught:
        apprise_channel("json://127.0.0.1/hook")

    message = str(caught.value)
    assert "channels.push.type" in message
    assert "pip install 'policywatch[apprise]'" in message


def test_redact_blanks_every_piece_of_the_url_but_its_scheme() -> None:
    url = "tgram://123456:ABCdef-token/-100200300"
    said = "tgram failed for 123456:ABCdef-token chat -100200300: error=401"
    assert redact(said, url) == "tgram failed for ***:*** chat ***: error=401"
