"""Scores: is an item a policy event (0-100), and how much it matters to each ticker (0-100).

Both scores are sums of named parts, so `policywatch explain` can show every point. The weights
of the lexicon categories come from worker/data/lexicon.yaml (which also says what each
category holds); the other numbers are constants here. The title is its own sentence; the lead
is the first LEAD_CHARS characters of the body.

Which terms count. A policy term (control, sanction, instrument, action, tariff, relax, measure,
enforcement, directive) or a consequence is dropped when its sentence is a question ("Will
Washington tighten chip rules?"), when a negation cue ("do not expect", "no fresh", "analysts
expect", "unclear whether") ends at most CUE_CHARS before it in its sentence, when a negation
cue after it closes its sentence (at most TAIL_CHARS left: "New curbs unlikely, analysts say"),
when a background cue ("earlier", "existing") ends at most BACKGROUND_CHARS before it, or when
it sits within CUE_CHARS of goods that are not chips ("arms export licences") in a sentence
with no chip goods and no chip company. A live term counts when anchored:
  control      always (export-control instruments: Entity List, FDPR, licence requirement)
  sanction     when the item names any chip-world object or chip company at all
  instrument   a chip-world object or chip company, a government body or a country, in its
               sentence ("licences for China")
  action       a chip-world object or a chip company within NEAR_CHARS, in its sentence
  tariff       a chip-world object (not a company) within NEAR_CHARS, in its sentence
  trade_remedy chip goods (not a trade flow such as "exports") or a chip company within
               NEAR_CHARS, in its sentence ("dumping probe into US analog chips")
  relax        a control, sanction, instrument or restricting term within NEAR_CHARS, in its
               sentence ("lifts curbs"; not "lifts outlooks")
  measure      a government body, or a country before the term, and a chip-world object or
               chip company, in its sentence ("China tells firms to stop buying Nvidia chips")
  enforcement  a chip-world object or another policy term in its sentence ("penalty over a
  directive    chip", "summoned over backdoor risks"; "TSMC told to stop making AI chips"):
               a penalty, a prosecution or a passive order is a state's act by nature
A chip company is one whose main segment is in the chip world (not cloud, internet, consumer
electronics, telecom, surveillance or other), watched or not. Antitrust terms turn into
measures when a Chinese state body or the trade dispute is named: such probes of foreign chip
firms are trade weapons.

Event score:
  evidence     each anchored kind gives its weight (control and sanction together as one
               kind, +8 per further distinct term, up to +16; any other kind
               +FURTHER_TERM_POINTS per further distinct term, up to twice that). The
               strongest kind counts in full, the second half, the third a quarter, and so on
  government   `actor` weight when a government body is named
  beside       +6 when a government body or a country shares a sentence with the evidence, or
               (title evidence) the body's first sentence: headlines leave out who acts
  subject      SUBJECT_POINTS when a government or country ends at most SUBJECT_CHARS before
               an anchored action, easing, instrument, enforcement or directive in its
               sentence: the state does it ("US curbs", "Beijing lifts", "US licence")
  consequence  a charge or revenue effect within two sentences of the evidence: `consequence`
               weight; +8 when it shares a sentence with the evidence in the title or lead
               ("new rules would cut revenue by $400 million"); +14 instead when a chip
               company is in that sentence too (a disclosure). Not in a sentence with
               enforcement, where money is the penalty
  title        +10 when the title itself carries anchored evidence
  look-alikes  each category's weight per distinct term (at most two per category, -60 in
               all), counted in the title and lead, or beside the evidence in the body:
               `negative` topics (halved when the title has a control term), `not_policy`
               story types, `no_news`, and `antitrust` unless turned into a measure
An item is a policy event at EVENT_THRESHOLD or more.

Ticker score (0-100):
  event        0.4 × event score
  presence     30 when the company is named in the title, 22 in the lead, else 10; +4 per further
               mention (up to +12); × 0.7 for names derived from legal names (not curated).
               Weak names ("Applied", "Lam", "HBM") count only beside a strong one, and then
               only as further mentions, unless listed with a strong name ("Lam, Applied and
               KLA": the matcher counts them as names); a mention next to a spared cue ("left
               out", "bought from") does not count at all, nor one followed within
               BENEFIT_CHARS by a beneficiary cue with no evidence between ("Samsung could
               gain share"), unless the evidence eases a rule
  role         its best mention: +20 in a sentence with counted evidence (+6 when the sentence
               also says the company is hit: "covered", "exposed"; +8 when it is the item's key
               sentence, the one with the most kinds of evidence); else +18 for an impact cue
               alone; else +20 in the body's first sentence when the title carries evidence
               and names no chip company (that sentence says whom the headline is about);
               else +8 for evidence within ROLE_NEAR_CHARS characters
  passing      -30 when the company is not in the title and every mention sits in a sentence
               with a passing or beneficiary cue ("shares of", "rival", "could benefit") and
               no evidence
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Final, NamedTuple

from worker.relevance.matcher import WEAK, Hit, new_tuple

EVENT_THRESHOLD: Final = 50
MAX_SCAN_CHARS: Final = 30_000
NEAR_CHARS: Final = 90
LEAD_CHARS: Final = 300
CUE_CHARS: Final = 30
BACKGROUND_CHARS: Final = 12
TAIL_CHARS: Final = 20
SUBJECT_CHARS: Final = 12
SUBJECT_POINTS: Final = 12
SPARED_CHARS: Final = 40
BENEFIT_CHARS: Final = 80
ROLE_NEAR_CHARS: Final = 250
NEGATIVE_FLOOR: Final = -60
FURTHER_TERM_POINTS: Final = 4

POLICY_CATEGORIES: Final = (
    "control",
    "sanction",
    "instrument",
    "action",
    "tariff",
    "trade_remedy",
    "relax",
    "measure",
    "enforcement",
    "directive",
)
EVIDENCE_CATEGORIES: Final = (*POLICY_CATEGORIES, "consequence")
# As sets, for the membership tests run for every hit.
_POLICY: Final = frozenset(POLICY_CATEGORIES)
_EVIDENCE: Final = frozenset(EVIDENCE_CATEGORIES)
GOVERNMENT: Final = ("actor", "actor_cn")
LOOKALIKE_CATEGORIES: Final = ("negative", "not_policy", "no_news", "antitrust")
# What a policy term can be about: goods, and trade flows that say nothing of what is traded.
OBJECTS: Final = ("object", "flow")

# Punctuation (then closing quotes) before a space or the end, or a line break. Written to
# start with one character class so the regex engine skips ahead to candidates quickly.
_SENTENCE_END: Final = re.compile(r"[.!?。！？…\n\r](?:(?<=[\n\r])|[.!?。！？…]*[\"'”’)]*(?:\s|$))")
_ABBREVIATIONS: Final = frozenset(
    {"sen", "rep", "gov", "gen", "inc", "corp", "co", "ltd", "no", "mr", "mrs", "ms", "dr", "st"}
    | {"jr", "vs", "e.g", "i.e", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept"}
    | {"oct", "nov", "dec", "approx", "est", "fig", "dept"}
)


def sentence_ends(text: str) -> list[int]:
    """Offsets where sentences end; a period after an initial ("U.S.", "C.C. Wei") or a common
    abbreviation ("Sen.", "Corp.") does not end one."""
    ends = []
    if text.isascii():
        spans = _ascii_end_spans(text)
    else:
        spans = [m.span() for m in _SENTENCE_END.finditer(text)]
    for start, end in spans:
        if text[start] == ".":
            word_start = start
            while word_start > 0 and (
                text[word_start - 1].isalnum() or text[word_start - 1] == "."
            ):
                word_start -= 1
            word = text[word_start:start]
            if (len(word) == 1 and word.isupper()) or (
                "." in word and all(len(p) <= 1 for p in word.split("."))
            ):
                continue
            if word.lower() in _ABBREVIATIONS:
                continue
        ends.append(end)
    return ends


def _ascii_end_spans(text: str) -> list[tuple[int, int]]:
    """The spans of _SENTENCE_END's matches in an ASCII text (most news in English), found
    from the candidates `str.find` gives (a sentence ends at one of five characters, a few
    dozen times per item) rather than by testing every character against a class."""
    candidates: list[int] = []
    for mark in ".!?\n\r":
        i = text.find(mark)
        while i >= 0:
            candidates.append(i)
            i = text.find(mark, i + 1)
    candidates.sort()
    size = len(text)
    spans: list[tuple[int, int]] = []
    last = 0
    for start in candidates:
        if start < last:
            continue  # inside the previous match ("?!", "...")
        if text[start] in "\n\r":
            last = start + 1
        else:
            # Then more marks, closing quotes or brackets, and a space or the end.
            i = start + 1
            while i < size and text[i] in ".!?":
                i += 1
            while i < size and text[i] in "\"')":
                i += 1
            if i == size:
                last = i
            elif text[i].isspace():
                last = i + 1
            else:
                continue  # "U.S", "3.5", "e.g"
        spans.append((start, last))
    return spans


class Sentences:
    """Sentence boundaries of a scanned text whose first `title_len` characters are the title.

    Plain classes here and below (not frozen dataclasses): the compiled module builds them
    natively, while a dataclass's generated __init__ stays interpreted. Treat as read-only."""

    def __init__(self, text: str, title_len: int, ends: tuple[int, ...]) -> None:
        self.text = text
        self.title_len = title_len
        self.ends = ends
        # index(pos): the number of the sentence holding `pos`. Scoring asks this hundreds of
        # times per item, so it is bisect itself (a C call), not a method around it.
        self.index: Callable[[int], int] = partial(bisect.bisect_right, ends)
        # Each sentence's text on one line, by its start: make_evidence asks once per ticker.
        self.lines: dict[int, str] = {}

    @classmethod
    def of(cls, text: str, title_len: int) -> Sentences:
        return cls(text, title_len, tuple(sentence_ends(text)))

    def bounds(self, pos: int) -> tuple[int, int]:
        i = self.index(pos)
        start = self.ends[i - 1] if i > 0 else 0
        end = self.ends[i] if i < len(self.ends) else len(self.text)
        return start, end

    def is_question(self, index: int) -> bool:
        """Whether sentence `index` ends with a question mark."""
        text = self.text
        end = self.ends[index] if index < len(self.ends) else len(text)
        # As text[:end].rstrip().rstrip("\"'”’)").endswith(("?", "？")), without copying
        # the text up to there for every term.
        while end > 0 and text[end - 1].isspace():
            end -= 1
        while end > 0 and text[end - 1] in "\"'”’)":
            end -= 1
        return end > 0 and text[end - 1] in "?？"

    def where(self, pos: int) -> str:
        if pos < self.title_len:
            return "title"
        return "lead" if pos < self.title_len + 2 + LEAD_CHARS else "body"


