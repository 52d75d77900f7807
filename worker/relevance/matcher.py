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
from dataclasses import dataclass, field
from typing import Final, NamedTuple

import ahocorasick

from worker.relevance.directory import Company
from worker.relevance.lexicon import Lexicon

# Kinds of company evidence, strongest first.
NAME: Final = "name"
PRODUCT: Final = "product"
PERSON: Final = "person"
SYMBOL: Final = "symbol"
WEAK: Final = "weak"
IDIOM: Final = "idiom"  # the lexicon category whose phrases mean nothing here
_CAPS: Final = "caps"  # provisional: settled to NAME or WEAK once the whole text is scanned

_CASHTAG: Final = re.compile(r"\$([A-Z][A-Z0-9]{0,5}(?:\.[A-Z]{1,2})?)\b")
_LISTING: Final = re.compile(
    r"\((NASDAQ|Nasdaq|NYSE|Nyse|NYSE American|TSE|TYO|HKEX|HKG|SEHK|KRX|KOSPI|KOSDAQ|TWSE|TPE|"
    r"SSE|SHA|SZSE|SHE|Euronext|AMS|XETRA|ETR|FRA)\s*:\s*([A-Z0-9]{1,6}(?:\.[A-Z]{1,2})?)\)"
)
# A bare symbol as headlines use one: in capitals, right before what the company sells or
# what trades ("MU CHIPS", "NVDA shares"). Symbols that are everyday words ("ON CHIPS" is "on
# chips") never count this way.
# (The regex finds the noun, rarer than a capital letter, and the code looks back for the
# symbol.)
# (It starts with the space, so the regex engine skips ahead from space to space.)
_BARE_SYMBOL_NOUN: Final = re.compile(
    r" (?<=[A-Z0-9] )(?i:chips?|shares?|stock|products?|processors?|memory|gpus?)\b"
)
_BARE_SYMBOL: Final = re.compile(r"[A-Z][A-Z0-9]{1,4}")
# A space and the start of each noun above, for finding where the regex can match.
_NOUN_STEMS: Final = (" chip", " share", " stock", " product", " processor", " memory", " gpu")
_WORD_SYMBOLS: Final = frozenset(
    {"ON", "IT", "US", "UK", "EU", "AI", "OR", "AND", "BY", "TO", "IN", "AT", "ALL", "ARE"}
    | {"FOR", "NOW", "ONE", "SO", "BE", "GO", "HE", "NO", "UP", "AN", "AS", "IS", "OF", "BAN"}
    | {"NEW", "BIG", "KEY", "TOP", "OLD", "CAN", "LOW", "HAS", "WAS", "ITS", "THE", "HIT", "CUT"}
)
# Reuters-style instrument codes and bare suffixed symbols in brackets: <8035.T>, <NVDA.O>,
# (2330.TW), (ASML.AS)
# Two regexes, each starting with its bracket: the engine skips ahead to a literal first
# character three times as fast as it tests every character against a class ("[<(]").
_BRACKETED: Final = (
    re.compile(r"<([A-Z0-9]{1,6}\.[A-Z]{1,2})[>)]"),
    re.compile(r"\(([A-Z0-9]{1,6}\.[A-Z]{1,2})[>)]"),
)
# Exchange prefixes whose codes are written without our Yahoo-style suffix.
_EXCHANGE_SUFFIX: Final = {
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
_US_RIC_SUFFIXES: Final = (".O", ".OQ", ".N", ".A", ".K")
_CAPS_WINDOW: Final = 40
# Texts with no character from U+2E80 up (no CJK, kana, hangul) are scanned with word
# boundaries built into the automaton: every non-word character of the folded text becomes a
# space, and a pattern that needs a boundary carries a space on that side. Same hits as
# checking each candidate's neighbours, without the candidates that fail (most of them).
_HIGH: Final = re.compile("[\u2e80-\U0010ffff]")
_NON_WORD: Final = re.compile(r"[^\w ]")
_ASCII_NON_WORD: Final = str.maketrans(
    {chr(i): " " for i in range(128) if not (chr(i).isalnum() or chr(i) == "_")}
)
# Symbol hits sort after pattern hits of the same span (they are found after them).
_SYMBOL_ORDER: Final = 1 << 30
# A phone number after a short capitalised name: "TEL 03-3501-2800" is a telephone, not
# Tokyo Electron.
_PHONE_AFTER: Final = re.compile(r"[:.]?\s*\+?[\d(][\d\s\-().]{6,}")


class Hit(NamedTuple):
    """One pattern found in the text at [start, end). `key` is a ticker or a term category.

    A named tuple rather than a frozen dataclass: an item makes about 35, and a tuple is
    built (and hashed, as a key of the event's notes) in C, three times as fast."""

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
    # Derived, for the scan's hot loop: -len(label), and whether a hit is the occurrence
    # itself (neither exact nor prefix: no case check, no word ending to extend over).
    neg_len: int = field(init=False, compare=False)
    plain: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "neg_len", -len(self.label))
        object.__setattr__(self, "plain", not self.exact and not self.prefix)


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
        self._bounded = _bounded_automaton(patterns)

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
        # Rows (start, -end, -pattern length, order, sequence, kind, key, strength) sort as
        # plain tuples; a Hit is made only for the rows that survive nesting (about two in
        # three): building frozen dataclasses was a tenth of the scoring time.
        rows: list[_Row] = []
        folded = fold(text)
        if not self._empty:
            if text.isascii() or _HIGH.search(text) is None:  # isascii() reads a flag
                rows = self._bounded_rows(text, folded)
            else:
                rows = self._checked_rows(text, folded)
        add = rows.append
        for h in self._symbol_hits(text, folded):
            add(
                (
                    h.start,
                    -h.end,
                    h.start - h.end,
                    _SYMBOL_ORDER,
                    len(rows),
                    h.kind,
                    h.key,
                    h.strength,
                )
            )
        # Longest span first at each position, and of equal spans the longer pattern
        # ("exportkontroll*" before "export*" on "Exportkontrollen"); the same pattern text
        # in the order its entries were added.
        rows.sort()
        hits = [
            new_tuple(Hit, (kind, key, text[start:-neg_end], start, -neg_end, strength))
            for start, neg_end, _, _, _, kind, key, strength in _drop_nested_terms(rows)
        ]
        return _promote_listed(text, _settle_caps(hits))

    def _bounded_rows(self, text: str, folded: str) -> list[_Row]:
        """The rows of a text without characters from U+2E80 up: see _bounded_automaton.
        The scan's hot loop: a plain pattern's occurrence (neither case-sensitive nor a
        prefix; most of them) becomes its row right here."""
        if folded.isascii():
            mapped = folded.translate(_ASCII_NON_WORD)
        else:
            mapped = _NON_WORD.sub(" ", folded)
        rows: list[_Row] = []
        add = rows.append
        # Typed before the loop: the automaton yields plain objects, and the compiled loop
        # reads tuples and _Pattern fields natively once it knows what they are.
        end_index: int
        entries: tuple[_Entry, ...]
        for end_index, entries in self._bounded.iter(f" {mapped} "):
            for p, order, core, right, check in entries:
                end = end_index - right
                start = end - len(core)
                if check and folded[start:end] != core:
                    continue  # the same words around other punctuation
                if p.plain:
                    add((start, -end, p.neg_len, order, len(rows), p.kind, p.key, p.strength))
                else:
                    row = self._row(text, start, end, p, order, len(rows))
                    if row is not None:
                        add(row)
        return rows

    def _checked_rows(self, text: str, folded: str) -> list[_Row]:
        """The rows of any text: every occurrence, then each one's boundaries checked."""
        size = len(text)
        rows: list[_Row] = []
        end_index: int
        entries: tuple[_Pattern, ...]
        for end_index, entries in self._automaton.iter(folded):
            end = end_index + 1
            for order, p in enumerate(entries):
                start = end - len(p.label)
                if _boundary_ok(text, start, end, size, p.prefix, p.label):
                    row = self._row(text, start, end, p, order, len(rows))
                    if row is not None:
                        rows.append(row)
        return rows

    def _row(
        self, text: str, start: int, end: int, p: _Pattern, order: int, seq: int
    ) -> _Row | None:
        """The row of pattern `p` found at [start, end) on its word boundaries; None when its
        case does not fit (see _exact_ok)."""
        strength = p.strength
        if p.exact:
            if not _exact_ok(text, start, end, p.exact):
                return None
            if (p.key, text[start:end]) in self._caps_words and _in_caps_passage(text, start, end):
                strength = _CAPS
        stop = _word_end(text, end, len(text)) if p.prefix else end
        return (start, -stop, p.neg_len, order, seq, p.kind, p.key, strength)

    def _symbol_hits(self, text: str, folded: str) -> Iterable[Hit]:
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
        for m in _bare_symbol_nouns(text, folded):
            end = m.start()
            start = max(text.rfind(" ", 0, end), text.rfind("\n", 0, end)) + 1
            while start < end and text[start] in "(\"'“‘[":
                start += 1
            code = text[start:end]
            if _BARE_SYMBOL.fullmatch(code) and code not in _WORD_SYMBOLS:
                ticker = self._symbols.get(code)
                if ticker:
                    yield Hit("company", ticker, code, start, end, SYMBOL)
        for m in _bracketed(text):
            code = m.group(1)
            ticker = self._symbols.get(code)
            if ticker is None and code.endswith(_US_RIC_SUFFIXES):
                ticker = self._symbols.get(code.rsplit(".", 1)[0])
            if ticker:
                yield Hit("company", ticker, m.group(0), m.start(), m.end(), SYMBOL)


