"""Threshold curve and choice; connected components vs correlation clustering on chains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vendorlink.resolve.clustering import (
    ScoredPairs,
    connected_components,
    correlation_clustering,
)
from vendorlink.resolve.metrics import bcubed_scores
from vendorlink.resolve.threshold import (
    ThresholdCurve,
    choose_threshold,
    snowball_knee,
    threshold_curve,
)


def clique(nodes: list[int], score: float = 0.95) -> list[tuple[int, int, float]]:
    return [(a, b, score) for i, a in enumerate(nodes) for b in nodes[i + 1 :]]


def scored(edges: list[tuple[int, int, float]], n: int) -> ScoredPairs:
    arr = np.array(edges, dtype=np.float64)
    return ScoredPairs(
        arr[:, 0].astype(np.int64),
        arr[:, 1].astype(np.int64),
        arr[:, 2].astype(np.float32),
        np.array([f"r{i}" for i in range(n)], dtype=object),
    )


def test_bridge_merges_components_but_not_correlation_clusters() -> None:
    # two dense groups of five joined by one strong false edge (4, 5)
    edges = clique([0, 1, 2, 3, 4]) + clique([5, 6, 7, 8, 9]) + [(4, 5, 0.97)]
    sp = scored(edges, 10)
    truth = [0] * 5 + [1] * 5
    cc = sp.clusters(0.5, "connected_components")
    assert cc.n_clusters == 1
    for seed in range(10):
        corr = sp.clusters(0.5, "correlation", seed=seed)
        assert corr.n_clusters == 2
        assert bcubed_scores(truth, corr.labels).f1 == 1.0


def test_long_chain_is_one_component_but_split_by_correlation_clustering() -> None:
    n = 30
    sp = scored([(i, i + 1, 0.9) for i in range(n - 1)], n)
    assert sp.clusters(0.5).largest == n
    corr = sp.clusters(0.5, "correlation", unscored_penalty=1.0)
    assert corr.largest <= 3
    # with no penalty on unscored pairs, nothing resists the chain
    loose = correlation_clustering(n, sp.left, sp.right, sp.scores, 0.5, unscored_penalty=0.0)
    assert np.bincount(loose).max() > corr.largest


def test_component_pairs_complete_the_evidence() -> None:
    # a chain 0-1-2-3 and a pair 4-5: the chain's missing pairs are (0,2), (0,3), (1,3)
    sp = scored([(0, 1, 0.9), (1, 2, 0.9), (2, 3, 0.9), (4, 5, 0.9), (5, 6, 0.1)], 7)
    left, right = sp.missing_component_pairs(0.5)
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == {(0, 2), (0, 3), (1, 3)}
    assert len(sp.missing_component_pairs(0.5, max_size=3)[0]) == 0
    full = sp.extend(left, right, np.array([0.1, 0.1, 0.1], np.float32))
    assert len(full) == 8
    # the completed evidence (0,2), (0,3), (1,3) are non-matches: the chain splits in two
    corr = full.clusters(0.5, "correlation", unscored_penalty=0.0)
    assert corr.largest == 2


def test_connected_components_labels_are_ordered_by_size() -> None:
    labels = connected_components(6, np.array([3, 4]), np.array([4, 5]))
    assert labels.tolist() == [1, 2, 3, 0, 0, 0]


def random_scored(n: int = 400, m: int = 3000, seed: int = 0) -> tuple[ScoredPairs, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 60, size=n)
    left = rng.integers(0, n, size=m)
    right = rng.integers(0, n, size=m)
    for k in range(0, m, 2):  # half the pairs within an entity, as blocking would give
        same = np.flatnonzero(truth == truth[left[k]])
        right[k] = rng.choice(same)
    keep = left != right
    left, right = np.minimum(left, right)[keep], np.maximum(left, right)[keep]
    same = truth[left] == truth[right]
    scores = np.clip(np.where(same, rng.beta(5, 1.5, len(left)), rng.beta(1, 6, len(left))), 0, 1)
    ids = np.array([str(i) for i in range(n)], dtype=object)
    return ScoredPairs(left, right, scores.astype(np.float32), ids), truth.astype(object)


def test_threshold_curve_is_monotone() -> None:
    sp, truth = random_scored()
    curve = threshold_curve(sp, n_grid=49, sample_size=None, labels=truth)
    assert np.all(np.diff(curve.thresholds) > 0)
    assert np.all(np.diff(curve.n_components) >= 0)
    assert np.all(np.diff(curve.largest_component) <= 0)
    assert np.all(np.diff(curve.n_edges) <= 0)
    assert curve.bcubed_f1 is not None and curve.bcubed_f1.max() > 0.6
    frame = curve.to_frame()
    assert list(frame.columns)[:4] == ["threshold", "n_components", "largest_component", "n_edges"]


def test_threshold_curve_on_a_sample() -> None:
    sp, truth = random_scored()
    curve = threshold_curve(sp, n_grid=9, sample_size=100, labels=truth, seed=3)
    assert curve.n_records == 100
    assert curve.n_components[-1] <= 100


def test_threshold_choice_guards_against_the_snowball() -> None:
    sp, truth = random_scored()
    curve = threshold_curve(sp, n_grid=49, sample_size=None, labels=truth)
    bound = choose_threshold(curve, "bound", max_component_size=20)
    i = int(np.searchsorted(curve.thresholds, bound.threshold))
    assert curve.largest_component[i] <= 20
    assert i == 0 or curve.largest_component[i - 1] > 20  # the lowest such threshold
    knee = choose_threshold(curve, "knee", max_component_size=20)
    assert knee.threshold >= bound.threshold
    f1 = choose_threshold(curve, "f1", max_component_size=20)
    j = int(np.searchsorted(curve.thresholds, f1.threshold))
    allowed = curve.largest_component <= 20
    assert curve.bcubed_f1[j] == pytest.approx(curve.bcubed_f1[allowed].max())
    assert choose_threshold(curve, "fixed", value=0.7).threshold == 0.7


def test_snowball_knee_on_a_synthetic_curve() -> None:
    t = np.linspace(0.05, 0.95, 19)
    largest = np.where(t < 0.4, 5000, 12).astype(int)  # snowball below 0.4
    largest[t < 0.3] = 10000
    knee, strength = snowball_knee(t, largest)
    assert knee == pytest.approx(t[t >= 0.4][0])
    assert strength > 0.3
    assert snowball_knee(t, np.full(len(t), 12))[0] is None
    curve = ThresholdCurve(t, np.zeros(len(t), int), largest, np.zeros(len(t), int), 10000)
    assert choose_threshold(curve, "knee", max_component_size=10000).method == "knee"


def test_scored_pairs_keep_scores_for_reclustering(tmp_path: Path) -> None:
    sp, _ = random_scored()
    path = tmp_path / "scored.parquet"
    sp.save(path)
    back = ScoredPairs.load(path)
    np.testing.assert_array_equal(back.scores, sp.scores)
    assert back.n_records == sp.n_records
    strict, loose = back.clusters(0.9), back.clusters(0.2)
    assert strict.n_clusters >= loose.n_clusters
    frame = strict.to_frame()
    assert frame["cluster_size"].max() == strict.largest