class EventAssessment(NamedTuple):
    """The event score, its parts, the evidence that counted and what was set aside (and why)."""

    score: int
    terms: tuple[str, ...]
    parts: tuple[tuple[str, int], ...]
    evidence: tuple[Hit, ...] = ()
    notes: tuple[tuple[Hit, str], ...] = ()


class TickerAssessment(NamedTuple):
    ticker: str
    score: int
    terms: tuple[str, ...]
    evidence: str
    parts: tuple[tuple[str, int], ...]


class _Index:
    """Term hits grouped by sentence and category."""

    def __init__(self, hits: Sequence[Hit], sentences: Sentences) -> None:
        by_sentence: dict[int, dict[str, list[Hit]]] = {}
        self.by_sentence = by_sentence
        ends = sentences.ends
        count = len(ends)
        # Hits come mostly in text order, so each one's sentence is found by walking on from
        # the previous one's (a bisect only when a hit goes back), and the previous hit's
        # sentence is usually this one's; no setdefault, which builds an empty dict or list
        # every time.
        last, cats = -1, {}
        s = 0
        for hit in hits:
            start = hit.start
            if s > 0 and ends[s - 1] > start:
                s = sentences.index(start)
            else:
                while s < count and ends[s] <= start:
                    s += 1
            if s != last:
                last, cats = s, by_sentence.get(s) or by_sentence.setdefault(s, {})
            found = cats.get(hit.key)
            if found is None:
                cats[hit.key] = [hit]
            else:
                found.append(hit)

    def get(self, sentence: int, *categories: str) -> list[Hit]:
        cats = self.by_sentence.get(sentence)
        found: list[Hit] = []
        if cats:  # most sentences have none; and no comprehension: this runs ~70× per item
            for c in categories:
                found += cats.get(c, ())
        return found

    def get_all(self, *categories: str) -> list[Hit]:
        return [
            h for cats in self.by_sentence.values() for c in categories for h in cats.get(c, ())
        ]


