"""Scores: is an item a policy event (0-100), and how much it matters to each ticker (0-100).

The event score adds up what the lexicon found (see worker/data/lexicon.yaml):
  control terms      `control` weight for the first, +8 for each further one (up to 3)
  action near object `action` weight when a restricting/relaxing verb sits within ~12 words
                     of what controls are about (chips, tools, gallium...); a third of it alone
  actor              `actor` weight; +6 more when it sits near a control or action term
  consequence        `consequence` weight when a charge/write-down sits near a policy term
  title              +10 when the title itself carries a control term or an action on an object
  negatives          `negative` weight each (antitrust, LNG, "export to CSV"...), at most two;
                     halved when the title carries a control term
An item is a policy event at EVENT_THRESHOLD or more.

A ticker's score = 0.45 × event score + presence + proximity (capped at 100):
  presence   36 if the company is named in the title, 26 in the lead (first 300 characters of
             the body), else 14; +4 per further mention (up to +12); × 0.7 for names derived
             from legal names (not curated); a weak name alone ("Applied", "Lam") is no mention
  proximity  +16 when a policy term is in the same sentence as a mention, +8 within 250 chars
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from worker.relevance.matcher import WEAK, Hit

EVENT_THRESHOLD = 50
MAX_SCAN_CHARS = 30_000
NEAR_CHARS = 90
POLICY_CATEGORIES = ("control", "action", "consequence")
_SENTENCE_END = re.compile(r"[.!?。！？]\s|\n")


@dataclass(frozen=True, slots=True)
class EventAssessment:
    score: int
    terms: tuple[str, ...]
    parts: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class TickerAssessment:
    ticker: str
    score: int
    terms: tuple[str, ...]
    evidence: str
    parts: tuple[tuple[str, int], ...]


def _near(a: Hit, b: Hit, chars: int) -> bool:
    return a.start - chars <= b.start <= a.end + chars


def _any_near(hits: Sequence[Hit], others: Sequence[Hit], chars: int) -> bool:
    return any(_near(a, b, chars) for a in hits for b in others)


def assess_event(
    term_hits: Sequence[Hit], title_len: int, weights: dict[str, int]
) -> EventAssessment:
    by_cat: dict[str, list[Hit]] = {}
    for hit in term_hits:
        by_cat.setdefault(hit.key, []).append(hit)
    control = by_cat.get("control", [])
    action = by_cat.get("action", [])
    obj = by_cat.get("object", [])
    actor = by_cat.get("actor", [])
    consequence = by_cat.get("consequence", [])
    negative = by_cat.get("negative", [])
    policy = control + action
    parts: list[tuple[str, int]] = []

    distinct_controls = len({h.label.lower() for h in control})
    if distinct_controls:
        parts.append(("control terms", weights["control"] + 8 * (min(distinct_controls, 3) - 1)))
    acted = [a for a in action if any(_near(a, o, NEAR_CHARS) for o in obj)]
    if acted:
        parts.append(("action near object", weights["action"]))
    elif action:
        parts.append(("action alone", weights["action"] // 3))
    if actor:
        parts.append(("actor", weights["actor"]))
        if _any_near(actor, policy, NEAR_CHARS * 2):
            parts.append(("actor near policy term", 6))
    if consequence and _any_near(consequence, policy, NEAR_CHARS * 3):
        parts.append(("consequence near policy term", weights["consequence"]))
    title_control = any(h.start < title_len for h in control)
    title_action = any(h.start < title_len for h in acted)
    if title_control or title_action:
        parts.append(("policy term in title", 10))
    distinct_negative = sorted({h.label.lower() for h in negative})[:2]
    if distinct_negative:
        penalty = weights["negative"] * len(distinct_negative)
        parts.append(("look-alike terms", penalty // 2 if title_control else penalty))

    score = max(0, min(100, sum(p for _, p in parts)))
    terms = tuple(dict.fromkeys(h.label.lower() for h in term_hits if h.key != "object"))
    return EventAssessment(score, terms, tuple(parts))


def _sentence_bounds(text: str, ends: list[int], pos: int) -> tuple[int, int]:
    i = bisect.bisect_right(ends, pos)
    start = ends[i - 1] if i > 0 else 0
    end = ends[i] if i < len(ends) else len(text)
    return start, end


def sentence_ends(text: str) -> list[int]:
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def assess_ticker(
    ticker: str,
    mentions: Sequence[Hit],
    policy_hits: Sequence[Hit],
    event: EventAssessment,
    text: str,
    ends: list[int],
    title_len: int,
    curated: bool,
) -> TickerAssessment | None:
    strong = [m for m in mentions if m.strength != WEAK]
    if not strong:
        return None
    mentions = strong
    first = mentions[0]
    parts: list[tuple[str, int]] = [("event", round(event.score * 0.45))]
    if first.start < title_len:
        presence = 36
        where = "title"
    elif first.start < title_len + 300:
        presence = 26
        where = "lead"
    else:
        presence = 14
        where = "body"
    presence += min(12, 4 * (len(mentions) - 1))
    if not curated:
        presence = round(presence * 0.7)
    parts.append((f"named in {where}, {len(mentions)}×", presence))

    best, proximity = mentions[0], 0
    for m in mentions:
        s_start, s_end = _sentence_bounds(text, ends, m.start)
        if any(s_start <= p.start < s_end for p in policy_hits):
            best, proximity = m, 16
            break
        if proximity < 8 and any(abs(p.start - m.start) <= 250 for p in policy_hits):
            best, proximity = m, 8
    if proximity:
        parts.append(("policy term near mention", proximity))
    score = max(0, min(100, sum(p for _, p in parts)))
    names = tuple(dict.fromkeys(m.label for m in mentions))
    evidence = make_evidence(text, ends, best.start)
    return TickerAssessment(ticker, score, names + event.terms, evidence, tuple(parts))


def make_evidence(text: str, ends: list[int], pos: int, limit: int = 280) -> str:
    """The sentence around `pos`, trimmed to `limit` characters, on one line."""
    start, end = _sentence_bounds(text, ends, pos)
    snippet = " ".join(text[start:end].split())
    if len(snippet) <= limit:
        return snippet
    rel = max(0, pos - start - limit // 3)
    cut = snippet[rel : rel + limit - 2]
    return ("…" if rel else "") + cut.strip() + "…"
