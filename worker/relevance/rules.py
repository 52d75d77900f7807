"""A watchlist's own topic rules: all/any/none term lists and proximity (terms within N words)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.config import RuleConfig

_WORD = re.compile(r"\w+", re.UNICODE)


def _term_regex(term: str) -> re.Pattern[str]:
    body = re.escape(term.rstrip("*").lower()).replace(r"\ ", r"\s+")
    tail = r"\w*" if term.endswith("*") else r"\b"
    return re.compile(r"(?<!\w)" + body + tail)


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to test against folded text. Fires when every `all` term, at least one
    `any` term (if given) and no `none` term occur, and the `near` terms (if given) all occur
    within `within_words` words of each other."""

    name: str
    weight: int
    all: tuple[re.Pattern[str], ...]
    any: tuple[re.Pattern[str], ...]
    none: tuple[re.Pattern[str], ...]
    near: tuple[re.Pattern[str], ...]
    within_words: int

    @classmethod
    def from_config(cls, cfg: RuleConfig) -> CompiledRule:
        def compile_all(terms: list[str]) -> tuple[re.Pattern[str], ...]:
            return tuple(_term_regex(t) for t in terms)

        return cls(
            cfg.name,
            cfg.weight,
            compile_all(cfg.all),
            compile_all(cfg.any),
            compile_all(cfg.none),
            compile_all(cfg.near),
            cfg.within_words,
        )

    def fires(self, folded: str) -> bool:
        if not all(p.search(folded) for p in self.all):
            return False
        if self.any and not any(p.search(folded) for p in self.any):
            return False
        if any(p.search(folded) for p in self.none):
            return False
        return not self.near or self._near(folded)

    def _near(self, folded: str) -> bool:
        word_starts = [m.start() for m in _WORD.finditer(folded)]

        def word_index(pos: int) -> int:
            lo, hi = 0, len(word_starts)
            while lo < hi:
                mid = (lo + hi) // 2
                if word_starts[mid] <= pos:
                    lo = mid + 1
                else:
                    hi = mid
            return lo

        positions = [[word_index(m.start()) for m in p.finditer(folded)] for p in self.near]
        if not all(positions):
            return False
        first, rest = positions[0], positions[1:]
        return any(
            all(any(abs(a - b) <= self.within_words for b in other) for other in rest)
            for a in first
        )
