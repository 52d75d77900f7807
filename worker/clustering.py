"""Event clustering: copies and rewrites of one event from many outlets become one story.

Rewrites share few word sequences ("US adds dozens of Chinese firms, including Inspur units, to
export blacklist" / "Commerce puts 80 entities on Entity List; server maker Inspur's
subsidiaries among them"), so shingles alone cannot group them. Each story is reduced to what
it is about, read from its title and lead (the first LEAD_CHARS of the body, where news puts the
event; later paragraphs recall background that would blur it):

  subjects   companies (any curated company, not only watched ones), products (H20, MI308) and
             specific controlled goods (gallium, HBM, EUV)
  actors     the governments acting (US, CN, NL, JP, KR, TW, EU), from the title when it names one
  polarity   restrict or relax (tightens, bans, adds to a list / lifts, resumes, rescinds)
  topics     the instrument (entity list, licence, ban, probe, charge, VEU, diffusion rule)
  figures    money amounts, percentages and counts of entities, normalised ($5.5bn = $5.5 billion)
  tokens     content words, title words counting double, for a cosine text similarity

Two stories are the same event when nothing vetoes it (opposite polarity, disjoint companies,
products or acting governments, different money amounts) and their weighted similarity
(`WEIGHTS`), scaled down with the time between them, reaches the threshold. An item joins the
best-matching story whose first report is within the window; no story within reach means a new
one. A later reversal or a new charge with a new figure therefore starts a new story.
"""

from __future__ import annotations

import json
import math
import re
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

from worker.models import ClusterMember, Item, stable_hash
from worker.relevance.directory import Company, curated_companies
from worker.relevance.lexicon import Lexicon
from worker.relevance.matcher import PRODUCT, WEAK, Matcher, normalise

LEAD_CHARS = 600
WEIGHTS = {
    "subjects": 0.30,
    "topics": 0.15,
    "text": 0.25,
    "figures": 0.10,
    "actors": 0.10,
    "polarity": 0.10,
}
# What a feature adds when one story does not have it (no actor named, no figure given).
UNKNOWN = 0.3
# The time factor scales a similarity from 1.0 (same moment) down to TIME_FLOOR (a window apart).
TIME_FLOOR = 0.75
MONEY_TOLERANCE = 0.03  # relative: $5.5bn and $5.52bn are the same amount
_FUTURE_SLACK = timedelta(hours=1)
_CACHE_SIZE = 20_000

