"""One-pass multi-pattern matching (Aho-Corasick) of company names and policy terms.

All patterns of all watchlists go into one automaton, so a text is scanned once whatever the
number of tickers. Latin patterns must sit on word boundaries; a trailing `*` in a pattern
lets any word ending follow. CJK patterns match anywhere. Case-sensitive names (and lexicon
terms written with a capital) are checked against the original text after the case-folded
scan; in an ALL-CAPS passage their upper-case form is accepted too ("MICRON SHARES SLIDE").
A name that is itself written in capitals ("ARM", "AMD", "TEL") says nothing by its case in
an ALL-CAPS passage ("ARM-WRESTLING OVER CHIPS"): there it counts as a name only when the
item names the company otherwise too, and is a weak name if not. A case-sensitive name of
several words ("ON Semiconductor") also matches in Title Case or ALL CAPS, but only where a
name can start: at the start of a text, line or sentence, or of an item in a list ("Texas
Instruments, On Semiconductor"), not after a word it could qualify ("Curbs On Semiconductor").

Besides the watched companies, the curated directory's other companies are matched as
"entity" hits: they do not score, but they tell the scorer a story is about the chip world
whatever the watchlist.

Symbols are found by a few regexes over the text (one pass each, whatever the number of
tickers): `$NVDA`, `(NASDAQ: NVDA)`, `(TYO: 8035)`, `<8035.T>`, `<NVDA.O>`, `(2330.TW)`, and a
bare capitals symbol right before "chips", "shares", "stock" or "products" ("MU CHIPS"),
unless the symbol is an everyday word ("ON").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

import ahocorasick

from worker.relevance.directory import Company
from worker.relevance.lexicon import Lexicon

# Kinds of company evidence, strongest first.
NAME, PRODUCT, PERSON, SYMBOL, WEAK = "name", "product", "person", "symbol", "weak"
IDIOM = "idiom"  # the lexicon category whose phrases mean nothing here
_CAPS = "caps"  # provisional: settled to NAME or WEAK once the whole text is scanned

_CASHTAG = re.compile(r"\$([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)\b")
_LISTING = re.compile(
    r"\((NASDAQ|Nasdaq|NYSE|Nyse|NYSE American|TSE|TYO|HKEX|HKG|SEHK|KRX|KOSPI|KOSDAQ|TWSE|TPE|"
    r"SSE|SHA|SZSE|SHE|Euronext|AMS|XETRA|ETR|FRA)\s*:\s*([A-Z0-9]{1,6}(?:\.[A-Z]{1,2})?)\)"
)
# A bare symbol as headlines use one: in capitals, right before what the company sells or
# what trades ("MU CHIPS", "NVDA shares"). Symbols that are everyday words ("ON CHIPS" is "on
# chips") never count this way.
# (The regex finds the noun, rarer than a capital letter, and the code looks back for the
# symbol.)
_BARE_SYMBOL_NOUN = re.compile(
    r"(?<=[A-Z0-9]) (?i:chips?|shares?|stock|products?|processors?|memory|gpus?)\b"
)
_BARE_SYMBOL = re.compile(r"[A-Z][A-Z0-9]{1,4}")
_WORD_SYMBOLS = frozenset(
    {"ON", "IT", "US", "UK", "EU", "AI", "OR", "AND", "BY", "TO", "IN", "AT", "ALL", "ARE"}
    | {"FOR", "NOW", "ONE", "SO", "BE", "GO", "HE", "NO", "UP", "AN", "AS", "IS", "OF", "BAN"}
    | {"NEW", "BIG", "KEY", "TOP", "OLD", "CAN", "LOW", "HAS", "WAS", "ITS", "THE", "HIT", "CUT"}
)
# Reuters-style instrument codes and bare suffixed symbols in brackets: <8035.T>, <NVDA.O>,
# (2330.TW), (ASML.AS)
_BRACKETED = re.compile(r"[<(]([A-Z0-9]{1,6}\.[A-Z]{1,2})[>)]")
# Exchange prefixes whose codes are written without our Yahoo-style suffix.
_EXCHANGE_SUFFIX = {
    "TSE": ".T",
    "TYO": ".T",
    "HKEX": ".HK",
    "HKG": ".HK",
    "SEHK": ".HK",
    "KRX": ".KS",
    "KOSPI": ".KS",
    "KOSDAQ": ".KQ",
    "TWSE": ".TW",
    "TPE": ".TW",
    "SSE": ".SS",
    "SHA": ".SS",
    "SZSE": ".SZ",
    "SHE": ".SZ",
}
# Reuters suffixes for US venues: <NVDA.O> is Nasdaq's NVDA.
_US_RIC_SUFFIXES = (".O", ".OQ", ".N", ".A", ".K")
_CAPS_WINDOW = 40
# A phone number after a short capitalised name: "TEL 03-3501-2800" is a telephone, not
# Tokyo Electron.
_PHONE_AFTER = re.compile(r"[:.]?\s*\+?[\d(][\d\s\-().]{6,}")


@dataclass(frozen=True, slots=True)
class Hit:
    """One pattern found in the text at [start, end). `key` is a ticker or a term category."""

    kind: str  # "company" (a watched ticker), "entity" (another known company) or "term"
    key: str
    label: str
    start: int
    end: int
    strength: str = ""


@dataclass(frozen=True, slots=True)
class _Pattern:
    kind: str
    key: str
    label: str
    strength: str
    exact: str  # non-empty: the text must match this exactly (case-sensitive)
    prefix: bool  # a trailing * : no right word boundary needed


def _is_cjk(ch: str) -> bool:
    return ord(ch) >= 0x2E80 and not ch.isascii() and unicodedata.category(ch).startswith("L")


def _is_word_char(ch: str) -> bool:
    # Han, kana and hangul are letters to isalnum(), but no word boundary separates them from
    # Latin names ("英伟达H20芯片"), so they do not count as word characters here.
    if ch.isascii():
        return ch.isalnum() or ch == "_"
    return ch.isalnum() and not _is_cjk(ch)


def fold(text: str) -> str:
    """NFKC, then lower case, keeping every character at its index (needed for positions)."""
    text = unicodedata.normalize("NFKC", text)
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def normalise(text: str) -> str:
    """The text that positions refer to: NFKC-normalised (so full-width letters match)."""
    return unicodedata.normalize("NFKC", text)


class Matcher:
    """Finds company mentions and lexicon terms in one pass; build once, scan many texts."""

    def __init__(
        self,
        companies: Mapping[str, Company],
        lexicon: Lexicon,
        entities: Mapping[str, Company] | None = None,
    ) -> None:
        self._symbols: dict[str, str] = {}
        self._automaton = ahocorasick.Automaton()
        patterns: dict[str, list[_Pattern]] = {}
        for ticker, company in companies.items():
            self._symbols[ticker] = ticker
            self._symbols.setdefault(company.symbol, ticker)
            for other in company.other_tickers:
                self._symbols.setdefault(other, ticker)
            self._add_company(patterns, "company", ticker, company, weak=True)
        watched = {c.symbol for c in companies.values()} | set(companies)
        for symbol, company in (entities or {}).items():
            if symbol not in watched:
                self._add_company(patterns, "entity", symbol, company, weak=False)
        for category, terms in lexicon.terms.items():
            for term in terms:
                # A term written with a capital letter ("Commerce") is matched as written.
                exact = any(c.isupper() for c in term)
                self._add(patterns, "term", category, term, "", exact)
        # Case-sensitive names written in capitals ("ARM", "AMD"): ambiguous in ALL CAPS.
        self._caps_words = {
            (p.key, p.exact)
            for values in patterns.values()
            for p in values
            if p.kind != "term" and p.strength == NAME and p.exact.isupper()
        }
        for key, values in patterns.items():
            self._automaton.add_word(key, tuple(values))
        if patterns:
            self._automaton.make_automaton()
        self._empty = not patterns

    @classmethod
    def _add_company(
        cls,
        patterns: dict[str, list[_Pattern]],
        kind: str,
        key: str,
        company: Company,
        weak: bool,
    ) -> None:
        for names, strength, exact in (
            (company.names, NAME, False),
            (company.exact_names, NAME, True),
            (company.products, PRODUCT, True),
            (company.people, PERSON, False),
            (company.weak_names if weak else (), WEAK, True),
        ):
            for name in names:
                cls._add(patterns, kind, key, name, strength, exact)

    @staticmethod
    def _add(
        patterns: dict[str, list[_Pattern]],
        kind: str,
        key: str,
        text: str,
        strength: str,
        exact: bool,
    ) -> None:
        prefix = text.endswith("*")
        text = normalise(text.rstrip("*").strip())
        if not text:
            return
        # Products like "H20" are written in capitals; also accept them in any case only
        # when they contain a digit (model numbers are not everyday words).
        if strength == PRODUCT and any(c.isdigit() for c in text):
            exact = False
        entry = _Pattern(kind, key, text, strength, text if exact else "", prefix)
        bucket = patterns.setdefault(fold(text), [])
        if entry not in bucket:
            bucket.append(entry)

    def scan(self, text: str) -> list[Hit]:
        """Every hit in `text` (already normalised with `normalise`), in order of position."""
        found: list[tuple[Hit, int]] = []
        if not self._empty:
            folded = fold(text)
            size = len(text)
            for end_index, entries in self._automaton.iter(folded):
                end = end_index + 1
                for p in entries:
                    start = end - len(p.label)
                    if not _boundary_ok(text, start, end, size, p.prefix, p.label):
                        continue
                    if p.exact and not _exact_ok(text, start, end, p.exact):
                        continue
                    stop = _word_end(text, end, size) if p.prefix else end
                    strength = p.strength
                    if (
                        p.exact
                        and (p.key, text[start:end]) in self._caps_words
                        and _in_caps_passage(text, start, end)
                    ):
                        strength = _CAPS
                    hit = Hit(p.kind, p.key, text[start:stop], start, stop, strength)
                    found.append((hit, len(p.label)))
        found.extend((h, h.end - h.start) for h in self._symbol_hits(text))
        # Longest span first at each position, and of equal spans the longer pattern
        # ("exportkontroll*" before "export*" on "Exportkontrollen").
        found.sort(key=lambda pair: (pair[0].start, -pair[0].end, -pair[1]))
        return _settle_caps(_drop_nested_terms([h for h, _ in found]))

    def _symbol_hits(self, text: str) -> Iterable[Hit]:
        for m in _CASHTAG.finditer(text):
            ticker = self._symbols.get(m.group(1))
            if ticker:
                yield Hit("company", ticker, m.group(0), m.start(), m.end(), SYMBOL)
        for m in _LISTING.finditer(text):
            code = m.group(2)
            suffix = _EXCHANGE_SUFFIX.get(m.group(1).upper(), "")
            ticker = self._symbols.get(code)
            if ticker is None and suffix and "." not in code:
                ticker = self._symbols.get(code + suffix) or self._symbols.get(
                    code.zfill(4) + suffix
                )
            if ticker:
                yield Hit("company", ticker, m.group(0), m.start(), m.end(), SYMBOL)
        for m in _BARE_SYMBOL_NOUN.finditer(text):
            end = m.start()
            start = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end)) + 1
            while start < end and text[start] in "(\"'“‘[":
                start += 1
            code = text[start:end]
            if _BARE_SYMBOL.fullmatch(code) and code not in _WORD_SYMBOLS:
                ticker = self._symbols.get(code)
                if ticker:
                    yield Hit("company", ticker, code, start, end, SYMBOL)
        for m in _BRACKETED.finditer(text):
            code = m.group(1)
            ticker = self._symbols.get(code)
            if ticker is None and code.endswith(_US_RIC_SUFFIXES):
                ticker = self._symbols.get(code.rsplit(".", 1)[0])
            if ticker:
                yield Hit("company", ticker, m.group(0), m.start(), m.end(), SYMBOL)


def _exact_ok(text: str, start: int, end: int, exact: str) -> bool:
    found = text[start:end]
    if found == exact:
        return not (len(exact) <= 4 and exact.isupper() and _phone_follows(text, end))
    # A name of several words holds everyday words ("ON Semiconductor", "Analog Devices"): its
    # Title Case or ALL-CAPS form counts only where a name starts a list item or a sentence
    # ("Texas Instruments, On Semiconductor"; "TI AND ON SEMICONDUCTOR"), not after a word it
    # could qualify ("Curbs On Semiconductor Exports", "CURBS ON SEMICONDUCTOR EXPORTS").
    if " " in exact:
        title = found == _title_case(found)
        caps = found == exact.upper() and _in_caps_passage(text, start, end)
        return (title or caps) and _starts_item(text, start)
    # An ALL-CAPS headline writes "MICRON" for "Micron": accept the upper-case form when the
    # text around it has letters and none of them is lower case.
    return found == exact.upper() and _in_caps_passage(text, start, end)


def _title_case(words: str) -> str:
    return " ".join(w[:1].upper() + w[1:].lower() for w in words.split(" "))


def _starts_item(text: str, start: int) -> bool:
    """Whether a name at `start` begins the text, a line, a sentence or an item of a list."""
    before = text[max(0, start - 6) : start].rstrip(" ")
    if not before or before.endswith(("\n", ",", "&", "(", ";", ":", ".", "!", "?")):
        return True
    return before.lower().endswith((" and", " or"))


def _in_caps_passage(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] sits among Latin letters none of which is lower case."""
    around = text[max(0, start - _CAPS_WINDOW) : end + _CAPS_WINDOW]
    letters = [c for c in around if c.isalpha() and c.isascii()]
    return len(letters) > 2 * (end - start) and not any(c.islower() for c in letters)


