"""Quiet hours: local windows, across midnight and DST changes, deferring (never dropping)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.config import load_settings
from worker.errors import ConfigError
from worker.quiet import QuietHours


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


NIGHTS = QuietHours.from_config([("22:00", "07:00")], [], "America/New_York", 90)


def test_a_window_across_midnight_holds_until_seven_local() -> None:
    # Tuesday 3 June 2025, 23:30 EDT = 03:30 UTC on Wednesday
    assert NIGHTS.active(utc(2025, 6, 4, 3, 30))
    assert NIGHTS.ends_after(utc(2025, 6, 4, 3, 30)) == utc(2025, 6, 4, 11, 0)
    assert not NIGHTS.active(utc(2025, 6, 4, 11, 0))  # the end is not quiet
    assert not NIGHTS.active(utc(2025, 6, 4, 1, 59))  # 21:59 EDT
    assert NIGHTS.active(utc(2025, 6, 4, 2, 0))  # 22:00 EDT


def test_the_night_the_clocks_spring_forward_is_an_hour_shorter() -> None:
    # Saturday 8 March 22:00 EST (03:00Z) to Sunday 9 March 07:00 EDT (11:00Z): 8 hours.
    assert NIGHTS.window_at(utc(2025, 3, 9, 4, 0)) == (
        utc(2025, 3, 9, 3, 0),
        utc(2025, 3, 9, 11, 0),
    )
    assert NIGHTS.ends_after(utc(2025, 3, 9, 10, 30)) == utc(2025, 3, 9, 11, 0)  # 06:30 EDT


def test_the_night_the_clocks_fall_back_is_an_hour_longer() -> None:
    # Saturday 1 November 22:00 EDT (02:00Z) to Sunday 2 November 07:00 EST (12:00Z): 10 hours.
    assert NIGHTS.window_at(utc(2025, 11, 2, 11, 30)) == (
        utc(2025, 11, 2, 2, 0),
        utc(2025, 11, 2, 12, 0),
    )


def test_windows_that_touch_are_one_quiet_stretch() -> None:
    split = QuietHours.from_config([("18:00", "24:00"), ("00:00", "08:00")], [], "UTC")
    assert split.ends_after(utc(2025, 6, 6, 20, 0)) == utc(2025, 6, 7, 8, 0)


def test_weekday_windows_and_an_all_day_weekend() -> None:
    weekend = QuietHours.from_config([("18:00", "08:00")], ["monday:friday"], "Europe/London")
    all_weekend = QuietHours.from_config([], ["saturday", "sunday"], "Europe/London")
    # Friday 18:00 → Saturday 08:00 only (Saturday is not a listed day for the evening window)
    assert weekend.ends_after(utc(2025, 6, 6, 20, 0)) == utc(2025, 6, 7, 7, 0)
    # an all-day weekend window: Saturday 10:00 waits until Monday 00:00 London
    assert all_weekend.ends_after(utc(2025, 6, 7, 9, 0)) == utc(2025, 6, 8, 23, 0)


def test_a_high_score_breaks_through_and_a_low_one_is_held() -> None:
    at = utc(2025, 6, 4, 3, 30)
    assert not NIGHTS.holds(95, at)
    assert NIGHTS.holds(89, at)
    assert not NIGHTS.holds(10, utc(2025, 6, 4, 15, 0))  # daytime


def test_quiet_hours_that_never_end_are_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "policywatch.yaml"
    path.write_text(
        "watchlists: [{name: semis, tickers: [NVDA], notify: [desk]}]\n"
        "channels:\n"
        "  desk:\n"
        "    type: console\n"
        "    quiet_hours:\n"
        "      weekdays: [monday:sunday]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    [problem] = caught.value.problems
    assert problem.path == "channels.desk.quiet_hours"
    assert problem.line == 5
    assert "leave some time each week" in problem.expected


def test_bad_quiet_hours_fields_are_located(tmp_path: Path) -> None:
    path = tmp_path / "policywatch.yaml"
    path.write_text(
        "watchlists: [{name: semis, tickers: [NVDA], notify: [desk]}]\n"
        "channels:\n"
        "  desk:\n"
        "    type: console\n"
        "    timezone: Mars/Olympus\n"
        "    quiet_hours:\n"
        "      times: [{start_time: '22:00', end_time: '7pm'}]\n"
        "      weekdays: [caturday]\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(path, {})
    found = {(p.path, p.line) for p in caught.value.problems}
    assert ("channels.desk.timezone", 5) in found
    assert ("channels.desk.quiet_hours.times[0].end_time", 7) in found
    assert ("channels.desk.quiet_hours.weekdays", 8) in found
