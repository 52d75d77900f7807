"""Which feeds need a person: failing for too long, silent for too long, or disabled.

`feed_health` is what `policywatch status` shows; `report_changes` writes the log line when a
feed starts or stops needing attention. Statuses:

    new        not polled yet
    ok         polled fine (and not silent)
    retrying   failed lately, not yet for long: max(3 × its interval, 10 min)
    failing    failed on every poll for longer than that
    silent     no new items for longer than its `stale_after` (only feeds that set one)
    disabled   gone (HTTP 410); polled again only once its config URL changes
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from worker.config import FeedConfig
from worker.models import FeedState
from worker.politeness import FAILING_SINCE, LAST_NEW_ITEM_AT, TRACKED_SINCE

log = logging.getLogger(__name__)

FAILING_GRACE_MIN_S = 600.0
ATTENTION = frozenset({"failing", "silent", "disabled"})


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """One feed's health at one moment; `detail` says why in words. Times are UTC."""

    name: str
    kind: str
    url: str
    status: str
    detail: str
    last_success_at: datetime | None = None
    last_new_item_at: datetime | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    last_error: str = ""

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION


def feed_health(
    feeds: Sequence[FeedConfig], states: Iterable[FeedState], now: datetime
) -> list[FeedHealth]:
    """The health of each configured feed, in config order, from its stored state."""
    by_name = {s.name: s for s in states}
    return [assess(feed, by_name.get(feed.name), now) for feed in feeds]


def assess(feed: FeedConfig, state: FeedState | None, now: datetime) -> FeedHealth:
    """One feed's health; see the module docstring for what each status means."""
    if state is None or state.last_polled_at is None:
        return FeedHealth(feed.name, feed.kind, feed.url, "new", "not polled yet")
    last_new = _time(state.extra.get(LAST_NEW_ITEM_AT))

    def health(status: str, detail: str) -> FeedHealth:
        return FeedHealth(
            feed.name,
            feed.kind,
            state.url or feed.url,
            status,
            detail,
            state.last_success_at,
            last_new,
            state.consecutive_failures,
            state.next_poll_at,
            state.last_error,
        )

    if state.disabled_reason:
        return health("disabled", state.disabled_reason)
    if state.consecutive_failures:
        since = _time(state.extra.get(FAILING_SINCE)) or state.last_polled_at
        down = now - since
        grace = timedelta(seconds=max(3 * feed.every, FAILING_GRACE_MIN_S))
        polls = f"{state.consecutive_failures} failed polls in a row"
        if down >= grace:
            return health("failing", f"failing for {describe(down)} ({polls}): {state.last_error}")
        when = (
            f"; next try {state.next_poll_at:%Y-%m-%d %H:%M:%S} UTC" if state.next_poll_at else ""
        )
        return health("retrying", f"{polls}{when}: {state.last_error}")
    if feed.stale_after:
        quiet_since = last_new or _time(state.extra.get(TRACKED_SINCE)) or state.last_success_at
        if quiet_since and now - quiet_since > timedelta(seconds=feed.stale_after):
            quiet, expected = (
                describe(now - quiet_since),
                describe(timedelta(seconds=feed.stale_after)),
            )
            return health("silent", f"no new items for {quiet} (expected within {expected})")
    return health("ok", "polled fine")


def report_changes(healths: Sequence[FeedHealth], previous: Mapping[str, str]) -> dict[str, str]:
    """Log a warning for each feed that now needs attention and did not before, and a note for
    each that recovered; returns the statuses to pass as `previous` next time."""
    for h in healths:
        before = previous.get(h.name, "")
        if h.needs_attention and before != h.status:
            log.warning("feed %s is %s: %s", h.name, h.status, h.detail)
        elif before in ATTENTION and not h.needs_attention:
            log.info("feed %s recovered: %s", h.name, h.detail)
    return {h.name: h.status for h in healths}


def describe(span: timedelta) -> str:
    """A duration in words a person reads at a glance: 45s, 12m, 3h 5m, 2d 4h."""
    seconds = int(max(0.0, span.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