def _cue_before(hit: Hit, cues: Sequence[Hit], chars: int) -> Hit | None:
    for cue in cues:
        if cue.end <= hit.start and hit.start - cue.end <= chars:
            return cue
    return None


def _closing_cue(hit: Hit, cues: Sequence[Hit], sentences: Sentences) -> Hit | None:
    """A negation cue after the term that closes its sentence ("New curbs unlikely before the
    summit, analysts say"): it qualifies the whole sentence, not one word after it."""
    _, end = sentences.bounds(hit.start)
    for cue in cues:
        if (
            cue.start > hit.end
            and len(sentences.text[cue.end : end].strip(" .!?\"'”’)")) <= TAIL_CHARS
        ):
            return cue
    return None


def _near(a: Hit, b: Hit, chars: int) -> bool:
    return a.start - chars <= b.start <= a.end + chars


def assess_event(
    hits: Sequence[Hit],
    targets: Sequence[Hit],
    sentences: Sentences,
    weights: Mapping[str, int],
) -> EventAssessment:
    """`hits` are the scan's term hits; `targets` the chip-world company mentions (watched or
    not) that can anchor a verb."""
    raw = _Index(hits, sentences)
    notes: dict[Hit, str] = {}
    # A Chinese state body's antitrust case against a foreign chip firm, or one the story ties
    # to the trade dispute, is a trade measure: it counts as one instead of as a look-alike.
    waived = bool(raw.get_all("actor_cn", "trade_context"))
    if waived:
        converted = []
        for hit in hits:
            if hit.key == "antitrust":
                notes[hit] = "antitrust case in the trade dispute: counted as a state measure"
                hit = hit._replace(key="measure")
            converted.append(hit)
        hits = converted
    target_sentences: dict[int, list[Hit]] = {}
    for t in targets:
        target_sentences.setdefault(sentences.index(t.start), []).append(t)
    live: list[Hit] = []
    index_of = sentences.index
    questions: dict[int, bool] = {}
    for hit in hits:
        if hit.key in _EVIDENCE:
            s = index_of(hit.start)
            # The hit's own sentence is in the index (it is one of `hits`), so this is its
            # categories; most sentences have no cue at all, so test before looking further.
            cats = raw.by_sentence[s]
            if hit.key in _POLICY and "other_goods" in cats:
                goods = _other_goods(hit, raw, s, target_sentences)
                if goods is not None:
                    notes[hit] = f"about {goods.label!r}, not chips: no chip goods in its sentence"
                    continue
            question = questions.get(s)
            if question is None:
                question = questions[s] = sentences.is_question(s)
            if question:
                notes[hit] = "in a question: asked, not reported"
                continue
            negation = cats.get("negation", [])
            if negation or "no_news" in cats:
                cue = _cue_before(hit, negation + cats.get("no_news", []), CUE_CHARS)
                if cue is not None:
                    notes[hit] = f"negated by {cue.label!r}"
                    continue
                cue = _closing_cue(hit, negation, sentences)
                if cue is not None:
                    notes[hit] = f"hedged by {cue.label!r} at the end of its sentence"
                    continue
            if "background" in cats:
                cue = _cue_before(hit, cats["background"], BACKGROUND_CHARS)
                if cue is not None:
                    notes[hit] = f"background ({cue.label!r})"
                    continue
        live.append(hit)
    index = _Index(live, sentences)
    has_domain = bool(targets) or any(h.key in OBJECTS for h in live)

    anchored: list[Hit] = []
    for hit in live:
        if hit.key not in _POLICY:
            continue
        why = _anchor(hit, index, target_sentences, sentences, has_domain)
        if why is None:
            notes[hit] = "not anchored: " + _missing(hit.key)
        else:
            anchored.append(hit)

    parts: list[tuple[str, int]] = []
    _evidence_parts(anchored, weights, parts)
    by_cat: dict[str, list[Hit]] = {}
    for hit in live:
        by_cat.setdefault(hit.key, []).append(hit)
    government = by_cat.get("actor", []) + by_cat.get("actor_cn", [])
    anchored_sentences = {sentences.index(h.start) for h in anchored}
    if government:
        parts.append(("government body named", weights["actor"]))
    states = government + by_cat.get("country", [])
    if any(sentences.index(g.start) in anchored_sentences for g in states):
        parts.append(("government or country beside the evidence", 6))
    elif _actor_in_lead(anchored, states, sentences):
        parts.append(("title's evidence, and who acts in the first sentence", 6))
    if _state_subject(anchored, states, sentences):
        parts.append(("a government or country right before the verb", SUBJECT_POINTS))
    # Money in a sentence about a penalty or a prosecution is the penalty ("bribery charges",
    # "a $300 million settlement"), not what a rule costs a business.
    enforced = {sentences.index(h.start) for h in anchored if h.key == "enforcement"}
    counted_consequence = [
        c
        for c in by_cat.get("consequence", [])
        if any(abs(sentences.index(c.start) - s) <= 2 for s in anchored_sentences)
        and sentences.index(c.start) not in enforced
    ]
    # Told up top, a cost is the item's news; deep in the body it is usually a recap.
    told = {
        sentences.index(c.start) for c in counted_consequence if sentences.where(c.start) != "body"
    } & anchored_sentences
    if told & set(target_sentences):
        # "Lam Research: new rules to lower revenue by $2bn": a company discloses what the
        # rule costs it.
        parts.append(("a company's cost of the rule, in one sentence", weights["consequence"] + 14))
    elif told:
        # "New rules would cut revenue by $400 million": the item tells what the rule costs.
        parts.append(
            ("cost or revenue effect in the evidence's sentence", weights["consequence"] + 8)
        )
    elif counted_consequence:
        parts.append(("cost or revenue effect near the evidence", weights["consequence"]))
    title_control = any(
        h.start < sentences.title_len and h.key in ("control", "sanction") for h in anchored
    )
    if any(h.start < sentences.title_len for h in anchored):
        parts.append(("evidence in the title", 10))
    # A look-alike term counts where it describes the item (title and lead) or qualifies the
    # evidence (same sentence); deep in a long body it is about something else.
    lookalikes: dict[str, list[Hit]] = {}
    for category in LOOKALIKE_CATEGORIES:
        for hit in by_cat.get(category, []):
            if (
                sentences.where(hit.start) != "body"
                or sentences.index(hit.start) in anchored_sentences
            ):
                lookalikes.setdefault(category, []).append(hit)
            else:
                notes[hit] = "look-alike deep in the body, away from the evidence: ignored"
    parts.extend(_lookalike_parts(lookalikes, weights, title_control))

    score = max(0, min(100, sum(p for _, p in parts)))
    counted = [*anchored, *counted_consequence, *government]
    counted.sort(key=lambda h: h.start)
    terms = tuple(dict.fromkeys(h.label.lower() for h in counted))
    found = (score, terms, tuple(parts), tuple(counted), tuple(notes.items()))
    return new_tuple(EventAssessment, found)


