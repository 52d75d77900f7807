"""Scoring throughput, items per second on one core, for watchlists of 20, 200 and 2,000 tickers.

    .venv/bin/python bench/score_throughput.py [--items 2000] [--repeat 5] [--cpu N]

For each watchlist size, on the same items (bench/_data.py) and the same patterns:

  score     Relevance.score(item): normalising, the one automaton scan, boundary and case
            checks, event and ticker scores, evidence snippets, watchlist rules; the whole path
            the pipeline and `policywatch score` take per item
  cli       `policywatch score --config C items.jsonl` in a subprocess: JSON in, the scored
            JSON line out (start-up cost subtracted: a run over all items, `--cli-copies` times
            over, minus a run over one)
  scan      the floor: the same pyahocorasick automaton iterated over `text.lower()`, every hit
            consumed, nothing else (scan-only: over pre-lowered text)
  regex     the rule-tool baseline: one compiled `\\bpattern\\b` (IGNORECASE) regular expression
            per pattern, each `search`ed in every item (it stops at the first hit per pattern,
            so it does less work than we do)

The process is pinned to one core (os.sched_setaffinity) and every rate is items per
CPU-second of the process doing the work (process_time; for the CLI, the child's user+system
time), so time spent waiting for a core other processes hold is not counted. Each
measurement is repeated (interleaved across sizes, so a burst of load elsewhere hits all of
them alike); the table shows the best and the median of the repeats. Score, scan and
scan-only take turns on chunks of `--chunk` items within each repeat, so their ratio is taken
per repeat (the same moments of the machine) and shown as the median (and range) of the
repeats. The other ratios come from the best runs. The baseline is slow, so it runs on the
first `--baseline-items`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import _data
import yaml

from worker.models import Item
from worker.relevance import Relevance


@dataclass
class Figures:
    size: int
    patterns: int = 0
    build_s: float = 0.0
    score: list[float] = field(default_factory=list)  # items/s, one per repeat
    cli: list[float] = field(default_factory=list)
    scan: list[float] = field(default_factory=list)
    scan_only: list[float] = field(default_factory=list)
    regex: list[float] = field(default_factory=list)


def pin_to_one_core(cpu: int | None) -> int:
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-1] if cpu is None else cpu
    os.sched_setaffinity(0, {chosen})
    return chosen


def rate(count: int, run: Callable[[], object]) -> float:
    """Items per CPU-second of this process: waiting for a core that others hold is not
    counted, so the figure holds on a busy machine (cache sharing still shows)."""
    start = time.process_time()
    run()
    return count / (time.process_time() - start)


def automaton_of(relevance: Relevance) -> object:
    # The bench measures the very automaton the matcher built; there is no public handle.
    return relevance.matcher._automaton  # noqa: SLF001


def patterns_of(relevance: Relevance) -> list[str]:
    keys = automaton_of(relevance).keys()  # type: ignore[attr-defined]
    return [str(k) for k in keys]


def scan_all(automaton: object, texts: Sequence[str], lower: bool) -> int:
    hits = 0
    iterate = automaton.iter  # type: ignore[attr-defined]
    for text in texts:
        for _ in iterate(text.lower() if lower else text):
            hits += 1
    return hits


def regex_all(regexes: Sequence[re.Pattern[str]], texts: Sequence[str]) -> int:
    found = 0
    for text in texts:
        for regex in regexes:
            if regex.search(text):
                found += 1
    return found


def score_all(relevance: Relevance, items: Sequence[Item]) -> int:
    matches = 0
    for item in items:
        matches += len(relevance.score(item).matches)
    return matches


def interleaved(
    engine: Relevance,
    items: Sequence[Item],
    texts: Sequence[str],
    lowered: Sequence[str],
    chunk: int,
) -> tuple[float, float, float]:
    """Rates of score, scan and scan-only, measured in turns on chunks of `chunk` items, so
    that the machine's good and bad moments (it is shared) fall on all three alike and their
    ratios hold."""
    automaton = automaton_of(engine)
    spent = [0.0, 0.0, 0.0]
    for i in range(0, len(items), chunk):
        part = slice(i, i + chunk)
        t0 = time.process_time()
        score_all(engine, items[part])
        t1 = time.process_time()
        scan_all(automaton, texts[part], True)
        t2 = time.process_time()
        scan_all(automaton, lowered[part], False)
        t3 = time.process_time()
        spent[0] += t1 - t0
        spent[1] += t2 - t1
        spent[2] += t3 - t2
    score, scan, scan_only = (len(items) / s for s in spent)
    return score, scan, scan_only


def cli_rate(config: Path, all_items: Path, one_item: Path, count: int) -> float:
    def run(path: Path) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, "-m", "worker", "score", "--config", str(config), str(path)],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd=_data.REPO,
            env={**os.environ, "PYTHONPATH": str(_data.REPO)},
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)

    base = run(one_item)
    full = run(all_items)
    return (count - 1) / max(1e-9, full - base)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline-items", type=int, default=60)
    parser.add_argument("--sizes", default=",".join(str(s) for s in _data.SIZES))
    parser.add_argument("--cpu", type=int, default=None, help="core to pin to (default: last)")
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess CLI path")
    parser.add_argument(
        "--cli-copies", type=int, default=5, help="times the CLI's input holds every item"
    )
    parser.add_argument(
        "--chunk", type=int, default=50, help="items per turn of score, scan and scan-only"
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    cpu = pin_to_one_core(args.cpu)
    uni = _data.universe(max(sizes))
    items = _data.items(args.items, uni)
    texts = [f"{i.title}\n\n{i.body}" for i in items]
    lowered = [t.lower() for t in texts]
    chars = statistics.mean(len(t) for t in texts)
    print(f"pinned to cpu {cpu}; {len(items)} items, mean {chars:.0f} characters")

    figures = {s: Figures(s) for s in sizes}
    engines: dict[int, Relevance] = {}
    regexes: dict[int, list[re.Pattern[str]]] = {}
    for size in sizes:
        start = time.perf_counter()
        engines[size] = Relevance(_data.watchlists(size, uni))
        figures[size].build_s = time.perf_counter() - start
        pats = patterns_of(engines[size])
        figures[size].patterns = len(pats)
        regexes[size] = [re.compile(r"\b" + re.escape(p) + r"\b", re.IGNORECASE) for p in pats]

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        all_items, one_item = folder / "items.jsonl", folder / "one.jsonl"
        # The items several times over (new ids), so the scoring outweighs the noise in the
        # start-up (config, directory, automaton: about 2 s at 2,000 tickers) it is net of.
        lines = [
            json.dumps({**json.loads(_data.item_json(i)), "id": f"{i.id}#{copy}"})
            for copy in range(args.cli_copies)
            for i in items
        ]
        all_items.write_text("".join(line + "\n" for line in lines), "utf-8")
        one_item.write_text(_data.item_json(items[0]) + "\n", "utf-8")
        configs = {}
        for size in sizes:
            configs[size] = folder / f"watch-{size}.yaml"
            configs[size].write_text(
                yaml.safe_dump({"watchlists": _data.watchlists_yaml(size, uni)}), "utf-8"
            )

        sample = texts[: args.baseline_items]
        for rep in range(args.repeat):
            for size in sizes:
                f, engine = figures[size], engines[size]
                score, scan, scan_only = interleaved(engine, items, texts, lowered, args.chunk)
                f.score.append(score)
                f.scan.append(scan)
                f.scan_only.append(scan_only)
                if rep < 3:
                    f.regex.append(rate(len(sample), lambda: regex_all(regexes[size], sample)))  # noqa: B023
                if rep < 3 and not args.no_cli:
                    f.cli.append(cli_rate(configs[size], all_items, one_item, len(lines)))
            print(f"  repeat {rep + 1}/{args.repeat} done", file=sys.stderr)

    report(figures, sizes)
    return 0


def _fmt(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{max(values):>9,.0f} ({statistics.median(values):,.0f})"


def _ratio(ours: list[float], floor: list[float]) -> str:
    """Median (min–max) of the per-repeat ratios of two rates measured in turns."""
    ratios = [a / b for a, b in zip(ours, floor, strict=True)]
    return f"{statistics.median(ratios):.0%} ({min(ratios):.0%}–{max(ratios):.0%})"


def report(figures: dict[int, Figures], sizes: Sequence[int]) -> None:
    print()
    print("items per CPU-second (one core): best (median) of the repeats")
    head = f"{'tickers':>7} {'patterns':>8} {'build':>7}  {'score':>19} {'cli':>19}"
    head += f" {'scan (lower+iter)':>19} {'scan only':>19} {'regex baseline':>19}"
    print(head)
    for size in sizes:
        f = figures[size]
        print(
            f"{size:>7} {f.patterns:>8} {f.build_s * 1000:>5.0f}ms  {_fmt(f.score):>19}"
            f" {_fmt(f.cli):>19} {_fmt(f.scan):>19} {_fmt(f.scan_only):>19} {_fmt(f.regex):>19}"
        )
    print()
    print("ratios (best runs)")
    for size in sizes:
        f = figures[size]
        score = max(f.score)
        parts = [
            f"{size:>5} tickers: {1e6 / score:6.0f} µs/item",
            f"score/regex {score / max(f.regex):6.0f}×",
            f"score/scan {_ratio(f.score, f.scan)}",
            f"score/scan-only {_ratio(f.score, f.scan_only)}",
        ]
        if f.cli:
            parts.append(f"cli/score {max(f.cli) / score:4.0%}")
        print("  " + ", ".join(parts))
    small, large = figures[min(sizes)], figures[max(sizes)]
    if small is not large:
        # Per repeat (the sizes take turns within one), then the median, like the ratios above.
        growth = statistics.median(a / b for a, b in zip(small.score, large.score, strict=True))
        print(
            f"  cost per item grows {growth:.2f}× from {small.size} to {large.size} tickers"
            f" ({large.size / small.size:.0f}× the tickers, "
            f"{large.patterns / small.patterns:.0f}× the patterns)"
        )


if __name__ == "__main__":
    sys.exit(main())
