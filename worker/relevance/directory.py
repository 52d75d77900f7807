"""The company directory: tickers and every name that points at them.

Three layers, later ones overriding earlier ones by symbol:
1. the SEC ticker list (any US-listed ticker works; names derived from legal names, cautious),
2. the curated directory (worker/data/companies.yaml),
3. companies a user adds in a watchlist (`companies:` in the config).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml

from worker.config import CompanyConfig


@dataclass(frozen=True, slots=True)
class Company:
    """A company and the words that name it.

    `names` match case-insensitively; `exact_names` only in exactly that case ("Arm", "Micron");
    `weak_names` only count when a strong name, product or person also fires; `curated` is
    False for names derived from legal names, which score more cautiously.
    """

    symbol: str
    name: str
    names: tuple[str, ...] = ()
    exact_names: tuple[str, ...] = ()
    weak_names: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    people: tuple[str, ...] = ()
    other_tickers: tuple[str, ...] = ()
    curated: bool = True
    segments: tuple[str, ...] = field(default=())


# Segments of companies whose main business is not chips, tools or their materials: a state
# measure against one of them (an antitrust probe of a search engine) is not a chip event.
NON_CHIP_SEGMENTS = frozenset(
    {"cloud", "internet", "consumer-electronics", "telecom", "surveillance", "other"}
)


def is_chip_company(company: Company) -> bool:
    """True when the company's main (first-listed) segment is in the chip world. Companies
    without segments (a user's own entries) count: the user watches them for this reason."""
    if not company.curated:
        return False
    return not company.segments or company.segments[0] not in NON_CHIP_SEGMENTS


_LEGAL_SUFFIXES = re.compile(
    r"(?:[\s,]+(?:/[A-Z]{2}/?|INC\.?|INCORPORATED|CORP\.?|CORPORATION|CO\.?|COMPANY|LTD\.?|"
    r"LIMITED|PLC|LLC|L\.P\.|LP|N\.V\.|NV|S\.A\.|SA|AG|SE|HOLDINGS?|GROUP|TRUST|"
    r"TECHNOLOGY|TECHNOLOGIES|INTERNATIONAL|DE|ADR|THE))+\s*$",
    re.IGNORECASE,
)
_SMALL_WORDS = {"of", "and", "the", "for", "de", "&"}


def name_from_legal(legal: str) -> str:
    """'APPLIED MATERIALS INC /DE' → 'Applied Materials'; keeps mixed-case names as written."""
    name = re.sub(r"\s+", " ", legal).strip()
    name = re.sub(r"\s*/[A-Z]{2,3}/?\s*$", "", name)
    stripped = _LEGAL_SUFFIXES.sub("", name).strip(" ,.")
    name = stripped or name
    if name.isupper():
        words = [w.lower() if w.lower() in _SMALL_WORDS else w.capitalize() for w in name.split()]
        name = " ".join(words)
    return name


def _company_from_sec(symbol: str, legal: str) -> Company:
    name = name_from_legal(legal)
    # A derived name is only trusted as written (Title Case), and a one-word name that is
    # also an everyday word ("Apple", "Visa") must appear capitalised to count.
    return Company(symbol=symbol, name=name, exact_names=(name,), curated=False)


# Languages of the `names_*` fields; a field may be left out when it would repeat the English.
NAME_LANGUAGES = ("zh", "ja", "ko", "de", "fr", "nl", "es")


def _as_tuple(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(str(v) for v in value)


def _company_from_yaml(symbol: str, raw: Mapping[str, Any]) -> Company:
    names = [raw.get("name", symbol), *(_as_tuple(raw.get("aliases")))]
    names += [raw.get("legal_name", "")] if raw.get("legal_name") else []
    for lang in NAME_LANGUAGES:
        names += _as_tuple(raw.get(f"names_{lang}"))
    exact = _as_tuple(raw.get("case_sensitive"))
    # A name listed as case-sensitive must not also match in any case.
    names = [n for n in dict.fromkeys(names) if n and n not in exact]
    return Company(
        symbol=symbol,
        name=str(raw.get("name", symbol)),
        names=tuple(names),
        exact_names=exact,
        weak_names=_as_tuple(raw.get("weak")),
        products=_as_tuple(raw.get("products")),
        people=_as_tuple(raw.get("people")),
        other_tickers=_as_tuple(raw.get("other_tickers")),
        curated=True,
        segments=_as_tuple(raw.get("segments")),
    )


def company_from_config(symbol: str, cfg: CompanyConfig) -> Company:
    return Company(
        symbol=symbol,
        name=cfg.name,
        names=tuple(dict.fromkeys([cfg.name, *cfg.aliases])),
        exact_names=tuple(cfg.case_sensitive_aliases),
        products=tuple(cfg.products),
        people=tuple(cfg.people),
        curated=True,
    )


@cache
def _curated() -> dict[str, Company]:
    text = resources.files("worker").joinpath("data/companies.yaml").read_text("utf-8")
    raw = yaml.safe_load(text) or {}
    return {sym: _company_from_yaml(sym, entry) for sym, entry in raw["companies"].items()}


@cache
def _sec() -> dict[str, str]:
    text = resources.files("worker").joinpath("data/sec_company_tickers.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


@cache
def _curated_by_other_ticker() -> dict[str, str]:
    return {t: c.symbol for c in _curated().values() for t in c.other_tickers}


def curated_companies() -> dict[str, Company]:
    """The built-in curated directory, by symbol."""
    return dict(_curated())


def lookup(symbol: str) -> Company | None:
    """A curated company (by its symbol or another listing of it), else an SEC-derived one."""
    symbol = symbol.strip().upper()
    curated = _curated()
    if symbol in curated:
        return curated[symbol]
    if symbol in _curated_by_other_ticker():
        return curated[_curated_by_other_ticker()[symbol]]
    legal = _sec().get(symbol)
    return _company_from_sec(symbol, legal) if legal else None


def resolve_watchlist(
    tickers: Iterable[str], custom: Mapping[str, CompanyConfig]
) -> tuple[dict[str, Company], list[str]]:
    """Companies for a watchlist's tickers plus its custom entries; returns (found, unknown)."""
    found: dict[str, Company] = {}
    unknown: list[str] = []
    for ticker in tickers:
        if ticker in custom:
            continue
        company = lookup(ticker)
        if company is None:
            unknown.append(ticker)
        else:
            found[ticker] = company
    for symbol, cfg in custom.items():
        found[symbol] = company_from_config(symbol, cfg)
    return found, unknown
