"""Polling politely: when a feed is polled next, at which URL, and how many fetches at once.

- After a success the feed is next due after its interval (`every`). A permanent redirect
  (301 or 308 on every hop) moves the feed: its stored URL becomes the new one and is polled
  from then on, until the config names another URL.
- After a failure the feed waits its interval × 2^(failures in a row − 1), at most
  `polling.backoff_max_s` but never less than its interval, ±10 % so that feeds failing
  together do not retry together. A Retry-After (429, 503) is honoured when it is later, up
  to MAX_RETRY_AFTER_S. A 410 disables the feed until its config URL changes.
- A feed that is backing off is not due before its `next_poll_at`; one that is not failing is
  always due (its schedule is the runtime's business).
- At most `polling.max_per_host` fetches run at once against one host (HostLimiter).
- Feeds with the same interval are spread across it by a phase taken from their names.

The functions here decide; the pipeline stores what they return and logs it.
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from worker.config import FeedConfig, Settings
from worker.errors import FetchError, SourceError
from worker.models import FeedState
from worker.sources import PollResult

MAX_RETRY_AFTER_S = 86_400.0
JITTER = 0.1
# FeedState.extra keys
CONFIG_URL = "config_url"  # the config URL the stored state belongs to
FAILING_SINCE = "failing_since"  # ISO time of the first failure in the current run of them
TRACKED_SINCE = "tracked_since"  # ISO time of the first successful poll
LAST_NEW_ITEM_AT = "last_new_item_at"  # ISO time new items last came in


def adopt_config(state: FeedState | None, feed: FeedConfig) -> FeedState:
    """The stored state of `feed`, or a fresh one if there is none or if the config now names
    another URL than the state was built for (validators, moves, backoff and a 410 are then
    forgotten; history is kept)."""
    if state is None:
        return FeedState(name=feed.name, url=feed.url, extra={CONFIG_URL: feed.url})
    config_url = state.extra.get(CONFIG_URL, state.url)
    if config_url == feed.url:
        if state.extra.get(CONFIG_URL) == feed.url:
            return state
        return replace(state, extra={**state.extra, CONFIG_URL: feed.url})
    kept = {k: v for k, v in state.extra.items() if k not in (FAILING_SINCE, CONFIG_URL)}
    return FeedState(
        name=feed.name,
        url=feed.url,
        last_polled_at=state.last_polled_at,
        last_success_at=state.last_success_at,
        items_seen=state.items_seen,
        extra={**kept, CONFIG_URL: feed.url},
    )


def polled_feed(feed: FeedConfig, state: FeedState) -> FeedConfig:
    """`feed` as it is to be polled: at its stored URL after a permanent redirect."""
    if state.url and state.url != feed.url and state.extra.get(CONFIG_URL) == feed.url:
        return feed.model_copy(update={"url": state.url})
    return feed


def is_due(state: FeedState, now: datetime) -> bool:
    """False while a failing feed waits out its backoff or a Retry-After."""
    if state.consecutive_failures == 0 or state.next_poll_at is None:
        return True
    return state.next_poll_at <= now


def backoff_s(failures: int, every_s: float, max_s: float, rng: random.Random) -> float:
    """every × 2^(failures − 1), capped at max(max_s, every), then ±JITTER."""
    cap = max(max_s, every_s)
    raw = min(cap, every_s * 2.0 ** min(max(0, failures - 1), 32))
    return raw * rng.uniform(1 - JITTER, 1 + JITTER)


def after_success(
    state: FeedState, polled: FeedConfig, result: PollResult, now: datetime
) -> FeedState:
    """The state after a poll that worked: validators kept, a permanent move taken, due again
    after the feed's interval."""
    extra = {k: v for k, v in state.extra.items() if k != FAILING_SINCE}
    extra.setdefault(TRACKED_SINCE, now.isoformat())
    return replace(
        state,
        url=result.permanent_url or polled.url,
        etag=result.etag,
        last_modified=result.last_modified,
        last_polled_at=now,
        last_success_at=now,
        last_error="",
        consecutive_failures=0,
        next_poll_at=now + timedelta(seconds=polled.every),
        items_seen=state.items_seen + len(result.items),
        extra=extra,
    )


def after_failure(
    state: FeedState,
    feed: FeedConfig,
    error: SourceError,
    now: datetime,
    rng: random.Random,
    backoff_max_s: float,
) -> FeedState:
    """The state after a failed poll: backing off (or waiting out a Retry-After), and disabled
    for good after a 410."""
    failures = state.consecutive_failures + 1
    delay = backoff_s(failures, feed.every, backoff_max_s, rng)
    disabled = state.disabled_reason
    if isinstance(error, FetchError):
        if error.retry_after_s is not None:
            delay = max(delay, min(error.retry_after_s, MAX_RETRY_AFTER_S))
        if error.status == 410:
            disabled = (
                f"HTTP 410 Gone at {now:%Y-%m-%d %H:%M} UTC: the source says it is gone for "
                "good; give the feed a new URL to poll it again"
            )
    extra = dict(state.extra)
    extra.setdefault(FAILING_SINCE, now.isoformat())
    return replace(
        state,
        last_polled_at=now,
        last_error=str(error),
        consecutive_failures=failures,
        next_poll_at=now + timedelta(seconds=delay),
        disabled_reason=disabled,
        extra=extra,
    )


def user_agent_for(feed: FeedConfig, settings: Settings) -> str:
    """The feed's own User-Agent, else for EDGAR `edgar_user_agent`, else `user_agent`."""
    if feed.user_agent:
        return feed.user_agent
    if feed.kind == "edgar" and settings.edgar_user_agent:
        return settings.edgar_user_agent
    return settings.user_agent


def host_of(url: str) -> str:
    """The host a URL's requests go to, lowercased; "" for anything that is not http(s)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https"):
        return ""
    return (parts.hostname or "").lower()


class HostLimiter:
    """At most `per_host` callers at once inside `slot(url)` for URLs on one host; the others
    wait their turn. Non-HTTP URLs (files, folders) are never held."""

    def __init__(self, per_host: int) -> None:
        self.per_host = per_host
        self._lock = threading.Lock()
        self._hosts: dict[str, threading.BoundedSemaphore] = {}

    @contextmanager
    def slot(self, url: str) -> Iterator[None]:
        host = host_of(url)
        if not host:
            yield
            return
        with self._lock:
            semaphore = self._hosts.get(host)
            if semaphore is None:
                semaphore = self._hosts[host] = threading.BoundedSemaphore(self.per_host)
        with semaphore:
            yield


def phase_s(name: str, every_s: float) -> float:
    """A stable offset in [0, every) from a feed's name: feeds with one interval spread out."""
    fraction = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") / 2.0**64
    return fraction * every_s


def interleave_by_host(feeds: Sequence[FeedConfig]) -> list[FeedConfig]:
    """`feeds` reordered round-robin across hosts, so a pool of workers works on many hosts at
    once instead of queueing on one host's cap. Order within a host is kept."""
    by_host: dict[str, list[FeedConfig]] = defaultdict(list)
    for feed in feeds:
        by_host[host_of(feed.url)].append(feed)
    queues = list(by_host.values())
    out: list[FeedConfig] = []
    for rank in range(max((len(q) for q in queues), default=0)):
        out.extend(q[rank] for q in queues if rank < len(q))
    return out
