"""Item, Match, Alert, Delivery: the plain data that flows through the stages. No I/O."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


def stable_hash(*parts: str) -> str:
    """A short, stable SHA-256 over `parts` (joined by an unambiguous separator)."""
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Item:
    """One normalised story. `id` is stable across polls: guid, else link, else text hash."""

    id: str
    title: str
    summary: str = ""
    content: str = ""
    link: str = ""
    published: datetime | None = None
    source: str = ""
    language: str = ""

    @property
    def body(self) -> str:
        """Summary and content together, without repeating a summary the content contains."""
        if not self.content:
            return self.summary
        if not self.summary or self.summary in self.content:
            return self.content
        return f"{self.summary}\n{self.content}"


@dataclass(frozen=True, slots=True)
class Match:
    """One (item, ticker) pair with its 0-100 score and why."""

    item_id: str
    ticker: str
    watchlist: str
    score: int
    alert: bool
    terms: tuple[str, ...]
    evidence: str


@dataclass(frozen=True, slots=True)
class ScoredItem:
    """What scoring says about one item: is it a policy event, and which tickers it touches."""

    item: Item
    policy_event: bool
    event_score: int
    matches: tuple[Match, ...]


@dataclass(frozen=True, slots=True)
class Alert:
    """A match that passed a watchlist's rules, bound for one channel.

    `id` is the idempotency key H(watchlist, ticker, event, channel): the same event never
    makes two alerts for the same ticker on the same channel.
    """

    id: str
    watchlist: str
    ticker: str
    channel: str
    event_key: str
    item_id: str
    score: int
    title: str
    link: str
    source: str
    published: datetime | None
    evidence: str
    terms: tuple[str, ...]
    created_at: datetime
    company: str = ""

    @staticmethod
    def make_id(watchlist: str, ticker: str, event_key: str, channel: str) -> str:
        return "alr_" + stable_hash(watchlist, ticker, event_key, channel)


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"


@dataclass(frozen=True, slots=True)
class Delivery:
    """The attempt history of one message (one or more alerts) to one channel.

    `id` stays the same across retries; receivers use it to drop repeats.
    Times are UTC; `next_attempt_at` is when a FAILED or PENDING delivery is due.
    """

    id: str
    channel: str
    alert_ids: tuple[str, ...]
    state: DeliveryState
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    lease_until: datetime | None = None
    sent_at: datetime | None = None
    last_error: str = ""
    kind: str = "instant"

    @staticmethod
    def make_id(channel: str, alert_ids: tuple[str, ...]) -> str:
        return "dlv_" + stable_hash(channel, *sorted(alert_ids))


@dataclass(frozen=True, slots=True)
class Notification:
    """What a channel sends: one or more alerts under one delivery id."""

    delivery_id: str
    channel: str
    alerts: tuple[Alert, ...]
    kind: str = "instant"
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class FeedState:
    """What we remember about a feed between polls. Times are UTC."""

    name: str
    url: str
    etag: str = ""
    last_modified: str = ""
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str = ""
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    items_seen: int = 0
    disabled_reason: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A running scheduler's sign of life, written to the store every few seconds.

    `component` is e.g. "scheduler"; `holder` says which process (host:pid) wrote it, which for
    the distributed runtime is the leader. `jobs` maps each scheduled job id (`poll:<feed>`,
    `digest:<name>`, ...) to its next run (UTC; None when paused). `beat_at` is UTC.
    """

    component: str
    holder: str
    beat_at: datetime
    jobs: dict[str, datetime | None] = field(default_factory=dict)
