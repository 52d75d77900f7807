"""Scores items against every watchlist with one scan per item: the Relevance engine.

Compiled with mypyc at install, with the matcher and scorer (see worker/relevance/native.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

from worker.config import WatchlistConfig
from worker.errors import ConfigError, ConfigProblem
from worker.models import Item, Match, ScoredItem
from worker.relevance.directory import (
    Company,
    curated_companies,
    is_chip_company,
    resolve_watchlist,
)
from worker.relevance.lexicon import Lexicon, default_lexicon
from worker.relevance.matcher import WEAK, Hit, Matcher, fold, normalise
from worker.relevance.rules import CompiledRule
from worker.relevance.scorer import (
    EVENT_THRESHOLD,
    MAX_SCAN_CHARS,
    EventAssessment,
    Sentences,
    TickerAssessment,
    TickerContext,
    assess_event,
    assess_ticker,
)

# Cue categories that only matter for how a company is mentioned.
_MENTION_CUES: Final = frozenset({"passing", "beneficiary", "spared", "impact"})


class _Watchlist(NamedTuple):
    name: str
    tickers: tuple[str, ...]
    min_score: int
    rules: tuple[CompiledRule, ...]


class Explanation(NamedTuple):
    """Everything that went into one item's scores, for `policywatch explain`. (Named tuples
    here and in the scorer: built in C, where a frozen dataclass's generated __init__ stays
    interpreted even in the compiled module.)"""

    item: Item
    text: str
    title_len: int
    hits: tuple[Hit, ...]
    event: EventAssessment
    tickers: tuple[tuple[str, TickerAssessment], ...]
    rules_fired: tuple[tuple[str, str, int], ...]
    scored: ScoredItem


class Relevance:
    """Scores items against every watchlist with one scan per item. Build once; thread-safe."""

    def __init__(
        self,
        watchlists: Sequence[WatchlistConfig],
        lexicon: Lexicon | None = None,
        source_file: str = "",
    ) -> None:
        self.lexicon = lexicon or default_lexicon()
        companies: dict[str, Company] = {}
        lists = []
        problems = []
        for i, wl in enumerate(watchlists):
            found, unknown = resolve_watchlist(wl.tickers, wl.companies)
            for ticker in unknown:
                j = wl.tickers.index(ticker)
                problems.append(
                    ConfigProblem(
                        source_file,
                        None,
                        f"watchlists[{i}].tickers[{j}]",
                        ticker,
                        "a ticker in the built-in directory, or an entry under `companies:`",
                    )
                )
            companies.update(found)
            rules = tuple(CompiledRule.from_config(r) for r in wl.rules)
            lists.append(_Watchlist(wl.name, tuple(found), wl.min_score, rules))
        if problems:
            raise ConfigError(problems)
        self.companies = companies
        self.watchlists = tuple(lists)
        self._has_rules = any(wl.rules for wl in self.watchlists)  # else no need to fold twice
        self._watchlists_of: dict[str, list[_Watchlist]] = {}
        for wl_ in self.watchlists:
            for ticker in wl_.tickers:
                self._watchlists_of.setdefault(ticker, []).append(wl_)
        entities = curated_companies()
        self.matcher = Matcher(companies, self.lexicon, entities)
        # Which mentions can anchor a verb: companies whose main business is chips.
        self._chip = {s for s, c in {**entities, **companies}.items() if is_chip_company(c)}

    def score(self, item: Item) -> ScoredItem:
        return self.explain(item).scored

    def explain(self, item: Item) -> Explanation:
        title = normalise(item.title.strip())
        text = (title + "\n\n" + normalise(item.body))[:MAX_SCAN_CHARS]
        sentences = Sentences.of(text, len(title))
        hits = self.matcher.scan(text)
        # One pass sorts the hits into what the scores need (this runs for every hit).
        terms: list[Hit] = []
        targets: list[Hit] = []  # as _is_target, inline
        mentions: dict[str, list[Hit]] = {}
        chip = self._chip
        for hit in hits:
            if hit.kind == "term":
                terms.append(hit)
                continue
            if hit.strength != WEAK and hit.key in chip:  # kind is "company" or "entity"
                targets.append(hit)
            if hit.kind == "company":
                mentions.setdefault(hit.key, []).append(hit)
        event = assess_event(terms, targets, sentences, self.lexicon.weights)
        cues = [h for h in terms if h.key in _MENTION_CUES]
        assessed: dict[str, TickerAssessment] = {}
        title_targets = any(t.start < sentences.title_len for t in targets)
        shared = TickerContext.of(event, cues, sentences, title_targets) if mentions else None
        for ticker, found in mentions.items():
            result = assess_ticker(
                ticker,
                found,
                event,
                cues,
                sentences,
                self.companies[ticker].curated,
                title_targets,
                shared,
            )
            if result is not None:
                assessed[ticker] = result

        folded = fold(text) if self._has_rules else ""
        fired: list[tuple[str, str, int]] = []
        bonus: dict[str, int] = {}
        for wl in self.watchlists:
            for rule in wl.rules:
                if rule.fires(folded):
                    bonus[wl.name] = bonus.get(wl.name, 0) + rule.weight
                    fired.append((wl.name, rule.name, rule.weight))
        # A user's own rule that fires makes the item an event: it is their definition of one.
        is_event = event.score >= EVENT_THRESHOLD or any(w > 0 for _, _, w in fired)
        # Sorted by score, watchlist and ticker as plain tuples (their sequence number breaks
        # any tie, as a stable sort would): no key function called per match.
        ranked: list[tuple[int, str, str, int, Match]] = []
        # Only the tickers the text named: never a loop over every watched ticker.
        for ticker, a in assessed.items():
            for wl in self._watchlists_of.get(ticker, ()):
                score = max(0, min(100, a.score + bonus.get(wl.name, 0)))
                match = Match(
                    item_id=item.id,
                    ticker=ticker,
                    watchlist=wl.name,
                    score=score,
                    alert=is_event and score >= wl.min_score,
                    terms=a.terms,
                    evidence=a.evidence,
                )
                ranked.append((-score, wl.name, ticker, len(ranked), match))
        ranked.sort()
        matches = [r[4] for r in ranked]
        scored = ScoredItem(item, is_event, event.score, tuple(matches))
        return Explanation(
            item,
            text,
            sentences.title_len,
            tuple(hits),
            event,
            tuple(assessed.items()),
            tuple(fired),
            scored,
        )

    def _is_target(self, hit: Hit) -> bool:
        """A mention of a chip company, watched or not (see `is_chip_company`)."""
        if hit.kind not in ("company", "entity") or hit.strength == WEAK:
            return False
        return hit.key in self._chip
