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
from worker.digests import flush_digests
from worker.digests import status as digest_status
from worker.errors import DeliveryError, SourceError, TargetGoneError
from worker.logs import log_context
from worker.models import (
    Alert,
    ClusterMember,
    Delivery,
    FeedState,
    Item,
    Notification,
    ScoredItem,
)
from worker.pacing import Pacer, build_pacer, pace_key
from worker.politeness import (
    LAST_NEW_ITEM_AT,
    HostLimiter,
    adopt_config,
    after_failure,
    after_success,
    is_due,
    polled_feed,
    user_agent_for,
)
from worker.recorder import NULL_RECORDER, Recorder
from worker.relevance import Relevance
from worker.routing import Router
from worker.sources import mark_done, poll_source
from worker.store import Store

log = logging.getLogger(__name__)
# How often a running scheduler enforces `retention.seen` (both runtimes).
PRUNE_SEEN_EVERY_S = 3600.0
Clock = Callable[[], datetime]
# A paced delivery comes back this much after its slot opens, so that the pacer's clock and
# the store's clock, read a moment apart, agree that the slot is open.
PACE_MARGIN_S = 0.01


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    status: str  # "new", "unchanged", "not-modified", "error", "disabled", "waiting"
    items: tuple[Item, ...] = ()
    error: str = ""
    consumed: tuple[str, ...] = ()  # files a folder source read; see finish_poll
    # The feed's new validators (ETag, Last-Modified), saved by finish_poll once the items
    # are stored: saved earlier, a crash in between would turn the next poll into a 304 and
    # the items would never be seen.
    validated: FeedState | None = None


@dataclass(frozen=True)
class DeliveryOutcome:
    delivery_id: str
    channel: str
    state: str  # "sent", "failed", "dead", "skipped", "paced" (put back until its slot)
    detail: str = ""


