"""`policywatch status`: are alerts flowing? Collected from the store and the config.

`collect_status` builds a StatusReport (feeds, channels, pending deliveries, the scheduler
and its leader, digests' next runs, and what needs attention); `render_status` draws it as
rich tables, `status_json` as plain data for scripts. Times are UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from rich.console import Console
from rich.table import Table
from rich.text import Text

from worker.config import Settings
from worker.feed_health import assess
from worker.models import DeliveryState, FeedState
from worker.store import Store

# A feed is stale when its last good poll is older than this many of its intervals.
STALE_INTERVALS = 3
# Matches examples/prometheus-rules.yml: a delivery waiting longer than this needs a look.
PENDING_TOO_OLD = timedelta(minutes=10)
DIGEST_JOB_PREFIX = "digest:"


@dataclass(frozen=True)
class FeedStatus:
    name: str
    every_s: float
    state: str  # ok, failing, stale, disabled, silent, not polled yet
    last_success_at: datetime | None
    last_polled_at: datetime | None
    last_error: str
    consecutive_failures: int
    next_poll_at: datetime | None
    items_seen: int


@dataclass(frozen=True)
class ChannelStatus:
    name: str
    type: str  # "(not configured)" for a channel only the store remembers
    sent: int
    pending: int  # pending or being sent
    failed: int  # failed, will retry
    dead: int
    disabled_reason: str


@dataclass(frozen=True)
class PendingStatus:
    waiting: int  # not yet sent or dead: pending, sending or failed
    due_now: int
    oldest_at: datetime | None
    oldest_age_s: float | None
    next_due_at: datetime | None


@dataclass(frozen=True)
class SchedulerStatus:
    component: str
    holder: str  # host:pid; for the distributed runtime, the leader
    beat_at: datetime
    age_s: float
    alive: bool
    jobs: dict[str, datetime | None]


@dataclass(frozen=True)
class DigestStatus:
    name: str
    next_run_at: datetime | None


@dataclass(frozen=True)
class StatusReport:
    generated_at: datetime
    config: str
    state: str
    feeds: list[FeedStatus]
    channels: list[ChannelStatus]
    pending: PendingStatus
    schedulers: list[SchedulerStatus]
    digests: list[DigestStatus]
    attention: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.attention


def _safe_url(url: str) -> str:
    """A store URL without its password."""
    split = urlsplit(url)
    if not split.password:
        return url
    netloc = split.netloc.rsplit("@", 1)[1]
    user = f"{split.username}:***@" if split.username else ":***@"
    return urlunsplit(split._replace(netloc=user + netloc))


def _feed_state(state: FeedState | None, every_s: float, now: datetime) -> str:
    if state is None or state.last_polled_at is None:
        return "not polled yet"
    if state.disabled_reason:
        return "disabled"
    stale_before = now - timedelta(seconds=STALE_INTERVALS * every_s)
    if state.last_success_at is None or state.last_success_at < stale_before:
        return "stale"
    return "failing" if state.consecutive_failures else "ok"


def collect_status(
    settings: Settings,
    store: Store,
    now: datetime,
    digests: Iterable[DigestStatus] = (),
) -> StatusReport:
    """Read everything `status` shows. `digests` adds digests known other than from the
    scheduler's heartbeat (whose `digest:<name>` jobs are listed already).

    Raises StoreError when the store cannot be read.
    """
    states = {s.name: s for s in store.list_feed_states()}
    feeds = []
    for feed in settings.feeds:
        st = states.get(feed.name)
        feed_state = _feed_state(st, feed.every, now)
        detail = (st.disabled_reason or st.last_error) if st else ""
        silence = assess(feed, st, now) if feed_state == "ok" else None
        if silence is not None and silence.status == "silent":
            # no new items for longer than the feed's stale_after
            feed_state, detail = "silent", silence.detail
        feeds.append(
            FeedStatus(
                name=feed.name,
                every_s=feed.every,
                state=feed_state,
                last_success_at=st.last_success_at if st else None,
                last_polled_at=st.last_polled_at if st else None,
                last_error=detail,
                consecutive_failures=st.consecutive_failures if st else 0,
                next_poll_at=st.next_poll_at if st else None,
                items_seen=st.items_seen if st else 0,
            )
        )
    counts = store.count_deliveries()
    names = list(settings.channels) + sorted({c for c, _ in counts} - set(settings.channels))
    channels = []
    for name in names:
        config = settings.channels.get(name)

        def n(*wanted: DeliveryState, channel: str = name) -> int:
            return sum(counts.get((channel, s), 0) for s in wanted)

        channels.append(
            ChannelStatus(
                name=name,
                type=str(getattr(config, "type", "?")) if config else "(not configured)",
                sent=n(DeliveryState.SENT),
                pending=n(DeliveryState.PENDING, DeliveryState.SENDING),
                failed=n(DeliveryState.FAILED),
                dead=n(DeliveryState.DEAD),
                disabled_reason=store.channel_disabled(name),
            )
        )
    oldest = store.oldest_pending_at()
    pending = PendingStatus(
        waiting=sum(
            n
            for (_, s), n in counts.items()
            if s in (DeliveryState.PENDING, DeliveryState.SENDING, DeliveryState.FAILED)
        ),
        due_now=len(store.due_ids(now, limit=100_000)),
        oldest_at=oldest,
        oldest_age_s=(now - oldest).total_seconds() if oldest else None,
        next_due_at=store.next_due_at(),
    )
    schedulers = [
        SchedulerStatus(
            component=b.component,
            holder=b.holder,
            beat_at=b.beat_at,
            age_s=(now - b.beat_at).total_seconds(),
            alive=(now - b.beat_at).total_seconds() <= settings.health.stale_after,
            jobs=dict(b.jobs),
        )
        for b in store.list_heartbeats()
    ]
    found = {
        job.removeprefix(DIGEST_JOB_PREFIX): when
        for s in schedulers
        if s.alive
        for job, when in s.jobs.items()
        if job.startswith(DIGEST_JOB_PREFIX)
    }
    for digest in digests:
        found.setdefault(digest.name, digest.next_run_at)
    report = StatusReport(
        generated_at=now,
        config=settings.source_file,
        state=_safe_url(settings.state),
        feeds=feeds,
        channels=channels,
        pending=pending,
        schedulers=schedulers,
        digests=[DigestStatus(k, v) for k, v in sorted(found.items())],
    )
    report.attention.extend(_attention(report))
    return report


def _attention(report: StatusReport) -> Iterable[str]:
    for f in report.feeds:
        if f.state in ("stale", "failing", "disabled", "silent"):
            why = f": {f.last_error}" if f.last_error else ""
            yield f"feed {f.name} is {f.state}{why}"
    for c in report.channels:
        if c.disabled_reason:
            yield f"channel {c.name} is disabled: {c.disabled_reason}"
        if c.dead:
            yield f"channel {c.name} has {c.dead} dead deliveries (policywatch deliveries)"
    age = report.pending.oldest_age_s
    if age is not None and age > PENDING_TOO_OLD.total_seconds():
        yield f"the oldest pending delivery has waited {_duration(age)}"
    for s in report.schedulers:
        if not s.alive:
            yield f"{s.component} on {s.holder} last beat {_duration(s.age_s)} ago"


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    return value


def status_json(report: StatusReport) -> dict[str, Any]:
    """The report as JSON-ready data: ISO 8601 times, ages in seconds."""
    data: dict[str, Any] = _iso(asdict(report))
    data["healthy"] = report.healthy
    return data


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f}m"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "-"
    delta = (value - now).total_seconds()
    return f"in {_duration(delta)}" if delta > 0 else f"{_duration(delta)} ago"


_STYLES = {"ok": "green", "failing": "yellow", "stale": "red", "disabled": "red"}


def render_status(report: StatusReport, console: Console) -> None:
    """Draw the report as tables on `console`."""
    now = report.generated_at
    console.print(f"policywatch status at {now.isoformat(timespec='seconds')}", highlight=False)
    console.print(f"config {report.config}; state {report.state}", highlight=False)
    feeds = Table(title="Feeds", title_justify="left", expand=False)
    for column in ("feed", "state", "last success", "next poll", "items seen", "last error"):
        feeds.add_column(column, justify="right" if column == "items seen" else "left")
    for f in report.feeds:
        state = f.state + (f" ({f.consecutive_failures}x)" if f.consecutive_failures else "")
        feeds.add_row(
            f.name,
            Text(state, style=_STYLES.get(f.state, "")),
            _when(f.last_success_at, now),
            _when(f.next_poll_at, now),
            str(f.items_seen),
            Text(f.last_error or "-", overflow="fold"),
        )
    console.print(feeds)
    channels = Table(title="Channels", title_justify="left")
    for column in ("channel", "type", "sent", "pending", "failed", "dead", "disabled"):
        numeric = column in ("sent", "pending", "failed", "dead")
        channels.add_column(column, justify="right" if numeric else "left")
    for c in report.channels:
        channels.add_row(
            c.name,
            c.type,
            str(c.sent),
            str(c.pending),
            Text(str(c.failed), style="yellow" if c.failed else ""),
            Text(str(c.dead), style="red" if c.dead else ""),
            Text(c.disabled_reason or "no", style="red" if c.disabled_reason else ""),
        )
    console.print(channels)
    p = report.pending
    oldest = f", oldest waiting {_duration(p.oldest_age_s)}" if p.oldest_age_s is not None else ""
    console.print(
        f"Deliveries waiting: {p.waiting} ({p.due_now} due now{oldest});"
        f" next due {_when(p.next_due_at, now)}"
    )
    if not report.schedulers:
        console.print("Scheduler: no heartbeat in the store (no `policywatch run` or scheduler)")
    for s in report.schedulers:
        alive = "alive" if s.alive else "NOT BEATING"
        console.print(
            f"Scheduler ({s.component}): {alive}, leader {s.holder},"
            f" last beat {_when(s.beat_at, now)}"
        )
    if report.digests:
        for d in report.digests:
            console.print(f"Digest {d.name}: next run {_when(d.next_run_at, now)}")
    else:
        console.print("Digests: none scheduled")
    if report.attention:
        console.print(Text("Needs attention:", style="bold red"))
        for line in report.attention:
            console.print(f"  - {line}", highlight=False)
    else:
        console.print(Text("All good: feeds polled, nothing stuck.", style="green"))