def _other_goods(
    hit: Hit, raw: _Index, s: int, target_sentences: Mapping[int, list[Hit]]
) -> Hit | None:
    """A policy term right beside goods that are not chips ("arms export licences", "exports of
    weapons"), in a sentence with no chip goods and no chip company: it is about those goods."""
    if hit.key not in POLICY_CATEGORIES or raw.get(s, "object") or target_sentences.get(s):
        return None
    for goods in raw.get(s, "other_goods"):
        if _near(hit, goods, CUE_CHARS):
            return goods
    return None


def _actor_in_lead(anchored: Sequence[Hit], states: Sequence[Hit], sentences: Sentences) -> bool:
    """A headline leaves out who acts ("TSMC told to stop..."); the body's first sentence
    names them ("The Commerce Department sent a letter...")."""
    first = sentences.title_len + 2
    if first >= len(sentences.text) or not any(h.start < sentences.title_len for h in anchored):
        return False
    lead = sentences.index(first)
    return any(sentences.index(g.start) == lead for g in states)


def _state_subject(anchored: Sequence[Hit], states: Sequence[Hit], sentences: Sentences) -> bool:
    """Whether a government or country is what acts: named right before a restricting, easing
    or enforcing verb or a licence ("US curbs", "Beijing lifts", "US licence", "US criminal
    probe"). State measures need a state anyway, and control terms are strong without one."""
    for hit in anchored:
        if hit.key not in (
            "action",
            "relax",
            "instrument",
            "enforcement",
            "directive",
            "trade_remedy",
        ):
            continue
        s = sentences.index(hit.start)
        for state in states:
            gap = hit.start - state.end
            if 0 <= gap <= SUBJECT_CHARS and sentences.index(state.start) == s:
                # "China should be stopped": a passive verb's subject is what it acts on.
                between = f" {sentences.text[state.end : hit.start].lower()} "
                if not any(f" {w} " in between for w in ("be", "been", "being", "is", "was")):
                    return True
    return False


