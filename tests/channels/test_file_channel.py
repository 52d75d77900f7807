"""The file channel: a JSON Lines outbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.channels.factories import DELIVERY_ID, make_alert, make_notification
from worker.channels.file import FileChannel
from worker.config import FileChannelConfig
from worker.errors import DeliveryError


def file_channel(path: Path) -> FileChannel:
    return FileChannel("outbox", FileChannelConfig(type="file", path=str(path)))


def test_the_file_channel_appends_one_json_line_per_alert_with_the_delivery_id(
    tmp_path: Path,
) -> None:
    path = tmp_path / "not" / "yet" / "there" / "alerts.jsonl"
    channel = file_channel(path)
    two = make_notification(make_alert(), make_alert(ticker="AMD", event_key="e2"))

    assert channel.send(two) == "appended 2 lines"
    assert channel.send(make_notification()) == "appended 1 line"

    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["ticker"] for r in records] == ["NVDA", "AMD", "NVDA"]
    assert {r["delivery_id"] for r in records} == {DELIVERY_ID}
    assert records[0]["version"] == "1"
    assert records[0]["channel"] == "outbox"
    assert records[0]["published"] == "2026-03-04T14:05:00Z"
    assert records[0]["terms"] == ["export controls", "entity list"]


def test_story_text_with_newlines_stays_on_one_json_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    alert = make_alert(title="line one\nline two\r\n", evidence="a\u2028b \x00c")

    file_channel(path).send(make_notification(alert))

    [line] = path.read_text(encoding="utf-8").split("\n")[:-1]
    assert json.loads(line)["title"] == "line one line two"


def test_an_outbox_path_that_is_a_folder_is_a_permanent_failure(tmp_path: Path) -> None:
    with pytest.raises(DeliveryError) as caught:
        file_channel(tmp_path).send(make_notification())

    assert not caught.value.retryable
    assert str(tmp_path) in str(caught.value)
