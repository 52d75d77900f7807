"""What every Store backend must do, tested through the public interface only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from worker.models import (
    Alert,
    ClusterMember,
    Delivery,
    DeliveryState,
    FeedState,
    Heartbeat,
    Hold,
    HoldReason,
    RoutedBatch,
    Silence,
)
from worker.store import Store

T0 = datetime(2025, 4, 16, 12, 0, tzinfo=UTC)


def make_alert(ticker: str = "NVDA", channel: str = "desk") -> Alert:
    return Alert(
        id=Alert.make_id("semis", ticker, "item-1", channel),
        watchlist="semis",
        ticker=ticker,
        channel=channel,
        event_key="item-1",
        item_id="item-1",
        score=88,
        title="US requires licences for Nvidia H20 exports",
        link="https://example.com/h20",
        source="wire",
        published=T0,
        evidence="The US told Nvidia the H20 needs a licence.",
        terms=("Nvidia", "licence"),
        created_at=T0,
        company="NVIDIA",
    )


def pending(alert: Alert) -> Delivery:
    return Delivery(
        id=Delivery.make_id(alert.channel, (alert.id,)),
        channel=alert.channel,
        alert_ids=(alert.id,),
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=T0,
        next_attempt_at=T0,
    )


def test_a_recorded_batch_marks_items_seen_and_keeps_alerts(store: Store) -> None:
    alert = make_alert()
    created = store.record_batch("wire", ["item-1", "item-2"], [alert], [pending(alert)], T0)
    assert [d.id for d in created] == [pending(alert).id]
    assert store.unseen(["item-1", "item-2", "item-3"]) == ["item-3"]
    assert store.get_alerts([alert.id]) == [alert]
    assert store.count_seen() == 2


def test_recording_the_same_batch_twice_creates_nothing_the_second_time(store: Store) -> None:
    alert = make_alert()
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    again = store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    assert again == []
    assert len(store.list_deliveries()) == 1


def test_a_delivery_is_claimed_by_one_caller_only(store: Store) -> None:
    alert = make_alert()
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    first = store.claim(pending(alert).id, T0, lease_s=60)
    second = store.claim(pending(alert).id, T0, lease_s=60)
    assert first is not None and first.state is DeliveryState.SENDING and first.attempts == 1
    assert second is None


def test_an_expired_lease_lets_another_worker_take_the_delivery(store: Store) -> None:
    alert = make_alert()
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    assert store.claim(pending(alert).id, T0, lease_s=60) is not None
    assert store.claim_due(T0 + timedelta(seconds=30), 60, 10) == []
    taken = store.claim_due(T0 + timedelta(seconds=61), 60, 10)
    assert [d.attempts for d in taken] == [2]


def test_a_failed_delivery_waits_for_its_next_attempt_time(store: Store) -> None:
    alert = make_alert()
    did = pending(alert).id
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    store.claim(did, T0, 60)
    store.mark_failed(did, "HTTP 500", T0 + timedelta(seconds=30))
    assert store.due_ids(T0 + timedelta(seconds=29), 10) == []
    assert store.next_due_at() == T0 + timedelta(seconds=30)
    assert store.due_ids(T0 + timedelta(seconds=30), 10) == [did]
    failed = store.get_delivery(did)
    assert failed is not None and failed.last_error == "HTTP 500"


def test_sent_and_dead_deliveries_are_never_claimed_again(store: Store) -> None:
    a1, a2 = make_alert("NVDA"), make_alert("AMD")
    store.record_batch("wire", ["item-1"], [a1, a2], [pending(a1), pending(a2)], T0)
    store.claim(pending(a1).id, T0, 60)
    store.mark_sent(pending(a1).id, T0)
    store.claim(pending(a2).id, T0, 60)
    store.mark_dead(pending(a2).id, "HTTP 400")
    assert store.claim_due(T0 + timedelta(days=1), 60, 10) == []
    dead = store.list_deliveries([DeliveryState.DEAD])
    assert [d.last_error for d in dead] == ["HTTP 400"]


def test_a_dead_delivery_can_be_requeued(store: Store) -> None:
    alert = make_alert()
    did = pending(alert).id
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    store.claim(did, T0, 60)
    store.mark_dead(did, "gone")
    assert store.requeue(did, T0)
    requeued = store.get_delivery(did)
    assert requeued is not None and requeued.state is DeliveryState.PENDING
    assert requeued.attempts == 0


def test_feed_state_round_trips(store: Store) -> None:
    state = FeedState(
        name="wire", url="https://x/feed", etag='"abc"', last_modified="Wed", items_seen=3
    )
    store.save_feed_state(state)
    assert store.get_feed_state("wire") == state
    assert store.list_feed_states() == [state]


def test_old_seen_items_are_pruned(store: Store) -> None:
    store.record_batch("wire", ["old"], [], [], T0)
    store.record_batch("wire", ["new"], [], [], T0 + timedelta(days=40))
    assert store.prune_seen(T0 + timedelta(days=30)) == 1
    assert store.unseen(["old", "new"]) == ["old"]


def test_an_item_its_feed_still_carries_is_not_pruned(store: Store) -> None:
    store.record_batch("wire", ["kept", "dropped"], [], [], T0)
    store.touch_seen("wire", ["kept", "dropped"], T0)
    later = T0 + timedelta(days=40)
    store.record_batch("wire", ["newer"], [], [], later)
    assert store.touch_seen("wire", ["kept", "newer"], later) == 1  # newer was seen just now
    assert store.prune_seen(T0 + timedelta(days=30)) == 1
    assert store.unseen(["kept", "dropped", "newer"]) == ["dropped"]


def test_a_feed_that_stopped_changing_keeps_what_it_last_carried(store: Store) -> None:
    store.record_batch("quiet", ["q1", "q2"], [], [], T0)
    store.touch_seen("quiet", ["q1", "q2"], T0)  # as the pipeline does after every poll
    store.record_batch("busy", ["b1"], [], [], T0 + timedelta(days=40))
    store.touch_seen("busy", ["b1"], T0 + timedelta(days=40))
    assert store.prune_seen(T0 + timedelta(days=30)) == 0
    assert store.count_seen() == 3


def test_touching_ignores_items_never_seen(store: Store) -> None:
    assert store.touch_seen("wire", ["never"], T0) == 0
    assert store.unseen(["never"]) == ["never"]
    assert store.count_seen() == 0


def test_an_item_carried_by_another_feed_lives_on_through_it(store: Store) -> None:
    store.record_batch("wire", ["shared", "w1"], [], [], T0)
    store.touch_seen("wire", ["shared", "w1"], T0)
    later = T0 + timedelta(days=40)
    store.touch_seen("desk", ["shared"], later)
    store.record_batch("wire", ["w2"], [], [], later)
    store.touch_seen("wire", ["w2"], later)
    assert store.prune_seen(T0 + timedelta(days=30)) == 1
    assert store.unseen(["shared", "w1", "w2"]) == ["w1"]


def test_a_disabled_channel_remembers_why(store: Store) -> None:
    store.disable_channel("desk", "HTTP 410 from Slack: channel_is_archived")
    assert "410" in store.channel_disabled("desk")
    store.enable_channel("desk")
    assert store.channel_disabled("desk") == ""


def test_two_workers_recording_the_same_item_at_once_create_one_delivery(store: Store) -> None:
    alert = make_alert()
    barrier = threading.Barrier(8)

    def record() -> list[Delivery]:
        barrier.wait()
        return store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: record(), range(8)))
    assert sorted(len(r) for r in results) == [0] * 7 + [1]
    assert len(store.list_deliveries()) == 1


def test_claim_due_takes_the_earliest_due_first_and_respects_the_limit(store: Store) -> None:
    alerts = [make_alert(t) for t in ("NVDA", "AMD", "INTC")]
    rows = [
        replace(pending(a), next_attempt_at=T0 + timedelta(seconds=n))
        for n, a in zip((20, 10, 30), alerts, strict=True)
    ]
    store.record_batch("wire", ["item-1"], alerts, rows, T0)
    taken = store.claim_due(T0 + timedelta(seconds=25), lease_s=60, limit=1)
    assert [d.id for d in taken] == [rows[1].id]
    assert store.due_ids(T0 + timedelta(seconds=25), 10) == [rows[0].id]
    assert store.next_due_at() == T0 + timedelta(seconds=20)


def test_a_sent_delivery_stays_sent_whatever_a_late_worker_reports(store: Store) -> None:
    alert = make_alert()
    did = pending(alert).id
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    store.claim(did, T0, 60)
    store.mark_sent(did, T0 + timedelta(seconds=1))
    store.mark_failed(did, "timeout", T0 + timedelta(seconds=60))
    store.mark_dead(did, "gave up")
    sent = store.get_delivery(did)
    assert sent is not None and sent.state is DeliveryState.SENT
    assert sent.sent_at == T0 + timedelta(seconds=1) and sent.lease_until is None
    assert store.due_ids(T0 + timedelta(days=1), 10) == []
    assert not store.requeue(did, T0)


def test_deliveries_are_listed_newest_first_and_filtered_by_state(store: Store) -> None:
    alerts = [make_alert(t) for t in ("NVDA", "AMD", "INTC")]
    rows = [replace(pending(a), created_at=T0 + timedelta(minutes=n)) for n, a in enumerate(alerts)]
    store.record_batch("wire", ["item-1"], alerts, rows, T0)
    store.claim(rows[0].id, T0, 60)
    store.mark_dead(rows[0].id, "HTTP 400")
    assert [d.id for d in store.list_deliveries()] == [r.id for r in reversed(rows)]
    assert [d.id for d in store.list_deliveries(limit=1)] == [rows[2].id]
    assert [d.id for d in store.list_deliveries([DeliveryState.PENDING])] == [
        rows[2].id,
        rows[1].id,
    ]
    assert [d.id for d in store.list_deliveries([DeliveryState.DEAD])] == [rows[0].id]


# routing: stories, holds, marks, silences, locks (worker/routing.py, worker/digests.py)


def make_member(item_id: str, cluster_id: str, at: datetime) -> ClusterMember:
    return ClusterMember(
        cluster_id=cluster_id,
        item_id=item_id,
        title=f"report {item_id}",
        link=f"https://example.com/{item_id}",
        source="wire",
        published=at,
        event_at=at,
        started_at=at,
        seen_at=at,
        features='{"x": 1}',
    )


def routed(
    alerts: list[Alert],
    deliveries: list[Delivery] | None = None,
    holds: list[Hold] | None = None,
    members: list[ClusterMember] | None = None,
    marks: dict[str, str] | None = None,
) -> RoutedBatch:
    return RoutedBatch(
        feed="wire",
        item_ids=["item-1"],
        alerts=alerts,
        deliveries=deliveries or [],
        holds=holds or [],
        members=members or [],
        marks=marks or {},
        now=T0,
    )


def test_a_routed_batch_records_alerts_holds_members_and_marks_together(store: Store) -> None:
    nvda, amd = make_alert("NVDA"), make_alert("AMD")
    hold = Hold(amd.id, "desk", "watchlist=semis", HoldReason.GROUP, T0, T0 + timedelta(seconds=30))
    member = make_member("item-1", "evt_1", T0)
    batch = routed([nvda, amd], [pending(nvda)], [hold], [member], {"alog:x": "1"})
    assert [d.id for d in store.record_routed(batch)] == [pending(nvda).id]
    assert store.unseen(["item-1"]) == []
    assert store.get_alerts([nvda.id, amd.id]) == [nvda, amd]
    assert store.list_holds() == [hold]
    assert store.cluster_members(["evt_1"]) == [member]
    assert store.get_marks(["alog:x", "nope"]) == {"alog:x": "1"}
    assert store.record_routed(batch) == []  # idempotent
    assert len(store.list_holds()) == 1


def test_recent_members_are_those_in_the_time_range_newest_first(store: Store) -> None:
    members = [make_member(f"i{h}", f"evt_{h % 2}", T0 + timedelta(hours=h)) for h in range(5)]
    store.record_routed(routed([], members=members))
    found = store.recent_members(T0 + timedelta(hours=1), T0 + timedelta(hours=3), limit=10)
    assert [m.item_id for m in found] == ["i3", "i2", "i1"]
    assert [m.item_id for m in store.recent_members(T0, T0 + timedelta(days=1), 2)] == ["i4", "i3"]
    assert {m.item_id for m in store.cluster_members(["evt_0"])} == {"i0", "i2", "i4"}


def test_holds_are_listed_by_channel_reason_and_due_time(store: Store) -> None:
    a, b, c = make_alert("NVDA"), make_alert("AMD"), make_alert("TSM", channel="pm")
    holds = [
        Hold(a.id, "desk", "g", HoldReason.GROUP, T0, T0 + timedelta(seconds=30)),
        Hold(b.id, "desk", "g", HoldReason.QUIET, T0, T0 + timedelta(hours=8)),
        Hold(c.id, "pm", "g", HoldReason.DIGEST, T0),
    ]
    store.record_routed(routed([a, b, c], holds=holds))
    assert store.next_release_at() == T0 + timedelta(seconds=30)
    assert store.list_holds(due_by=T0 + timedelta(minutes=1)) == [holds[0]]
    assert store.list_holds(channel="pm") == [holds[2]]
    by_reason = store.list_holds(reasons=[HoldReason.QUIET, HoldReason.DIGEST])
    assert sorted(by_reason, key=lambda h: h.alert_id) == sorted(
        holds[1:], key=lambda h: h.alert_id
    )


def test_releasing_holds_makes_their_delivery_once_and_sets_marks(store: Store) -> None:
    a, b = make_alert("NVDA"), make_alert("AMD")
    holds = [Hold(x.id, "desk", "g", HoldReason.GROUP, T0, T0) for x in (a, b)]
    store.record_routed(routed([a, b], holds=holds))
    together = Delivery(
        id=Delivery.make_id("desk", (a.id, b.id)),
        channel="desk",
        alert_ids=(a.id, b.id),
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=T0,
        next_attempt_at=T0,
    )
    made = store.release_holds([a.id, b.id], [together], {"grp:desk:g": "t"}, T0)
    assert made == [together]
    assert store.list_holds() == []
    assert store.get_marks(["grp:desk:g"]) == {"grp:desk:g": "t"}
    assert store.release_holds([a.id, b.id], [together], {}, T0) == []
    assert store.next_release_at() is None


def test_marks_are_overwritten(store: Store) -> None:
    store.set_marks({"digest:pm": "a", "other": "b"}, T0)
    store.set_marks({"digest:pm": "c"}, T0)
    assert store.get_marks(["digest:pm", "other"]) == {"digest:pm": "c", "other": "b"}


def test_silences_round_trip_and_saving_again_replaces(store: Store) -> None:
    silence = Silence(
        id="sil_1",
        matchers=(("ticker", "NVDA"), ("watchlist", "semis")),
        starts_at=T0,
        ends_at=T0 + timedelta(hours=4),
        created_by="ana",
        comment="earnings week",
        created_at=T0,
    )
    store.save_silence(silence)
    assert store.list_silences() == [silence]
    ended = replace(silence, ends_at=T0 + timedelta(minutes=5))
    store.save_silence(ended)
    assert store.list_silences() == [ended]


def test_a_lock_has_one_owner_until_it_is_freed_or_expires(store: Store) -> None:
    assert store.try_lock("routing", "a", 60, T0)
    assert store.try_lock("routing", "a", 60, T0)  # the owner may take it again
    assert not store.try_lock("routing", "b", 60, T0 + timedelta(seconds=59))
    assert store.try_lock("routing", "b", 60, T0 + timedelta(seconds=60))  # expired
    store.unlock("routing", "a")  # not the owner any more: no effect
    assert not store.try_lock("routing", "a", 60, T0 + timedelta(seconds=61))
    store.unlock("routing", "b")
    assert store.try_lock("routing", "a", 60, T0 + timedelta(seconds=61))


def test_pruning_forgets_old_stories_alert_logs_and_silenced_records(store: Store) -> None:
    old_alert, new_alert = make_alert("NVDA"), make_alert("AMD")
    store.record_routed(
        routed(
            [old_alert],
            holds=[Hold(old_alert.id, "desk", "g", HoldReason.SILENCED, T0, None, "sil_1")],
            members=[make_member("old", "evt_old", T0)],
            marks={"alog:old": "x", "digest:pm": "y"},
        )
    )
    later = T0 + timedelta(days=40)
    store.record_routed(
        replace(
            routed(
                [new_alert],
                holds=[Hold(new_alert.id, "desk", "g", HoldReason.SILENCED, later, None, "s")],
                members=[make_member("new", "evt_new", later)],
                marks={"alog:new": "x"},
            ),
            now=later,
        )
    )
    assert store.prune_routing(T0 + timedelta(days=30)) == 3
    assert [m.item_id for m in store.cluster_members(["evt_old", "evt_new"])] == ["new"]
    assert store.get_marks(["alog:old", "alog:new", "digest:pm"]) == {
        "alog:new": "x",
        "digest:pm": "y",  # period marks are kept
    }
    assert [h.alert_id for h in store.list_holds()] == [new_alert.id]


def test_deliveries_are_counted_by_channel_and_state(store: Store) -> None:
    a1, a2, a3 = make_alert("NVDA"), make_alert("AMD"), make_alert("AMD", channel="mail")
    deliveries = [pending(a1), pending(a2), pending(a3)]
    store.record_batch("wire", ["item-1"], [a1, a2, a3], deliveries, T0)
    store.claim(pending(a1).id, T0, 60)
    store.mark_sent(pending(a1).id, T0)
    store.claim(pending(a3).id, T0, 60)
    store.mark_dead(pending(a3).id, "HTTP 400")
    assert store.count_deliveries() == {
        ("desk", DeliveryState.SENT): 1,
        ("desk", DeliveryState.PENDING): 1,
        ("mail", DeliveryState.DEAD): 1,
    }


def test_the_oldest_pending_delivery_is_the_oldest_not_yet_sent_or_dead(store: Store) -> None:
    assert store.oldest_pending_at() is None
    old, newer = make_alert("NVDA"), make_alert("AMD")
    store.record_batch("wire", ["item-1"], [old], [pending(old)], T0)
    later = T0 + timedelta(minutes=5)
    newer_delivery = Delivery(
        id=Delivery.make_id(newer.channel, (newer.id,)),
        channel=newer.channel,
        alert_ids=(newer.id,),
        state=DeliveryState.PENDING,
        attempts=0,
        created_at=later,
        next_attempt_at=later,
    )
    store.record_batch("wire", ["item-2"], [newer], [newer_delivery], later)
    assert store.oldest_pending_at() == T0
    store.claim(pending(old).id, T0, 60)
    store.mark_failed(pending(old).id, "HTTP 500", later)
    assert store.oldest_pending_at() == T0, "a failed delivery still waits to be sent"
    store.claim(pending(old).id, later, 60)
    store.mark_sent(pending(old).id, later)
    assert store.oldest_pending_at() == later
    store.claim(newer_delivery.id, later, 60)
    store.mark_dead(newer_delivery.id, "gone")
    assert store.oldest_pending_at() is None


def test_the_latest_heartbeat_per_component_is_kept(store: Store) -> None:
    first = Heartbeat("scheduler", "host-a:1", T0, {"poll:wire": T0 + timedelta(minutes=5)})
    second = Heartbeat("scheduler", "host-b:2", T0 + timedelta(seconds=10), {"poll:wire": None})
    store.record_heartbeat(first)
    store.record_heartbeat(second)
    store.record_heartbeat(Heartbeat("sweeper", "host-a:1", T0))
    assert store.list_heartbeats() == [second, Heartbeat("sweeper", "host-a:1", T0)]


def test_a_deferred_delivery_waits_without_counting_an_attempt(store: Store) -> None:
    alert = make_alert()
    did = pending(alert).id
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    store.claim(did, T0, 60)

    assert store.defer(did, T0 + timedelta(seconds=2))

    deferred = store.get_delivery(did)
    assert deferred is not None
    assert deferred.state is DeliveryState.PENDING and deferred.attempts == 0
    assert store.due_ids(T0 + timedelta(seconds=1), 10) == []
    assert store.next_due_at() == T0 + timedelta(seconds=2)
    again = store.claim(did, T0 + timedelta(seconds=2), 60)
    assert again is not None and again.attempts == 1
    assert not store.defer("dlv_unknown", T0)


def test_a_deferred_retry_stays_failed_and_keeps_its_last_error(store: Store) -> None:
    alert = make_alert()
    did = pending(alert).id
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    store.claim(did, T0, 60)
    store.mark_failed(did, "HTTP 503", T0 + timedelta(seconds=5))
    store.claim(did, T0 + timedelta(seconds=5), 60)

    store.defer(did, T0 + timedelta(seconds=6))

    deferred = store.get_delivery(did)
    assert deferred is not None
    assert (deferred.state, deferred.attempts, deferred.last_error) == (
        DeliveryState.FAILED,
        1,
        "HTTP 503",
    )


def test_only_a_delivery_being_sent_can_be_deferred(store: Store) -> None:
    alert = make_alert()
    did = pending(alert).id
    store.record_batch("wire", ["item-1"], [alert], [pending(alert)], T0)
    assert not store.defer(did, T0)  # pending, not claimed
    store.claim(did, T0, 60)
    store.mark_sent(did, T0)
    assert not store.defer(did, T0)
    sent = store.get_delivery(did)
    assert sent is not None and sent.state is DeliveryState.SENT


def test_disabled_channels_are_listed_with_their_reason_and_time(store: Store) -> None:
    before = datetime.now(UTC)
    store.disable_channel("zulu", "HTTP 404 channel_not_found")
    store.disable_channel("alpha", "HTTP 410 channel_is_archived")

    listed = store.list_disabled_channels()

    assert [(c.name, c.reason) for c in listed] == [
        ("alpha", "HTTP 410 channel_is_archived"),
        ("zulu", "HTTP 404 channel_not_found"),
    ]
    assert all(c.since is not None and c.since >= before - timedelta(seconds=1) for c in listed)
    store.enable_channel("alpha")
    assert [c.name for c in store.list_disabled_channels()] == ["zulu"]


def test_two_workers_routing_the_same_item_at_once_create_one_delivery(store: Store) -> None:
    alert = make_alert()
    batch = routed([alert], [pending(alert)], members=[make_member("item-1", "evt_1", T0)])
    barrier = threading.Barrier(8)

    def record() -> list[Delivery]:
        barrier.wait()
        return store.record_routed(batch)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: record(), range(8)))
    assert sorted(len(r) for r in results) == [0] * 7 + [1]
    assert store.cluster_members(["evt_1"]) == [make_member("item-1", "evt_1", T0)]