def _anchor(
    hit: Hit,
    index: _Index,
    target_sentences: Mapping[int, list[Hit]],
    sentences: Sentences,
    has_domain: bool,
) -> str | None:
    # Control and sanction terms need nothing from their sentence: answer before looking.
    if hit.key == "control":
        return "control term"
    if hit.key == "sanction":
        return "trade weapon in a chip story" if has_domain else None
    s = sentences.index(hit.start)
    objects = index.get(s, *OBJECTS)
    targets = target_sentences.get(s, [])
    # A government body anywhere in the sentence, or a country before the term (its subject:
    # "China tells...", "Japan to require..."; not "Huang urges Japan...").
    state = index.get(s, *GOVERNMENT) or [c for c in index.get(s, "country") if c.end <= hit.start]
    if hit.key == "instrument":
        # "licences for China": a rule or licence about a country is about trade.
        if objects or targets or state or index.get(s, "country"):
            return "instrument with its subject"
        return None
    if hit.key == "action":
        if any(_near(hit, o, NEAR_CHARS) for o in [*objects, *targets]):
            return "action on an object"
        return None
    if hit.key == "tariff":
        # A duty is on goods: chips must be what it taxes, not a company that also sells washers.
        return "tariff on chips" if any(_near(hit, o, NEAR_CHARS) for o in objects) else None
    if hit.key == "trade_remedy":
        # A dumping or subsidy case is a trade measure when chips are the goods it is about
        # ("dumping probe into US analog chips"), not when they are steel or solar panels.
        chips = [*index.get(s, "object"), *targets]
        return "trade remedy on chips" if any(_near(hit, o, NEAR_CHARS) for o in chips) else None
    if hit.key == "relax":
        # Easing verbs take a rule as their object ("lifts curbs"), not a product ("lifts
        # outlooks" is not policy).
        rules = index.get(s, "control", "sanction", "instrument", "action")
        return "easing of a rule" if any(_near(hit, r, NEAR_CHARS) for r in rules) else None
    if hit.key in ("enforcement", "directive"):
        # A penalty, charge or summons is a state's act by nature: it needs only to be about
        # chips or chip trade ("penalty over a chip", "charged over GPU shipments"), or to sit
        # beside another policy term ("summoned over backdoor risks").
        if objects or index.get(s, "control", "sanction", "instrument", "measure"):
            return "enforcement over chips or a rule"
        return None
    return "state measure" if state and (objects or targets) else None


