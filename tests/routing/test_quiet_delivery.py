"""Quiet hours hold alerts and send them when the window ends; a high score breaks through."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.routing.conftest import MakeDesk
from tests.routing.test_grouping import fresh
from worker.models import HoldReason

QUIET = {
    "desk": """
group_by: [watchlist]
timezone: America/New_York
quiet_hours:
  times: [{start_time: "22:00", end_time: "07:00"}]
  breakthrough_score: 98
"""
}


def test_alerts_in_quiet_hours_wait_for_seven_am_on_the_spring_forward_morning(
    make_desk: MakeDesk,
) -> None:
    # Sunday 9 March 2025, 06:30 EDT (10:30 UTC): the night started at 22:00 EST.
    desk = make_desk(QUIET, start=datetime(2025, 3, 9, 10, 30, tzinfo=UTC))
    desk.feed(fresh("desk-h20"), fresh("gtw-el"))
    desk.deliver()
    assert desk.sent("desk") == []
    held = desk.store.list_holds(reasons=[HoldReason.QUIET])
    assert {h.release_at for h in held} == {datetime(2025, 3, 9, 11, 0, tzinfo=UTC)}
    desk.clock.set(datetime(2025, 3, 9, 10, 59, 59, tzinfo=UTC))
    desk.deliver()
    assert desk.sent("desk") == []
    desk.clock.set(datetime(2025, 3, 9, 11, 0, tzinfo=UTC))  # 07:00 EDT
    desk.deliver()
    [message] = desk.sent("desk")
    assert sorted(a.ticker for a in message.alerts) == ["000977.SZ", "NVDA"]


def test_a_score_at_the_breakthrough_goes_out_at_once(make_desk: MakeDesk) -> None:
    desk = make_desk(QUIET, start=datetime(2025, 11, 2, 6, 30, tzinfo=UTC))  # 01:30 EDT
    desk.feed(fresh("ledger-amd"), fresh("desk-h20"))  # AMD 100, NVDA 96
    desk.deliver()
    assert [[a.ticker for a in n.alerts] for n in desk.sent("desk")] == [["AMD"]]
    # The fall-back night ends at 07:00 EST = 12:00 UTC; the NVDA alert is held till then.
    [held] = desk.store.list_holds(reasons=[HoldReason.QUIET])
    assert held.release_at == datetime(2025, 11, 2, 12, 0, tzinfo=UTC)


def test_held_alerts_survive_a_restart_and_go_out_after_the_window(make_desk: MakeDesk) -> None:
    first = make_desk(QUIET, start=datetime(2025, 6, 4, 3, 0, tzinfo=UTC))  # 23:00 EDT
    first.feed(fresh("desk-h20"))
    first.clock.set(datetime(2025, 6, 4, 15, 0, tzinfo=UTC))  # down all night
    later = make_desk(QUIET, clock=first.clock)
    later.deliver()
    [message] = later.sent("desk")
    assert [a.ticker for a in message.alerts] == ["NVDA"]


def test_run_once_does_not_break_quiet_hours(make_desk: MakeDesk) -> None:
    desk = make_desk(QUIET, start=datetime(2025, 6, 4, 3, 0, tzinfo=UTC))
    desk.feed(fresh("desk-h20"))
    desk.pipeline.flush_due(force_groups=True)
    desk.pipeline.deliver_due()
    assert desk.sent("desk") == []
    assert len(desk.store.list_holds(reasons=[HoldReason.QUIET])) == 1
