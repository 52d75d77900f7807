"""One story, one alert: later reports fold in, new developments and repeats alert again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from tests.routing.conftest import MakeDesk
from tests.routing.stories import ITEMS

INSTANT = {"desk": ""}


def test_five_outlets_reporting_the_h20_story_make_one_nvda_alert(make_desk: MakeDesk) -> None:
    desk = make_desk(INSTANT, start=datetime(2025, 4, 16, 2, 0, tzinfo=UTC))
    for outlet in ("asia-h20", "wire-h20", "gtw-h20", "desk-h20", "pulse-h20"):
        desk.feed(ITEMS[outlet], feed=outlet.split("-")[0])
        desk.clock.advance(minutes=5)
    desk.deliver()
    nvda = [a for n in desk.sent("desk") for a in n.alerts if a.ticker == "NVDA"]
    assert [a.item_id for a in nvda] == ["asia-h20"]  # the first report, nothing after it


def test_a_later_reversal_and_a_new_charge_alert_again(make_desk: MakeDesk) -> None:
    desk = make_desk(INSTANT, start=datetime(2025, 4, 16, 2, 0, tzinfo=UTC))
    desk.feed(ITEMS["wire-h20"], ITEMS["desk-h20"])
    desk.clock.set(datetime(2025, 5, 28, 21, 0, tzinfo=UTC))
    desk.feed(ITEMS["wire-h20-q1"])
    desk.clock.set(datetime(2025, 7, 15, 6, 0, tzinfo=UTC))
    desk.feed(ITEMS["wire-h20-resume"], ITEMS["gtw-h20-resume"])
    desk.deliver()
    nvda = [a.item_id for n in desk.sent("desk") for a in n.alerts if a.ticker == "NVDA"]
    assert nvda == ["wire-h20", "wire-h20-q1", "wire-h20-resume"]


def test_a_reversal_reported_within_the_hour_is_still_its_own_story(make_desk: MakeDesk) -> None:
    desk = make_desk(INSTANT, start=datetime(2025, 4, 16, 2, 0, tzinfo=UTC))
    desk.feed(ITEMS["wire-h20"])
    reversal = replace(ITEMS["gtw-h20-resume"], published=datetime(2025, 4, 16, 1, 0, tzinfo=UTC))
    desk.feed(reversal)
    desk.deliver()
    nvda = [a.item_id for n in desk.sent("desk") for a in n.alerts if a.ticker == "NVDA"]
    assert nvda == ["wire-h20", "gtw-h20-resume"]


def test_a_report_naming_another_ticker_alerts_that_ticker_once(make_desk: MakeDesk) -> None:
    # The analysis piece joins the H20 story and is the first report of it to name AMD.
    desk = make_desk(INSTANT, start=datetime(2025, 4, 16, 4, 0, tzinfo=UTC))
    desk.feed(ITEMS["wire-h20"], ITEMS["desk-h20"])
    desk.feed(ITEMS["asia-h20"])
    desk.deliver()
    alerts = [(a.ticker, a.item_id) for n in desk.sent("desk") for a in n.alerts]
    assert alerts.count(("NVDA", "wire-h20")) == 1
    assert ("NVDA", "asia-h20") not in alerts
    assert [a for a in alerts if a[0] == "AMD"] == [("AMD", "asia-h20")]
    first = next(a for n in desk.sent("desk") for a in n.alerts if a.ticker == "NVDA")
    amd = next(a for n in desk.sent("desk") for a in n.alerts if a.ticker == "AMD")
    assert amd.cluster_id == first.cluster_id


def test_a_story_still_being_reported_after_repeat_interval_alerts_once_more(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk({"desk": "repeat_interval: 2h"}, start=datetime(2025, 4, 16, 2, 0, tzinfo=UTC))
    desk.feed(ITEMS["wire-h20"])
    desk.clock.advance(hours=1)
    desk.feed(ITEMS["desk-h20"])  # within 2h: folded in
    desk.clock.advance(hours=2)
    desk.feed(ITEMS["pulse-h20"])  # 3h after the alert: one update
    desk.clock.advance(hours=1)
    desk.feed(ITEMS["gtw-h20"])  # 1h after the update: folded in
    desk.deliver()
    nvda = [a for n in desk.sent("desk") for a in n.alerts if a.ticker == "NVDA"]
    assert [(a.item_id, a.update) for a in nvda] == [("wire-h20", 0), ("pulse-h20", 1)]
    assert len({a.id for a in nvda}) == 2
    assert nvda[0].cluster_id == nvda[1].cluster_id


def test_clustering_off_alerts_every_report(make_desk: MakeDesk) -> None:
    desk = make_desk(
        INSTANT,
        start=datetime(2025, 4, 16, 2, 0, tzinfo=UTC),
        extra="clustering:\n  enabled: false\n",
    )
    desk.feed(ITEMS["wire-h20"], ITEMS["desk-h20"])
    desk.deliver()
    nvda = [a.item_id for n in desk.sent("desk") for a in n.alerts if a.ticker == "NVDA"]
    assert sorted(nvda) == ["desk-h20", "wire-h20"]


def test_a_story_started_before_a_restart_still_folds_later_reports(make_desk: MakeDesk) -> None:
    first = make_desk(INSTANT, start=datetime(2025, 4, 16, 2, 0, tzinfo=UTC))
    first.feed(ITEMS["wire-h20"])
    first.deliver()
    second = make_desk(INSTANT, clock=first.clock)  # same state file, new process
    first.clock.advance(minutes=30)
    second.feed(ITEMS["desk-h20"])
    second.deliver()
    assert second.sent("desk") == []
