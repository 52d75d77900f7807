"""Commands about where alerts go: deliveries, send-test, channels, status."""

from __future__ import annotations

import argparse
import json
import sys

from worker.cli.common import EXIT_CONFIG, EXIT_RUNTIME, load, note_if_disabled
from worker.models import DeliveryState


def cmd_deliveries(args: argparse.Namespace) -> int:
    from worker.runtime.embedded import open_settings_store

    settings = load(args)
    store = open_settings_store(settings)
    try:
        if args.action == "retry":
            from worker.pipeline import utc_now

            if args.all_dead:
                ids = [d.id for d in store.list_deliveries([DeliveryState.DEAD], limit=100_000)]
            elif args.id:
                ids = [args.id]
            else:
                print("deliveries retry: give a delivery ID or --all-dead", file=sys.stderr)
                return EXIT_CONFIG
            if args.id and not args.all_dead:
                found = store.get_delivery(args.id)
                if found is None or found.state not in (DeliveryState.DEAD, DeliveryState.FAILED):
                    shown = found.state.value if found else "not found"
                    print(
                        f"{args.id}: {shown}; only dead or failed deliveries are retried",
                        file=sys.stderr,
                    )
                    return EXIT_RUNTIME
            requeued = [i for i in ids if store.requeue(i, utc_now())]
            print(f"requeued {len(requeued)} deliveries; `policywatch run` sends them")
            for channel in store.list_disabled_channels():
                print(
                    f"note: channel {channel.name} is disabled ({channel.reason}); its deliveries"
                    f" stay dead until `policywatch channels enable {channel.name}`",
                    file=sys.stderr,
                )
            return 0 if requeued or not args.id else EXIT_RUNTIME
        states = (
            [DeliveryState(s) for s in args.state]
            if args.state
            else [
                DeliveryState.PENDING,
                DeliveryState.SENDING,
                DeliveryState.FAILED,
                DeliveryState.DEAD,
            ]
        )
        rows = store.list_deliveries(states, limit=args.limit)
        if not rows:
            print("no deliveries in states: " + ", ".join(s.value for s in states))
            return 0
        from worker.pipeline import utc_now
        from worker.reports import render_deliveries

        print(render_deliveries(rows, utc_now(), store.list_disabled_channels()))
        return 0
    finally:
        store.close()


def cmd_send_test(args: argparse.Namespace) -> int:
    from worker.channels import build_channel
    from worker.errors import DeliveryError, TargetGoneError
    from worker.pipeline import utc_now
    from worker.sendtest import describe_target, sample_notification

    settings = load(args)
    config = settings.channels.get(args.channel)
    if config is None:
        known = ", ".join(sorted(settings.channels)) or "none configured"
        print(f"send-test: no channel {args.channel!r} (channels: {known})", file=sys.stderr)
        return EXIT_CONFIG
    channel = build_channel(args.channel, config)
    where = f"{args.channel} ({config.type}, {describe_target(config)})"
    notification = sample_notification(args.channel, utc_now(), long=args.long)
    try:
        answer = channel.send(notification)
    except TargetGoneError as exc:
        print(f"send-test {where} failed, the target is gone: {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    except DeliveryError as exc:
        kind = "a retry may help" if exc.retryable else "permanent"
        print(f"send-test {where} failed ({kind}): {exc}", file=sys.stderr)
        return EXIT_RUNTIME
    print(f"sent a test alert to {where}; it answered: {answer}")
    note_if_disabled(settings, args.channel)
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    from worker.pipeline import utc_now
    from worker.reports import render_channels
    from worker.runtime.embedded import open_settings_store

    settings = load(args)
    store = open_settings_store(settings)
    try:
        if args.action == "enable":
            if not args.name:
                print("channels enable: give a channel name", file=sys.stderr)
                return EXIT_CONFIG
            was = store.channel_disabled(args.name)
            store.enable_channel(args.name)
            if not was:
                print(f"channel {args.name} was not disabled")
                return 0
            print(
                f"enabled {args.name}; to send its dead deliveries again:"
                " policywatch deliveries retry --all-dead"
            )
            return 0
        print(render_channels(settings, store.list_disabled_channels(), utc_now()))
        return 0
    finally:
        store.close()


def cmd_status(args: argparse.Namespace) -> int:
    from rich.console import Console

    from worker.digests import status as digest_status
    from worker.pipeline import utc_now
    from worker.routing import policies_for
    from worker.runtime.embedded import open_settings_store
    from worker.status import DigestStatus, collect_status, render_status, status_json

    settings = load(args)
    store = open_settings_store(settings)
    try:
        now = utc_now()
        digests = [
            DigestStatus(d.channel, d.next_at)
            for d in digest_status(store, policies_for(settings), now)
        ]
        report = collect_status(settings, store, now, digests)
    finally:
        store.close()
    if args.json:
        print(json.dumps(status_json(report), indent=2, ensure_ascii=False))
    else:
        console = Console()
        render_status(report, console if console.is_terminal else Console(width=120))
    return 0