_MISSING: Final = {
    "sanction": "nothing in the item is about chips",
    "instrument": "no object, company, government or subject country in its sentence",
    "action": f"no object or company within {NEAR_CHARS} characters",
    "relax": f"no rule, licence or restriction within {NEAR_CHARS} characters",
    "tariff": f"no chip goods within {NEAR_CHARS} characters",
    "trade_remedy": f"no chip goods or chip company within {NEAR_CHARS} characters",
    "measure": "needs a government and a chip target in its sentence",
    "enforcement": "no chip-world object or other policy term in its sentence",
    "directive": "no chip-world object or other policy term in its sentence",
}


def _missing(category: str) -> str:
    return _MISSING[category]


def _evidence_parts(
    anchored: Sequence[Hit], weights: Mapping[str, int], parts: list[tuple[str, int]]
) -> None:
    kinds: list[tuple[int, str]] = []
    # The distinct terms of each category, in one pass (control and sanction together).
    distinct: dict[str, set[str]] = {}
    for h in anchored:
        key = "control" if h.key == "sanction" else h.key
        distinct.setdefault(key, set()).add(h.label.lower())
    controls = distinct.get("control", set())
    if controls:
        extra = 8 * (min(len(controls), 3) - 1)
        kinds.append((weights["control"] + extra, f"control terms ({len(controls)})"))
    for category, label in (
        ("instrument", "rule, licence or permit"),
        ("measure", "state measure on a chip target"),
        ("enforcement", "enforcement: penalty, charges, summons"),
        ("directive", "a company or buyers told to act"),
        ("action", "restricting action on an object"),
        ("relax", "easing or undoing of a rule"),
        ("tariff", "tariff on chips"),
        ("trade_remedy", "anti-dumping or anti-subsidy case on chips"),
    ):
        terms = distinct.get(category, set())
        if terms:
            extra = FURTHER_TERM_POINTS * (min(len(terms), 3) - 1)
            kinds.append((weights[category] + extra, f"{label} ({len(terms)})" if extra else label))
    kinds.sort(key=lambda k: -k[0])
    for rank, (points, label) in enumerate(kinds):
        share = points >> rank
        suffix = "" if rank == 0 else f" (1/{1 << rank}: further kind of evidence)"
        parts.append((label + suffix, share))


