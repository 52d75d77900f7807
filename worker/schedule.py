"""Wall-clock schedules: when digests go out, read in an IANA time zone, correct across DST.

Accepted forms (times are 24-hour local wall-clock times):

    daily 08:00                 every day at 08:00
    daily 08:00,17:30           twice a day
    weekdays 08:00              Monday to Friday
    weekly monday 08:00         once a week (also: weekly mon,thu 08:00)
    hourly                      at minute 0 of every hour
    0 8 * * 1-5                 a five-field cron line: minute hour day-of-month month day-of-week

Cron fields take `*`, `*/n`, `a-b`, `a-b/n` and lists; months and weekdays also take names
(jan, mon); day-of-week 0 and 7 are Sunday. As in Vixie cron, when both day-of-month and
day-of-week are restricted, a day matching either one fires.

DST: a wall-clock time that a spring-forward change skips fires shifted forward by the gap
(02:30 becomes 03:30 on that day); a time that a fall-back change repeats fires once, at its
first occurrence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
# cron numbering: 0 = Sunday
_CRON_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_DAY_NAMES = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_SEARCH_DAYS = 366 * 9  # "29 Feb and a Monday" can take years; past that, it never fires
_EXPECTED = (
    'a schedule such as "daily 08:00", "weekdays 08:00,17:30", "weekly monday 08:00", '
    '"hourly" or a cron line such as "0 8 * * 1-5"'
)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone `name` ("Europe/London", "UTC"). Raises ValueError for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"an IANA time zone such as UTC or America/New_York, not {name!r}"
        ) from None


def parse_hhmm(text: str) -> tuple[int, int]:
    """ "08:00" → (8, 0). Raises ValueError."""
    m = _TIME.match(text.strip())
    if not m:
        raise ValueError(f"a time as HH:MM (00:00-23:59), not {text!r}")
    return int(m.group(1)), int(m.group(2))


def local_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time; a skipped time moves forward by the gap and
    a repeated one means its first occurrence (zoneinfo's fold=0 reading does both)."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class ScheduleSpec:
    """A parsed schedule, not yet tied to a time zone."""

    text: str
    times: frozenset[tuple[int, int]]  # (hour, minute) pairs
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday, as datetime.weekday()
    days_restricted: bool
    weekdays_restricted: bool

    def in_zone(self, zone: ZoneInfo | str) -> Schedule:
        return Schedule(self, zone if isinstance(zone, ZoneInfo) else zone_named(zone))


class Schedule:
    """A ScheduleSpec read in one time zone: fire times as UTC instants."""

    def __init__(self, spec: ScheduleSpec, zone: ZoneInfo) -> None:
        self.spec = spec
        self.zone = zone
        self._times = sorted(spec.times)

    def __repr__(self) -> str:
        return f"Schedule({self.spec.text!r}, {self.zone.key})"

    def _day_matches(self, day: date) -> bool:
        spec = self.spec
        if day.month not in spec.months:
            return False
        in_days = day.day in spec.days
        in_weekdays = day.weekday() in spec.weekdays
        if spec.days_restricted and spec.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays

    def _fires_on(self, day: date) -> list[datetime]:
        if not self._day_matches(day):
            return []
        return sorted({local_instant(day, h, m, self.zone) for h, m in self._times})

    def next_after(self, at: datetime) -> datetime:
        """The first fire time strictly after `at`. Raises ValueError if it never fires."""
        start = at.astimezone(self.zone).date() - timedelta(days=1)
        for offset in range(_SEARCH_DAYS):
            for fire in self._fires_on(start + timedelta(days=offset)):
                if fire > at:
                    return fire
        raise ValueError(f"schedule {self.spec.text!r} never fires")

    def latest_at_or_before(self, at: datetime) -> datetime | None:
        """The last fire time at or before `at`, or None if there is none in years."""
        start = at.astimezone(self.zone).date() + timedelta(days=1)
        for offset in range(_SEARCH_DAYS):
            for fire in reversed(self._fires_on(start - timedelta(days=offset))):
                if fire <= at:
                    return fire
        return None


def _cron_field(text: str, low: int, high: int, names: list[str] | None = None) -> set[int]:
    values: set[int] = set()
    for part in text.lower().split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            if not step_text.isdigit() or int(step_text) < 1:
                raise ValueError(f"a positive step, not {step_text!r}")
            step = int(step_text)
        if part == "*":
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _cron_value(a, names), _cron_value(b, names)
        else:
            first = _cron_value(part, names)
            last = high if step > 1 else first
        if not (low <= first <= high and low <= last <= high) or first > last:
            raise ValueError(f"values from {low} to {high}, not {part!r}")
        values.update(range(first, last + 1, step))
    return values


def _cron_value(text: str, names: list[str] | None) -> int:
    if names and text[:3] in names and not text.isdigit():
        offset = 1 if names is _MONTHS else 0
        return names.index(text[:3]) + offset
    if not text.isdigit():
        raise ValueError(f"a number, not {text!r}")
    return int(text)


def _parse_cron(text: str, fields: list[str]) -> ScheduleSpec:
    minute, hour, dom, month, dow = fields
    cron_days = _cron_field(dow, 0, 7, _CRON_DAYS)
    weekdays = frozenset((d + 6) % 7 for d in cron_days)  # cron 0/7 = Sunday → 6
    minutes, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
    return ScheduleSpec(
        text=text,
        times=frozenset((h, m) for h in hours for m in minutes),
        days=frozenset(_cron_field(dom, 1, 31)),
        months=frozenset(_cron_field(month, 1, 12, _MONTHS)),
        weekdays=weekdays,
        days_restricted=dom != "*",
        weekdays_restricted=dow != "*",
    )


def _friendly(text: str, days: frozenset[int], times_text: str) -> ScheduleSpec:
    times = frozenset(parse_hhmm(t) for t in times_text.split(",") if t.strip())
    if not times:
        raise ValueError("at least one HH:MM time")
    return ScheduleSpec(
        text=text,
        times=times,
        days=frozenset(range(1, 32)),
        months=frozenset(range(1, 13)),
        weekdays=days,
        days_restricted=False,
        weekdays_restricted=days != frozenset(range(7)),
    )


def _weekday(name: str) -> int:
    name = name.strip().lower()
    for full, number in _DAY_NAMES.items():
        if name == full or (len(name) >= 3 and full.startswith(name)):
            return number
    raise ValueError(f"a day name such as monday, not {name!r}")


def parse_schedule(text: str) -> ScheduleSpec:
    """Parse a schedule (see the module docstring). Raises ValueError saying what is expected."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(_EXPECTED)
    words = text.strip().split()
    head = words[0].lower()
    try:
        if head == "hourly" and len(words) == 1:
            return _parse_cron(text, ["0", "*", "*", "*", "*"])
        if head == "daily" and len(words) == 2:
            return _friendly(text, frozenset(range(7)), words[1])
        if head == "weekdays" and len(words) == 2:
            return _friendly(text, frozenset(range(5)), words[1])
        if head == "weekly" and len(words) == 3:
            days = frozenset(_weekday(d) for d in words[1].split(","))
            return _friendly(text, days, words[2])
        if len(words) == 5:
            return _parse_cron(text, words)
    except ValueError as exc:
        raise ValueError(f"{_EXPECTED} ({exc})") from None
    raise ValueError(_EXPECTED)


def weekday_number(name: str) -> int:
    """ "monday" or "mon" → 0 ... "sunday" → 6. Raises ValueError."""
    return _weekday(name)
