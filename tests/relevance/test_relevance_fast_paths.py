"""The fast paths of relevance scoring give exactly what the plain ones give.

The bounded automaton (word boundaries built into the keys, for texts without CJK) must find
the same occurrences as checking each candidate's neighbours; the per-item TickerContext
must score every ticker as computing everything per ticker does; the regexes rewritten for
speed must match what their plain forms match.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter

from tests.relevance.conftest import BLIND_SET, DEV_SET
from worker.config import CompanyConfig, WatchlistConfig
from worker.relevance import Relevance
from worker.relevance.matcher import Matcher, fold, normalise
from worker.relevance.scorer import Sentences, TickerContext, assess_event, assess_ticker
from worker.sources.items import item_from_mapping

# Names with punctuation inside and at their ends, and prefix patterns (a trailing *).
CUSTOM = {
    "TT": CompanyConfig(name="AT&T", aliases=["A.T. & T.", "at-t"]),
    "SPGI": CompanyConfig(name="S&P Global", aliases=["S&P", "S & P"]),
    "ELF": CompanyConfig(name="e.l.f. Beauty", aliases=["e.l.f.", "(elf)"]),
    "XX": CompanyConfig(name="Xy_z Corp", aliases=["xyz*", "O'Neil Chips", "Zoë Semis"]),
}
GLUE = [" ", "  ", "-", "'", "’", ".", ",", "_", "—", "\n", "(", ")", "&", "é", "x", "7", ""]


def matcher() -> Matcher:
    relevance = Relevance(
        [
            WatchlistConfig(name="semis", tickers=["NVDA", "AMD", "ARM", "ON", "MU", "TSM"]),
            WatchlistConfig(name="odd", companies=CUSTOM),
        ]
    )
    return relevance.matcher


def random_text(rng: random.Random, words: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(5, 40)):
        word = rng.choice(words)
        word = rng.choice([word, word.upper(), word.lower(), word.title()])
        parts.append(word + rng.choice(GLUE))
    return normalise("".join(parts))


def test_the_bounded_scan_finds_what_checking_each_candidate_finds() -> None:
    m = matcher()
    words = [str(k) for k in m._automaton]
    words = [w for w in words if w.isascii() or all(ord(c) < 0x2E80 for c in w)]
    words += ["exporter", "us", "usa", "bus", "h20s", "ai-chip", "re-export", "o'neil"]
    rng = random.Random(8)
    compared = 0
    for _ in range(400):
        text = random_text(rng, words)
        folded = fold(text)
        # The rows of both paths, without their sequence numbers (the paths meet the same
        # occurrences in a different order).
        bounded = Counter(r[:4] + r[5:] for r in m._bounded_rows(text, folded))
        checked = Counter(r[:4] + r[5:] for r in m._checked_rows(text, folded))
        assert bounded == checked, text
        compared += sum(checked.values())
    assert compared > 5000  # the texts do hold plenty of occurrences


def test_cjk_text_takes_the_checked_path_and_still_finds_latin_names() -> None:
    hits = matcher().scan(normalise("英伟达H20芯片 and AMD-made MI308 parts"))
    found = {(h.key, h.label) for h in hits if h.kind == "company"}
    assert ("NVDA", "英伟达") in found and ("NVDA", "H20") in found and ("AMD", "AMD") in found


def test_one_shared_ticker_context_scores_every_ticker_as_computing_it_each_time() -> None:
    relevance = Relevance([WatchlistConfig(name="semis", tickers=["NVDA", "AMD", "ASML", "MU"])])
    m = relevance.matcher
    lines = DEV_SET.read_text("utf-8").splitlines() + BLIND_SET.read_text("utf-8").splitlines()
    compared = 0
    for line in filter(None, lines):
        item = item_from_mapping(json.loads(line), source="t")
        title = normalise(item.title.strip())
        text = title + "\n\n" + normalise(item.body)
        sentences = Sentences.of(text, len(title))
        hits = m.scan(text)
        terms = [h for h in hits if h.kind == "term"]
        event = assess_event(terms, [], sentences, relevance.lexicon.weights)
        cues = [h for h in terms if h.key in ("passing", "spared", "impact")]
        shared = TickerContext.of(event, cues, sentences)
        for ticker in {h.key for h in hits if h.kind == "company"}:
            mentions = [h for h in hits if h.kind == "company" and h.key == ticker]
            alone = assess_ticker(ticker, mentions, event, cues, sentences, True)
            with_shared = assess_ticker(
                ticker, mentions, event, cues, sentences, True, False, shared
            )
            assert alone == with_shared
            compared += 1
    assert compared > 100


def test_sentence_ends_and_questions_read_as_their_plain_definitions() -> None:
    from worker.relevance.scorer import _SENTENCE_END

    plain_end = re.compile(r"[.!?。！？…]+[\"'”’)]*(?:\s|$)|[\n\r]")
    rng = random.Random(5)
    alphabet = ".!?。！？…\n\r\"'”’) \tAa9é"
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert [m.span() for m in _SENTENCE_END.finditer(text)] == [
            m.span() for m in plain_end.finditer(text)
        ], text
        sentences = Sentences.of(text, 0)
        for index in range(len(sentences.ends) + 1):
            end = sentences.ends[index] if index < len(sentences.ends) else len(text)
            plain = text[:end].rstrip().rstrip("\"'”’)").endswith(("?", "？"))
            assert sentences.is_question(index) == plain, text


def test_a_bare_symbol_before_a_noun_is_found_as_before() -> None:
    from worker.relevance.matcher import _BARE_SYMBOL_NOUN

    plain = re.compile(
        r"(?<=[A-Z0-9]) (?i:chips?|shares?|stock|products?|processors?|memory|gpus?)\b"
    )
    rng = random.Random(6)
    words = ["MU", "NVDA", "on", "ON", " ", "chips", "CHIP", "shares", "Stock", "gpus", "x", "9"]
    for _ in range(20000):
        text = "".join(rng.choice(words) + rng.choice(["", " ", "  ", "-"]) for _ in range(8))
        assert [m.span() for m in _BARE_SYMBOL_NOUN.finditer(text)] == [
            m.span() for m in plain.finditer(text)
        ], text


def test_ascii_sentence_ends_are_found_where_the_regex_finds_them() -> None:
    from worker.relevance.scorer import _SENTENCE_END, _ascii_end_spans

    rng = random.Random(7)
    alphabet = ".!?\n\r\"') \t\x1fAa9.."
    for _ in range(30000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert _ascii_end_spans(text) == [m.span() for m in _SENTENCE_END.finditer(text)], text


def test_bare_symbols_before_nouns_are_found_where_the_regex_finds_them() -> None:
    from worker.relevance.matcher import _BARE_SYMBOL_NOUN, _bare_symbol_nouns

    rng = random.Random(11)
    words = ["MU", "NVDA", "on", "9", "x", "chips", "CHIP", "Shares", "stock", "gpus", "GPU"]
    words += ["memory", "processors", "Products", "chipset", "share-", "stocks", "é"]
    found = 0
    for _ in range(20000):
        text = "".join(rng.choice(words) + rng.choice(["", " ", "  ", "\n"]) for _ in range(8))
        expected = [m.span() for m in _BARE_SYMBOL_NOUN.finditer(text)]
        assert [m.span() for m in _bare_symbol_nouns(text, fold(text))] == expected, text
        found += len(expected)
    assert found > 2000


def test_bracketed_codes_are_found_as_one_regex_for_both_brackets_finds_them() -> None:
    from worker.relevance.matcher import _bracketed

    plain = re.compile(r"[<(]([A-Z0-9]{1,6}\.[A-Z]{1,2})[>)]")
    rng = random.Random(9)
    words = ["(8035.T)", "<NVDA.O>", "(2330.TW>", "<ASML.AS)", "(<A.B>)", "<(C.DE)>"]
    words += ["<", "(", ">", ")", ".", "NVDA", "8035", "T", "O", "TW", "ASML.", ".AS)", "x"]
    found = 0
    for _ in range(20000):
        text = "".join(rng.choice(words) + rng.choice(["", "", " "]) for _ in range(10))
        expected = [(x.span(), x.group(1)) for x in plain.finditer(text)]
        assert [(x.span(), x.group(1)) for x in _bracketed(text)] == expected, text
        found += len(expected)
    assert found > 1000
