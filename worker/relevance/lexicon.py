"""The export-control lexicon: categories of terms with weights, from worker/data/lexicon.yaml."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

LANGUAGES = ("en", "zh", "ja", "ko", "de", "fr", "nl", "es")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """`terms` maps a category (control, action, object, actor, consequence, negative) to its
    patterns; `weights` gives the points each category adds to the event score."""

    terms: dict[str, tuple[str, ...]]
    weights: dict[str, int]


@cache
def default_lexicon() -> Lexicon:
    text = resources.files("worker").joinpath("data/lexicon.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)["categories"]
    terms = {
        name: tuple(dict.fromkeys(t for lang in LANGUAGES for t in (cat.get(lang) or [])))
        for name, cat in raw.items()
    }
    weights = {name: int(cat["weight"]) for name, cat in raw.items()}
    return Lexicon(terms=terms, weights=weights)