def _settle_caps(hits: list[Hit]) -> list[Hit]:
    """A capitals name found in an ALL-CAPS passage is a name when the company is also named
    some other way in the item, and a weak name otherwise."""
    if not any(h.strength == _CAPS for h in hits):
        return hits
    named = {h.key for h in hits if h.kind != "term" and h.strength not in (_CAPS, WEAK)}
    return [
        replace(h, strength=NAME if h.key in named else WEAK) if h.strength == _CAPS else h
        for h in hits
    ]


def _phone_follows(text: str, end: int) -> bool:
    m = _PHONE_AFTER.match(text, end)
    return m is not None and sum(c.isdigit() for c in m.group(0)) >= 7


def _boundary_ok(text: str, start: int, end: int, size: int, prefix: bool, label: str) -> bool:
    if _is_cjk(label[0]) or _is_cjk(label[-1]):
        return True
    if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(label[0]):
        return False
    if prefix:
        return True
    return not (end < size and _is_word_char(text[end]) and _is_word_char(label[-1]))


def _word_end(text: str, end: int, size: int) -> int:
    while end < size and (text[end].isalpha() or text[end] == "-"):
        end += 1
    return end


def _drop_nested_terms(hits: list[Hit]) -> list[Hit]:
    """Drops hits that are part of a longer hit: a term inside a longer term ("export" in
    "export controls"), a second term on exactly the same span (the longer pattern, sorted
    first, wins), anything inside a company's name ("Tokyo" in "Tokyo Electron", the weak
    "Applied" in "Applied Materials"), and a name inside an idiom ("Arm" in "arm-twisting").
    `hits` are sorted by (start, -end)."""
    kept: list[Hit] = []
    term_end = -1
    name_end = -1
    idiom_end = -1
    for hit in hits:
        if hit.end <= name_end:
            continue
        if hit.kind == "term":
            if hit.end <= term_end:
                continue
            term_end = max(term_end, hit.end)
            if hit.key == IDIOM:
                idiom_end = max(idiom_end, hit.end)
        elif hit.end <= idiom_end:
            continue
        elif hit.strength != WEAK:
            name_end = max(name_end, hit.end)
        kept.append(hit)
    return kept
