"""Plain-text reports the CLI prints: a cycle's outcome, and how an item's score was built."""

from __future__ import annotations

from typing import TYPE_CHECKING

from worker.relevance import Explanation
from worker.relevance.scorer import EVENT_THRESHOLD

if TYPE_CHECKING:
    from worker.runtime.embedded import CycleReport
    from worker.store import Store


def render_cycle_report(report: CycleReport, store: Store) -> str:
    lines = []
    for poll in report.polls:
        detail = (
            f": {poll.error}"
            if poll.error
            else (f", {len(poll.items)} items" if poll.items else "")
        )
        lines.append(f"feed {poll.feed}: {poll.status}{detail}")
    sent = [d for d in report.deliveries if d.state == "sent"]
    failed = [d for d in report.deliveries if d.state != "sent"]
    lines.append(
        f"{report.new_items} new items, {report.alerts} alerting matches, "
        f"{len(sent)} deliveries sent, {len(failed)} not sent"
    )
    for outcome in failed:
        lines.append(
            f"  {outcome.state}: {outcome.delivery_id} to {outcome.channel}: {outcome.detail}"
        )
    return "\n".join(lines)


def render_explanation(exp: Explanation) -> str:
    item = exp.item
    out = [f"item {item.id}: {item.title}"]
    verdict = "a policy event" if exp.scored.policy_event else "not a policy event"
    out.append(f"  event score {exp.event.score} ({verdict}; threshold {EVENT_THRESHOLD})")
    for label, points in exp.event.parts:
        out.append(f"    {points:+4d}  {label}")
    out.append("  terms that fired:")
    for hit in exp.hits:
        where = "title" if hit.start < len(item.title) else f"char {hit.start}"
        kind = f"{hit.key} ({hit.strength})" if hit.kind == "company" else hit.key
        out.append(f"    {hit.label!r:<32} {kind:<24} {where}")
    if not exp.hits:
        out.append("    (none)")
    for wl, rule, weight in exp.rules_fired:
        out.append(f"  rule {rule} of watchlist {wl} fired: {weight:+d}")
    for ticker, assessment in exp.tickers:
        out.append(f"  {ticker}: {assessment.score}")
        for label, points in assessment.parts:
            out.append(f"    {points:+4d}  {label}")
        out.append(f"    evidence: {assessment.evidence}")
    for m in exp.scored.matches:
        flag = "ALERT" if m.alert else "no alert"
        out.append(f"  => {m.watchlist}/{m.ticker}: {m.score} {flag}")
    return "\n".join(out)
