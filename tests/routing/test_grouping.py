"""group_wait collects a burst into one message; group_interval spaces a group's messages."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tests.routing.conftest import MakeDesk
from tests.routing.stories import ITEMS
from worker.models import HoldReason, Item

T0 = datetime(2025, 4, 16, 23, 0, tzinfo=UTC)
GROUPED = {"desk": "group_by: [watchlist]\ngroup_wait: 30s\ngroup_interval: 5m"}


def fresh(item_id: str) -> Item:
    """The story as if it broke now (so the fake clock, not its date, sets the pace)."""
    return replace(ITEMS[item_id], published=None)


def test_a_burst_of_stories_goes_out_as_one_message_after_group_wait(make_desk: MakeDesk) -> None:
    desk = make_desk(GROUPED, start=T0)
    desk.feed(fresh("wire-h20"))
    desk.clock.advance(seconds=10)
    desk.feed(fresh("wire-amd"), fresh("gtw-el"), feed="other")
    desk.clock.advance(seconds=19)
    desk.deliver()
    assert desk.sent("desk") == []  # 29s after the first: still collecting
    desk.clock.advance(seconds=1)
    desk.deliver()
    [message] = desk.sent("desk")
    assert [(a.ticker, a.score) for a in message.alerts] == [
        ("NVDA", 100),
        ("000977.SZ", 94),
        ("AMD", 87),
    ]


def test_a_story_arriving_after_a_message_waits_for_the_next_group_interval_tick(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk(GROUPED, start=T0)
    desk.feed(fresh("wire-h20"))
    desk.clock.advance(seconds=30)
    desk.deliver()  # the first message, at T0+30s
    desk.clock.advance(minutes=1)
    desk.feed(fresh("wire-amd"))
    desk.clock.advance(minutes=3, seconds=59)
    desk.deliver()
    assert len(desk.sent("desk")) == 1  # T0+4m59s: the tick is at T0+5m30s
    desk.clock.advance(seconds=31)
    desk.deliver()
    assert [[a.ticker for a in n.alerts] for n in desk.sent("desk")] == [["NVDA"], ["AMD"]]


def test_a_group_that_has_been_quiet_for_a_while_waits_only_group_wait(make_desk: MakeDesk) -> None:
    desk = make_desk(GROUPED, start=T0)
    desk.feed(fresh("wire-h20"))
    desk.clock.advance(seconds=30)
    desk.deliver()
    desk.clock.advance(hours=1)
    desk.feed(fresh("wire-amd"))
    desk.clock.advance(seconds=30)
    desk.deliver()
    assert len(desk.sent("desk")) == 2


def test_run_once_sends_what_group_wait_held_back_before_exiting(make_desk: MakeDesk) -> None:
    desk = make_desk(GROUPED, start=T0)
    desk.feed(fresh("wire-h20"), fresh("wire-amd"))
    desk.pipeline.flush_due(force_groups=True)  # what EmbeddedRuntime.run_once does
    desk.pipeline.deliver_due()
    [message] = desk.sent("desk")
    assert len(message.alerts) == 2
    assert desk.store.list_holds() == []


def test_grouping_off_by_default_sends_each_alert_at_once_on_its_own(make_desk: MakeDesk) -> None:
    desk = make_desk({"desk": ""}, start=T0)
    desk.feed(fresh("wire-h20"), fresh("wire-amd"))
    desk.pipeline.deliver_due()  # no flush needed: nothing was held
    assert sorted(len(n.alerts) for n in desk.sent("desk")) == [1, 1]
    assert desk.store.list_holds(reasons=[HoldReason.GROUP]) == []
