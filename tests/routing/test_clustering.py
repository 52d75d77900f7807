"""One story, one cluster: syndicated rewrites group together, look-alikes stay apart."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.routing.stories import EVENT, ITEMS
from worker.clustering import Clusterer, FeatureExtractor, compare, members_for
from worker.models import ClusterMember

WINDOW = timedelta(hours=48)


@pytest.fixture(scope="module")
def extractor() -> FeatureExtractor:
    return FeatureExtractor()


def cluster_all(extractor: FeatureExtractor, order: list[str]) -> dict[str, str]:
    """Feed the stories in `order` through a Clusterer, as items arriving one by one."""
    clusterer = Clusterer(extractor, WINDOW, threshold=0.55)
    members: list[ClusterMember] = []
    out: dict[str, str] = {}
    for item_id in order:
        item = ITEMS[item_id]
        assert item.published is not None
        features = extractor.features(item, item.published)
        assignment = clusterer.assign(item_id, features, members)
        members += members_for([(item, features)], [assignment], item.published)
        out[item_id] = assignment.cluster_id
    return out


def groups(assigned: dict[str, str]) -> set[frozenset[str]]:
    by_cluster: dict[str, set[str]] = {}
    for item_id, cluster in assigned.items():
        by_cluster.setdefault(cluster, set()).add(item_id)
    return {frozenset(v) for v in by_cluster.values()}


def expected_groups() -> set[frozenset[str]]:
    by_event: dict[str, set[str]] = {}
    for item_id, event in EVENT.items():
        by_event.setdefault(event, set()).add(item_id)
    return {frozenset(v) for v in by_event.values()}


def test_every_event_becomes_exactly_one_story_in_publication_order(
    extractor: FeatureExtractor,
) -> None:
    order = sorted(ITEMS, key=lambda i: ITEMS[i].published)  # type: ignore[arg-type,return-value]
    assert groups(cluster_all(extractor, order)) == expected_groups()


@pytest.mark.parametrize("seed", range(5))
def test_the_stories_come_out_the_same_whatever_order_the_feeds_deliver_them(
    extractor: FeatureExtractor, seed: int
) -> None:
    order = list(ITEMS)
    random.Random(seed).shuffle(order)
    assert groups(cluster_all(extractor, order)) == expected_groups()


def test_rewrites_of_the_entity_list_story_sharing_few_words_are_one_story(
    extractor: FeatureExtractor,
) -> None:
    a = ITEMS[
        "gtw-el"
    ]  # "US adds dozens of Chinese firms, including Inspur units, to export blacklist"
    b = ITEMS["desk-el"]  # "Commerce puts 80 entities on Entity List; server maker Inspur's ..."
    fa = extractor.features(a, a.published)  # type: ignore[arg-type]
    fb = extractor.features(b, b.published)  # type: ignore[arg-type]
    title_words = {w.lower().strip(",;") for w in a.title.split()}
    other_words = {w.lower().strip(",;") for w in b.title.split()}
    assert len(title_words & other_words) <= 2  # the titles share almost nothing
    result = compare(fa, fb, WINDOW)
    assert not result.veto
    assert result.score >= 0.55
    assert result.parts["subjects"] == 1.0  # both name Inspur, a company no watchlist holds


@pytest.mark.parametrize(
    ("first", "second", "why"),
    [
        ("wire-h20", "wire-h20-resume", "opposite actions (restrict vs relax)"),
        ("wire-h20", "wire-h20-q1", "different amounts"),
        ("asia-h20", "wire-amd", "different amounts"),
        ("wire-h20", "wire-amd", "different companies"),
        ("asia-share", "wire-guidance", "different governments"),
    ],
)
def test_a_new_development_about_the_same_company_is_a_different_story(
    extractor: FeatureExtractor, first: str, second: str, why: str
) -> None:
    a, b = ITEMS[first], ITEMS[second]
    fa = extractor.features(a, a.published)  # type: ignore[arg-type]
    fb = extractor.features(b, b.published)  # type: ignore[arg-type]
    # even if they had been published at the same moment
    fb = replace(fb, event_at=fa.event_at)
    result = compare(fa, fb, WINDOW)
    assert result.veto == why
    assert result.score == 0.0


def test_a_different_entity_list_action_the_same_week_is_not_folded_in(
    extractor: FeatureExtractor,
) -> None:
    drones = ITEMS["pulse-el-drones"]
    fd = extractor.features(drones, drones.published)  # type: ignore[arg-type]
    for other in ("gtw-el", "desk-el"):
        item = ITEMS[other]
        result = compare(extractor.features(item, item.published), fd, WINDOW)  # type: ignore[arg-type]
        assert result.score < 0.5, (other, result)


def test_the_same_story_outside_the_window_starts_a_new_one(extractor: FeatureExtractor) -> None:
    a, b = ITEMS["desk-samr"], ITEMS["ctb-samr"]
    fa = extractor.features(a, a.published)  # type: ignore[arg-type]
    fb = extractor.features(b, b.published)  # type: ignore[arg-type]
    assert compare(fa, fb, WINDOW).score >= 0.55
    later = replace(fb, event_at=fa.event_at + timedelta(hours=49))
    assert compare(fa, later, WINDOW).veto == "too far apart in time"


def test_features_read_amounts_written_in_different_ways(extractor: FeatureExtractor) -> None:
    spelled = {
        "wire-h20": "$5.5 billion",
        "gtw-h20": "$5.5bn",
        "pulse-h20": "US$5.5 billion",
    }
    for item_id in spelled:
        item = ITEMS[item_id]
        figures = extractor.features(item, item.published).figures  # type: ignore[arg-type]
        assert ("usd", 5.5e9) in figures, item_id


def test_every_pair_of_rewrites_is_closer_than_every_pair_of_different_events_in_the_window(
    extractor: FeatureExtractor,
) -> None:
    feats = {i: extractor.features(it, it.published) for i, it in ITEMS.items()}  # type: ignore[arg-type]
    same, different = [], []
    for a, b in itertools.combinations(ITEMS, 2):
        if abs(feats[a].event_at - feats[b].event_at) > WINDOW:
            continue
        score = compare(feats[a], feats[b], WINDOW).score
        (same if EVENT[a] == EVENT[b] else different).append(score)
    assert min(same) > max(different) + 0.1