def _lookalike_parts(
    by_cat: Mapping[str, list[Hit]], weights: Mapping[str, int], title_control: bool
) -> list[tuple[str, int]]:
    parts: list[tuple[str, int]] = []
    total = 0
    for category in LOOKALIKE_CATEGORIES:
        found = by_cat.get(category, [])
        distinct = sorted({h.label.lower() for h in found})[:2]
        if not distinct:
            continue
        points = weights[category] * len(distinct)
        if category == "negative" and title_control:
            points //= 2
        points = max(points, NEGATIVE_FLOOR - total)
        total += points
        if points:
            parts.append((f"look-alike ({category}): {', '.join(distinct)}", points))
    return parts


class TickerContext:
    """What the assessments of all tickers of one item share: computed once per item."""

    def __init__(
        self,
        cue_index: _Index,
        evidence_index: _Index,
        key: set[int],
        headline: int | None,
        evidence_sentences: frozenset[int],
        impact_sentences: frozenset[int],
        passing_sentences: frozenset[int],
        evidence_starts: tuple[int, ...],
    ) -> None:
        self.cue_index = cue_index
        self.evidence_index = evidence_index
        self.key = key
        self.headline = headline
        # Sentences with counted evidence (not only a government body), with an impact cue,
        # and with a passing or beneficiary cue: every ticker asks these of every mention.
        self.evidence_sentences = evidence_sentences
        self.impact_sentences = impact_sentences
        self.passing_sentences = passing_sentences
        self.evidence_starts = evidence_starts  # sorted

    @classmethod
    def of(
        cls,
        event: EventAssessment,
        cues: Sequence[Hit],
        sentences: Sentences,
        title_targets: bool = False,
    ) -> TickerContext:
        cue_index = _Index(cues, sentences)
        evidence_index = _Index(event.evidence, sentences)
        return cls(
            cue_index,
            evidence_index,
            _key_sentences(event.evidence, sentences),
            _headline_sentence(event, sentences, title_targets),
            _sentences_with(evidence_index, EVIDENCE_CATEGORIES),
            _sentences_with(cue_index, ("impact",)),
            _sentences_with(cue_index, ("passing", "beneficiary")),
            tuple(sorted(h.start for h in event.evidence)),
        )


def _sentences_with(index: _Index, categories: Sequence[str]) -> frozenset[int]:
    return frozenset(
        s for s, cats in index.by_sentence.items() if not cats.keys().isdisjoint(categories)
    )


def assess_ticker(
    ticker: str,
    mentions: Sequence[Hit],
    event: EventAssessment,
    cues: Sequence[Hit],
    sentences: Sentences,
    curated: bool,
    title_targets: bool = False,
    context: TickerContext | None = None,
) -> TickerAssessment | None:
    """How much the item matters to `ticker`; None when only weak names of it were found.
    `cues` are the scan's passing, spared and impact hits; `title_targets` says whether the
    title names any chip company; `context`, when given, is TickerContext.of(event, cues,
    sentences, title_targets) made once for all the item's tickers."""
    if all(m.strength == WEAK for m in mentions):
        return None
    shared = context or TickerContext.of(event, cues, sentences, title_targets)
    cues_of = shared.cue_index.by_sentence.get
    index_of = sentences.index
    parts: list[tuple[str, int]] = [("event", round(event.score * 0.4))]

    eased = any(h.key == "relax" for h in event.evidence)
    counted = []
    for m in mentions:
        cats = cues_of(index_of(m.start))
        if cats:  # most mentions sit in a sentence with no cue
            if any(_near(m, c, SPARED_CHARS) for c in cats.get("spared", ())):
                continue
            if not eased and _beneficiary(m, cats.get("beneficiary", ()), event.evidence):
                continue
        counted.append(m)
    if len(counted) < len(mentions):
        parts.append((f"{len(mentions) - len(counted)} mention(s) as spared or not the target", 0))
    if all(m.strength == WEAK for m in counted):
        names = tuple(dict.fromkeys(m.label for m in mentions))
        parts.append(("no mention as a target", -40))
        score = max(0, min(100, sum(p for _, p in parts)))
        snippet = make_evidence(sentences, mentions[0].start)
        return TickerAssessment(ticker, score, names + event.terms, snippet, tuple(parts))

    # Where the company is named, and what role it plays, come from its strong names; a weak
    # one ("HBM" for three memory makers) only adds to the count.
    strong = [m for m in counted if m.strength != WEAK]
    first = strong[0]
    where = sentences.where(first.start)
    presence = {"title": 30, "lead": 22, "body": 10}[where] + min(12, 4 * (len(counted) - 1))
    if not curated:
        presence = round(presence * 0.7)
    parts.append((f"named in {where}, {len(counted)}×", presence))

    key = shared.key
    headline = shared.headline
    best, role, role_label = first, 0, ""
    passing = []
    evidence_sentences = shared.evidence_sentences
    impact_sentences = shared.impact_sentences
    passing_sentences = shared.passing_sentences
    evidence_starts = shared.evidence_starts
    for m in strong:
        s = index_of(m.start)
        in_sentence = s in evidence_sentences
        impact = s in impact_sentences
        if in_sentence:
            points = 20 + (6 if impact else 0) + (8 if s in key else 0)
            label = "in a sentence with policy evidence" + (" and an impact cue" if impact else "")
            label += ", the item's key one" if s in key else ""
        elif impact:
            points, label = 18, "in a sentence saying it is affected"
        elif s == headline:
            points, label = 20, "in the first sentence under a headline with the evidence"
        elif _any_within(evidence_starts, m.start, ROLE_NEAR_CHARS):
            points, label = 8, f"policy evidence within {ROLE_NEAR_CHARS} characters"
        else:
            points, label = 0, ""
        if points > role:
            best, role, role_label = m, points, label
        if m.start >= sentences.title_len:
            passing.append(s in passing_sentences and not in_sentence)
    if role:
        parts.append((role_label, role))
    in_title = any(m.start < sentences.title_len for m in strong)
    if passing and all(passing) and not in_title:
        parts.append(("named only in passing (share moves, rivals, beneficiaries)", -30))
    score = max(0, min(100, sum(p for _, p in parts)))
    names = tuple(dict.fromkeys(m.label for m in counted))
    snippet = make_evidence(sentences, best.start)
    return new_tuple(TickerAssessment, (ticker, score, names + event.terms, snippet, tuple(parts)))