_PRODUCT_CODE = re.compile(r"\b(?:[A-Z]{1,3}\d{2,4}[A-Z]{0,2}|\d{3}[A-Z])\b")
# "needs an export licence", "require a licence", "would need licences": a restriction.
_LICENCE_NEEDED = re.compile(
    r"\b(?:need|needs|needed|require|requires|required|requiring)\s+(?:a\s+|an\s+)?"
    r"(?:export\s+|us\s+|u\.s\.\s+|government\s+)?licen[cs]e",
    re.IGNORECASE,
)
_NOT_PRODUCT = re.compile(r"^(?:FY|CY|COP|Q)\d")
_US_TITLE = re.compile(
    r"^(?:US|U\.S\.|United States|America)\b|\b(?:US|U\.S\.) (?:government|officials)"
)
_CN_TITLE = re.compile(r"^(?:China|Chinese)\b(?! ?'s (?:car|auto)| (?:firms|companies|chip))")
_TW_TITLE = re.compile(r"^Taiwan\b")
_NL_TITLE = re.compile(r"^(?:Netherlands|Dutch)\b")
_JP_TITLE = re.compile(r"^Japan\b")
_MONEY = re.compile(
    r"(?P<cur>US\$|\$|€|£|¥|EUR ?|USD ?)\s?(?P<num>\d+(?:[.,]\d+)?)\s*"
    r"(?P<unit>trillion|tn|billion|bn|b|million|mln|mn|m)?\b"
    r"|(?P<num2>\d+(?:\.\d+)?)\s*(?P<unit2>trillion|billion|million)\s+(?:US\s+)?dollars",
    re.IGNORECASE,
)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:%|per ?cent\b|percent\b)", re.IGNORECASE)
_COUNT = re.compile(
    r"\b(\d{1,4})\s+(?:more\s+|new\s+|additional\s+|other\s+)?(?:chinese\s+|foreign\s+|russian\s+)?"
    r"(?:entities|companies|firms|organi[sz]ations|units|subsidiaries|individuals|people)\b",
    re.IGNORECASE,
)
_UNITS = {
    "trillion": 1e12,
    "tn": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mln": 1e6,
    "mn": 1e6,
    "m": 1e6,
    None: 1.0,
}
_CURRENCY = {
    "$": "usd",
    "us$": "usd",
    "usd": "usd",
    "€": "eur",
    "eur": "eur",
    "£": "gbp",
    "¥": "jpy",
}
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]{2,}")
_STOPWORD_TEXT = """
    the and for with that this from have has had was were are its it's their them they
    will would could should said says say about after before over into onto than then also
    more most some such what which while who whom whose when where why how not but all any
    each other new now only own same very can may might must just been being our out off per
    via amid among under week weeks day days year years month months monday tuesday wednesday
    thursday friday saturday sunday late early report reports reported according company
    companies"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True)
class EventFeatures:
    """What one story is about, for comparing it with others. `tokens` maps word → weight."""

    subjects: frozenset[str]
    companies: frozenset[str]
    products: frozenset[str]
    actors: frozenset[str]
    polarity: str
    topics: frozenset[str]
    figures: frozenset[tuple[str, float]]
    tokens: Mapping[str, float] = field(hash=False, compare=False)
    event_at: datetime = datetime(1970, 1, 1, tzinfo=UTC)
    norm: float = field(init=False, hash=False, compare=False)

    def __post_init__(self) -> None:
        # The tokens' Euclidean length, once: every comparison needs it.
        object.__setattr__(self, "norm", math.sqrt(sum(w * w for w in self.tokens.values())))

    def to_json(self) -> str:
        return json.dumps(
            {
                "subjects": sorted(self.subjects),
                "companies": sorted(self.companies),
                "products": sorted(self.products),
                "actors": sorted(self.actors),
                "polarity": self.polarity,
                "topics": sorted(self.topics),
                "figures": sorted([k, v] for k, v in self.figures),
                "tokens": self.tokens,
                "event_at": self.event_at.isoformat(),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> EventFeatures:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            subjects=frozenset(raw["subjects"]),
            companies=frozenset(raw["companies"]),
            products=frozenset(raw["products"]),
            actors=frozenset(raw["actors"]),
            polarity=str(raw["polarity"]),
            topics=frozenset(raw["topics"]),
            figures=frozenset((str(k), float(v)) for k, v in raw["figures"]),
            tokens={str(k): float(v) for k, v in raw["tokens"].items()},
            event_at=datetime.fromisoformat(raw["event_at"]),
        )


@dataclass(frozen=True)
class Comparison:
    """How alike two stories are: `score` 0-1 (0 when vetoed), the parts, and why not."""

    score: float
    parts: Mapping[str, float]
    veto: str = ""


@dataclass(frozen=True)
class Assignment:
    """Where an item goes: an existing story (`is_new` False) or a new one."""

    cluster_id: str
    started_at: datetime
    is_new: bool
    best: Comparison | None = None
    joined_item: str = ""


def event_time(item: Item, seen_at: datetime) -> datetime:
    """When the story happened, as far as we can tell: its published time unless that is
    missing or in the future, else when we saw it."""
    published = item.published
    if published is None:
        return seen_at
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return seen_at if published > seen_at + _FUTURE_SLACK else published


def _stem(word: str) -> str:
    word = word.replace("license", "licence").strip("'-")
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def _tokens(title: str, lead: str) -> dict[str, float]:
    weights: dict[str, float] = {}
    for text, weight in ((title, 2.0), (lead, 1.0)):
        for word in _WORD.findall(text.lower()):
            if word in _STOPWORDS or word.isdigit():
                continue
            stem = _stem(word)
            weights[stem] = weights.get(stem, 0.0) + weight
    return weights


def _figures(text: str) -> set[tuple[str, float]]:
    found: set[tuple[str, float]] = set()
    for m in _MONEY.finditer(text):
        if m.group("num2"):
            value = float(m.group("num2")) * _UNITS[m.group("unit2").lower()]
            found.add(("usd", value))
            continue
        unit = (m.group("unit") or "").lower() or None
        number = m.group("num").replace(",", "") if unit is None else m.group("num")
        number = number.replace(",", ".")
        currency = _CURRENCY.get(m.group("cur").strip().lower(), "usd")
        found.add((currency, float(number) * _UNITS[unit]))
    for m in _PERCENT.finditer(text):
        found.add(("pct", float(m.group(1))))
    for m in _COUNT.finditer(text):
        found.add(("count", float(m.group(1))))
    return found


@cache
def vocabulary() -> dict[str, dict[str, list[str]]]:
    """worker/data/clustering.yaml: actors, polarity, topics and goods, each name → terms."""
    text = resources.files("worker").joinpath("data/clustering.yaml").read_text("utf-8")
    data: dict[str, dict[str, list[str]]] = yaml.safe_load(text)
    return data


def _lexicon(*sections: str) -> Lexicon:
    """Sections of the vocabulary as a matcher lexicon: categories "actor:US", "topic:ban"..."""
    singular = {"actors": "actor", "polarity": "polarity", "topics": "topic", "goods": "goods"}
    terms = {
        f"{singular[section]}:{name}": tuple(words)
        for section in sections
        for name, words in vocabulary()[section].items()
    }
    return Lexicon(terms=terms, weights={})


class FeatureExtractor:
    """Reads EventFeatures from items. Knows every curated company (a story about Inspur is
    about Inspur even if no watchlist has it) plus the watchlists' own. Build once; thread-safe.
    """

    def __init__(self, companies: Mapping[str, Company] | None = None) -> None:
        known = curated_companies()
        known.update(companies or {})
        # One matcher per group: a matcher keeps one term per span of text, and "entity list"
        # is both a polarity and a topic.
        self._matchers = (
            Matcher(known, _lexicon("actors")),
            Matcher({}, _lexicon("polarity")),
            Matcher({}, _lexicon("topics", "goods")),
        )

    def features(self, item: Item, seen_at: datetime) -> EventFeatures:
        title = normalise(item.title.strip())
        lead = normalise(item.body)[:LEAD_CHARS]
        text = f"{title}\n{lead}"
        title_end = len(title)
        hits = [hit for matcher in self._matchers for hit in matcher.scan(text)]
        companies: set[str] = set()
        products: set[str] = set()
        goods: set[str] = set()
        topics: set[str] = set()
        actors_title: set[str] = set()
        actors_lead: set[str] = set()
        polarity_title = {"restrict": 0, "relax": 0}
        polarity_lead = {"restrict": 0, "relax": 0}
        for hit in hits:
            in_title = hit.start < title_end
            if hit.kind == "company":
                if hit.strength != WEAK:
                    companies.add(hit.key)
                if hit.strength == PRODUCT:
                    products.add(hit.label.upper())
                continue
            kind, _, name = hit.key.partition(":")
            if kind == "actor":
                (actors_title if in_title else actors_lead).add(name)
            elif kind == "polarity":
                (polarity_title if in_title else polarity_lead)[name] += 1
            elif kind == "topic":
                topics.add(name)
            elif kind == "goods":
                goods.add(name)
        for m in _LICENCE_NEEDED.finditer(text):
            (polarity_title if m.start() < title_end else polarity_lead)["restrict"] += 1
        for regex, code in (
            (_US_TITLE, "US"),
            (_CN_TITLE, "CN"),
            (_TW_TITLE, "TW"),
            (_NL_TITLE, "NL"),
            (_JP_TITLE, "JP"),
        ):
            if regex.search(title):
                actors_title.add(code)
        products.update(
            m.group(0) for m in _PRODUCT_CODE.finditer(text) if not _NOT_PRODUCT.match(m.group(0))
        )
        return EventFeatures(
            subjects=frozenset(companies | products | {f"goods:{g}" for g in goods}),
            companies=frozenset(companies),
            products=frozenset(products),
            actors=frozenset(actors_title or actors_lead),
            polarity=_polarity(polarity_title) or _polarity(polarity_lead),
            topics=frozenset(topics),
            figures=frozenset(_figures(text)),
            tokens=_tokens(title, lead),
            event_at=event_time(item, seen_at),
        )


def _polarity(counts: Mapping[str, int]) -> str:
    if counts["restrict"] > counts["relax"]:
        return "restrict"
    if counts["relax"] > counts["restrict"]:
        return "relax"
    return ""


def _overlap(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared / smaller set: one outlet naming an extra company does not count against it."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return UNKNOWN
    return len(a & b) / len(a | b)


def _cosine(a: EventFeatures, b: EventFeatures) -> float:
    if not a.norm or not b.norm:
        return 0.0
    small, large = (a.tokens, b.tokens) if len(a.tokens) <= len(b.tokens) else (b.tokens, a.tokens)
    dot = sum(w * large.get(k, 0.0) for k, w in small.items())
    return dot / (a.norm * b.norm) if dot else 0.0


def _same_amount(x: float, y: float) -> bool:
    return abs(x - y) <= MONEY_TOLERANCE * max(abs(x), abs(y))


def _figure_agreement(
    a: frozenset[tuple[str, float]], b: frozenset[tuple[str, float]]
) -> tuple[float, str]:
    """(score, veto): 1 when a figure is shared, UNKNOWN when one side has none, 0 when both have
    some of a kind and none agree; a veto when they disagree on money."""
    shared = any(ka == kb and _same_amount(va, vb) for ka, va in a for kb, vb in b)
    if shared:
        return 1.0, ""
    kinds_a = {k for k, _ in a}
    kinds_b = {k for k, _ in b}
    clash = kinds_a & kinds_b
    money = clash - {"pct", "count"}
    if money:
        return 0.0, "different amounts"
    return (0.0, "") if clash else (UNKNOWN, "")


def _disjoint(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a) and bool(b) and not (a & b)


def compare(a: EventFeatures, b: EventFeatures, window: timedelta) -> Comparison:
    """How likely `a` and `b` report the same event (see the module docstring)."""
    if a.polarity and b.polarity and a.polarity != b.polarity:
        return Comparison(0.0, {}, f"opposite actions ({a.polarity} vs {b.polarity})")
    if _disjoint(a.companies, b.companies):
        return Comparison(0.0, {}, "different companies")
    if _disjoint(a.products, b.products):
        return Comparison(0.0, {}, "different products")
    if _disjoint(a.actors, b.actors):
        return Comparison(0.0, {}, "different governments")
    figures, veto = _figure_agreement(a.figures, b.figures)
    if veto:
        return Comparison(0.0, {}, veto)
    gap = abs(a.event_at - b.event_at)
    if gap > window:
        return Comparison(0.0, {}, "too far apart in time")
    parts = {
        "subjects": _overlap(a.subjects, b.subjects),
        "topics": _jaccard(a.topics, b.topics),
        "text": _cosine(a, b),
        "figures": figures,
        "actors": 1.0 if a.actors & b.actors else UNKNOWN,
        "polarity": 1.0 if a.polarity and a.polarity == b.polarity else UNKNOWN,
    }
    similarity = sum(WEIGHTS[k] * v for k, v in parts.items())
    closeness = 1.0 - gap / window if window else 1.0
    score = similarity * (TIME_FLOOR + (1.0 - TIME_FLOOR) * closeness)
    return Comparison(round(score, 4), parts)


def new_cluster_id(item_id: str) -> str:
    return "evt_" + stable_hash("cluster", item_id)


class Clusterer:
    """Assigns items to stories, given the recent stories' members.

    `window`: the most time between an item and the first report of the story it joins;
    `threshold`: the least similarity (0-1) to join.
    """

    def __init__(self, extractor: FeatureExtractor, window: timedelta, threshold: float) -> None:
        self.extractor = extractor
        self.window = window
        self.threshold = threshold
        self._parsed: OrderedDict[str, EventFeatures] = OrderedDict()

    def _features_of(self, member: ClusterMember) -> EventFeatures:
        """A stored member's features, parsed once and kept (most recent _CACHE_SIZE)."""
        found = self._parsed.get(member.item_id)
        if found is None:
            found = EventFeatures.from_json(member.features)
            self._parsed[member.item_id] = found
            if len(self._parsed) > _CACHE_SIZE:
                self._parsed.popitem(last=False)
        else:
            self._parsed.move_to_end(member.item_id)
        return found

    def assign(
        self, item_id: str, features: EventFeatures, candidates: Iterable[ClusterMember]
    ) -> Assignment:
        """The story `item_id` belongs to. Every member of a story must allow the join (no
        veto); the story's score is its best member's."""
        by_cluster: dict[str, list[ClusterMember]] = {}
        for member in candidates:
            if member.item_id != item_id:
                by_cluster.setdefault(member.cluster_id, []).append(member)
        best: tuple[Comparison, ClusterMember] | None = None
        for members in by_cluster.values():
            started = members[0].started_at
            if abs(features.event_at - started) > self.window:
                continue
            scored = [(compare(features, self._features_of(m), self.window), m) for m in members]
            if any(c.veto for c, _ in scored):
                continue
            top = max(scored, key=lambda pair: pair[0].score)
            if top[0].score >= self.threshold and (best is None or top[0].score > best[0].score):
                best = top
        if best is None:
            return Assignment(new_cluster_id(item_id), features.event_at, True)
        comparison, member = best
        return Assignment(member.cluster_id, member.started_at, False, comparison, member.item_id)


def members_for(
    items: Sequence[tuple[Item, EventFeatures]],
    assignments: Sequence[Assignment],
    seen_at: datetime,
) -> list[ClusterMember]:
    """The ClusterMember rows to store for items and where they went."""
    return [
        ClusterMember(
            cluster_id=a.cluster_id,
            item_id=item.id,
            title=item.title,
            link=item.link,
            source=item.source,
            published=item.published,
            event_at=feats.event_at,
            started_at=a.started_at,
            seen_at=seen_at,
            features=feats.to_json(),
        )
        for (item, feats), a in zip(items, assignments, strict=True)
    ]