def retry_delay_s(attempts: int, base_s: float, max_s: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: base × 2^(attempts-1), capped at `max_s`, then drawn
    from ×0.75–1.25 of that, never above `max_s` (the draw stays spread out at the cap, so
    deliveries failing together do not all come back at the same second)."""
    raw = min(max_s, base_s * 2.0 ** max(0, attempts - 1))
    return rng.uniform(0.75 * raw, min(max_s, 1.25 * raw))


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
        pacer: Pacer | None = None,
        hosts: HostLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.recorder = recorder
        self.hosts = hosts or HostLimiter(settings.polling.max_per_host)
        self.store = store
        self.channels = channels
        self.relevance = relevance or Relevance(
            settings.watchlists, source_file=settings.source_file
        )
        self.clock = clock
        self.rng = rng or random.Random()
        self.pacer = pacer or build_pacer(settings.state)
        self.base_dir = (
            Path(settings.source_file).resolve().parent if settings.source_file else Path.cwd()
        )
        self._watchlists = {w.name: w for w in settings.watchlists}
        self._company_names = {t: c.name for t, c in self.relevance.companies.items()}
        self.router = Router(settings, store, self.relevance.companies)

    # polling
    def poll_feed(self, feed: FeedConfig, client: httpx.Client) -> PollOutcome:
        """Fetch one feed politely (see worker/politeness.py), remember what it said, return
        the items it holds now. A feed that is backing off is not fetched ("waiting")."""
        with log_context(feed=feed.name):
            outcome = self._poll_feed(feed, client)
        self.recorder.fetched(feed.name, outcome.status, len(outcome.items))
        return outcome

    def _poll_feed(self, feed: FeedConfig, client: httpx.Client) -> PollOutcome:
        now = self.clock()
        state = adopt_config(self.store.get_feed_state(feed.name), feed)
        if state.disabled_reason:
            return PollOutcome(feed.name, "disabled", error=state.disabled_reason)
        if not is_due(state, now):
            due = f"{state.next_poll_at:%Y-%m-%d %H:%M:%S} UTC" if state.next_poll_at else "later"
            return PollOutcome(feed.name, "waiting", error=f"backing off until {due}")
        polled = polled_feed(feed, state)
        user_agent = user_agent_for(feed, self.settings)
        try:
            with self.hosts.slot(polled.url):
                result = poll_source(polled, state, client, user_agent, self.base_dir)
        except SourceError as exc:
            backoff_max_s = self.settings.polling.backoff_max_s
            failed = after_failure(state, polled, exc, now, self.rng, backoff_max_s)
            self.store.save_feed_state(failed)
            self._log_failure(feed, failed, exc, now)
            status = "disabled" if failed.disabled_reason else "error"
            return PollOutcome(feed.name, status, error=str(exc))
        for warning in result.warnings:
            log.warning("feed %s: %s", feed.name, warning)
        polled_state = after_success(state, polled, result, now)
        if polled_state.url != polled.url:
            log.warning(
                "feed %s moved permanently to %s; polling it there from now on (update the"
                " config's url to match)",
                feed.name,
                polled_state.url,
            )
        if result.not_modified:
            self.store.save_feed_state(polled_state)
            return PollOutcome(feed.name, "not-modified", consumed=result.consumed)
        unvalidated = replace(polled_state, etag=state.etag, last_modified=state.last_modified)
        self.store.save_feed_state(unvalidated)
        items = tuple(self._fresh(feed, result.items, now))
        return PollOutcome(
            feed.name, "new", items, consumed=result.consumed, validated=polled_state
        )

    def _log_failure(
        self, feed: FeedConfig, state: FeedState, exc: SourceError, now: datetime
    ) -> None:
        if state.disabled_reason:
            log.error("feed %s disabled: %s (%s)", feed.name, state.disabled_reason, exc)
            return
        wait = ((state.next_poll_at or now) - now).total_seconds()
        log.warning(
            "feed %s failed (%d in a row), next try in %.0fs: %s",
            feed.name,
            state.consecutive_failures,
            wait,
            exc,
        )

    def finish_poll(self, outcome: PollOutcome) -> None:
        """After the polled items are stored: the feed's new validators are saved, and files a
        watched folder handed over move to done/. Every runtime calls it after process_items."""
        if outcome.validated is not None:
            self.store.save_feed_state(outcome.validated)
        if outcome.consumed:
            mark_done(outcome.consumed)

    def note_new_items(self, feed: str, count: int) -> None:
        """Remember when a feed last brought new items (for silent-feed reports)."""
        state = self.store.get_feed_state(feed)
        if state is None or count <= 0:
            return
        now = self.clock().isoformat()
        self.store.save_feed_state(replace(state, extra={**state.extra, LAST_NEW_ITEM_AT: now}))

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
        now = self.clock()
        if not new_ids:
            self._touch_seen(feed, list(by_id), now)
            return [], []
        scored = [self.relevance.score(by_id[i]) for i in new_ids]
        # Stories, silences, quiet hours, grouping, digests: see worker/routing.py.
        routed = self.router.route(feed, new_ids, scored, now)
        self._touch_seen(feed, list(by_id), now)
        alerts, created = routed.alerts, routed.deliveries
        self.recorder.scored(feed, len(new_ids))
        self.note_new_items(feed, len(new_ids))
        by_item = {s.item.id: s for s in scored}
        for a in {(a.watchlist, a.ticker, a.item_id): a for a in alerts}.values():
            self.recorder.alerted(a.watchlist, a.ticker)
            log.info(
                "alert %s %s score=%d item=%s %r",
                a.watchlist,
                a.ticker,
                a.score,
                a.item_id,
                a.title[:80],
                extra=_alert_ids(feed, by_item[a.item_id], a.watchlist, a.ticker, alerts),
            )
        log.info(
            "feed %s: %d new of %d items, %d alerts (%d held, %d repeats folded), %d deliveries",
            feed,
            len(new_ids),
            len(items),
            len(alerts),
            len(routed.holds),
            routed.suppressed,
            len(created),
            extra={"feed": feed},
        )
        return scored, created

    def flush_due(self, force_groups: bool = False) -> list[Delivery]:
        """Turn due holds into deliveries: grouped alerts whose group_wait/group_interval is
        over, alerts whose quiet hours ended, and digests whose time has come (or came while
        we were down). With `force_groups`, every group waiting on group_wait goes now
        (`run --once` does that before exiting). Returns the deliveries created."""
        now = self.clock()
        if not force_groups and not self._flush_needed(now):
            return []
        with self.router.locked(now):
            created = self.router.flush_groups(now, force=force_groups)
            created += flush_digests(self.store, self.router.policies, now)
            self.router.prune(now)
        for delivery in created:
            log.info(
                "released %s %s to %s (%d alerts)",
                delivery.kind,
                delivery.id,
                delivery.channel,
                len(delivery.alert_ids),
            )
        return created

    def _flush_needed(self, now: datetime) -> bool:
        if self.router.has_due(now):
            return True
        return any(
            s.next_at <= now or s.last_at is None
            for s in digest_status(self.store, self.router.policies, now)
        )

    # retention
    def _touch_seen(self, feed: str, carried: Sequence[str], now: datetime) -> None:
        # Retention counts from the last poll that carried an item, so an item a feed keeps
        # for longer than the retention is never forgotten (and never alerted twice); and
        # what a feed's latest poll carried is kept however long the feed then stays quiet.
        if carried and self.settings.retention.seen is not None:
            self.store.touch_seen(feed, carried, now)

    def prune_seen(self) -> int:
        """Forget item ids that no poll has carried for `retention.seen`; returns how many."""
        keep_s = self.settings.retention.seen
        if keep_s is None:
            return 0
        pruned = self.store.prune_seen(self.clock() - timedelta(seconds=keep_s))
        if pruned:
            log.info("forgot %d seen items no feed has carried for %gs", pruned, keep_s)
        return pruned

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
        key, interval_s = self._pacing(delivery.channel)
        wait_s = self.pacer.acquire(key, interval_s)
        if wait_s > 0:
            return self._paced(delivery, wait_s)
        alerts = tuple(self.store.get_alerts(delivery.alert_ids))
        members: tuple[ClusterMember, ...] = ()
        if delivery.kind == "digest":  # a digest lists every report of each story
            members = tuple(self.store.cluster_members({a.cluster_id for a in alerts}))
        note = Notification(
            delivery.id,
            delivery.channel,
            alerts,
            delivery.kind,
            delivery.attempts,
            members=members,
            created_at=delivery.created_at,
        )
        try:
            answer = channel.send(note)
        except TargetGoneError as exc:
            self.store.disable_channel(delivery.channel, str(exc))
            log.error(
                "channel %s disabled: %s (delivery %s); once the target is fixed: "
                "policywatch channels enable %s",
                delivery.channel,
                exc,
                delivery.id,
                delivery.channel,
            )
            return self._dead(delivery, str(exc))
        except DeliveryError as exc:
            if exc.retry_after_s:
                # The target asked for quiet: every delivery to it waits, not only this one.
                self.pacer.hold(key, exc.retry_after_s)
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
        now = self.clock()
        due = now + timedelta(seconds=delay)
        deadline = delivery.created_at + timedelta(seconds=policy.max_age)
        if due > deadline:
            if now >= deadline or (exc.retry_after_s or 0) > (deadline - now).total_seconds():
                age = _duration(policy.max_age)
                return self._dead(delivery, f"{exc} (gave up: older than delivery.max_age {age})")
            due, delay = deadline, (deadline - now).total_seconds()  # one last try at the limit
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

    def _pacing(self, channel: str) -> tuple[str, float]:
        """The pacing key and least interval between sends of a channel's target."""
        config = self.settings.channels.get(channel)
        url = getattr(config, "url", "")
        interval_s = getattr(config, "min_interval_s", 0.0)
        return pace_key(channel, url if isinstance(url, str) else ""), float(interval_s)

    def _paced(self, delivery: Delivery, wait_s: float) -> DeliveryOutcome:
        """Put a claimed delivery back until its target's next slot; the attempt is not counted
        and no thread waits for it."""
        self.store.defer(delivery.id, self.clock() + timedelta(seconds=wait_s + PACE_MARGIN_S))
        log.debug(
            "delivery %s to %s paced: next slot in %.2fs", delivery.id, delivery.channel, wait_s
        )
        return DeliveryOutcome(
            delivery.id, delivery.channel, "paced", f"next slot in {wait_s:.2f}s"
        )

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


def _duration(seconds: float) -> str:
    """86400 → "1d", 5400 → "1.5h", 90 → "90s": the largest unit that reads well."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"
