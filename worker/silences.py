"""Silences: mute alerts for a ticker, watchlist or channel for a while, with an author and a
reason. Muted alerts are recorded as SILENCED holds (visible with `policywatch silence show`),
never sent, and never lost. Modelled on Alertmanager's silences: matchers, start, end,
created_by, comment; expiring one sets its end to now.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from worker.models import Alert, Silence

LABELS = ("ticker", "watchlist", "channel")


def make_silence(
    matchers: Sequence[tuple[str, str]],
    starts_at: datetime,
    ends_at: datetime,
    created_by: str,
    comment: str,
    now: datetime,
) -> Silence:
    """A new silence. Raises ValueError without matchers, with an unknown label, or when it
    ends before it starts."""
    if not matchers:
        raise ValueError("at least one of --ticker, --watchlist or --channel")
    for label, value in matchers:
        if label not in LABELS:
            raise ValueError(f"a label from {', '.join(LABELS)}, not {label!r}")
        if not value.strip():
            raise ValueError(f"a value for {label}")
    if ends_at <= starts_at:
        raise ValueError("an end after the start")
    normalised = sorted(
        (label, value.strip().upper() if label == "ticker" else value.strip())
        for label, value in matchers
    )
    return Silence(
        id="sil_" + secrets.token_hex(6),
        matchers=tuple(normalised),
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=created_by,
        comment=comment.strip(),
        created_at=now,
    )


def is_active(silence: Silence, at: datetime) -> bool:
    return silence.starts_at <= at < silence.ends_at


def state_of(silence: Silence, at: datetime) -> str:
    """ "pending" (starts later), "active" or "expired"."""
    if at < silence.starts_at:
        return "pending"
    return "active" if at < silence.ends_at else "expired"


def mutes(silence: Silence, alert: Alert, at: datetime) -> bool:
    """Whether `silence` is active at `at` and every matcher matches `alert`."""
    if not is_active(silence, at):
        return False
    values = {
        "ticker": alert.ticker.upper(),
        "watchlist": alert.watchlist,
        "channel": alert.channel,
    }
    return all(values[label] == value for label, value in silence.matchers)


def first_muting(silences: Iterable[Silence], alert: Alert, at: datetime) -> Silence | None:
    """The earliest-created active silence muting `alert`, if any."""
    for silence in silences:
        if mutes(silence, alert, at):
            return silence
    return None


def expired(silence: Silence, now: datetime) -> Silence:
    """`silence` ending now (a silence that has not started yet ends at its start)."""
    end = max(silence.starts_at, now) if now < silence.ends_at else silence.ends_at
    return replace(silence, ends_at=end)


def describe(silence: Silence) -> str:
    """`ticker=NVDA watchlist=semis`."""
    return " ".join(f"{label}={value}" for label, value in silence.matchers)


def lasting(starts_at: datetime, seconds: float) -> datetime:
    return starts_at + timedelta(seconds=seconds)
