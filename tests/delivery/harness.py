"""A pipeline wired to a real SQLite store and real channels, on a clock the test moves."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.channels.factories import make_alert
from worker.channels import build_channel
from worker.config import Settings, parse_settings
from worker.models import Alert, Delivery, DeliveryState
from worker.pacing import LocalTokenBucket
from worker.pipeline import DeliveryOutcome, Pipeline
from worker.store import Store
from worker.store.sqlite import SqliteStore


class FakeClock:
    """UTC wall time that moves only when told (it starts at the real now, so HTTP-date
    Retry-After values written by a test line up with it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return (self.now - self.start).total_seconds()

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def until(self, when: datetime) -> None:
        self.now = max(self.now, when)


def settings_for(
    channels_yaml: str, delivery_yaml: str = "", tmp_path: Path | None = None
) -> Settings:
    text = "watchlists: [{name: semis, tickers: [NVDA]}]\nchannels:\n" + channels_yaml
    if delivery_yaml:
        text += "delivery:\n" + delivery_yaml
    return parse_settings(text, str((tmp_path or Path(".")) / "policywatch.yaml"), {})


def seed(store: Store, channel: str, n: int, now: datetime, tag: str = "") -> list[str]:
    """Record `n` alerts for `channel` as if a feed had just produced them, one delivery each
    (due at `now`); returns the delivery ids."""
    ids = []
    for i in range(n):
        alert = make_alert(channel=channel, event_key=f"{channel}-{tag}{i}", created_at=now)
        delivery = Delivery(
            id=Delivery.make_id(channel, (alert.id,)),
            channel=channel,
            alert_ids=(alert.id,),
            state=DeliveryState.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        store.record_batch("wire", [f"{alert.item_id}-{alert.id}"], [alert], [delivery], now)
        ids.append(delivery.id)
    return ids


@dataclass
class Harness:
    pipeline: Pipeline
    store: SqliteStore
    clock: FakeClock

    def add(self, channel: str, n: int = 1, tag: str = "") -> list[str]:
        """Record `n` alerts for `channel`, one delivery each; returns the delivery ids."""
        return seed(self.store, channel, n, self.clock(), tag)

    def deliver(self, delivery_id: str) -> DeliveryOutcome:
        return self.pipeline.deliver(delivery_id)

    def get(self, delivery_id: str) -> Delivery:
        found = self.store.get_delivery(delivery_id)
        assert found is not None
        return found

    def wait_s(self, delivery_id: str) -> float:
        """Seconds from now until the delivery is due again."""
        return (self.get(delivery_id).next_attempt_at - self.clock()).total_seconds()

    def retry_when_due(self, delivery_id: str) -> DeliveryOutcome:
        self.clock.until(self.get(delivery_id).next_attempt_at)
        return self.deliver(delivery_id)


def build_harness(settings: Settings, tmp_path: Path, seed: int = 7) -> Harness:
    clock = FakeClock()
    store = SqliteStore(tmp_path / "state.db")
    channels = {name: build_channel(name, cfg) for name, cfg in settings.channels.items()}
    pipeline = Pipeline(
        settings,
        store,
        channels,
        clock=clock,
        rng=random.Random(seed),
        pacer=LocalTokenBucket(clock.monotonic),
    )
    return Harness(pipeline, store, clock)


__all__ = ["Alert", "FakeClock", "Harness", "build_harness", "seed", "settings_for"]
