"""`policywatch backfill`: replay history through scoring and routing, sending nothing.

History is what a configured feed holds now, or a JSON Lines archive (`--jsonl`), optionally
limited to items published in [`since`, `until`). Each item is scored with the config's
watchlists (or every threshold replaced by `min_score`, to try another one) and routed as the
pipeline would, so each would-be alert names the channels it would have gone to. Nothing is
sent and the store is not opened: a backfill can run beside a live `policywatch run`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import httpx

from worker.config import FeedConfig, Settings
from worker.errors import ConfigError, ConfigProblem, SourceError
from worker.models import Item
from worker.politeness import user_agent_for
from worker.progress import Advance
from worker.relevance import Relevance
from worker.routing import alerts_for
from worker.sources import poll_source
from worker.sources.jsonl import parse_jsonl


@dataclass(frozen=True)
class WouldAlert:
    """One match that would have alerted, and where it would have gone."""

    item_id: str
    published: datetime | None
    title: str
    link: str
    watchlist: str
    ticker: str
    score: int
    min_score: int
    channels: tuple[str, ...]


@dataclass
class BackfillReport:
    source: str
    items: int = 0  # in the source
    scored: int = 0  # in the date range, scored
    outside_range: int = 0
    undated: int = 0  # skipped: no date while a range was asked for
    policy_events: int = 0
    would_alert: list[WouldAlert] = field(default_factory=list)
    near_misses: list[WouldAlert] = field(default_factory=list)


def parse_when(text: str) -> datetime:
    """`2025-04-01` (midnight UTC) or an ISO 8601 time (UTC unless it names a zone).

    Raises ValueError with what was expected.
    """
    try:
        if len(text.strip()) == 10:
            return datetime.combine(date.fromisoformat(text.strip()), time(), UTC)
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r}: expected a date such as 2025-04-01 or an ISO time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def feed_named(settings: Settings, name: str) -> FeedConfig:
    """The configured feed `name`. Raises ConfigError listing the feeds there are."""
    for feed in settings.feeds:
        if feed.name == name:
            return feed
    known = ", ".join(f.name for f in settings.feeds) or "none configured"
    raise ConfigError([ConfigProblem(settings.source_file, None, "feeds", name, known)])


def items_from_feed(settings: Settings, feed: FeedConfig, client: httpx.Client) -> list[Item]:
    """Everything `feed` holds now (fetched unconditionally). Raises SourceError."""
    base = Path(settings.source_file).resolve().parent if settings.source_file else Path.cwd()
    return poll_source(feed, None, client, user_agent_for(feed, settings), base).items


def items_from_archive(path: str | Path, source: str) -> list[Item]:
    """The items of a JSON Lines archive; bad lines are skipped. Raises SourceError."""
    try:
        body = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read archive {path}: {exc.strerror}") from exc
    return parse_jsonl(body, source).items


def _in_range(
    item: Item, since: datetime | None, until: datetime | None, report: BackfillReport
) -> bool:
    if since is None and until is None:
        return True
    if item.published is None:
        report.undated += 1
        return False
    if (since and item.published < since) or (until and item.published >= until):
        report.outside_range += 1
        return False
    return True


def _chronological(items: Iterable[Item]) -> list[Item]:
    unique = {i.id: i for i in items}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(unique.values(), key=lambda i: (i.published or far, i.id))


def replay(
    settings: Settings,
    items: Iterable[Item],
    source: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_score: int | None = None,
    near: int = 0,
    advance: Advance | None = None,
) -> BackfillReport:
    """Score and route `items` (oldest first) as the pipeline would; send and store nothing.

    `min_score` replaces every watchlist's threshold; `near` also reports policy-event
    matches up to that many points under it. `advance(1)` is called per item.
    """
    watchlists = settings.watchlists
    if min_score is not None:
        watchlists = [w.model_copy(update={"min_score": min_score}) for w in watchlists]
    relevance = Relevance(watchlists, source_file=settings.source_file)
    by_name = {w.name: w for w in watchlists}
    company_names = {t: c.name for t, c in relevance.companies.items()}
    report = BackfillReport(source)
    ordered = _chronological(items)
    report.items = len(ordered)
    now = datetime.now(UTC)
    for item in ordered:
        if advance:
            advance(1)
        if not _in_range(item, since, until, report):
            continue
        scored = relevance.score(item)
        report.scored += 1
        report.policy_events += scored.policy_event
        alerts = alerts_for(scored, by_name, company_names, now)
        for m in scored.matches:
            threshold = by_name[m.watchlist].min_score
            channels = tuple(
                a.channel for a in alerts if a.watchlist == m.watchlist and a.ticker == m.ticker
            )
            row = WouldAlert(
                item.id,
                item.published,
                item.title,
                item.link,
                m.watchlist,
                m.ticker,
                m.score,
                threshold,
                channels,
            )
            if m.alert:
                report.would_alert.append(row)
            elif near and scored.policy_event and m.score >= threshold - near:
                report.near_misses.append(row)
    return report


def _row_json(row: WouldAlert, alert: bool) -> dict[str, Any]:
    return {
        "alert": alert,
        "item_id": row.item_id,
        "published": row.published.isoformat() if row.published else None,
        "watchlist": row.watchlist,
        "ticker": row.ticker,
        "score": row.score,
        "min_score": row.min_score,
        "channels": list(row.channels),
        "title": row.title,
        "link": row.link,
    }


def report_json_lines(report: BackfillReport) -> Iterator[str]:
    """One JSON line per would-be alert (`"alert": true`) and near miss (false)."""
    for row in report.would_alert:
        yield json.dumps(_row_json(row, True), ensure_ascii=False)
    for row in report.near_misses:
        yield json.dumps(_row_json(row, False), ensure_ascii=False)


def _line(row: WouldAlert) -> str:
    day = row.published.strftime("%Y-%m-%d %H:%M") if row.published else "undated         "
    where = ",".join(row.channels) or "(no channel)"
    title = row.title if len(row.title) <= 90 else row.title[:89] + "…"
    return (
        f"{day}  {row.watchlist}/{row.ticker:<10} {row.score:>3} (min {row.min_score:>3})"
        f"  → {where}  {title}  [{row.item_id}]"
    )


def report_lines(report: BackfillReport) -> Iterator[str]:
    """The report as text: would-be alerts, near misses, then a summary."""
    yield f"backfill of {report.source}: nothing was sent or stored"
    for row in report.would_alert:
        yield "ALERT " + _line(row)
    for row in report.near_misses:
        yield "near  " + _line(row)
    tickers = len({(r.watchlist, r.ticker) for r in report.would_alert})
    skipped = []
    if report.outside_range:
        skipped.append(f"{report.outside_range} outside the dates")
    if report.undated:
        skipped.append(f"{report.undated} undated")
    yield (
        f"{report.items} items, {report.scored} scored"
        + (f" ({', '.join(skipped)} skipped)" if skipped else "")
        + f", {report.policy_events} policy events:"
        f" {len(report.would_alert)} alerts would have fired for {tickers} tickers"
        + (f", {len(report.near_misses)} near misses" if report.near_misses else "")
    )
