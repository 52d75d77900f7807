"""The `policywatch` command: parses arguments, calls the runtime, prints. No logic beyond that."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from worker import __version__
from worker.config import Settings, load_settings
from worker.errors import ConfigError, PolicywatchError, SourceError
from worker.logs import LOG_FORMATS, LogFormat, protect, redact, secrets_of, setup_logging
from worker.models import DeliveryState, ScoredItem
from worker.recorder import NULL_RECORDER
from worker.starter import STARTER_CONFIG

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
        print(f"  channel {name}: {channel.type}")
    return 0


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.exists() and not args.force:
        print(f"{path} exists; use --force to overwrite", file=sys.stderr)
        return EXIT_RUNTIME
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    print(f"wrote {path}; edit it, then run: policywatch check-config --config {path}")
    return 0


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
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: finishing what is in hand, then stopping", signum)
            stop.set()
            runtime.wake()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        with operations(runtime, args.config):
            runtime.run_forever(stop)
        return 0
    finally:
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
            requeued = [i for i in ids if store.requeue(i, utc_now())]
            print(f"requeued {len(requeued)} deliveries; `policywatch run` sends them")
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
        for d in rows:
            due = d.next_attempt_at.isoformat(timespec="seconds")
            print(
                f"{d.id}  {d.channel:<16} {d.state.value:<8} attempts={d.attempts}"
                f" due={due}  {d.last_error}"
            )
        if not rows:
            print("no deliveries in states: " + ", ".join(s.value for s in states))
        return 0
    finally:
        store.close()


def cmd_status(args: argparse.Namespace) -> int:
    from rich.console import Console

    from worker.pipeline import utc_now
    from worker.runtime.embedded import open_settings_store
    from worker.status import collect_status, render_status, status_json

    settings = _load(args)
    store = open_settings_store(settings)
    try:
        report = collect_status(settings, store, utc_now())
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

    p = with_config(sub.add_parser("deliveries", help="list or retry deliveries"))
    p.add_argument("action", nargs="?", choices=["list", "retry"], default="list")
    p.add_argument("id", nargs="?", help="delivery id (for retry)")
    p.add_argument("--all-dead", action="store_true", help="retry every dead delivery")
    p.add_argument("--state", action="append", choices=[s.value for s in DeliveryState])
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(func=cmd_deliveries)

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