def _bare_symbol_nouns(text: str, folded: str) -> list[re.Match[str]]:
    """What _BARE_SYMBOL_NOUN.finditer(text) finds. In an ASCII text (`folded` its lower
    case), each match is tried only where `str.find` sees a space and a noun's stem, not at
    every space; matches cannot overlap (each is a space and one word)."""
    if not text.isascii():
        return list(_BARE_SYMBOL_NOUN.finditer(text))
    starts: list[int] = []
    for stem in _NOUN_STEMS:
        i = folded.find(stem)
        while i >= 0:
            starts.append(i)
            i = folded.find(stem, i + 1)
    found = []
    for start in sorted(starts):
        m = _BARE_SYMBOL_NOUN.match(text, start)
        if m is not None:
            found.append(m)
    return found


def _bracketed(text: str) -> list[re.Match[str]]:
    """What `[<(]([A-Z0-9]{1,6}\\.[A-Z]{1,2})[>)]` finds, in text order: neither of the two
    regexes can match inside the other's match."""
    angle, paren = _BRACKETED
    return sorted([*angle.finditer(text), *paren.finditer(text)], key=_match_start)


def _match_start(m: re.Match[str]) -> int:
    return m.start()


def _bounded_automaton(patterns: Mapping[str, list[_Pattern]]) -> ahocorasick.Automaton:
    """The automaton for texts without characters from U+2E80 up (see _HIGH): keys are the
    folded patterns with non-word characters as spaces, and a space on each side that needs
    a word boundary. Each key holds (pattern, order, folded text, 1 if a right space, whether
    the folded text has non-word characters to check)."""
    bounded = ahocorasick.Automaton()
    keys: dict[str, list[_Entry]] = {}
    for core, values in patterns.items():
        if _HIGH.search(core):
            continue  # cannot occur in a text without such characters
        check = re.search(r"\W", core) is not None
        mapped = _NON_WORD.sub(" ", core)
        for order, p in enumerate(values):
            left = _is_word_char(p.label[0])
            right = not p.prefix and _is_word_char(p.label[-1])
            key = (" " if left else "") + mapped + (" " if right else "")
            keys.setdefault(key, []).append((p, order, core, int(right), check))
    for key, entries in keys.items():
        bounded.add_word(key, tuple(entries))
    if keys:
        bounded.make_automaton()
    return bounded


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
    if around.isascii() and around.upper() != around:
        return False  # a lower-case letter (the usual case, answered without a loop)
    letters = [c for c in around if c.isalpha() and c.isascii()]
    return len(letters) > 2 * (end - start) and not any(c.islower() for c in letters)


