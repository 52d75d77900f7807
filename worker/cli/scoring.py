"""Commands about scores: score, explain, eval, backfill."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from worker.cli.common import EXIT_CONFIG, EXIT_RUNTIME, figure, load, read_items
from worker.errors import SourceError
from worker.models import ScoredItem


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

    settings = load(args)
    relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    out = sys.stdout
    for n, raw in read_items(args.input):
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

    settings = load(args)
    relevance = Relevance(settings.watchlists, source_file=settings.source_file)
    shown = 0
    for _, raw in read_items(args.input):
        item = item_from_mapping(raw, source=str(raw.get("source") or ""))
        if args.id and item.id != args.id:
            continue
        print(render_explanation(relevance.explain(item)))
        shown += 1
    if args.id and not shown:
        print(f"no item with id {args.id!r} in {args.input}", file=sys.stderr)
        return EXIT_RUNTIME
    return 0


def _print_eval(report: Any, subset: str, source: str) -> None:
    from worker.evaluation import Counts

    def row(label: str, c: Counts) -> str:
        return (
            f"  {label:<22} {figure(c.precision)}  {figure(c.recall)}  {figure(c.f1)}"
            f"  {c.tp:>4} {c.fp:>4} {c.fn:>4}"
        )

    ev = report.event
    print(f"{source}: {ev.items} items ({subset}), {len(report.tickers)} tickers")
    print(f"  {'(item, ticker) alerts':<22} P      R      F1      TP   FP   FN")
    print(row("overall", report.overall))
    print(
        f"  policy_event accuracy {figure(ev.accuracy)} ({ev.correct}/{ev.items}); "
        f"P {figure(ev.counts.precision)} R {figure(ev.counts.recall)}"
    )
    print("per ticker:")
    for ticker, counts in report.per_ticker.items():
        print(row(ticker, counts))
    print("per category:                P      R      F1      TP   FP   FN  event accuracy")
    for name, cat in sorted(report.per_category.items()):
        print(f"{row(name, cat.alerts)}  {figure(cat.event.accuracy)} ({cat.event.items})")
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
        settings = load(args)
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

    settings = load(args)
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
