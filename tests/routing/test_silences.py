"""Silences mute matching alerts for a while; muted alerts are recorded, not sent, not lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.routing.conftest import MakeDesk
from tests.routing.test_grouping import fresh
from worker.models import HoldReason
from worker.silences import expired, make_silence

T0 = datetime(2025, 4, 16, 23, 0, tzinfo=UTC)


def test_a_silenced_ticker_is_recorded_but_not_sent_and_others_still_are(
    make_desk: MakeDesk,
) -> None:
    desk = make_desk({"desk": ""}, start=T0)
    silence = make_silence([("ticker", "nvda")], T0, T0 + timedelta(hours=4), "ana", "earnings", T0)
    desk.store.save_silence(silence)
    desk.feed(fresh("wire-h20"), fresh("wire-amd"))
    desk.deliver()
    assert [[a.ticker for a in n.alerts] for n in desk.sent("desk")] == [["AMD"]]
    [muted] = desk.store.list_holds(reasons=[HoldReason.SILENCED])
    assert muted.silence_id == silence.id
    [alert] = desk.store.get_alerts([muted.alert_id])
    assert alert.ticker == "NVDA" and alert.item_id == "wire-h20"
    desk.clock.advance(days=3)
    desk.deliver()  # a silenced alert is never sent later either
    assert len(desk.sent("desk")) == 1


def test_an_expired_silence_no_longer_mutes(make_desk: MakeDesk) -> None:
    desk = make_desk({"desk": ""}, start=T0)
    silence = make_silence([("ticker", "NVDA")], T0, T0 + timedelta(hours=4), "ana", "x", T0)
    desk.store.save_silence(silence)
    desk.clock.advance(minutes=10)
    desk.store.save_silence(expired(silence, desk.clock.now))
    desk.feed(fresh("wire-h20"))
    desk.deliver()
    assert [[a.ticker for a in n.alerts] for n in desk.sent("desk")] == [["NVDA"]]


def test_a_silence_ends_on_time(make_desk: MakeDesk) -> None:
    desk = make_desk({"desk": ""}, start=T0)
    silence = make_silence([("ticker", "NVDA")], T0, T0 + timedelta(hours=4), "ana", "x", T0)
    desk.store.save_silence(silence)
    desk.clock.advance(hours=4)
    desk.feed(fresh("wire-h20"))
    desk.deliver()
    assert len(desk.sent("desk")) == 1


def test_a_silence_on_one_channel_leaves_the_others_alone(make_desk: MakeDesk) -> None:
    desk = make_desk({"desk": "", "pm": ""}, start=T0)
    desk.store.save_silence(
        make_silence(
            [("channel", "desk"), ("watchlist", "semis")], T0, T0 + timedelta(days=1), "a", "x", T0
        )
    )
    desk.feed(fresh("wire-h20"))
    desk.deliver()
    assert desk.sent("desk") == []
    assert len(desk.sent("pm")) == 1