def _settle_caps(hits: list[Hit]) -> list[Hit]:
    """A capitals name found in an ALL-CAPS passage is a name when the company is also named
    some other way in the item, and a weak name otherwise."""
    if not any(h.strength == _CAPS for h in hits):
        return hits
    named = {h.key for h in hits if h.kind != "term" and h.strength not in (_CAPS, WEAK)}
    return [
        h._replace(strength=NAME if h.key in named else WEAK) if h.strength == _CAPS else h
        for h in hits
    ]


# What separates the names of a list: "Lam, Applied and KLA", "Applied & Tokyo Electron".
_LIST_SEPARATOR: Final = re.compile(
    r"\s*(?:,|;|/|&)\s*(?:(?:and|or|et|en|y|und|e)\s+)?|\s+(?:and|or|et|en|y|und|e)\s+"
)


def _promote_listed(text: str, hits: list[Hit]) -> list[Hit]:
    """A weak name in a list of company names with a strong one ("Lam, Applied and KLA") names
    its company: a list of names is not where "applied" or "Lam" is an everyday word. Only a
    weak name of one company is promoted ("HBM" fits several)."""
    names = [h for h in hits if h.kind != "term"]
    if not any(h.strength == WEAK for h in names):
        return hits
    groups: list[list[Hit]] = []
    for hit in names:
        last = groups[-1][-1] if groups else None
        if last is not None and (
            hit.start < last.end  # the same span (a name shared by companies)
            or _LIST_SEPARATOR.fullmatch(text, last.end, hit.start)
        ):
            groups[-1].append(hit)
        else:
            groups.append([hit])
    promoted: set[Hit] = set()
    for group in groups:
        if len(group) < 2 or all(h.strength == WEAK for h in group):
            continue
        for hit in group:
            same_span = [h for h in group if (h.start, h.end) == (hit.start, hit.end)]
            if hit.strength == WEAK and len(same_span) == 1:
                promoted.add(hit)
    if not promoted:
        return hits
    return [h._replace(strength=NAME) if h in promoted else h for h in hits]


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


