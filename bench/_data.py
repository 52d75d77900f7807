"""Deterministic benchmark data: watchlists of 20, 200 or 2,000 tickers, and news-like items.

Watchlists. The first 20 tickers are the demo's semiconductor list. Beyond them come the rest
of the curated directory, then companies generated from SEC registrant names
(worker/data/sec_company_tickers.json), each written as a user would write a custom entry:
a display name, three or four aliases (legal name, "X Inc.", "X Corp", an upper-case
acronym matched case-sensitively), and for some a product with a model number and an
executive. The tickers are split into watchlists of at most 200, as a desk would.

Items. Every labelled story of tests/data/relevance_dev.jsonl and every bundled example
(examples/news) gives a title and a lead; a body of 300 to 3,000 characters (log-uniform) is
filled with sentences of the kinds news carries: markets, earnings, supply chains, quotes,
analysts, background and, in about one sentence in six, policy language. The sentences name
companies of the 2,000-ticker universe (half of them from the 20 semiconductor names) and
companies on no watchlist, so the same texts serve every watchlist size.

Everything comes from a seeded random generator: two runs see the same data.
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from worker.config import CompanyConfig, WatchlistConfig  # noqa: E402
from worker.evaluation import EVAL_TICKERS  # noqa: E402
from worker.models import Item  # noqa: E402
from worker.relevance.directory import curated_companies, name_from_legal  # noqa: E402
from worker.sources.feed import parse_feed  # noqa: E402
from worker.sources.items import item_from_mapping  # noqa: E402
from worker.sources.jsonl import parse_jsonl  # noqa: E402

SEED = 8
SIZES = (20, 200, 2000)
LIST_SIZE = 200

# The 20-ticker watchlist, the same one `policywatch eval` uses.
DEMO_TICKERS = list(EVAL_TICKERS)

_SKIP_NAMES = re.compile(
    r"\b(ETF|FUND|TRUST|ACQUISITION|PORTFOLIO|INDEX|NOTES?|SHARES|WARRANTS?|UNITS?|"
    r"ISHARES|PROSHARES|SPDR|INVESCO|VANGUARD|DIREXION|BITCOIN|ETHER|MERGER|SPAC|"
    r"CAPITAL CORP|BDC|INCOME|MUNICIPAL|TREASURY|DIVIDEND)\b",
    re.IGNORECASE,
)
_FIRST = [
    "Maria",
    "James",
    "Wei",
    "Anna",
    "David",
    "Yuki",
    "Carlos",
    "Priya",
    "Thomas",
    "Sofia",
    "Daniel",
    "Mei",
    "Robert",
    "Laura",
    "Hiroshi",
    "Elena",
    "Michael",
    "Sara",
    "Jun",
    "Olivia",
    "Peter",
    "Nadia",
    "Kevin",
    "Ingrid",
    "Rahul",
    "Claire",
    "Martin",
    "Lena",
]
_LAST = [
    "Chen",
    "Miller",
    "Tanaka",
    "Rossi",
    "Kim",
    "Novak",
    "Schmidt",
    "Patel",
    "Garcia",
    "Larsen",
    "Dubois",
    "Okafor",
    "Nakamura",
    "Weber",
    "Silva",
    "Fischer",
    "Lindqvist",
    "Moreau",
    "Kowalski",
    "Yamamoto",
    "Brennan",
    "Haddad",
    "Ivanova",
    "Sato",
]
_PRODUCT_WORDS = [
    "Vector",
    "Nova",
    "Atlas",
    "Orion",
    "Helix",
    "Apex",
    "Quanta",
    "Terra",
    "Pulse",
    "Vertex",
    "Zenith",
    "Echo",
    "Titan",
    "Aria",
]


@dataclass(frozen=True)
class Universe:
    """The 2,000 companies benchmarks draw from: symbols in order, and how text names them."""

    symbols: tuple[str, ...]
    custom: dict[str, CompanyConfig]
    display: dict[str, tuple[str, ...]]  # symbol → names a story may use
    outsiders: tuple[str, ...]  # companies on no watchlist


def _title_case(legal: str) -> str:
    words = re.sub(r"\s*/[A-Z]{2,3}/?\s*$", "", legal.strip()).split()
    return " ".join(w if not w.isupper() else w.capitalize() for w in words)


def _custom_company(legal: str, rng: random.Random) -> CompanyConfig | None:
    name = name_from_legal(legal)
    if len(name) < 4 or not re.search(r"[A-Za-z]{3}", name):
        return None
    full = _title_case(legal).rstrip(" ,.")
    aliases = [full] if full != name else []
    aliases += [f"{name} Inc.", f"{name} Corp"]
    words = [w for w in re.split(r"[\s-]+", name) if w[:1].isalpha()]
    case_sensitive = []
    if len(words) >= 3:
        case_sensitive.append("".join(w[0] for w in words).upper())
    products = []
    if rng.random() < 0.35:
        products.append(f"{rng.choice(_PRODUCT_WORDS)} {rng.choice('XSMQ')}{rng.randint(2, 990)}")
    people = []
    if rng.random() < 0.5:
        people.append(f"{rng.choice(_FIRST)} {rng.choice(_LAST)}")
    return CompanyConfig(
        name=name,
        aliases=list(dict.fromkeys(aliases)),
        products=products,
        people=people,
        case_sensitive_aliases=case_sensitive,
    )


def universe(size: int = max(SIZES)) -> Universe:
    rng = random.Random(SEED)
    curated = curated_companies()
    symbols = list(DEMO_TICKERS)
    symbols += [s for s in curated if s not in symbols]
    display: dict[str, tuple[str, ...]] = {}
    for symbol in symbols:
        company = curated[symbol]
        display[symbol] = tuple(n for n in (*company.names, *company.exact_names) if n.isascii())
    sec = json.loads((REPO / "worker/data/sec_company_tickers.json").read_text("utf-8"))
    candidates = [(s, legal) for s, legal in sec.items() if not _SKIP_NAMES.search(legal)]
    # Preferred shares and units ("CMRE-PB") repeat a company already in the list.
    candidates = [(s, legal) for s, legal in candidates if s not in curated and "-" not in s]
    rng.shuffle(candidates)
    custom: dict[str, CompanyConfig] = {}
    outsiders: list[str] = []
    taken = {n.lower() for names in display.values() for n in names}
    for symbol, legal in candidates:
        company = _custom_company(legal, rng)
        if company is None or company.name.lower() in taken:
            continue
        taken.add(company.name.lower())
        if len(symbols) < size:
            symbols.append(symbol)
            custom[symbol] = company
            display[symbol] = (company.name, *company.aliases, *company.products)
        elif len(outsiders) < 2000:
            outsiders.append(company.name)
        else:
            break
    return Universe(tuple(symbols), custom, display, tuple(outsiders))


def watchlists(size: int, uni: Universe | None = None) -> list[WatchlistConfig]:
    """Watchlists covering the first `size` tickers of the universe, at most 200 each."""
    uni = uni or universe()
    symbols = uni.symbols[:size]
    lists = [WatchlistConfig(name="semis", tickers=list(symbols[:20]), min_score=60)]
    rest = symbols[20:]
    for n, start in enumerate(range(0, len(rest), LIST_SIZE), 1):
        chunk = rest[start : start + LIST_SIZE]
        lists.append(
            WatchlistConfig(
                name=f"desk-{n}",
                tickers=[s for s in chunk if s not in uni.custom],
                companies={s: uni.custom[s] for s in chunk if s in uni.custom},
                min_score=55,
            )
        )
    return lists


def watchlists_yaml(size: int, uni: Universe | None = None) -> list[dict[str, object]]:
    """The same watchlists as plain data, for writing a config file."""
    return [w.model_dump(exclude_defaults=True) for w in watchlists(size, uni)]


# ---- items -------------------------------------------------------------------------------

_TEMPLATES = (
    "{co} shares rose {pct}% in early trading in New York, while the broader Philadelphia "
    "semiconductor index gained {pct2}%.",
    "{co} shares fell {pct}% after the company trimmed its outlook for the second half.",
    "{co} reported revenue of ${num}.{d} billion for the quarter, ahead of the ${num2} "
    "billion analysts polled by LSEG had expected.",
    "Gross margin came in at {pct2}{d}%, down from a year earlier, as pricing pressure in "
    "consumer electronics persisted.",
    "The company buys wafers from {co} and packages them at a plant near {city}.",
    '"We continue to work closely with our customers and with the authorities," a '
    "spokesperson for {co} said in an emailed statement.",
    "{co}, based in {city}, employs about {num},{n3} people and sells most of its products "
    "to customers in Asia.",
    "Analysts at {firm} cut their price target on {co} to ${num}, citing weaker demand.",
    "Analysts at {firm} raised their rating on {co} to buy, pointing to orders for data-centre "
    "equipment.",
    "The firm also announced a share buyback of up to ${num} million and raised its dividend.",
    "{person}, who became chief executive of {co} in {year}, said the order book was the "
    "strongest in the company's history.",
    "{co} and {co2} signed a multi-year supply agreement, the companies said on {day}.",
    "Inventories at distributors have fallen for three straight quarters, according to data "
    "compiled by {firm}.",
    "The deal, valued at about ${num}.{d} billion including debt, is expected to close in the "
    "first half of {year2}, subject to regulatory approvals.",
    "{co} said it would invest ${num} billion over five years in a new facility in {city}.",
    "Demand for memory used in artificial-intelligence servers has outstripped supply since "
    "late last year, pushing up contract prices.",
    "The stock has gained {pct}% this year, compared with a {pct2}% rise in the S&P 500.",
    "Customers including {co} and {co2} have been testing the new parts since {month}.",
    "A spokesperson for {co} declined to comment on the report.",
    "The company's chief financial officer, {person}, told analysts on a conference call that "
    "capital spending would stay near ${num} million.",
    "Trading volume was about {pct} times the 30-day average.",
    "{co} has been expanding its research centre in {city} and hired {num} engineers last year.",
    "Lawmakers in Washington have pressed the Commerce Department to tighten export controls "
    "on chipmaking equipment sold to China.",
    "The Bureau of Industry and Security added {num} entities to the Entity List, requiring a "
    "licence for exports of items subject to the Export Administration Regulations.",
    "Beijing said it would take necessary measures to protect its companies and condemned the "
    "restrictions as economic coercion.",
    "{co} said the new licence requirement could affect about ${num} million of sales to "
    "customers in China this year.",
    "Under the rule, shipments of advanced computing chips to China, Macau and other arms-"
    "embargoed countries need a licence, with a presumption of denial.",
    "The Dutch government said it would expand licence requirements for deep ultraviolet "
    "lithography systems from {month}.",
    "China's commerce ministry announced export controls on gallium and germanium, metals "
    "used in chips and solar panels.",
    "{co} said it expects to record a charge of about ${num} million related to inventory and "
    "purchase obligations.",
)
_CITIES = [
    "Austin",
    "Phoenix",
    "Hsinchu",
    "Dresden",
    "Eindhoven",
    "Yokohama",
    "Suwon",
    "Boise",
    "Penang",
    "Singapore",
    "Chandler",
    "Osaka",
    "Kumamoto",
    "Grenoble",
    "Bangalore",
    "Shenzhen",
    "Wuxi",
    "Portland",
    "Albany",
    "Leuven",
]
_FIRMS = (
    "Bernstein",
    "Morgan Stanley",
    "Jefferies",
    "Citi",
    "Mizuho",
    "TD Cowen",
    "Bank of America",
    "Goldman Sachs",
    "UBS",
    "Barclays",
    "TrendForce",
    "Counterpoint Research",
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]


def _base_stories() -> list[Item]:
    stories = []
    for line in (REPO / "tests/data/relevance_dev.jsonl").read_text("utf-8").splitlines():
        if line.strip():
            stories.append(item_from_mapping(json.loads(line), source="dev"))
    news = REPO / "examples/news"
    for path in sorted(news.iterdir()):
        body = path.read_bytes()
        if path.suffix == ".xml":
            stories += parse_feed(body, path.stem).items
        elif path.suffix == ".jsonl":
            stories += parse_jsonl(body, path.stem).items
    return stories


class _Filler:
    def __init__(self, uni: Universe, rng: random.Random) -> None:
        self.rng = rng
        self.core = [uni.display[s] for s in uni.symbols[:20]]
        self.rest = [uni.display[s] for s in uni.symbols[20:]]
        self.outsiders = uni.outsiders

    def company(self) -> str:
        roll = self.rng.random()
        if roll < 0.45 or not self.rest:
            names = self.rng.choice(self.core)
        elif roll < 0.8:
            names = self.rng.choice(self.rest)
        else:
            return self.rng.choice(self.outsiders)
        return self.rng.choice(names)

    def sentence(self) -> str:
        r = self.rng
        return r.choice(_TEMPLATES).format(
            co=self.company(),
            co2=self.company(),
            pct=r.randint(1, 19),
            pct2=r.randint(1, 60),
            d=r.randint(0, 9),
            n3=f"{r.randint(0, 999):03d}",
            num=r.randint(2, 950),
            num2=r.randint(2, 950),
            city=r.choice(_CITIES),
            firm=r.choice(_FIRMS),
            person=f"{r.choice(_FIRST)} {r.choice(_LAST)}",
            year=r.randint(2012, 2024),
            year2=r.randint(2025, 2027),
            month=r.choice(_MONTHS),
            day=r.choice(_DAYS),
        )

    def body(self, lead: str, length: int) -> str:
        paragraphs = [lead] if lead else []
        size = len(lead)
        while size < length:
            paragraph = " ".join(self.sentence() for _ in range(self.rng.randint(1, 3)))
            paragraphs.append(paragraph)
            size += len(paragraph) + 2
        return "\n\n".join(paragraphs)[: max(length, len(lead))]


def items(count: int = 2000, uni: Universe | None = None) -> list[Item]:
    """`count` items: real titles and leads, bodies of 300-3,000 characters (log-uniform)."""
    uni = uni or universe()
    rng = random.Random(SEED + 1)
    stories = _base_stories()
    filler = _Filler(uni, rng)
    out = []
    for n in range(count):
        story = stories[n % len(stories)]
        length = int(math.exp(rng.uniform(math.log(300), math.log(3000))))
        out.append(
            Item(
                id=f"bench-{n:05d}",
                title=story.title,
                summary=filler.body(story.body, length),
                link=f"https://news.example.com/{n}",
                published=story.published,
                source=story.source,
            )
        )
    return out


def item_json(item: Item) -> str:
    """One item as a `policywatch score` input line."""
    return json.dumps(
        {
            "id": item.id,
            "title": item.title,
            "summary": item.summary,
            "link": item.link,
            "published": item.published.isoformat() if item.published else None,
            "source": item.source,
        },
        ensure_ascii=False,
    )
