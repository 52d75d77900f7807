"""Watchlists → alerts → when and where they go.

For each batch of newly scored items, under the routing lock:

1. Stories: each item that is a policy event (or alerts) joins the story it reports, or starts
   one (worker/clustering.py). The story is the alert's event key, so a later report of the
   same event makes no new alert for the same (watchlist, ticker, channel); once
   `repeat_interval` has passed since the last alert for it, a later report makes one update
   alert. A genuinely new development is a new story, hence a new alert.
2. Per alert, by its channel's policy: muted by an active silence → a SILENCED hold (recorded,
   never sent); a digest channel → a DIGEST hold (worker/digests.py sends it on schedule); an
   instant channel → due at its group's release time: `group_wait` after the first alert of a
   new group, or the next `group_interval` tick after the group's last message; moved to the
   end of quiet hours unless it scores `breakthrough_score`. Due now → a delivery at once, else
   a GROUP or QUIET hold.

`flush` later turns due holds into one delivery per (channel, group) and sends due digests.
With the defaults (group by watchlist, ticker and story; no waits) every alert goes out at once
on its own, as Alertmanager does with grouping off.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from worker.clustering import (
    Assignment,
    Clusterer,
    EventFeatures,
    FeatureExtractor,
    event_time,
    members_for,
    new_cluster_id,
)
from worker.config import ChannelConfig, ConsoleChannelConfig, Settings, WatchlistConfig
from worker.errors import StoreError
from worker.models import (
    Alert,
    ClusterMember,
    Delivery,
    DeliveryState,
    Hold,
    HoldReason,
    Item,
    RoutedBatch,
    ScoredItem,
    Silence,
    stable_hash,
)
from worker.quiet import QuietHours
from worker.relevance.directory import Company
from worker.schedule import Schedule, parse_schedule, zone_named
from worker.silences import first_muting, is_active
from worker.store import Store

log = logging.getLogger(__name__)

LOCK_NAME = "routing"
LOCK_TTL_S = 60.0
LOCK_WAIT_S = 30.0
PRUNE_EVERY = timedelta(hours=1)
MIN_RETENTION = timedelta(days=30)
GROUP_MARK = "grp:"
ALERT_LOG_MARK = "alog:"


@dataclass(frozen=True)
class ChannelPolicy:
    """How one channel wants its alerts: instant (grouped, quiet hours) or as digests."""

    name: str
    mode: str = "instant"
    group_by: tuple[str, ...] = ("watchlist", "ticker", "cluster")
    group_wait: timedelta = timedelta(0)
    group_interval: timedelta = timedelta(0)
    repeat_interval: timedelta = timedelta(days=1)
    zone: ZoneInfo = field(default_factory=lambda: zone_named("UTC"))
    schedule: Schedule = field(
        default_factory=lambda: parse_schedule("daily 08:00").in_zone(zone_named("UTC"))
    )
    quiet: QuietHours | None = None
    max_stories: int = 60
    send_empty: bool = False

    @classmethod
    def of(cls, name: str, config: ChannelConfig) -> ChannelPolicy:
        zone = zone_named(config.timezone)
        quiet = None
        if config.quiet_hours is not None:
            q = config.quiet_hours
            quiet = QuietHours.from_config(
                [(t.start_time, t.end_time) for t in q.times],
                q.weekdays,
                q.timezone or config.timezone,
                q.breakthrough_score,
            )
        return cls(
            name=name,
            mode=config.mode,
            group_by=tuple(config.group_by),
            group_wait=timedelta(seconds=config.group_wait),
            group_interval=timedelta(seconds=config.group_interval),
            repeat_interval=timedelta(seconds=config.repeat_interval),
            zone=zone,
            schedule=parse_schedule(config.schedule).in_zone(zone),
            quiet=quiet,
            max_stories=config.digest_max_stories,
            send_empty=config.digest_send_empty,
        )


def policies_for(settings: Settings) -> dict[str, ChannelPolicy]:
    return {name: ChannelPolicy.of(name, cfg) for name, cfg in settings.channels.items()}


def group_key(alert: Alert, labels: Sequence[str]) -> str:
    """`watchlist=semis|ticker=NVDA`: the labels an alert's group is made of."""
    values = {"watchlist": alert.watchlist, "ticker": alert.ticker, "cluster": alert.cluster_id}
    return "|".join(f"{label}={values[label]}" for label in labels)


