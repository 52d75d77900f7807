"""Fixtures for routing tests: a fake clock, a recording channel, a pipeline over SQLite."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.routing.stories import SCORES
from worker.config import WatchlistConfig, parse_settings
from worker.models import Item, Match, Notification, ScoredItem
from worker.pipeline import Pipeline
from worker.relevance import Relevance
from worker.store.sqlite import SqliteStore


class ScriptedRelevance:
    """Scores items from a table (tests/routing/stories.py SCORES) instead of the scorer, so
    routing tests do not move when scoring is tuned. Every listed item is a policy event; a
    match alerts at the watchlist's min_score (60 here)."""

    def __init__(self, watchlists: list[WatchlistConfig], scores: dict[str, dict[str, int]]):
        self.companies = Relevance(watchlists).companies
        self._scores = scores
        self._watchlist = watchlists[0].name

    def score(self, item: Item) -> ScoredItem:
        found = self._scores.get(item.id, {})
        evidence = item.summary.split(". ")[0]  # the lead sentence
        matches = tuple(
            Match(item.id, ticker, self._watchlist, score, score >= 60, ("scripted",), evidence)
            for ticker, score in sorted(found.items(), key=lambda kv: -kv[1])
        )
        return ScoredItem(item, bool(found), 90 if found else 0, matches)


class FakeClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when


@dataclass
class Recorder:
    """A channel that keeps what it was asked to send."""

    name: str
    sent: list[Notification] = field(default_factory=list)

    def send(self, notification: Notification) -> str:
        self.sent.append(notification)
        return f"recorded {len(notification.alerts)}"

    def titles(self) -> list[list[str]]:
        return [[a.title for a in n.alerts] for n in self.sent]


WATCHLIST = """
watchlists:
  - name: semis
    tickers: [NVDA, AMD, 000977.SZ]
    min_score: 60
    notify: [{channels}]
"""


@dataclass
class Desk:
    """A pipeline with recording channels, a fake clock and a SQLite store in tmp_path."""

    pipeline: Pipeline
    clock: FakeClock
    channels: dict[str, Recorder]
    store: SqliteStore

    def feed(self, *items: Item, feed: str = "wire") -> None:
        self.pipeline.process_items(feed, list(items))

    def deliver(self) -> None:
        """What the runtime does each tick: flush what is due, send what is due."""
        self.pipeline.flush_due()
        self.pipeline.deliver_due()

    def sent(self, channel: str) -> list[Notification]:
        return self.channels[channel].sent


MakeDesk = Callable[..., Desk]


@pytest.fixture
def make_desk(tmp_path: Path) -> Iterator[MakeDesk]:
    """make_desk(channels_yaml, start=datetime, extra="") → a Desk; channels_yaml maps names to
    settings (every channel is notified by the watchlist)."""
    opened: list[Desk] = []

    def build(
        channels: dict[str, str],
        start: datetime = datetime(2025, 4, 15, 12, 0, tzinfo=UTC),
        extra: str = "",
        db: str = "state.db",
        clock: FakeClock | None = None,
    ) -> Desk:
        lines = ["channels:"]
        for name, body in channels.items():
            lines.append(f"  {name}:")
            lines.append("    type: console")
            lines.extend(f"    {line}" for line in body.strip().splitlines() if line.strip())
        text = WATCHLIST.format(channels=", ".join(channels)) + "\n".join(lines) + "\n" + extra
        settings = parse_settings(text, "test.yaml", {})
        store = SqliteStore(tmp_path / db)
        recorders = {name: Recorder(name) for name in channels}
        fake = clock or FakeClock(start)
        relevance = ScriptedRelevance(settings.watchlists, SCORES)
        pipeline = Pipeline(settings, store, recorders, relevance=relevance, clock=fake)  # type: ignore[arg-type]
        desk = Desk(pipeline, fake, recorders, store)
        opened.append(desk)
        return desk

    yield build
    for desk in opened:
        desk.store.close()
