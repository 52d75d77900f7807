"""The embedded runtime's delivery loop in real time: Retry-After is honoured to within a
moment, pacing spaces messages, and a slow or waiting target never delays another."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from tests.delivery.harness import seed, settings_for
from tests.support.receivers import HttpReceiver, RecordedRequest, Reply
from worker.config import Settings
from worker.models import DeliveryState
from worker.runtime.embedded import EmbeddedRuntime, build_runtime


def runtime_settings(tmp_path: Path, channels: str, delivery: str = "") -> Settings:
    settings = settings_for(channels, delivery, tmp_path)
    return settings.model_copy(update={"state": f"sqlite:///{tmp_path / 'state.db'}"})


@contextmanager
def running(settings: Settings) -> Iterator[EmbeddedRuntime]:
    runtime = build_runtime(settings)
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run_forever, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runtime
    finally:
        stop.set()
        runtime.wake()
        thread.join(timeout=10)
        runtime.close()


def wait_for(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)


def add(runtime: EmbeddedRuntime, channel: str, n: int = 1, tag: str = "") -> list[str]:
    ids = seed(runtime.pipeline.store, channel, n, datetime.now(UTC), tag)
    runtime.wake()
    return ids


def gaps(requests: list[RecordedRequest]) -> list[float]:
    return [b.at - a.at for a, b in zip(requests, requests[1:], strict=False)]


def test_the_retry_after_a_429_with_retry_after_2_comes_two_seconds_later_not_sooner(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    hook.script(Reply(429, headers={"Retry-After": "2"}))
    channels = f"  hook:\n    type: webhook\n    url: {hook.url()}\n"
    settings = runtime_settings(tmp_path, channels, "  backoff_base_s: 0.2s\n")

    with running(settings) as runtime:
        [did] = add(runtime, "hook")
        wait_for(lambda: len(hook.requests) == 2)
        wait_for(lambda: runtime.pipeline.store.get_delivery(did).state is DeliveryState.SENT)  # type: ignore[union-attr]

    [gap] = gaps(hook.requests)
    assert 2.0 <= gap <= 2.5, gap


def test_slack_messages_to_one_target_are_a_second_apart_while_another_target_gets_its_at_once(
    tmp_path: Path, hook: HttpReceiver, other_hook: HttpReceiver
) -> None:
    channels = (
        f"  desk:\n    type: slack\n    url: {hook.url('/services/T/B/desk')}\n"
        f"  ops:\n    type: webhook\n    url: {other_hook.url()}\n"
    )
    with running(runtime_settings(tmp_path, channels)) as runtime:
        started = time.monotonic()
        add(runtime, "desk", 3)
        add(runtime, "ops")
        wait_for(lambda: len(hook.requests) == 3 and len(other_hook.requests) == 1)

    assert other_hook.requests[0].at - started < 0.5
    assert hook.requests[0].at - started < 0.5
    # Slots are granted 1 s apart; arrival times also carry each request's own set-up time
    # (tens of ms), hence the slack below 1 s. Unpaced, the gaps would be a few ms.
    spacing = gaps(hook.requests)
    assert all(0.85 <= gap <= 1.3 for gap in spacing), spacing
    assert sum(spacing) >= 1.85, spacing


def test_a_slow_target_does_not_delay_another_targets_delivery(
    tmp_path: Path, hook: HttpReceiver, other_hook: HttpReceiver
) -> None:
    hook.script(*[Reply(200, delay_s=0.6)] * 4)
    channels = (
        f"  slow:\n    type: webhook\n    url: {hook.url()}\n"
        f"  fast:\n    type: webhook\n    url: {other_hook.url()}\n"
    )
    settings = runtime_settings(tmp_path, channels).model_copy(update={"workers": 2})
    with running(settings) as runtime:
        started = time.monotonic()
        add(runtime, "slow", 4)
        add(runtime, "fast")
        wait_for(lambda: len(hook.requests) == 1 and len(other_hook.requests) == 1)
        time.sleep(0.2)  # the slow target is mid-answer now
        later = time.monotonic()
        add(runtime, "fast", tag="later")
        wait_for(lambda: len(other_hook.requests) == 2)
        assert other_hook.requests[1].at - later < 0.5
        wait_for(lambda: len(hook.requests) == 4, timeout_s=10)

    assert other_hook.requests[0].at - started < 0.5


def test_run_once_sends_paced_messages_at_their_pace_before_it_returns(
    tmp_path: Path, hook: HttpReceiver
) -> None:
    channels = f"  desk:\n    type: slack\n    url: {hook.url()}\n    min_interval_s: 0.5\n"
    runtime = build_runtime(runtime_settings(tmp_path, channels))
    try:
        ids = add(runtime, "desk", 3)
        started = time.monotonic()
        report = runtime.run_once()
        took = time.monotonic() - started
    finally:
        runtime.close()

    assert sorted(o.delivery_id for o in report.deliveries) == sorted(ids)
    assert {o.state for o in report.deliveries} == {"sent"}
    assert len(hook.requests) == 3
    assert 1.0 <= took < 3.0
    assert all(gap >= 0.4 for gap in gaps(hook.requests)), gaps(hook.requests)
