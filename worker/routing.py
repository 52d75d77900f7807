"""Watchlists → alerts: which matches become alerts, bound for which channels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from worker.config import WatchlistConfig
from worker.models import Alert, Delivery, DeliveryState, ScoredItem


def alerts_for(
    scored: ScoredItem,
    watchlists: Mapping[str, WatchlistConfig],
    company_names: Mapping[str, str],
    now: datetime,
) -> list[Alert]:
    """One alert per (alerting match, channel the watchlist notifies). The event key is the
    item id, so the same story never alerts the same ticker twice on one channel."""
    item = scored.item
    alerts = []
    for match in scored.matches:
        if not match.alert:
            continue
        for channel in watchlists[match.watchlist].notify:
            alerts.append(
                Alert(
                    id=Alert.make_id(match.watchlist, match.ticker, item.id, channel),
                    watchlist=match.watchlist,
                    ticker=match.ticker,
                    channel=channel,
                    event_key=item.id,
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
                )
            )
    return alerts


def deliveries_for(alerts: Sequence[Alert], now: datetime) -> list[Delivery]:
    """Instant mode: one delivery per alert, due at once."""
    return [
        Delivery(
            id=Delivery.make_id(a.channel, (a.id,)),
            channel=a.channel,
            alert_ids=(a.id,),
            state=DeliveryState.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        for a in alerts
    ]
