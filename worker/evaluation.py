"""Evaluation: how well relevance scoring agrees with a hand-labelled set of items.

A labelled item is a JSON line as `policywatch score` reads it, plus three labels:
`policy_event` (bool), `relevant` (the watched tickers the event affects) and an optional
`category`. The unit of the main figures is the (item, ticker) alert: for every item and every
watched ticker, the scorer either alerts or not, and the label says whether it should.
Precision, recall and F1 are micro-averaged over those pairs.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from worker.config import WatchlistConfig
from worker.errors import SourceError
from worker.models import Item
from worker.relevance import Relevance
from worker.sources.items import item_from_mapping

# The watchlist `policywatch eval` uses when no config is given: the 20 chip tickers that
# export-control news moves most, at the default threshold.
EVAL_TICKERS = (
    "NVDA",
    "AMD",
    "INTC",
    "TSM",
    "ASML",
    "AMAT",
    "LRCX",
    "KLAC",
    "MU",
    "QCOM",
    "AVGO",
    "ARM",
    "SMCI",
    "TXN",
    "ON",
    "TER",
    "005930.KS",
    "000660.KS",
    "8035.T",
    "0981.HK",
)
EVAL_WATCHLIST = "evaluation"

Subset = Literal["all", "tune", "held-out", "odd", "even"]
SUBSETS: tuple[Subset, ...] = ("all", "tune", "held-out", "odd", "even")
_ID_NUMBER = re.compile(r"(\d+)\D*$")


@dataclass(frozen=True, slots=True)
class LabelledItem:
    """An item with the answers a person gave for it."""

    item: Item
    policy_event: bool
    relevant: frozenset[str]
    category: str = ""


def evaluation_watchlist() -> WatchlistConfig:
    """The built-in evaluation watchlist: EVAL_TICKERS at the default `min_score`."""
    return WatchlistConfig(name=EVAL_WATCHLIST, tickers=list(EVAL_TICKERS))


def is_held_out(item_id: str) -> bool:
    """A fixed third of any labelled set, chosen by a hash of the id: set aside while tuning,
    so that figures on it say how the rules do on items they were not tuned on."""
    return int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16) % 3 == 0


def id_parity(item_id: str) -> str:
    """ "odd" or "even" by the last number in the id (`blind-007` is odd); "" when it has none."""
    m = _ID_NUMBER.search(item_id)
    if m is None:
        return ""
    return "odd" if int(m.group(1)) % 2 else "even"


def select(labelled: Iterable[LabelledItem], subset: Subset) -> list[LabelledItem]:
    """`all`, the two thirds used for `tune`, the `held-out` third, or the items whose id ends
    in an `odd` or `even` number (a split for a set written by someone else: tune on one half,
    read the other only to check)."""
    if subset == "all":
        return list(labelled)
    if subset in ("odd", "even"):
        return [x for x in labelled if id_parity(x.item.id) == subset]
    keep = subset == "held-out"
    return [x for x in labelled if is_held_out(x.item.id) == keep]


def _label_fields(raw: dict[str, Any], where: str) -> tuple[bool, frozenset[str], str]:
    event = raw.get("policy_event")
    if not isinstance(event, bool):
        raise SourceError(f"{where}: policy_event: got {event!r:.40}; expected true or false")
    relevant = raw.get("relevant", [])
    if not isinstance(relevant, list) or not all(isinstance(t, str) for t in relevant):
        raise SourceError(f"{where}: relevant: got {relevant!r:.60}; expected a list of tickers")
    category = raw.get("category", "")
    if not isinstance(category, str):
        raise SourceError(f"{where}: category: got {category!r:.40}; expected a string")
    return event, frozenset(t.strip().upper() for t in relevant), category


def load_labelled(path: str | Path) -> list[LabelledItem]:
    """Labelled items from a JSON Lines file. Raises SourceError naming the line and field of
    the first malformed one, and for a repeated id."""
    out: list[LabelledItem] = []
    seen: set[str] = set()
    with open(path, encoding="utf-8") as stream:
        for n, line in enumerate(stream, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SourceError(f"{where}: not valid JSON: {exc.msg}") from exc
            if not isinstance(raw, dict):
                raise SourceError(f"{where}: got {type(raw).__name__}; expected a JSON object")
            try:
                item = item_from_mapping(raw, source=str(raw.get("source") or ""))
            except SourceError as exc:
                raise SourceError(f"{where}: {exc}") from exc
            if item.id in seen:
                raise SourceError(f"{where}: id {item.id!r} repeats an earlier line")
            seen.add(item.id)
            event, relevant, category = _label_fields(raw, where)
            out.append(LabelledItem(item, event, relevant, category))
    return out


@dataclass(slots=True)
class Counts:
    """True positives, false positives and false negatives, and the figures made from them.
    A figure whose denominator is zero is None (nothing to measure), not 0 or 1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def add(self, predicted: bool, expected: bool) -> None:
        if predicted and expected:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif expected:
            self.fn += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(slots=True)
