"""Digest schedules: friendly forms and cron lines, in IANA zones, right across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from worker.schedule import parse_schedule


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def fires(text: str, zone: str, after: datetime, count: int) -> list[datetime]:
    schedule = parse_schedule(text).in_zone(zone)
    out = []
    for _ in range(count):
        after = schedule.next_after(after)
        out.append(after)
    return out


def test_daily_at_eight_in_new_york_follows_the_clock_across_the_march_change() -> None:
    # 9 March 2025: clocks go from EST (UTC-5) to EDT (UTC-4).
    got = fires("daily 08:00", "America/New_York", utc(2025, 3, 7, 14, 0), 3)
    assert got == [utc(2025, 3, 8, 13, 0), utc(2025, 3, 9, 12, 0), utc(2025, 3, 10, 12, 0)]


def test_daily_at_eight_in_new_york_follows_the_clock_across_the_november_change() -> None:
    # 2 November 2025: EDT back to EST.
    got = fires("daily 08:00", "America/New_York", utc(2025, 10, 31, 13, 0), 3)
    assert got == [utc(2025, 11, 1, 12, 0), utc(2025, 11, 2, 13, 0), utc(2025, 11, 3, 13, 0)]


def test_a_time_the_spring_change_skips_fires_once_shifted_by_the_gap() -> None:
    got = fires("daily 02:30", "America/New_York", utc(2025, 3, 8, 12, 0), 2)
    assert got == [utc(2025, 3, 9, 7, 30), utc(2025, 3, 10, 6, 30)]  # 03:30 EDT, then 02:30 EDT


def test_a_time_the_autumn_change_repeats_fires_once() -> None:
    got = fires("hourly", "America/New_York", utc(2025, 11, 2, 4, 30), 3)
    # 01:00 EDT, then (01:00 EST is the repeat, skipped) 02:00 EST, 03:00 EST
    assert got == [utc(2025, 11, 2, 5, 0), utc(2025, 11, 2, 7, 0), utc(2025, 11, 2, 8, 0)]


def test_weekdays_skip_the_weekend() -> None:
    got = fires("weekdays 07:30", "Europe/London", utc(2025, 3, 28, 8, 0), 2)  # a Friday
    # Monday 31 March is after the UK change to BST (UTC+1)
    assert got == [utc(2025, 3, 31, 6, 30), utc(2025, 4, 1, 6, 30)]


def test_several_times_a_day_and_weekly_forms() -> None:
    assert fires("daily 08:00,17:30", "UTC", utc(2025, 1, 1, 9, 0), 2) == [
        utc(2025, 1, 1, 17, 30),
        utc(2025, 1, 2, 8, 0),
    ]
    assert fires("weekly mon,thu 09:00", "Asia/Tokyo", utc(2025, 1, 1, 0, 0), 2) == [
        utc(2025, 1, 2, 0, 0),  # Thursday 09:00 JST
        utc(2025, 1, 6, 0, 0),  # Monday
    ]


def test_cron_lines_with_steps_ranges_and_names() -> None:
    assert fires("*/15 9-10 * * mon-fri", "UTC", utc(2025, 1, 3, 10, 50), 2) == [
        utc(2025, 1, 6, 9, 0),
        utc(2025, 1, 6, 9, 15),
    ]
    # both day fields restricted: either one matching fires (Vixie cron)
    assert fires("0 8 1 * sun", "UTC", utc(2025, 5, 30, 0, 0), 2) == [
        utc(2025, 6, 1, 8, 0),  # the 1st (and a Sunday)
        utc(2025, 6, 8, 8, 0),  # a Sunday
    ]


def test_the_latest_fire_time_at_or_before_a_moment() -> None:
    schedule = parse_schedule("daily 08:00").in_zone("Europe/Berlin")
    assert schedule.latest_at_or_before(utc(2025, 6, 2, 6, 0)) == utc(2025, 6, 2, 6, 0)
    assert schedule.latest_at_or_before(utc(2025, 6, 2, 5, 59)) == utc(2025, 6, 1, 6, 0)


@pytest.mark.parametrize(
    "text", ["daily", "daily 8am", "daily 25:00", "weekly funday 08:00", "0 8 * *", "61 * * * *"]
)
def test_a_bad_schedule_says_what_is_expected(text: str) -> None:
    with pytest.raises(ValueError, match="a schedule such as"):
        parse_schedule(text)