def group_mark(channel: str, key: str) -> str:
    return f"{GROUP_MARK}{channel}:{stable_hash(key)}"


def alert_log_mark(channel: str, watchlist: str, ticker: str, cluster_id: str) -> str:
    return ALERT_LOG_MARK + stable_hash(channel, watchlist, ticker, cluster_id)


def alerts_for(
    scored: ScoredItem,
    watchlists: Mapping[str, WatchlistConfig],
    company_names: Mapping[str, str],
    now: datetime,
    cluster_id: str = "",
) -> list[Alert]:
    """One alert per (alerting match, channel the watchlist notifies). The event key is the
    story (`cluster_id`), else the item id, so one event alerts a ticker once per channel."""
    item = scored.item
    event_key = cluster_id or item.id
    alerts = []
    for match in scored.matches:
        if not match.alert:
            continue
        for channel in watchlists[match.watchlist].notify:
            alerts.append(
                Alert(
                    id=Alert.make_id(match.watchlist, match.ticker, event_key, channel),
                    watchlist=match.watchlist,
                    ticker=match.ticker,
                    channel=channel,
                    event_key=event_key,
                    item_id=item.id,
                    score=match.score,
                    title=item.title,
                    link=item.link,
                    source=item.source,
                    published=item.published,
                    evidence=match.evidence,
                    terms=match.terms,
                    created_at=now,
                    company=company_names.get(match.ticker, match.ticker),
                    cluster_id=cluster_id,
                )
            )
    return alerts


def deliveries_for(alerts: Sequence[Alert], now: datetime) -> list[Delivery]:
    """One delivery per alert, due at once (grouping off)."""
    return [instant_delivery(a.channel, [a], now) for a in alerts]


def instant_delivery(channel: str, alerts: Sequence[Alert], now: datetime) -> Delivery:
    """One message carrying `alerts`, best score first, due now."""
    ids = tuple(a.id for a in sorted(alerts, key=lambda a: (-a.score, a.ticker, a.id)))
    return Delivery(
        id=Delivery.make_id(channel, ids),
        channel=channel,
        alert_ids=ids,
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
    )


@dataclass(frozen=True)
class RouteResult:
    """What routing one batch did: the new alerts, the holds, the deliveries it created, and
    where each clustered item went."""

    alerts: list[Alert]
    holds: list[Hold]
    deliveries: list[Delivery]
    stories: dict[str, Assignment]
    suppressed: int = 0


