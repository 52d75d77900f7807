"""The Retry-After header (RFC 9110 §10.2.3), read the same way for feeds and for channels."""

from __future__ import annotations

import email.utils
import math
from datetime import UTC, datetime


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from `now`: delay-seconds or an HTTP date; None when absent or bad.
    A date in the past gives 0."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
