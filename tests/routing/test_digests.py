"""Digests go out on schedule in the channel's zone, show each story once with its sources,
and one that fell due while the worker was down is sent when it comes back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.routing.conftest import MakeDesk
from tests.routing.stories import ITEMS
from tests.routing.test_grouping import fresh
from worker.digest_view import digest_view
from worker.digests import digest_mark
from worker.models import Alert, Notification

PM = {"pm": "mode: digest\nschedule: daily 08:00\ntimezone: America/New_York"}
NY = ZoneInfo("America/New_York")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_morning_digest_comes_at_eight_new_york_time_with_each_story_once(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk(PM, start=at(2025, 4, 15, 19, 0))
    desk.deliver()  # first sight of the channel: the period starts now
    for item_id, when in [
        ("asia-h20", at(2025, 4, 15, 19, 20)),
        ("wire-h20", at(2025, 4, 15, 21, 45)),
        ("gtw-h20", at(2025, 4, 15, 22, 35)),
        ("desk-h20", at(2025, 4, 16, 0, 15)),
        ("pulse-h20", at(2025, 4, 16, 1, 10)),
        ("wire-amd", at(2025, 4, 16, 2, 0)),
    ]:
        desk.clock.set(when)
        desk.feed(ITEMS[item_id])
        desk.deliver()
    assert desk.sent("pm") == []
    desk.clock.set(at(2025, 4, 16, 11, 59))
    desk.deliver()
    assert desk.sent("pm") == []
    desk.clock.set(at(2025, 4, 16, 12, 0))  # 08:00 EDT
    desk.deliver()
    [digest] = desk.sent("pm")
    assert digest.kind == "digest"
    assert digest.created_at == at(2025, 4, 16, 12, 0)
    view = digest_view(digest, NY)
    assert view.story_count == 2
    nvda, amd = view.sections
    [h20] = nvda.stories
    assert (nvda.ticker, h20.title) == ("NVDA", ITEMS["asia-h20"].title)
    assert h20.also_tickers == (("AMD", 71),)
    assert sorted(s.source for s in h20.sources) == [
        "Global Tech Wire",
        "Market Pulse",
        "Policy Desk",
        "Wire Tech Daily",
    ]
    assert [s.title for s in amd.stories] == [ITEMS["wire-amd"].title]
    assert [r.shown_under for r in amd.see_also] == ["NVDA"]
    desk.clock.set(at(2025, 4, 17, 12, 0))
    desk.deliver()
    assert len(desk.sent("pm")) == 1  # nothing new: no empty digest


def test_a_digest_missed_while_down_is_sent_once_on_restart(make_desk: MakeDesk) -> None:
    first = make_desk(PM, start=at(2025, 4, 15, 19, 0))
    first.deliver()
    first.feed(fresh("wire-h20"))
    # Down from 15 April 20:00 until 18 April 15:00: the 16th, 17th and 18th digests were due.
    first.clock.set(at(2025, 4, 18, 15, 0))
    restarted = make_desk(PM, clock=first.clock)
    restarted.deliver()
    [digest] = restarted.sent("pm")
    assert [a.item_id for a in digest.alerts] == ["wire-h20"]
    assert digest.created_at == at(2025, 4, 18, 12, 0)  # the latest period that was due
    marks = restarted.store.get_marks([digest_mark("pm")])
    assert marks == {digest_mark("pm"): "2025-04-18T12:00:00+00:00"}
    restarted.deliver()
    restarted.clock.advance(hours=20)
    restarted.deliver()
    assert len(restarted.sent("pm")) == 1


def test_the_digest_keeps_eight_am_local_across_the_spring_change(make_desk: MakeDesk) -> None:
    desk = make_desk(PM, start=at(2025, 3, 7, 14, 0))
    desk.deliver()
    # 8 March 08:00 EST, 9 March 08:00 EDT (the clocks changed at 02:00), 10 March 08:00 EDT
    fire_times = [at(2025, 3, 8, 13, 0), at(2025, 3, 9, 12, 0), at(2025, 3, 10, 12, 0)]
    for fire, item_id in zip(fire_times, ["wire-h20", "wire-amd", "gtw-el"], strict=True):
        desk.feed(fresh(item_id))
        desk.clock.set(fire - timedelta(seconds=1))
        desk.deliver()
        before = len(desk.sent("pm"))
        desk.clock.set(fire)
        desk.deliver()
        assert len(desk.sent("pm")) == before + 1
    assert [d.created_at for d in desk.sent("pm")] == fire_times
    assert [[a.item_id for a in d.alerts] for d in desk.sent("pm")] == [
        ["wire-h20"],
        ["wire-amd"],
        ["gtw-el"],
    ]


def test_a_digest_due_in_quiet_hours_waits_for_them_to_end(make_desk: MakeDesk) -> None:
    quiet_pm = {
        "pm": PM["pm"]
        + '\nquiet_hours:\n  times: [{start_time: "07:30", end_time: "09:00"}]\n'
        + "  weekdays: [saturday, sunday]"
    }
    desk = make_desk(quiet_pm, start=at(2025, 6, 6, 20, 0))  # Friday
    desk.deliver()
    desk.feed(fresh("wire-h20"))
    desk.clock.set(at(2025, 6, 7, 12, 0))  # Saturday 08:00 EDT, quiet until 09:00
    desk.deliver()
    assert desk.sent("pm") == []
    desk.clock.set(at(2025, 6, 7, 13, 0))
    desk.deliver()
    assert [a.item_id for a in desk.sent("pm")[0].alerts] == ["wire-h20"]


def test_an_empty_digest_is_sent_only_when_asked_for(make_desk: MakeDesk) -> None:
    desk = make_desk({"pm": PM["pm"] + "\ndigest_send_empty: true"}, start=at(2025, 6, 2, 0, 0))
    desk.deliver()
    desk.clock.set(at(2025, 6, 2, 12, 0))
    desk.deliver()
    [digest] = desk.sent("pm")
    assert digest.alerts == ()
    assert digest_view(digest, NY).summary == "no new stories"


def test_instant_and_digest_channels_get_the_same_story_each_in_their_way(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk({"desk": "", **PM}, start=at(2025, 4, 15, 21, 0))
    desk.deliver()
    desk.feed(ITEMS["wire-h20"])
    desk.clock.advance(hours=1)
    desk.feed(ITEMS["desk-h20"])
    desk.deliver()
    assert [[a.item_id for a in n.alerts] for n in desk.sent("desk")] == [["wire-h20"]]
    desk.clock.set(at(2025, 4, 16, 12, 0))
    desk.deliver()
    [digest] = desk.sent("pm")
    [story] = digest_view(digest, NY).sections[0].stories
    assert [s.source for s in story.sources] == ["Policy Desk"]


def test_a_section_lists_its_stories_and_pointers_in_one_ranking() -> None:
    def alert(ticker: str, score: int, story: str) -> Alert:
        return Alert(
            id=f"a-{ticker}-{story}",
            watchlist="semis",
            ticker=ticker,
            channel="pm",
            event_key=story,
            item_id=story,
            score=score,
            title=f"story {story}",
            link="",
            source="wire",
            published=None,
            evidence="",
            terms=(),
            created_at=at(2025, 6, 2, 12, 0),
            cluster_id=story,
        )

    note = Notification(
        "d", "pm", (alert("AMD", 60, "small"), alert("NVDA", 90, "big"), alert("AMD", 80, "big"))
    )
    sections = {s.ticker: s for s in digest_view(note, NY).sections}
    amd = sections["AMD"]
    assert [(e.score, e.is_ref) for e in amd.entries] == [(80, True), (60, False)]
    assert [s.title for s in sections["NVDA"].stories] == ["story big"]