class Router:
    """Routes scored items into alerts, holds and deliveries; flushes due holds and digests.

    Thread-safe; several processes sharing a store serialise on the store's routing lock.
    Raises StoreError when the lock cannot be had within LOCK_WAIT_S.
    """

    def __init__(
        self,
        settings: Settings,
        store: Store,
        companies: Mapping[str, Company],
    ) -> None:
        self.settings = settings
        self.store = store
        self.watchlists = {w.name: w for w in settings.watchlists}
        self.company_names = {t: c.name for t, c in companies.items()}
        self.policies = policies_for(settings)
        self._companies = companies
        cfg = settings.clustering
        self.window = timedelta(seconds=cfg.window)
        self.max_candidates = cfg.max_candidates
        self._clusterer: Clusterer | None = None
        self._lock = threading.RLock()
        self._owner = f"{os.getpid()}:{id(self):x}"
        self._last_prune: datetime | None = None

    @property
    def clusterer(self) -> Clusterer | None:
        """The clusterer (built on first use: its matcher knows every curated company), or
        None when clustering is off."""
        cfg = self.settings.clustering
        if cfg.enabled and self._clusterer is None:
            extractor = FeatureExtractor(self._companies)
            self._clusterer = Clusterer(extractor, self.window, cfg.threshold)
        return self._clusterer

    def policy(self, channel: str) -> ChannelPolicy:
        found = self.policies.get(channel)
        if found is None:  # a channel removed from the config: send what it holds, plainly
            return ChannelPolicy.of(channel, ConsoleChannelConfig(type="console"))
        return found

    @contextmanager
    def locked(self, clock_now: datetime) -> Iterator[None]:
        """This process's lock, then the store's (so other processes wait too)."""
        with self._lock:
            deadline = time.monotonic() + LOCK_WAIT_S
            now = clock_now
            while not self.store.try_lock(LOCK_NAME, self._owner, LOCK_TTL_S, now):
                if time.monotonic() > deadline:
                    raise StoreError("the routing lock is held by another process")
                time.sleep(0.02)
                now = now + timedelta(seconds=0.02)
            try:
                yield
            finally:
                self.store.unlock(LOCK_NAME, self._owner)

    # routing a batch
    def route(
        self, feed: str, item_ids: Sequence[str], scored: Sequence[ScoredItem], now: datetime
    ) -> RouteResult:
        """Cluster, alert, hold or deliver, and record it all with the items as seen, in one
        store transaction."""
        with self.locked(now):
            ordered = sorted(scored, key=lambda s: (event_time(s.item, now), s.item.id))
            stories, members = self._cluster(ordered, now)
            candidates = [
                a
                for s in ordered
                for a in alerts_for(
                    s, self.watchlists, self.company_names, now, stories[s.item.id].cluster_id
                )
            ]
            alerts, log_marks, suppressed = self._apply_repeats(candidates, now)
            silences = [s for s in self.store.list_silences() if is_active(s, now)]
            deliveries, holds, group_marks = self._place(alerts, silences, now)
            created = self.store.record_routed(
                RoutedBatch(
                    feed=feed,
                    item_ids=list(item_ids),
                    alerts=alerts,
                    deliveries=deliveries,
                    holds=holds,
                    members=members,
                    marks={**log_marks, **group_marks},
                    now=now,
                )
            )
        return RouteResult(alerts, holds, created, stories, suppressed)

    def _cluster(
        self, ordered: Sequence[ScoredItem], now: datetime
    ) -> tuple[dict[str, Assignment], list[ClusterMember]]:
        stories: dict[str, Assignment] = {}
        batch: list[ClusterMember] = []
        for s in ordered:
            item = s.item
            if not (s.policy_event or any(m.alert for m in s.matches)):
                stories[item.id] = Assignment(new_cluster_id(item.id), now, True)
                continue
            clusterer = self.clusterer
            if clusterer is None:
                assignment = Assignment(new_cluster_id(item.id), event_time(item, now), True)
                features: EventFeatures | None = None
            else:
                features = clusterer.extractor.features(item, now)
                at = features.event_at
                stored = self.store.recent_members(
                    at - self.window, at + self.window, self.max_candidates
                )
                near = [m for m in batch if abs(m.event_at - at) <= self.window]
                assignment = clusterer.assign(item.id, features, [*stored, *near])
            stories[item.id] = assignment
            member = members_for_one(item, features, assignment, now)
            batch.append(member)
            if not assignment.is_new:
                log.info(
                    "story %s: %r joins %s (similarity %.2f)",
                    assignment.cluster_id,
                    item.title[:80],
                    assignment.joined_item,
                    assignment.best.score if assignment.best else 0.0,
                )
        return stories, batch

    def _apply_repeats(
        self, candidates: Sequence[Alert], now: datetime
    ) -> tuple[list[Alert], dict[str, str], int]:
        """Drop alerts for stories already alerted within repeat_interval; turn the others
        into first or update alerts. Returns (alerts, alert-log marks, how many dropped)."""
        keys = {
            a.id: alert_log_mark(a.channel, a.watchlist, a.ticker, a.cluster_id) for a in candidates
        }
        logged = self.store.get_marks(keys.values())
        marks: dict[str, str] = {}
        alerts: list[Alert] = []
        seen_ids = {a.id for a in self.store.get_alerts(a.id for a in candidates)}
        suppressed = 0
        for alert in candidates:
            key = keys[alert.id]
            last = marks.get(key) or logged.get(key)
            if last is None:
                if alert.id in seen_ids:  # alerted before, its log since pruned
                    suppressed += 1
                    continue
                alerts.append(alert)
                marks[key] = json.dumps({"at": now.isoformat(), "n": 0})
                continue
            entry = json.loads(last)
            since = now - datetime.fromisoformat(entry["at"])
            if since < self.policy(alert.channel).repeat_interval:
                suppressed += 1
                continue
            update = int(entry["n"]) + 1
            event_key = f"{alert.cluster_id}#{update}"
            alerts.append(
                replace(
                    alert,
                    id=Alert.make_id(alert.watchlist, alert.ticker, event_key, alert.channel),
                    event_key=event_key,
                    update=update,
                )
            )
            marks[key] = json.dumps({"at": now.isoformat(), "n": update})
        return alerts, marks, suppressed

    def _place(
        self, alerts: Sequence[Alert], silences: Sequence[Silence], now: datetime
    ) -> tuple[list[Delivery], list[Hold], dict[str, str]]:
        holds: list[Hold] = []
        at_once: dict[tuple[str, str], list[Alert]] = {}
        releases: dict[tuple[str, str], datetime] = {}
        for alert in alerts:
            policy = self.policy(alert.channel)
            key = group_key(alert, policy.group_by)
            silence = first_muting(silences, alert, now)
            if silence is not None:
                holds.append(
                    Hold(alert.id, alert.channel, key, HoldReason.SILENCED, now, None, silence.id)
                )
                continue
            if policy.mode == "digest":
                holds.append(Hold(alert.id, alert.channel, key, HoldReason.DIGEST, now))
                continue
            group = (alert.channel, key)
            if group not in releases:
                releases[group] = self._group_release(policy, key, now)
            release = releases[group]
            reason = HoldReason.GROUP
            if policy.quiet is not None and policy.quiet.holds(alert.score, release):
                release, reason = policy.quiet.ends_after(release), HoldReason.QUIET
            if reason is HoldReason.GROUP and release <= now:
                at_once.setdefault(group, []).append(alert)
            else:
                holds.append(Hold(alert.id, alert.channel, key, reason, now, release))
        deliveries = [instant_delivery(ch, group, now) for (ch, _), group in at_once.items()]
        marks = {
            group_mark(ch, key): now.isoformat()
            for ch, key in at_once
            if self.policy(ch).group_interval
        }
        return deliveries, holds, marks

    def _group_release(self, policy: ChannelPolicy, key: str, now: datetime) -> datetime:
        """When a group's held alerts go out: with the batch already waiting, else at the next
        group_interval tick after its last message, else group_wait from now."""
        waiting = [
            h.release_at
            for h in self.store.list_holds(channel=policy.name, reasons=[HoldReason.GROUP])
            if h.group_key == key and h.release_at is not None
        ]
        if waiting:
            return min(waiting)
        if policy.group_interval:
            last = self.store.get_marks([group_mark(policy.name, key)])
            if last:
                tick = datetime.fromisoformat(next(iter(last.values()))) + policy.group_interval
                if tick > now:
                    return tick
        return now + policy.group_wait

    # flushing held alerts
    def has_due(self, now: datetime) -> bool:
        due = self.store.next_release_at()
        return due is not None and due <= now

    def flush_groups(self, now: datetime, force: bool = False) -> list[Delivery]:
        """One delivery per (channel, group) of due GROUP and QUIET holds; with `force`, every
        GROUP hold whatever its time (quiet hours still hold theirs)."""
        due = self.store.list_holds(reasons=[HoldReason.GROUP, HoldReason.QUIET], due_by=now)
        if force:
            due += [
                h
                for h in self.store.list_holds(reasons=[HoldReason.GROUP])
                if h.release_at is None or h.release_at > now
            ]
        if not due:
            return []
        by_group: dict[tuple[str, str], list[str]] = {}
        for hold in due:
            by_group.setdefault((hold.channel, hold.group_key), []).append(hold.alert_id)
        alerts = {a.id: a for a in self.store.get_alerts(h.alert_id for h in due)}
        deliveries = [
            instant_delivery(channel, [alerts[i] for i in ids if i in alerts], now)
            for (channel, _), ids in by_group.items()
        ]
        marks = {
            group_mark(ch, key): now.isoformat()
            for ch, key in by_group
            if self.policy(ch).group_interval
        }
        released = [h.alert_id for h in due]
        return self.store.release_holds(
            released, [d for d in deliveries if d.alert_ids], marks, now
        )

    def prune(self, now: datetime) -> int:
        """Forget stories, alert logs and silenced records older than the retention horizon
        (at most once per PRUNE_EVERY)."""
        if self._last_prune is not None and now - self._last_prune < PRUNE_EVERY:
            return 0
        self._last_prune = now
        longest = max((p.repeat_interval for p in self.policies.values()), default=timedelta(0))
        horizon = max(MIN_RETENTION, 2 * self.window, 2 * longest)
        return self.store.prune_routing(now - horizon)


def members_for_one(
    item: Item, features: EventFeatures | None, assignment: Assignment, now: datetime
) -> ClusterMember:
    if features is not None:
        return members_for([(item, features)], [assignment], now)[0]
    return ClusterMember(
        cluster_id=assignment.cluster_id,
        item_id=item.id,
        title=item.title,
        link=item.link,
        source=item.source,
        published=item.published,
        event_at=event_time(item, now),
        started_at=assignment.started_at,
        seen_at=now,
    )
