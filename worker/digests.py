"""Digests: a channel in `mode: digest` gets one message per scheduled period, carrying every
alert held for it since the last one.

Periods: the mark `digest:<channel>` holds the scheduled time of the last digest made (not
sent: the delivery is stored, then sent, and retried like any other). The first time a digest
channel is seen, the mark starts at the latest scheduled time before now, so the first digest
comes at the next scheduled time. A digest that fell due while the worker was down is made as
soon as it runs again: one digest covering everything held since the last one. A digest due in
the channel's quiet hours waits for them to end. With nothing held, no digest is sent unless
`digest_send_empty` is set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from worker.models import Alert, Delivery, DeliveryState, HoldReason, Notification, stable_hash
from worker.routing import ChannelPolicy
from worker.store import Store

DIGEST_MARK = "digest:"
KIND = "digest"


def digest_mark(channel: str) -> str:
    return DIGEST_MARK + channel


@dataclass(frozen=True)
class DigestStatus:
    """Where one digest channel stands, for `policywatch digest list`."""

    channel: str
    schedule: str
    zone: str
    last_at: datetime | None
    next_at: datetime
    held: int


def ranked(alerts: list[Alert]) -> list[Alert]:
    """Best score first; then newest story first."""
    return sorted(
        alerts,
        key=lambda a: (-a.score, -(a.published.timestamp() if a.published else 0.0), a.id),
    )


def digest_delivery(
    channel: str, alerts: list[Alert], for_at: datetime, due_at: datetime, key: str
) -> Delivery:
    """The digest delivery for `channel` for the period ending `for_at` (its created_at)."""
    ids = tuple(a.id for a in ranked(alerts))
    return Delivery(
        id="dlv_" + stable_hash(channel, KIND, key),
        channel=channel,
        alert_ids=ids,
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=for_at,
        next_attempt_at=due_at,
        kind=KIND,
    )


def _held_alerts(store: Store, channel: str) -> list[Alert]:
    holds = store.list_holds(channel=channel, reasons=[HoldReason.DIGEST])
    return store.get_alerts(h.alert_id for h in holds)


def flush_digests(
    store: Store,
    policies: Mapping[str, ChannelPolicy],
    now: datetime,
    *,
    only: str | None = None,
    force: bool = False,
) -> list[Delivery]:
    """Make the digests that are due (or, with `force`, the one for `only` now) and advance
    their period marks. Returns the deliveries created. Call under the routing lock."""
    digest_policies = [
        p for p in policies.values() if p.mode == "digest" and (only is None or p.name == only)
    ]
    marks = store.get_marks(digest_mark(p.name) for p in digest_policies)
    created: list[Delivery] = []
    for policy in digest_policies:
        mark_key = digest_mark(policy.name)
        if force:
            period_end, key = now, f"now:{now.isoformat()}"
        else:
            last = marks.get(mark_key)
            if last is None:
                start = policy.schedule.latest_at_or_before(now) or now
                store.set_marks({mark_key: start.isoformat()}, now)
                continue
            if policy.schedule.next_after(datetime.fromisoformat(last)) > now:
                continue
            period_end = policy.schedule.latest_at_or_before(now) or now
            key = period_end.isoformat()
        alerts = _held_alerts(store, policy.name)
        new_mark = {mark_key: period_end.isoformat()}
        if not alerts and not policy.send_empty:
            store.set_marks(new_mark, now)
            continue
        due = now
        if policy.quiet is not None and not force:  # asked for by hand: send it now
            due = policy.quiet.ends_after(now)
        delivery = digest_delivery(policy.name, alerts, period_end, due, key)
        created += store.release_holds([a.id for a in alerts], [delivery], new_mark, now)
    return created


def preview(store: Store, policy: ChannelPolicy, now: datetime) -> Notification:
    """The digest `policy.name` would get now, without sending or releasing anything."""
    alerts = ranked(_held_alerts(store, policy.name))
    cluster_ids = {a.cluster_id for a in alerts if a.cluster_id}
    return Notification(
        delivery_id="(preview)",
        channel=policy.name,
        alerts=tuple(alerts),
        kind=KIND,
        members=tuple(store.cluster_members(cluster_ids)),
        created_at=now,
    )


def status(
    store: Store, policies: Mapping[str, ChannelPolicy], now: datetime
) -> list[DigestStatus]:
    """Every digest channel: schedule, last digest made, next one due, alerts waiting."""
    digest_policies = [p for p in policies.values() if p.mode == "digest"]
    marks = store.get_marks(digest_mark(p.name) for p in digest_policies)
    out = []
    for policy in digest_policies:
        raw = marks.get(digest_mark(policy.name))
        last = datetime.fromisoformat(raw) if raw else None
        next_at = policy.schedule.next_after(last or now)
        if last is not None and next_at <= now:
            next_at = now  # overdue: made at the next flush
        held = len(store.list_holds(channel=policy.name, reasons=[HoldReason.DIGEST]))
        out.append(
            DigestStatus(
                policy.name, policy.schedule.spec.text, policy.zone.key, last, next_at, held
            )
        )
    return out
