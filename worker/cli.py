"""The `policywatch` command: parses arguments, calls the runtime, prints. No logic beyond that."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from worker import __version__
from worker.config import Settings, load_settings
from worker.errors import ConfigError, PolicywatchError, SourceError
from worker.logs import LOG_FORMATS, LogFormat, protect, redact, secrets_of, setup_logging
from worker.models import DeliveryState, ScoredItem
from worker.recorder import NULL_RECORDER
from worker.starter import STARTER_CONFIG

if TYPE_CHECKING:
    from worker.routing import ChannelPolicy
    from worker.runtime.embedded import EmbeddedRuntime
    from worker.store import Store

log = logging.getLogger("policywatch")
DEFAULT_CONFIG = "policywatch.yaml"
EXIT_CONFIG = 2
EXIT_RUNTIME = 1


def _setup_logging(level: str, fmt: LogFormat = "human") -> None:
    setup_logging(level, fmt)


def _load(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    protect(secrets_of(settings))
    return settings


def _read_items(path: str) -> Iterator[tuple[int, dict[str, Any]]]:
    stream: TextIO = sys.stdin if path in ("-", "") else open(path, encoding="utf-8")  # noqa: SIM115
    with stream:
        for n, line in enumerate(stream, 1):
            if line.strip():
                try:
                    yield n, json.loads(line)
                except json.JSONDecodeError as exc:
                    raise SourceError(f"{path}:{n}: not valid JSON: {exc.msg}") from exc


def _scored_json(scored: ScoredItem) -> dict[str, Any]:
    return {
        "id": scored.item.id,
        "policy_event": scored.policy_event,
        "event_score": scored.event_score,
        "matches": [
            {
                "ticker": m.ticker,
                "watchlist": m.watchlist,
                "score": m.score,
                "alert": m.alert,
                "terms": list(m.terms),
                "evidence": m.evidence,
            }
            for m in scored.matches
        ],
    }


def cmd_score(args: argparse.Namespace) -> int:
    from worker.relevance import Relevance
    from worker.sources.items import item_from_mapping

    settings = _load(args)
    relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    out = sys.stdout
    for n, raw in _read_items(args.input):
        try:
            item = item_from_mapping(raw, source=str(raw.get("source") or ""))
        except SourceError as exc:
            raise SourceError(f"{args.input}:{n}: {exc}") from exc
        out.write(json.dumps(_scored_json(relevance.score(item)), ensure_ascii=False) + "\n")
    out.flush()
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from worker.relevance import Relevance
    from worker.reports import render_explanation
    from worker.sources.items import item_from_mapping

    settings = _load(args)
    relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    shown = 0
    for _, raw in _read_items(args.input):
        item = item_from_mapping(raw, source=str(raw.get("source") or ""))
        if args.id and item.id != args.id:
            continue
        print(render_explanation(relevance.explain(item)))
        shown += 1
    if args.id and not shown:
        print(f"no item with id {args.id!r} in {args.input}", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    from worker.relevance import Relevance

    settings = _load(args)
    _build_channels(settings)
    relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    tickers = sum(len(w.tickers) for w in relevance.watchlists)
    print(
        f"ok: {args.config}: {len(settings.watchlists)} watchlists ({tickers} tickers), "
        f"{len(settings.feeds)} feeds, {len(settings.channels)} channels, state {settings.state}"
    )
    for wl in settings.watchlists:
        print(
            f"  watchlist {wl.name}: min_score {wl.min_score}, notify {', '.join(wl.notify) or '-'}"
        )
    for feed in settings.feeds:
        print(f"  feed {feed.name}: every {feed.every:g}s")
    for name, channel in settings.channels.items():
        how = f", digest {channel.schedule} {channel.timezone}" if channel.mode == "digest" else ""
        print(f"  channel {name}: {channel.type}{how}")
    return 0


def _build_channels(settings: Settings) -> None:
    """Build every channel, as `run` will, so that what only a channel can check (a webhook
    secret's encoding, Apprise being installed and knowing the URL) fails here too."""
    from dataclasses import replace

    from worker.channels import build_channel
    from worker.errors import ConfigProblem

    problems: list[ConfigProblem] = []
    for name, config in settings.channels.items():
        try:
            build_channel(name, config)
        except ConfigError as exc:
            problems.extend(replace(p, file=p.file or settings.source_file) for p in exc.problems)
    if problems:
        raise ConfigError(problems)


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"{path} exists; use --force to overwrite", file=sys.stderr)
        return EXIT_RUNTIME
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    print(f"wrote {path}; edit it, then run: policywatch check-config --config {path}")
    return 0


