"""What every Store backend must do, tested through the public interface only."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from worker.models import Alert, Delivery, DeliveryState, FeedState, Heartbeat
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
