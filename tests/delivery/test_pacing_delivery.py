"""Pacing through the pipeline: a target gets at most one message per interval, nothing is
lost, nothing waits in a thread, and other targets are not held up."""

from __future__ import annotations

from pathlib import Path

from tests.delivery.harness import Harness, build_harness, settings_for
from tests.support.receivers import HttpReceiver
from worker.models import DeliveryState


def drain(h: Harness, ids: list[str], limit: int = 200) -> list[tuple[str, float]]:
    """Deliver until every id is sent, moving the clock to each next due time; returns
    (delivery id, seconds since start) for each send."""
    sent: list[tuple[str, float]] = []
    start = h.clock()
    for _ in range(limit):
        pending = [i for i in ids if h.get(i).state is not DeliveryState.SENT]
        if not pending:
            return sent
        due = min(h.get(i).next_attempt_at for i in pending)
        h.clock.until(due)
        for i in pending:
            if h.deliver(i).state == "sent":
                sent.append((i, (h.clock() - start).total_seconds()))
    raise AssertionError("deliveries did not finish")


def slack_harness(tmp_path: Path, hook: HttpReceiver, other: HttpReceiver) -> Harness:
    channels = (
        f"  desk:\n    type: slack\n    url: {hook.url('/services/T/B/one')}\n"
        f"  ops:\n    type: slack\n    url: {other.url('/services/T/B/two')}\n"
    )
    return build_harness(settings_for(channels, "", tmp_path), tmp_path)


def test_ten_alerts_to_one_slack_target_take_at_least_nine_seconds_and_none_is_lost(
    tmp_path: Path, hook: HttpReceiver, other_hook: HttpReceiver
) -> None:
    h = slack_harness(tmp_path, hook, other_hook)
    ids = h.add("desk", 10)

    sent = drain(h, ids)

    times = [t for _, t in sent]
    assert sorted(i for i, _ in sent) == sorted(ids)
    assert len(hook.requests) == 10
    assert times[-1] >= 9.0
    assert all(b - a >= 1.0 for a, b in zip(times, times[1:], strict=False))
    assert all(h.get(i).attempts == 1 for i in ids)  # waiting for a slot is not an attempt


def test_a_paced_slack_target_does_not_hold_up_another_target(
    tmp_path: Path, hook: HttpReceiver, other_hook: HttpReceiver
) -> None:
    h = slack_harness(tmp_path, hook, other_hook)
    first, second = h.add("desk", 2)
    [elsewhere] = h.add("ops")

    assert h.deliver(first).state == "sent"
    paced = h.deliver(second)
    assert h.deliver(elsewhere).state == "sent"

    assert paced.state == "paced"
    assert paced.detail == "next slot in 1.00s"
    waiting = h.get(second)
    assert waiting.state is DeliveryState.PENDING and waiting.attempts == 0
    assert 1.0 <= h.wait_s(second) <= 1.02
    h.clock.advance(1.01)
    assert h.deliver(second).state == "sent"


def test_two_channels_posting_to_one_webhook_url_share_its_pace(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    url = hook.url("/services/T/B/shared")
    channels = (
        f"  desk:\n    type: slack\n    url: {url}\n  copy:\n    type: slack\n    url: {url}\n"
    )
    h = build_harness(settings_for(channels, "", tmp_path), tmp_path)
    [a] = h.add("desk")
    [b] = h.add("copy")

    assert h.deliver(a).state == "sent"
    assert h.deliver(b).state == "paced"


def test_a_custom_interval_and_no_interval(tmp_path: Path, hook: HttpReceiver) -> None:
    channels = (
        f"  slow:\n    type: slack\n    url: {hook.url('/a')}\n    min_interval_s: 5\n"
        f"  free:\n    type: webhook\n    url: {hook.url('/b')}\n"
    )
    h = build_harness(settings_for(channels, "", tmp_path), tmp_path)
    slow = h.add("slow", 2)
    free = h.add("free", 5)

    assert [h.deliver(i).state for i in free] == ["sent"] * 5
    assert [h.deliver(i).state for i in slow] == ["sent", "paced"]
    assert 5.0 <= h.wait_s(slow[1]) <= 5.02
