"""The stages composed: poll → parse → seen? → score → route → record → deliver.

Plain functions over plain data and a Store; nothing here knows whether it runs in one
process or inside a Celery task.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from worker.channels import Channel
from worker.config import FeedConfig, Settings
from worker.errors import DeliveryError, SourceError, TargetGoneError
from worker.logs import log_context
from worker.models import Alert, Delivery, FeedState, Item, Notification, ScoredItem
from worker.recorder import NULL_RECORDER, Recorder
from worker.relevance import Relevance
from worker.routing import alerts_for, deliveries_for
from worker.sources import poll_source
from worker.store import Store

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    status: str  # "new", "unchanged", "not-modified", "error", "disabled"
    items: tuple[Item, ...] = ()
    error: str = ""


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: str
    channel: str
    state: str  # "sent", "failed", "dead", "skipped"
    detail: str = ""


def retry_delay_s(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: base × 2^(attempts-1), capped, then ×0.75–1.25."""
    raw = min(max_s, base_s * 2.0 ** max(0, attempts - 1))
    return min(max_s, raw * rng.uniform(0.75, 1.25))


class Pipeline:
    """One settings object, one store, one relevance engine, the channels; the stages as methods."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        channels: Mapping[str, Channel],
        relevance: Relevance | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        recorder: Recorder = NULL_RECORDER,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.store = store
        self.channels = channels
        self.relevance = relevance or Relevance(
            settings.watchlists, source_file=settings.source_file
        )
        self.clock = clock
        self.rng = rng or random.Random()
        self.base_dir = (
            Path(settings.source_file).resolve().parent if settings.source_file else Path.cwd()
        )
        self._watchlists = {w.name: w for w in settings.watchlists}
        self._company_names = {t: c.name for t, c in self.relevance.companies.items()}

    # polling
    def poll_feed(self, feed: FeedConfig, client: httpx.Client) -> PollOutcome:
        """Fetch one feed, remember its validators, return the items it holds now."""
        with log_context(feed=feed.name):
            outcome = self._poll_feed(feed, client)
        self.recorder.fetched(feed.name, outcome.status, len(outcome.items))
        return outcome

    def _poll_feed(self, feed: FeedConfig, client: httpx.Client) -> PollOutcome:
        now = self.clock()
        state = self.store.get_feed_state(feed.name) or FeedState(name=feed.name, url=feed.url)
        if state.disabled_reason:
            return PollOutcome(feed.name, "disabled", error=state.disabled_reason)
        try:
            result = poll_source(feed, state, client, self.settings.user_agent, self.base_dir)
        except SourceError as exc:
            failures = state.consecutive_failures + 1
            self.store.save_feed_state(
                replace(
                    state,
                    last_polled_at=now,
                    last_error=str(exc),
                    consecutive_failures=failures,
                    next_poll_at=now + timedelta(seconds=feed.every),
                )
            )
            log.warning("feed %s failed (%d in a row): %s", feed.name, failures, exc)
            return PollOutcome(feed.name, "error", error=str(exc))
        for warning in result.warnings:
            log.warning("feed %s: %s", feed.name, warning)
        self.store.save_feed_state(
            replace(
                state,
                url=feed.url,
                etag=result.etag or state.etag,
                last_modified=result.last_modified or state.last_modified,
                last_polled_at=now,
                last_success_at=now,
                last_error="",
                consecutive_failures=0,
                next_poll_at=now + timedelta(seconds=feed.every),
                items_seen=state.items_seen + len(result.items),
            )
        )
        if result.not_modified:
            return PollOutcome(feed.name, "not-modified")
        return PollOutcome(feed.name, "new", tuple(self._fresh(feed, result.items, now)))

    def _fresh(self, feed: FeedConfig, items: Sequence[Item], now: datetime) -> list[Item]:
        max_age = feed.max_age or self.settings.max_age
        if not max_age:
            return list(items)
        oldest = now - timedelta(seconds=max_age)
        return [i for i in items if i.published is None or i.published >= oldest]

    # scoring and routing
    def process_items(
        self, feed: str, items: Sequence[Item]
    ) -> tuple[list[ScoredItem], list[Delivery]]:
        """Score unseen items, write their alerts and deliveries, mark them seen: one
        transaction, so a crash here loses nothing and repeats nothing. Returns the scored
        new items and the deliveries this call created (to be dispatched)."""
        by_id = {i.id: i for i in items}
        new_ids = self.store.unseen(list(by_id))
        if not new_ids:
            return [], []
        now = self.clock()
        scored = [self.relevance.score(by_id[i]) for i in new_ids]
        alerts = [
            a for s in scored for a in alerts_for(s, self._watchlists, self._company_names, now)
        ]
        created = self.store.record_batch(feed, new_ids, alerts, deliveries_for(alerts, now), now)
        self.recorder.scored(feed, len(new_ids))
        for s in scored:
            for m in s.matches:
                if m.alert:
                    self.recorder.alerted(m.watchlist, m.ticker)
                    log.info(
                        "alert %s %s score=%d item=%s %r",
                        m.watchlist,
                        m.ticker,
                        m.score,
                        s.item.id,
                        s.item.title[:80],
                        extra=_alert_ids(feed, s, m.watchlist, m.ticker, alerts),
                    )
        log.info(
            "feed %s: %d new of %d items, %d alerts, %d deliveries",
            feed,
            len(new_ids),
            len(items),
            len(alerts),
            len(created),
            extra={"feed": feed},
        )
        return scored, created

    # delivery
    def deliver(self, delivery_id: str) -> DeliveryOutcome:
        """Claim one delivery (if due), send it, record the outcome. Never raises for a send."""
        now = self.clock()
        delivery = self.store.claim(delivery_id, now, self.settings.delivery.lease_s)
        if delivery is None:
            return DeliveryOutcome(delivery_id, "", "skipped", "not due or already taken")
        return self._send_observed(delivery)

    def deliver_due(self, limit: int = 100) -> list[DeliveryOutcome]:
        now = self.clock()
        claimed = self.store.claim_due(now, self.settings.delivery.lease_s, limit)
        return [self._send_observed(d) for d in claimed]

    def _send_observed(self, delivery: Delivery) -> DeliveryOutcome:
        """`_send` with the delivery's ids on every log line, timed and counted."""
        started = time.monotonic()
        with log_context(
            delivery_id=delivery.id,
            channel=delivery.channel,
            alert_id=",".join(delivery.alert_ids),
        ):
            outcome = self._send(delivery)
        latency_s = None
        if outcome.state == "sent":
            latency_s = max(0.0, (self.clock() - delivery.created_at).total_seconds())
        self.recorder.delivered(
            delivery.channel, outcome.state, time.monotonic() - started, latency_s
        )
        return outcome

    def _send(self, delivery: Delivery) -> DeliveryOutcome:
        channel = self.channels.get(delivery.channel)
        if channel is None:
            return self._dead(delivery, f"channel {delivery.channel!r} is not configured")
        disabled = self.store.channel_disabled(delivery.channel)
        if disabled:
            return self._dead(delivery, f"channel disabled: {disabled}")
        alerts = tuple(self.store.get_alerts(delivery.alert_ids))
        note = Notification(delivery.id, delivery.channel, alerts, delivery.kind, delivery.attempts)
        try:
            answer = channel.send(note)
        except TargetGoneError as exc:
            self.store.disable_channel(delivery.channel, str(exc))
            log.error("channel %s disabled: %s (delivery %s)", delivery.channel, exc, delivery.id)
            return self._dead(delivery, str(exc))
        except DeliveryError as exc:
            return self._failed(delivery, exc)
        self.store.mark_sent(delivery.id, self.clock())
        log.info(
            "delivery %s sent to %s (%d alerts): %s",
            delivery.id,
            delivery.channel,
            len(alerts),
            answer,
        )
        return DeliveryOutcome(delivery.id, delivery.channel, "sent", answer)

    def _failed(self, delivery: Delivery, exc: DeliveryError) -> DeliveryOutcome:
        policy = self.settings.delivery
        if not exc.retryable or delivery.attempts >= policy.max_attempts:
            why = str(exc) if not exc.retryable else f"{exc} (after {delivery.attempts} attempts)"
            return self._dead(delivery, why)
        delay = retry_delay_s(
            delivery.attempts, policy.backoff_base_s, policy.backoff_max_s, self.rng
        )
        if exc.retry_after_s is not None:
            delay = max(delay, exc.retry_after_s)
        due = self.clock() + timedelta(seconds=delay)
        self.store.mark_failed(delivery.id, str(exc), due)
        log.warning(
            "delivery %s to %s failed (attempt %d), retry in %.0fs: %s",
            delivery.id,
            delivery.channel,
            delivery.attempts,
            delay,
            exc,
        )
        return DeliveryOutcome(delivery.id, delivery.channel, "failed", str(exc))

    def _dead(self, delivery: Delivery, why: str) -> DeliveryOutcome:
        self.store.mark_dead(delivery.id, why)
        log.error("delivery %s to %s is dead: %s", delivery.id, delivery.channel, why)
        return DeliveryOutcome(delivery.id, delivery.channel, "dead", why)


def _alert_ids(
    feed: str, scored: ScoredItem, watchlist: str, ticker: str, alerts: Sequence[Alert]
) -> dict[str, str]:
    """The ids a log line about one alerting match carries."""
    ids = [
        a.id
        for a in alerts
        if a.item_id == scored.item.id and a.watchlist == watchlist and a.ticker == ticker
    ]
    return {
        "feed": feed,
        "item_id": scored.item.id,
        "watchlist": watchlist,
        "ticker": ticker,
        "alert_id": ",".join(ids),
    }
