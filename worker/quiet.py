"""Quiet hours: local time windows (times and weekdays in an IANA zone) that hold alerts back.

Modelled on Alertmanager's `time_intervals` (end-exclusive `times`, weekday ranges such as
`monday:friday`), with two differences: a window may cross midnight ("22:00" to "07:00" is one
window that starts on the listed weekday), and what falls in a window is deferred to the
window's end, never dropped. With no `times`, a listed weekday is quiet all day; with no
`weekdays`, the times apply every day. Windows that touch chain together: Friday 22:00–07:00
followed by an all-day Saturday is quiet until Sunday 07:00 if Sunday is listed too.

DST: window edges are wall-clock times; an edge that a spring-forward change skips moves
forward by the gap, and one that fall-back repeats means its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from worker.schedule import local_instant, parse_hhmm, weekday_number, zone_named

_DAY_MIN = 24 * 60
_MAX_CHAIN = 64  # windows followed end to end before we conclude the schedule never opens


@dataclass(frozen=True, slots=True)
class TimeRange:
    """[start, end) in minutes after local midnight; end <= start means it ends the next day."""

    start_min: int
    end_min: int

    @classmethod
    def parse(cls, start: str, end: str) -> TimeRange:
        """ "22:00", "07:00" → a range across midnight; "24:00" is accepted as an end.
        Raises ValueError."""
        sh, sm = parse_hhmm(start)
        end_min = _DAY_MIN if end.strip() == "24:00" else _minutes(parse_hhmm(end))
        start_min = sh * 60 + sm
        if start_min == end_min:
            raise ValueError(f"a window whose start and end differ, not {start}-{end}")
        return cls(start_min, end_min)


def _minutes(hm: tuple[int, int]) -> int:
    return hm[0] * 60 + hm[1]


def parse_weekdays(entries: Iterable[str]) -> frozenset[int]:
    """["monday:friday", "sunday"] → {0, 1, 2, 3, 4, 6}. A range may wrap ("friday:monday").
    Raises ValueError."""
    days: set[int] = set()
    for entry in entries:
        if ":" in entry:
            a, b = (weekday_number(x) for x in entry.split(":", 1))
            day = a
            days.add(day)
            while day != b:
                day = (day + 1) % 7
                days.add(day)
        else:
            days.add(weekday_number(entry))
    return frozenset(days)


class QuietHours:
    """Quiet windows in one zone, plus the score at which an alert breaks through them.

    Raises ValueError at construction when the windows leave no time at all to deliver.
    """

    def __init__(
        self,
        ranges: Sequence[TimeRange],
        weekdays: frozenset[int],
        zone: ZoneInfo,
        breakthrough_score: int | None = None,
    ) -> None:
        self.ranges = tuple(ranges) or (TimeRange(0, _DAY_MIN),)
        self.weekdays = weekdays or frozenset(range(7))
        self.zone = zone
        self.breakthrough_score = breakthrough_score
        probe = datetime(2025, 1, 6, tzinfo=UTC)  # any Monday
        try:
            for day in range(8):
                self.ends_after(probe + timedelta(days=day))
        except ValueError:
            raise ValueError("quiet hours that leave some time each week to deliver") from None

    @classmethod
    def from_config(
        cls,
        times: Sequence[tuple[str, str]],
        weekdays: Sequence[str],
        zone: str,
        breakthrough_score: int | None = None,
    ) -> QuietHours:
        """Raises ValueError for a bad time, weekday or zone."""
        ranges = [TimeRange.parse(start, end) for start, end in times]
        return cls(ranges, parse_weekdays(weekdays), zone_named(zone), breakthrough_score)

    def _windows_from(self, day: date) -> list[tuple[datetime, datetime]]:
        if day.weekday() not in self.weekdays:
            return []
        out = []
        for r in self.ranges:
            start = local_instant(day, r.start_min // 60, r.start_min % 60, self.zone)
            end_day = day + timedelta(days=1) if r.end_min <= r.start_min else day
            if r.end_min == _DAY_MIN:
                end_day, end_min = day + timedelta(days=1), 0
            else:
                end_min = r.end_min
            end = local_instant(end_day, end_min // 60, end_min % 60, self.zone)
            if end > start:
                out.append((start, end))
        return out

    def window_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The quiet window containing `at` (the one ending last if several do), or None."""
        today = at.astimezone(self.zone).date()
        best: tuple[datetime, datetime] | None = None
        for day in (today - timedelta(days=1), today):
            for start, end in self._windows_from(day):
                if start <= at < end and (best is None or end > best[1]):
                    best = (start, end)
        return best

    def active(self, at: datetime) -> bool:
        return self.window_at(at) is not None

    def ends_after(self, at: datetime) -> datetime:
        """`at` itself when it is not quiet, else the first instant after the (chained) window.
        Raises ValueError when the windows never open."""
        for _ in range(_MAX_CHAIN):
            window = self.window_at(at)
            if window is None:
                return at
            at = window[1]
        raise ValueError("quiet hours never end")

    def holds(self, score: int, at: datetime) -> bool:
        """Whether an alert of `score` arriving at `at` is held (quiet, and no breakthrough)."""
        if self.breakthrough_score is not None and score >= self.breakthrough_score:
            return False
        return self.active(at)