def _any_within(starts: Sequence[int], pos: int, chars: int) -> bool:
    """Whether any of the sorted `starts` is at most `chars` from `pos`."""
    i = bisect.bisect_left(starts, pos - chars)
    return i < len(starts) and starts[i] <= pos + chars


def _beneficiary(mention: Hit, cues: Sequence[Hit], evidence: Sequence[Hit]) -> bool:
    """Whether the company is said to gain from the rule ("Samsung and SK Hynix edged up on bets
    they could fill the gap"; "winners include AMD"): a rival of its target. The cue follows the
    name within BENEFIT_CHARS with no evidence between them, or just precedes it."""
    for cue in cues:
        if cue.end <= mention.start:
            if mention.start - cue.end <= SPARED_CHARS:
                return True
        elif cue.start - mention.end <= BENEFIT_CHARS and not any(
            mention.end <= e.start < cue.start for e in evidence
        ):
            return True
    return False


def _headline_sentence(
    event: EventAssessment, sentences: Sentences, title_targets: bool
) -> int | None:
    """The body's first sentence, when the title carries the event's evidence but names no
    chip company: that sentence says whom the headline is about ("Two face charges over chip
    shipments" / "Prosecutors say they routed Nvidia GPUs...")."""
    first = sentences.title_len + 2
    if title_targets or first >= len(sentences.text):
        return None
    if not any(
        h.start < sentences.title_len and h.key in POLICY_CATEGORIES for h in event.evidence
    ):
        return None
    return sentences.index(first)


def _key_sentences(evidence: Sequence[Hit], sentences: Sentences) -> set[int]:
    """The sentences that carry the most kinds of evidence (at least two): where the event
    itself is told. A company named there is what the event is about."""
    kinds: dict[int, set[str]] = {}
    for hit in evidence:
        kind = "actor" if hit.key in GOVERNMENT else hit.key
        kind = "control" if kind == "sanction" else kind
        kinds.setdefault(sentences.index(hit.start), set()).add(kind)
    most = max((len(k) for k in kinds.values()), default=0)
    return {s for s, k in kinds.items() if len(k) == most} if most >= 2 else set()


def make_evidence(sentences: Sentences, pos: int, limit: int = 280) -> str:
    """The sentence around `pos`, trimmed to `limit` characters, on one line."""
    start, end = sentences.bounds(pos)
    snippet = sentences.lines.get(start)
    if snippet is None:
        snippet = sentences.lines[start] = " ".join(sentences.text[start:end].split())
    if len(snippet) <= limit:
        return snippet
    rel = max(0, pos - start - limit // 3)
    cut = snippet[rel : rel + limit - 2]
    return ("…" if rel else "") + cut.strip() + "…"
