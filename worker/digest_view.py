"""The digest as its templates see it: stories ranked by score, grouped by ticker, each story
once with its sources.

A story (an event cluster) that touches several tickers is shown in full under the ticker it
scores highest for; the other tickers' sections point to it in one line. Untrusted text is
cleaned (worker/rendering.py) before templates see it; the HTML template autoescapes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from worker.models import Alert, ClusterMember, Notification
from worker.rendering import AlertView, clean_text, render, safe_link

_SOURCES_SHOWN = 8


@dataclass(frozen=True, slots=True)
class SourceView:
    """One other outlet's report of a story."""

    source: str
    title: str
    link: str
    when: str


@dataclass(frozen=True, slots=True)
class StoryView:
    """One story: its best alert's headline and evidence, its score, the other tickers it
    touches (ticker, score) and the other reports of it."""

    key: str
    ticker: str
    company: str
    score: int
    title: str
    link: str
    source: str
    when: str
    evidence: str
    terms: tuple[str, ...]
    watchlist: str
    update: int
    also_tickers: tuple[tuple[str, int], ...]
    sources: tuple[SourceView, ...]
    more_sources: int
    is_ref: bool = False


@dataclass(frozen=True, slots=True)
class CrossRef:
    """A story shown under another ticker: (that ticker, this ticker's score, title)."""

    shown_under: str
    score: int
    title: str
    is_ref: bool = True


@dataclass(frozen=True, slots=True)
class TickerSection:
    """One ticker's stories and pointers to stories shown under other tickers; `entries` holds
    both, best score first."""

    ticker: str
    company: str
    top_score: int
    stories: tuple[StoryView, ...]
    see_also: tuple[CrossRef, ...]

    @property
    def entries(self) -> list[StoryView | CrossRef]:
        both: list[StoryView | CrossRef] = [*self.stories, *self.see_also]
        return sorted(both, key=lambda e: (-e.score, e.is_ref))


@dataclass(frozen=True, slots=True)
class DigestView:
    """The whole digest: heading, counts, sections, and the footer's links."""

    heading: str
    period: str
    story_count: int
    ticker_count: int
    hidden_stories: int
    sections: tuple[TickerSection, ...]
    delivery_id: str
    unsubscribe_url: str
    zone: str

    @property
    def summary(self) -> str:
        """One line for a subject or a preview: "5 stories · NVDA, AMD, TSM"."""
        tickers = [s.ticker for s in self.sections]
        shown = ", ".join(tickers[:6]) + (f" +{len(tickers) - 6}" if len(tickers) > 6 else "")
        stories = f"{self.story_count} stor{'y' if self.story_count == 1 else 'ies'}"
        return f"{stories} · {shown}" if tickers else "no new stories"


def local_time(value: datetime | None, zone: ZoneInfo, fmt: str = "%d %b %Y %H:%M %Z") -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(fmt)


def _story_key(alert: Alert) -> str:
    return alert.cluster_id or alert.item_id


def _sources(
    primary: Alert, members: list[ClusterMember], zone: ZoneInfo
) -> tuple[tuple[SourceView, ...], int]:
    others = [m for m in members if m.item_id != primary.item_id]
    others.sort(key=lambda m: (m.event_at, m.item_id))
    views = tuple(
        SourceView(
            source=clean_text(m.source) or "unknown source",
            title=clean_text(m.title) or "(untitled)",
            link=safe_link(m.link),
            when=local_time(m.published or m.event_at, zone, "%d %b %H:%M %Z"),
        )
        for m in others[:_SOURCES_SHOWN]
    )
    return views, max(0, len(others) - _SOURCES_SHOWN)


def digest_view(
    notification: Notification,
    zone: ZoneInfo,
    max_stories: int = 60,
    unsubscribe_url: str = "",
) -> DigestView:
    """Build the view of a digest notification (see the module docstring)."""
    by_story: dict[str, list[Alert]] = {}
    for alert in notification.alerts:
        by_story.setdefault(_story_key(alert), []).append(alert)
    members: dict[str, list[ClusterMember]] = {}
    for member in notification.members:
        members.setdefault(member.cluster_id, []).append(member)

    stories: list[StoryView] = []
    secondary: list[tuple[str, str, int, str]] = []  # (ticker, shown under, score, title)
    for key, alerts in by_story.items():
        # Best alert per ticker, then the best ticker overall is where the story is shown.
        best: dict[str, Alert] = {}
        for a in sorted(alerts, key=lambda a: (-a.score, a.update, a.id)):
            best.setdefault(a.ticker, a)
        ranked = sorted(best.values(), key=lambda a: (-a.score, a.ticker))
        primary = ranked[0]
        view = AlertView.of(primary)
        sources, more = _sources(primary, members.get(primary.cluster_id, []), zone)
        stories.append(
            StoryView(
                key=key,
                ticker=view.ticker,
                company=view.company,
                score=primary.score,
                title=view.title,
                link=view.link,
                source=view.source or "unknown source",
                when=local_time(primary.published, zone),
                evidence=view.evidence,
                terms=view.terms,
                watchlist=view.watchlist,
                update=primary.update,
                also_tickers=tuple((clean_text(a.ticker), a.score) for a in ranked[1:]),
                sources=sources,
                more_sources=more,
            )
        )
        for other in ranked[1:]:
            secondary.append((clean_text(other.ticker), view.ticker, other.score, view.title))
    stories.sort(key=lambda s: (-s.score, s.title))
    shown = stories[:max_stories]
    shown_titles = {(s.ticker, s.title) for s in shown}

    sections: dict[str, list[StoryView]] = {}
    companies: dict[str, str] = {}
    for story in shown:
        sections.setdefault(story.ticker, []).append(story)
        companies[story.ticker] = story.company
    refs: dict[str, list[CrossRef]] = {}
    for ticker, under, score, title in secondary:
        if (under, title) in shown_titles:
            refs.setdefault(ticker, []).append(CrossRef(under, score, title))
    for alert in notification.alerts:
        companies.setdefault(clean_text(alert.ticker), clean_text(alert.company))

    def top(ticker: str) -> int:
        scores = [s.score for s in sections.get(ticker, [])]
        scores += [r.score for r in refs.get(ticker, [])]
        return max(scores, default=0)

    tickers = sorted(set(sections) | set(refs), key=lambda t: (-top(t), t))
    created = notification.created_at or datetime.now(UTC)
    return DigestView(
        heading="policywatch digest",
        period=local_time(created, zone, "%A %d %B %Y, %H:%M %Z"),
        story_count=len(stories),
        ticker_count=len(tickers),
        hidden_stories=len(stories) - len(shown),
        sections=tuple(
            TickerSection(
                ticker=t,
                company=companies.get(t, ""),
                top_score=top(t),
                stories=tuple(sections.get(t, [])),
                see_also=tuple(sorted(refs.get(t, []), key=lambda r: -r.score)),
            )
            for t in tickers
        ),
        delivery_id=notification.delivery_id,
        unsubscribe_url=unsubscribe_url,
        zone=zone.key,
    )


def render_digest(
    notification: Notification,
    timezone: str,
    max_stories: int = 60,
    unsubscribe_url: str = "",
) -> tuple[str, str, DigestView]:
    """(text part, HTML part, view) of a digest, with times shown in `timezone`."""
    view = digest_view(notification, ZoneInfo(timezone), max_stories, unsubscribe_url)
    return render("digest_email.txt", digest=view), render("digest_email.html", digest=view), view
