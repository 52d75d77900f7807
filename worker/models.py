"""Item, Match, Alert, Delivery: the plain data that flows through the stages. No I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
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
    # The story (event cluster) this alert is about, and which alert for it this is: 0 for the
    # first, n for the n-th repeat after `repeat_interval` (see worker/routing.py).
    cluster_id: str = ""
    update: int = 0

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
    # Every report of the stories the alerts are about (digests list them as sources), and
    # when the delivery was made (for a digest: the scheduled time it is for).
    members: tuple[ClusterMember, ...] = ()
    created_at: datetime | None = None


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
class ClusterMember:
    """One report of a story: an item and the event cluster it joined. Times are UTC.

    `started_at` is when the story's first report happened; `event_at` when this one did
    (published, else seen). `features` holds the item's clustering features as JSON.
    """

    cluster_id: str
    item_id: str
    title: str
    link: str
    source: str
    published: datetime | None
    event_at: datetime
    started_at: datetime
    seen_at: datetime
    features: str = ""


class HoldReason(StrEnum):
    GROUP = "group"  # waiting for group_wait / group_interval
    QUIET = "quiet"  # waiting for quiet hours to end
    DIGEST = "digest"  # waiting for the channel's next digest
    SILENCED = "silenced"  # muted by a silence: kept for the record, never sent


@dataclass(frozen=True, slots=True)
class Hold:
    """An alert kept back from its channel, and why. Times are UTC.

    `release_at` is when a GROUP or QUIET hold is due; None for DIGEST (the schedule decides)
    and SILENCED (never). `group_key` names the group whose held alerts go out as one message.
    """

    alert_id: str
    channel: str
    group_key: str
    reason: HoldReason
    created_at: datetime
    release_at: datetime | None = None
    silence_id: str = ""


@dataclass(frozen=True, slots=True)
class Silence:
    """Mutes alerts matching every one of `matchers` ((label, value): ticker, watchlist,
    channel) from `starts_at` until `ends_at` (UTC). Muted alerts are recorded, not sent."""

    id: str
    matchers: tuple[tuple[str, str], ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime


@dataclass(frozen=True)
class RoutedBatch:
    """What routing one batch of new items writes, atomically: items seen, alerts, the
    deliveries due now, the holds, the story members, and marks (key → value) to set."""

    feed: str
    item_ids: Sequence[str]
    alerts: Sequence[Alert]
    deliveries: Sequence[Delivery]
    holds: Sequence[Hold]
    members: Sequence[ClusterMember]
    marks: Mapping[str, str]
    now: datetime


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


@dataclass(frozen=True, slots=True)
class DisabledChannel:
    """A channel switched off because its target is gone (404/410), with why and since when.

    Deliveries to it go DEAD until it is enabled again. `since` is UTC (None if unknown).
    """

    name: str
    reason: str
    since: datetime | None = None
