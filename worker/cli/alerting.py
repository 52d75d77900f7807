"""Commands about what is held back: silences and digests."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

from worker.cli.common import EXIT_CONFIG, EXIT_RUNTIME, load, short_time
from worker.config import Settings

if TYPE_CHECKING:
    from worker.routing import ChannelPolicy
    from worker.store import Store


def cmd_silence(args: argparse.Namespace) -> int:
    from worker.runtime.embedded import open_settings_store

    settings = load(args)
    store = open_settings_store(settings)
    try:
        if args.action == "add":
            return _silence_add(args, store)
        if args.action in ("expire", "show"):
            return _silence_show_or_expire(args, store)
        return _silence_list(args, store)
    finally:
        store.close()


def _silence_add(args: argparse.Namespace, store: Store) -> int:
    from worker.config import current_user
    from worker.pipeline import utc_now
    from worker.silences import describe, make_silence

    now = utc_now()
    matchers = [
        (label, value)
        for label in ("ticker", "watchlist", "channel")
        for value in (getattr(args, label) or [])
    ]
    start = args.start or now
    if args.until:
        end = args.until
    elif args.duration:
        end = start + timedelta(seconds=args.duration)
    else:
        print("silence add: give --for DURATION or --until TIME", file=sys.stderr)
        return EXIT_CONFIG
    if not args.comment.strip():
        print("silence add: --comment must say why", file=sys.stderr)
        return EXIT_CONFIG
    try:
        silence = make_silence(matchers, start, end, args.by or current_user(), args.comment, now)
    except ValueError as exc:
        print(f"silence add: expected {exc}", file=sys.stderr)
        return EXIT_CONFIG
    store.save_silence(silence)
    print(f"{silence.id}  {describe(silence)}  until {short_time(silence.ends_at)}")
    return 0


def _silence_show_or_expire(args: argparse.Namespace, store: Store) -> int:
    from worker.models import HoldReason
    from worker.pipeline import utc_now
    from worker.silences import describe, expired, state_of

    now = utc_now()
    found = [x for x in store.list_silences() if x.id == args.id]
    if not found:
        print(f"no silence with id {args.id!r}", file=sys.stderr)
        return EXIT_RUNTIME
    silence = found[0]
    if args.action == "expire":
        store.save_silence(expired(silence, now))
        print(f"expired {silence.id}  {describe(silence)}")
        return 0
    print(
        f"{silence.id}  {state_of(silence, now)}  {describe(silence)}\n"
        f"  from {short_time(silence.starts_at)} until {short_time(silence.ends_at)}"
        f"  by {silence.created_by}\n  {silence.comment}"
    )
    muted = store.list_holds(reasons=[HoldReason.SILENCED], limit=1_000_000)
    mine = [h for h in muted if h.silence_id == silence.id]
    alerts = {a.id: a for a in store.get_alerts(h.alert_id for h in mine)}
    print(f"  muted {len(mine)} alert{'s' if len(mine) != 1 else ''}:")
    for hold in mine:
        a = alerts.get(hold.alert_id)
        if a is not None:
            print(
                f"    {short_time(hold.created_at)}  {a.channel:<12} {a.ticker:<8}"
                f" {a.score:>3}  {a.title[:90]}"
            )
    return 0


def _silence_list(args: argparse.Namespace, store: Store) -> int:
    from worker.models import HoldReason
    from worker.pipeline import utc_now
    from worker.silences import describe, state_of

    now = utc_now()
    shown = [x for x in store.list_silences() if args.all or state_of(x, now) != "expired"]
    counts: dict[str, int] = {}
    for hold in store.list_holds(reasons=[HoldReason.SILENCED], limit=1_000_000):
        counts[hold.silence_id] = counts.get(hold.silence_id, 0) + 1
    for x in shown:
        print(
            f"{x.id}  {state_of(x, now):<8} {describe(x):<32} until {short_time(x.ends_at)}"
            f"  muted {counts.get(x.id, 0):<4} by {x.created_by}: {x.comment}"
        )
    if not shown:
        print("no silences" + ("" if args.all else " in force (--all shows expired ones)"))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from worker.routing import policies_for

    settings = load(args)
    policies = policies_for(settings)
    if args.action == "list":
        return _digest_list(settings, policies)
    policy = policies.get(args.channel or "")
    if policy is None or policy.mode != "digest":
        known = ", ".join(n for n, p in policies.items() if p.mode == "digest") or "none"
        print(
            f"digest {args.action}: {args.channel!r} is not a digest channel"
            f" (digest channels: {known})",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.action == "send":
        return _digest_send(settings, policies, args.channel)
    return _digest_preview(settings, policy, args.html)


def _digest_list(settings: Settings, policies: Mapping[str, ChannelPolicy]) -> int:
    from worker.digests import status
    from worker.pipeline import utc_now
    from worker.runtime.embedded import open_settings_store

    store = open_settings_store(settings)
    try:
        rows = status(store, policies, utc_now())
    finally:
        store.close()
    for r in rows:
        print(
            f"{r.channel:<16} {r.schedule!r} {r.zone:<20} last {short_time(r.last_at)}"
            f"  next {short_time(r.next_at)}  held {r.held}"
        )
    if not rows:
        print("no digest channels (set mode: digest on a channel)")
    return 0


def _digest_preview(settings: Settings, policy: ChannelPolicy, html: bool) -> int:
    from worker.digest_view import render_digest
    from worker.digests import preview
    from worker.pipeline import utc_now
    from worker.runtime.embedded import open_settings_store

    store = open_settings_store(settings)
    try:
        note = preview(store, policy, utc_now())
    finally:
        store.close()
    cfg = settings.channels[policy.name]
    unsubscribe = getattr(cfg, "unsubscribe_url", "")
    text, page, _ = render_digest(note, cfg.timezone, cfg.digest_max_stories, unsubscribe)
    sys.stdout.write(page if html else text)
    return 0


def _digest_send(settings: Settings, policies: Mapping[str, ChannelPolicy], channel: str) -> int:
    from worker.digests import flush_digests
    from worker.pipeline import utc_now
    from worker.runtime.embedded import build_runtime

    runtime = build_runtime(settings)
    try:
        pipeline = runtime.pipeline
        now = utc_now()
        with pipeline.router.locked(now):
            made = flush_digests(pipeline.store, policies, now, only=channel, force=True)
        if not made:
            print(f"digest send: nothing held for {channel}")
            return 0
        outcomes = [pipeline.deliver(d.id) for d in made]
    finally:
        runtime.close()
    for o in outcomes:
        print(f"{o.delivery_id}  {o.channel}  {o.state}  {o.detail}")
    return 0 if all(o.state == "sent" for o in outcomes) else EXIT_RUNTIME
