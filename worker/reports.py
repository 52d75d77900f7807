"""Plain-text reports the CLI prints: a cycle's outcome, how an item's score was built, the
deliveries table and the channels list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from worker.config import Settings
from worker.models import Delivery, DeliveryState, DisabledChannel
from worker.relevance import Explanation
from worker.relevance.scorer import EVENT_THRESHOLD, LEAD_CHARS

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
    """Every term that fired, where, whether it counted (and if not, why), and every part of
    the event score and of each ticker's score."""
    item = exp.item
    title_len = exp.title_len
    body_len = max(0, len(exp.text) - title_len - 2)
    counted = {(h.start, h.end) for h in exp.event.evidence}
    notes = dict(exp.event.notes)
    out = [f"item {item.id}: {item.title}"]
    out.append(f"  scanned: title {title_len} chars, body {body_len} chars")
    verdict = "a policy event" if exp.scored.policy_event else "not a policy event"
    out.append(f"  event score {exp.event.score}: {verdict} (threshold {EVENT_THRESHOLD})")
    for label, points in exp.event.parts:
        out.append(f"    {points:+4d}  {label}")
    if not exp.event.parts:
        out.append("       0  no policy evidence")
    out.append("  terms that fired (where: title, lead = first 300 body chars, body; @offset):")
    for hit in exp.hits:
        where = _where(hit.start, title_len)
        if hit.kind == "term":
            kind = hit.key
            note = notes.get(hit, "")
            if (hit.start, hit.end) in counted:
                status = "counted" + (f" ({note})" if note else "")
            else:
                status = note
        else:
            kind = f"{hit.key} ({hit.strength})" if hit.kind == "company" else f"{hit.key} (other)"
            status = ""
        out.append(f"    {hit.label!r:<30} {kind:<22} {where:<5} @{hit.start:<5} {status}".rstrip())
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
        why = ""
        if not m.alert:
            why = " (not a policy event)" if not exp.scored.policy_event else " (below min_score)"
        out.append(f"  => {m.watchlist}/{m.ticker}: {m.score} {flag}{why}")
    return "\n".join(out)


def _where(pos: int, title_len: int) -> str:
    if pos < title_len:
        return "title"
    return "lead" if pos < title_len + 2 + LEAD_CHARS else "body"


def _ago(seconds: float) -> str:
    """A short age: 45s, 12m, 3h, 2d."""
    seconds = max(0.0, seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _next_try(delivery: Delivery, now: datetime) -> str:
    if delivery.state is DeliveryState.SENDING:
        return "sending"
    if delivery.state not in (DeliveryState.PENDING, DeliveryState.FAILED):
        return "-"
    wait = (delivery.next_attempt_at - now).total_seconds()
    return "now" if wait <= 0 else f"in {_ago(wait)}"


def render_deliveries(
    rows: Sequence[Delivery], now: datetime, disabled: Sequence[DisabledChannel] = ()
) -> str:
    """The `deliveries` table: id, channel, state, tries, age, next try and last error; then a
    count per state and the channels switched off because their target is gone."""
    header = ("ID", "CHANNEL", "STATE", "TRIES", "AGE", "NEXT", "LAST ERROR")
    table = [
        (
            d.id,
            d.channel,
            d.state.value,
            str(d.attempts),
            _ago((now - d.created_at).total_seconds()),
            _next_try(d, now),
            d.last_error or "-",
        )
        for d in rows
    ]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + row[-1]
        for row in [header, *table]
    ]
    counts = Counter(d.state.value for d in rows)
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    lines.append(f"{len(rows)} deliveries: {summary}")
    lines.extend(
        f"channel {c.name} is disabled{_since(c, now)}: {c.reason}"
        f" (policywatch channels enable {c.name})"
        for c in disabled
    )
    return "\n".join(lines)


def _since(channel: DisabledChannel, now: datetime) -> str:
    return f" for {_ago((now - channel.since).total_seconds())}" if channel.since else ""


def render_channels(settings: Settings, disabled: Sequence[DisabledChannel], now: datetime) -> str:
    """Each configured channel: its type, where it sends (host only), its pace and whether it
    is disabled (and why); then disabled channels that are no longer in the config."""
    from worker.sendtest import describe_target

    off = {c.name: c for c in disabled}
    lines = []
    for name, config in settings.channels.items():
        pace = f"1 per {config.min_interval_s:g}s" if config.min_interval_s else "unpaced"
        state = "ok"
        if name in off:
            state = f"DISABLED{_since(off[name], now)}: {off[name].reason}"
        lines.append(f"{name}: {config.type} to {describe_target(config)}, {pace}; {state}")
    for name, channel in off.items():
        if name not in settings.channels:
            lines.append(f"{name}: not in the config; disabled: {channel.reason}")
    return "\n".join(lines) or "no channels configured"
