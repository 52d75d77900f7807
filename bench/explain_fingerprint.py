"""Fingerprint of everything relevance scoring says, to show a speed-up changed no output.

    .venv/bin/python bench/explain_fingerprint.py [--out records.jsonl] [--items 2000]

Runs `Relevance.explain` on the labelled sets (tests/data/relevance_*.jsonl) and the throughput
benchmark's items (built from the labelled and bundled example stories), against the
benchmark's 20, 200 and 2,000-ticker watchlists, and prints one SHA-256 over every field of
every result: hits, the event score, its parts, evidence and notes, each ticker's score,
parts, terms and evidence, the rules that fired and the matches with their alert flags. Two
builds agree when the digests agree; with `--out`, the records themselves are written (one
JSON line each) so two runs can be diffed.
It also says whether the compiled relevance modules were used (see worker/relevance/native.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import _data

from worker.models import Item
from worker.relevance import Explanation, Relevance, compiled
from worker.sources.items import item_from_mapping


def labelled_items() -> list[Item]:
    found = []
    for path in sorted((_data.REPO / "tests" / "data").glob("relevance_*.jsonl")):
        for n, line in enumerate(path.read_text("utf-8").splitlines()):
            if line.strip():
                found.append(item_from_mapping(json.loads(line), source=f"{path.stem}:{n}"))
    return found


def record(label: str, size: int, e: Explanation) -> str:
    event = e.event
    return json.dumps(
        {
            "item": label,
            "size": size,
            "hits": [list(h) for h in e.hits],
            "event": [event.score, event.terms, event.parts, [list(h) for h in event.evidence]],
            "notes": [[list(h), why] for h, why in event.notes],
            "tickers": [[t, a.score, a.terms, a.evidence, a.parts] for t, a in e.tickers],
            "fired": e.rules_fired,
            "scored": [e.scored.policy_event, e.scored.event_score],
            "matches": [
                [m.ticker, m.watchlist, m.score, m.alert, m.terms, m.evidence]
                for m in e.scored.matches
            ],
        },
        ensure_ascii=False,
        sort_keys=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=2000, help="benchmark items to include")
    parser.add_argument("--sizes", default=",".join(str(s) for s in _data.SIZES))
    parser.add_argument("--out", type=Path, help="also write every record, one JSON line each")
    args = parser.parse_args(argv)

    uni = _data.universe()
    items = [(f"labelled:{i.id}", i) for i in labelled_items()]
    items += [(f"bench:{n}", i) for n, i in enumerate(_data.items(args.items, uni))]
    digest = hashlib.sha256()
    out = args.out.open("w", encoding="utf-8") if args.out else None
    count = 0
    for size in (int(s) for s in args.sizes.split(",")):
        relevance = Relevance(_data.watchlists(size, uni))
        for label, item in items:
            line = record(label, size, relevance.explain(item))
            digest.update(line.encode("utf-8") + b"\n")
            if out:
                out.write(line + "\n")
            count += 1
    if out:
        out.close()
    print(f"relevance modules: {'compiled' if compiled() else 'pure Python'}")
    print(f"{count} records ({len(items)} items × {args.sizes} tickers)")
    print(f"sha256 {digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