def _stop_on_signals(runtime: EmbeddedRuntime) -> threading.Event:
    """An event that SIGTERM and SIGINT set (waking the runtime), for a clean stop."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: finishing what is in hand, then stopping", signum)
        stop.set()
        runtime.wake()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def cmd_run(args: argparse.Namespace) -> int:
    from worker.runtime.embedded import build_runtime
    from worker.runtime.operations import operations, recorder_for

    settings = _load(args)
    runtime = build_runtime(settings, NULL_RECORDER if args.once else recorder_for(settings))
    try:
        if args.once:
            report = runtime.run_once()
            from worker.reports import render_cycle_report

            print(render_cycle_report(report, runtime.pipeline.store))
            return 0
        stop = _stop_on_signals(runtime)
        with operations(runtime, args.config):
            runtime.run_forever(stop)
        return 0
    finally:
        runtime.close()


def cmd_serve(args: argparse.Namespace) -> int:
    from worker.errors import ConfigProblem
    from worker.runtime.embedded import build_runtime
    from worker.runtime.operations import operations, recorder_for
    from worker.serve import IngestServer, pipeline_acceptor

    settings = _load(args)
    if not settings.serve.tokens:
        expected = "at least one bearer token for policywatch serve, as  name: ${ENV_VAR}"
        raise ConfigError([ConfigProblem(args.config, None, "serve.tokens", {}, expected)])
    overrides = {k: v for k, v in (("bind", args.bind), ("port", args.port)) if v is not None}
    runtime = build_runtime(settings, recorder_for(settings))
    try:
        server = IngestServer(
            settings.serve.model_copy(update=overrides),
            pipeline_acceptor(lambda: runtime.pipeline, runtime.wake),
        )
    except OSError as exc:
        runtime.close()
        where = f"{args.bind or settings.serve.bind}:{args.port or settings.serve.port}"
        raise PolicywatchError(f"cannot listen on {where}: {exc}") from exc
    stop = _stop_on_signals(runtime)
    server.start()
    print(f"policywatch serve: POST {server.url}/v1/items", flush=True)
    try:
        with operations(runtime, args.config):
            runtime.run_forever(stop, poll=not args.no_poll)
        return 0
    finally:
        server.stop()
        runtime.close()


def cmd_deliveries(args: argparse.Namespace) -> int:
    from worker.runtime.embedded import open_settings_store

    settings = _load(args)
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


def _figure(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"


def _print_eval(report: Any, subset: str, source: str) -> None:
    from worker.evaluation import Counts

    def row(label: str, c: Counts) -> str:
        return (
            f"  {label:<22} {_figure(c.precision)}  {_figure(c.recall)}  {_figure(c.f1)}"
            f"  {c.tp:>4} {c.fp:>4} {c.fn:>4}"
        )

    ev = report.event
    print(f"{source}: {ev.items} items ({subset}), {len(report.tickers)} tickers")
    print(f"  {'(item, ticker) alerts':<22} P      R      F1      TP   FP   FN")
    print(row("overall", report.overall))
    print(
        f"  policy_event accuracy {_figure(ev.accuracy)} ({ev.correct}/{ev.items}); "
        f"P {_figure(ev.counts.precision)} R {_figure(ev.counts.recall)}"
    )
    print("per ticker:")
    for ticker, counts in report.per_ticker.items():
        print(row(ticker, counts))
    print("per category:                P      R      F1      TP   FP   FN  event accuracy")
    for name, cat in sorted(report.per_category.items()):
        print(f"{row(name, cat.alerts)}  {_figure(cat.event.accuracy)} ({cat.event.items})")
    for heading, errors in (("misses", report.misses), ("false alarms", report.false_alarms)):
        print(f"{heading} ({len(errors)}):")
        for e in errors:
            print(f"  {e.item_id:<10} {e.ticker:<10} score {e.score:>3}  {e.title}")
    print(f"policy_event errors ({len(report.event_errors)}):")
    for e in report.event_errors:
        want = "event" if e.expected else "not an event"
        print(f"  {e.item_id:<10} should be {want:<12} event score {e.event_score:>3}  {e.title}")
    if report.unwatched:
        listed = ", ".join(f"{t} ({n})" for t, n in report.unwatched.items())
        print(f"labels for tickers no watchlist watches (ignored): {listed}")


def cmd_eval(args: argparse.Namespace) -> int:
    from worker.evaluation import evaluate, evaluation_watchlist, load_labelled, select
    from worker.relevance import Relevance

    if args.config:
        settings = _load(args)
        relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    else:
        relevance = Relevance([evaluation_watchlist()])
    labelled = select(load_labelled(args.input), args.subset)
    report = evaluate(relevance, labelled)
    if args.json:
        print(json.dumps({"subset": args.subset, **report.as_dict()}, ensure_ascii=False))
    else:
        _print_eval(report, args.subset, args.input)
    return 0


def cmd_send_test(args: argparse.Namespace) -> int:
    from worker.channels import build_channel
    from worker.errors import DeliveryError, TargetGoneError
    from worker.pipeline import utc_now
    from worker.sendtest import describe_target, sample_notification

    settings = _load(args)
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
    _note_if_disabled(settings, args.channel)
    return 0


def _note_if_disabled(settings: Settings, name: str) -> None:
    from worker.runtime.embedded import open_settings_store

    try:
        store = open_settings_store(settings)
    except PolicywatchError:
        return
    try:
        reason = store.channel_disabled(name)
    finally:
        store.close()
    if reason:
        print(
            f"note: alerts do not go to {name}: it was disabled ({reason});"
            f" if the target works again: policywatch channels enable {name}"
        )


def cmd_channels(args: argparse.Namespace) -> int:
    from worker.pipeline import utc_now
    from worker.reports import render_channels
    from worker.runtime.embedded import open_settings_store

    settings = _load(args)
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

    settings = _load(args)
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


def cmd_backfill(args: argparse.Namespace) -> int:
    from worker import progress
    from worker.backfill import (
        feed_named,
        items_from_archive,
        items_from_feed,
        parse_when,
        replay,
        report_json_lines,
        report_lines,
    )
    from worker.runtime.embedded import make_http_client

    settings = _load(args)
    try:
        since = parse_when(args.since) if args.since else None
        until = parse_when(args.until) if args.until else None
    except ValueError as exc:
        print(f"backfill: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if not args.feed and not args.jsonl:
        print("backfill: give a FEED name, or --jsonl ARCHIVE", file=sys.stderr)
        return EXIT_CONFIG
    if args.jsonl:
        source = args.feed or Path(args.jsonl).name
        items = items_from_archive(args.jsonl, source)
    else:
        feed = feed_named(settings, args.feed)
        source = f"feed {feed.name}"
        with make_http_client(settings.user_agent) as client:
            items = items_from_feed(settings, feed, client)
    with progress.progress(f"scoring {source}", len(items), enabled=progress.wanted()) as advance:
        report = replay(
            settings,
            items,
            source,
            since=since,
            until=until,
            min_score=args.min_score,
            near=args.near,
            advance=advance,
        )
    lines = report_json_lines(report) if args.json else report_lines(report)
    for line in lines:
        print(line)
    return 0


def _when(value: str) -> datetime:
    """An ISO 8601 time for --start/--until; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        expected = f"an ISO 8601 time such as 2025-04-16T08:00Z: {value!r}"
        raise argparse.ArgumentTypeError(expected) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _duration(value: str) -> float:
    from worker.config import parse_duration_s

    try:
        return parse_duration_s(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a duration such as 30m, 4h or 2d: {value!r}") from None


def _short_time(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def cmd_silence(args: argparse.Namespace) -> int:
    from worker.runtime.embedded import open_settings_store

    settings = _load(args)
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
    print(f"{silence.id}  {describe(silence)}  until {_short_time(silence.ends_at)}")
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
        f"  from {_short_time(silence.starts_at)} until {_short_time(silence.ends_at)}"
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
                f"    {_short_time(hold.created_at)}  {a.channel:<12} {a.ticker:<8}"
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
            f"{x.id}  {state_of(x, now):<8} {describe(x):<32} until {_short_time(x.ends_at)}"
            f"  muted {counts.get(x.id, 0):<4} by {x.created_by}: {x.comment}"
        )
    if not shown:
        print("no silences" + ("" if args.all else " in force (--all shows expired ones)"))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from worker.routing import policies_for

    settings = _load(args)
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
            f"{r.channel:<16} {r.schedule!r} {r.zone:<20} last {_short_time(r.last_at)}"
            f"  next {_short_time(r.next_at)}  held {r.held}"
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


def cmd_scheduler(args: argparse.Namespace) -> int:
    from worker.runtime.scheduler import run_scheduler

    settings = _load(args)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stepping down and releasing the leader lock", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_scheduler(settings, stop)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    from worker.runtime.nodes import run_node, run_pair

    settings = _load(args)
    if args.queue is None:
        if args.concurrency is not None:
            print(
                "worker: --concurrency needs --queue; without it set"
                " distributed.poll_concurrency and distributed.deliver_concurrency",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        return run_pair(args.config, args.log_level, args.log_format)
    return run_node(settings, args.queue, args.concurrency, args.log_level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="policywatch",
        description="Watch the news for export-control events and alert the desks that care.",
    )
    parser.add_argument("--version", action="version", version=f"policywatch {__version__}")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        default="human",
        help="human-readable lines (default) or one JSON object per line; both on stderr",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", "-c", default=DEFAULT_CONFIG, help="YAML config file")
        return p

    p = with_config(
        sub.add_parser("score", help="score JSON Lines items; print one JSON line each")
    )
    p.add_argument("input", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    p.set_defaults(func=cmd_score)

    p = with_config(sub.add_parser("explain", help="show how items' scores were built"))
    p.add_argument("input", nargs="?", default="-", help="JSON Lines file, or - for stdin")
    p.add_argument("--id", help="only the item with this id")
    p.set_defaults(func=cmd_explain)

    p = with_config(sub.add_parser("check-config", help="validate a config file"))
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("init", help="write a commented starter config")
    p.add_argument("path", nargs="?", default=DEFAULT_CONFIG)
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_init)

    p = with_config(sub.add_parser("run", help="poll, score, alert and deliver"))
    p.add_argument("--once", action="store_true", help="one full cycle, then exit")
    p.set_defaults(func=cmd_run)

    p = with_config(
        sub.add_parser("serve", help="accept items over HTTP (POST /v1/items), score, deliver")
    )
    p.add_argument("--bind", help="address to listen on (default: serve.bind, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on (default: serve.port, 8080)")
    p.add_argument("--no-poll", action="store_true", help="do not poll the configured feeds")
    p.set_defaults(func=cmd_serve)

    p = with_config(sub.add_parser("deliveries", help="list or retry deliveries"))
    p.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    p.add_argument("id", nargs="?", help="delivery id (for retry)")
    p.add_argument("--all-dead", action="store_true", help="retry every dead delivery")
    p.add_argument("--state", action="append", choices=[s.value for s in DeliveryState])
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_deliveries)

    p = sub.add_parser("eval", help="precision and recall of alerts against a labelled set")
    p.add_argument("input", help="labelled JSON Lines (items plus policy_event and relevant)")
    p.add_argument(
        "--config", "-c", default=None, help="YAML config (default: the 20-ticker evaluation list)"
    )
    p.add_argument("--json", action="store_true", help="one JSON object instead of a report")
    p.add_argument(
        "--subset",
        choices=["all", "tune", "held-out", "odd", "even"],
        default="all",
        help="all items, the tuning two thirds / held-out third (split by id hash), "
        "or the items whose id ends in an odd / even number",
    )
    p.set_defaults(func=cmd_eval)

    p = with_config(sub.add_parser("status", help="feeds, channels, deliveries, scheduler"))
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func=cmd_status)

    p = with_config(
        sub.add_parser(
            "backfill", help="replay a feed's items or an archive through scoring; send nothing"
        )
    )
    p.add_argument("feed", nargs="?", help="a configured feed's name")
    p.add_argument("--jsonl", metavar="ARCHIVE", help="read items from a JSON Lines archive")
    p.add_argument("--since", metavar="DATE", help="only items published on or after DATE")
    p.add_argument("--until", metavar="DATE", help="only items published before DATE")
    p.add_argument(
        "--min-score", type=int, metavar="N", help="try this threshold on every watchlist"
    )
    p.add_argument(
        "--near", type=int, default=0, metavar="N", help="also show matches N points short"
    )
    p.add_argument("--json", action="store_true", help="one JSON line per would-be alert")
    p.set_defaults(func=cmd_backfill)

    p = with_config(sub.add_parser("silence", help="mute alerts for a while; list, show, expire"))
    p.add_argument("action", nargs="?", choices=["add", "list", "show", "expire"], default="list")
    p.add_argument("id", nargs="?", help="silence id (for show, expire)")
    p.add_argument("--ticker", action="append", help="mute this ticker (repeatable)")
    p.add_argument("--watchlist", action="append", help="mute this watchlist")
    p.add_argument("--channel", action="append", help="mute this channel")
    p.add_argument("--for", dest="duration", type=_duration, help="how long: 30m, 4h, 2d")
    p.add_argument("--until", type=_when, help="until this time (ISO 8601; UTC if no offset)")
    p.add_argument("--start", type=_when, help="start later than now (ISO 8601)")
    p.add_argument("--comment", default="", help="why (required for add)")
    p.add_argument("--by", default="", help="who (default: the current user)")
    p.add_argument("--all", action="store_true", help="list: include expired silences")
    p.set_defaults(func=cmd_silence)

    p = with_config(sub.add_parser("digest", help="list digest channels; preview or send one"))
    p.add_argument("action", nargs="?", choices=["list", "preview", "send"], default="list")
    p.add_argument("channel", nargs="?", help="digest channel (for preview, send)")
    p.add_argument("--html", action="store_true", help="preview: print the HTML part")
    p.set_defaults(func=cmd_digest)
    p = with_config(
        sub.add_parser("send-test", help="send a sample alert to a channel; print the answer")
    )
    p.add_argument("channel", help="a channel name from the config")
    p.add_argument("--long", action="store_true", help="a sample beyond the target's limits")
    p.set_defaults(func=cmd_send_test)

    p = with_config(sub.add_parser("channels", help="list channels, or enable a disabled one"))
    p.add_argument("action", nargs="?", choices=["list", "enable"], default="list")
    p.add_argument("name", nargs="?", help="channel name (for enable)")
    p.set_defaults(func=cmd_channels)

    p = with_config(
        sub.add_parser("scheduler", help="distributed: queue polls and sweeps (leader only)")
    )
    p.set_defaults(func=cmd_scheduler)

    p = with_config(
        sub.add_parser("worker", help="distributed: a Celery worker for polls and deliveries")
    )
    p.add_argument("--queue", choices=["poll", "deliver"], help="run one node for this queue only")
    p.add_argument("--concurrency", type=int, help="processes for that queue's node")
    p.set_defaults(func=cmd_worker)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.log_level, args.log_format)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as exc:
        print(f"config error ({len(exc.problems)} problems):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_CONFIG
    except PolicywatchError as exc:
        print(f"error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_RUNTIME
    except BrokenPipeError:
        return 0