class EventFigures:
    """How often `policy_event` was right, and its own precision and recall."""

    items: int = 0
    correct: int = 0
    counts: Counts = field(default_factory=Counts)

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.items if self.items else None

    def add(self, predicted: bool, expected: bool) -> None:
        self.items += 1
        self.correct += predicted == expected
        self.counts.add(predicted, expected)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "correct": self.correct,
            "accuracy": _round(self.accuracy),
            **self.counts.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class PairError:
    """A miss (relevant, no alert) or a false alarm (alert, not relevant) for one ticker.
    `score` is the ticker's best score on any watchlist, 0 when the ticker was not matched."""

    item_id: str
    ticker: str
    score: int
    event_score: int
    title: str
    category: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "ticker": self.ticker,
            "score": self.score,
            "event_score": self.event_score,
            "title": self.title,
            "category": self.category,
        }


@dataclass(frozen=True, slots=True)
class EventError:
    """An item whose `policy_event` came out wrong."""

    item_id: str
    expected: bool
    event_score: int
    title: str
    category: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.item_id,
            "expected": self.expected,
            "event_score": self.event_score,
            "title": self.title,
            "category": self.category,
        }


@dataclass(slots=True)
class CategoryFigures:
    event: EventFigures = field(default_factory=EventFigures)
    alerts: Counts = field(default_factory=Counts)


@dataclass(slots=True)
class EvalReport:
    """Everything `policywatch eval` prints."""

    tickers: tuple[str, ...]
    overall: Counts = field(default_factory=Counts)
    event: EventFigures = field(default_factory=EventFigures)
    per_ticker: dict[str, Counts] = field(default_factory=dict)
    per_category: dict[str, CategoryFigures] = field(default_factory=dict)
    misses: list[PairError] = field(default_factory=list)
    false_alarms: list[PairError] = field(default_factory=list)
    event_errors: list[EventError] = field(default_factory=list)
    unwatched: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "items": self.event.items,
            "tickers": list(self.tickers),
            "overall": self.overall.as_dict(),
            "policy_event": self.event.as_dict(),
            "per_ticker": {t: c.as_dict() for t, c in self.per_ticker.items()},
            "per_category": {
                name: {"policy_event": c.event.as_dict(), "alerts": c.alerts.as_dict()}
                for name, c in sorted(self.per_category.items())
            },
            "misses": [e.as_dict() for e in self.misses],
            "false_alarms": [e.as_dict() for e in self.false_alarms],
            "policy_event_errors": [e.as_dict() for e in self.event_errors],
            "unwatched_labels": dict(sorted(self.unwatched.items())),
        }


def evaluate(relevance: Relevance, labelled: Sequence[LabelledItem]) -> EvalReport:
    """Scores every labelled item and compares alerts and `policy_event` with the labels.

    The tickers evaluated are those on the relevance's watchlists; a ticker is alerted for an
    item when any watchlist alerts on it. Labels naming tickers that no watchlist watches are
    counted in `unwatched` and otherwise ignored.
    """
    tickers = tuple(dict.fromkeys(t for wl in relevance.watchlists for t in wl.tickers))
    watched = frozenset(tickers)
    report = EvalReport(tickers, per_ticker={t: Counts() for t in tickers})
    for entry in labelled:
        scored = relevance.score(entry.item)
        alerted: set[str] = set()
        best: dict[str, int] = {}
        for m in scored.matches:
            best[m.ticker] = max(best.get(m.ticker, 0), m.score)
            if m.alert:
                alerted.add(m.ticker)
        category = report.per_category.setdefault(entry.category or "-", CategoryFigures())
        report.event.add(scored.policy_event, entry.policy_event)
        category.event.add(scored.policy_event, entry.policy_event)
        if scored.policy_event != entry.policy_event:
            report.event_errors.append(
                EventError(
                    entry.item.id,
                    entry.policy_event,
                    scored.event_score,
                    entry.item.title,
                    entry.category,
                )
            )
        for ticker in sorted(entry.relevant - watched):
            report.unwatched[ticker] = report.unwatched.get(ticker, 0) + 1
        for ticker in tickers:
            predicted, expected = ticker in alerted, ticker in entry.relevant
            report.overall.add(predicted, expected)
            report.per_ticker[ticker].add(predicted, expected)
            category.alerts.add(predicted, expected)
            if predicted == expected:
                continue
            error = PairError(
                entry.item.id,
                ticker,
                best.get(ticker, 0),
                scored.event_score,
                entry.item.title,
                entry.category,
            )
            (report.misses if expected else report.false_alarms).append(error)
    return report