# A hit before it is a Hit: (start, -end, -pattern length, order, sequence, kind, key, strength).
_Row = tuple[int, int, int, int, int, str, str, str]
# What the bounded automaton holds for a key: see _bounded_automaton.
_Entry = tuple[_Pattern, int, str, int, bool]
# Hit(...) runs the named tuple's __new__, a Python function even in compiled code; this
# builds the same tuple in C: new_tuple(Hit, (kind, key, ...)). The scorer's assessments too.
new_tuple: Final = tuple.__new__


def _drop_nested_terms(rows: list[_Row]) -> list[_Row]:
    """Drops hits that are part of a longer hit: a term inside a longer term ("export" in
    "export controls"), a second term on exactly the same span (the longer pattern, sorted
    first, wins), anything inside a company's name ("Tokyo" in "Tokyo Electron", the weak
    "Applied" in "Applied Materials"), and a name inside an idiom ("Arm" in "arm-twisting").
    `rows` are sorted by (start, -end)."""
    kept: list[_Row] = []
    term_end = -1
    name_end = -1
    idiom_end = -1
    for row in rows:
        end = -row[1]
        if end <= name_end:
            continue
        if row[5] == "term":
            if end <= term_end:
                continue
            term_end = max(term_end, end)
            if row[6] == IDIOM:
                idiom_end = max(idiom_end, end)
        elif end <= idiom_end:
            continue
        elif row[7] != WEAK:
            name_end = max(name_end, end)
        kept.append(row)
    return kept
