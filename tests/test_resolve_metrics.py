"""Clustering metrics on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from vendorlink.resolve.metrics import (
    adjusted_rand_index,
    bcubed_scores,
    cluster_metrics,
    normalized_mutual_information,
    pair_set_scores,
    pairwise_scores,
)

TRUE = ["A", "A", "A", "B", "B"]
PRED = [1, 1, 2, 2, 2]


def test_bcubed_hand_example() -> None:
    # record: (|T∩P|, |P|, |T|) -> precision, recall
    # r0, r1: (2, 2, 3) -> 1, 2/3;  r2: (1, 3, 3) -> 1/3, 1/3;  r3, r4: (2, 3, 2) -> 2/3, 1
    p = (1 + 1 + 1 / 3 + 2 / 3 + 2 / 3) / 5
    r = (2 / 3 + 2 / 3 + 1 / 3 + 1 + 1) / 5
    got = bcubed_scores(TRUE, PRED)
    assert got.precision == pytest.approx(p)
    assert got.recall == pytest.approx(r)
    assert got.f1 == pytest.approx(2 * p * r / (p + r))


def test_bcubed_extremes() -> None:
    singletons = bcubed_scores(TRUE, [0, 1, 2, 3, 4])
    assert singletons.precision == 1.0
    assert singletons.recall == pytest.approx((3 * (1 / 3) + 2 * (1 / 2)) / 5)
    one = bcubed_scores(TRUE, [0] * 5)
    assert one.recall == 1.0
    assert one.precision == pytest.approx((3 * 3 / 5 + 2 * 2 / 5) / 5)
    perfect = bcubed_scores(TRUE, ["x", "x", "x", "y", "y"])
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)


def test_pairwise_hand_example() -> None:
    # predicted pairs: (0,1), (2,3), (2,4), (3,4); true pairs: (0,1), (0,2), (1,2), (3,4)
    got = pairwise_scores(TRUE, PRED)
    assert (got.precision, got.recall, got.f1) == (0.5, 0.5, 0.5)
    nothing = pairwise_scores(TRUE, [0, 1, 2, 3, 4])
    assert nothing.precision == 1.0 and nothing.recall == 0.0 and nothing.f1 == 0.0


def test_unknown_true_labels_are_left_out() -> None:
    true = ["A", None, "A", "B", np.nan]
    pred = [0, 0, 0, 1, 1]
    assert bcubed_scores(true, pred).f1 == 1.0
    assert pairwise_scores(true, pred).f1 == 1.0


def test_ari_and_nmi() -> None:
    assert adjusted_rand_index(TRUE, ["q", "q", "q", "r", "r"]) == pytest.approx(1.0)
    assert normalized_mutual_information(TRUE, ["q", "q", "q", "r", "r"]) == pytest.approx(1.0)
    # hand: n_ij = [[2,1],[0,2]]; Σ C(n_ij)=1+0+0+1=2; Σ C(a)=3+1=4; Σ C(b)=1+3=4; C(5)=10
    expected = 4 * 4 / 10
    ari = (2 - expected) / (0.5 * (4 + 4) - expected)
    assert adjusted_rand_index(TRUE, PRED) == pytest.approx(ari)
    assert 0 < normalized_mutual_information(TRUE, PRED) < 1
    m = cluster_metrics(TRUE, PRED)
    assert set(m) >= {"pairwise_f1", "bcubed_precision", "bcubed_recall", "ari", "nmi"}


def test_pair_set_scores() -> None:
    labels = ["e1", "e2", "e1", "e2", None]
    got = pair_set_scores(np.array([0, 1, 3]), np.array([2, 2, 4]), labels, n_true_pairs=2)
    assert got.precision == pytest.approx(1 / 3)
    assert got.recall == pytest.approx(1 / 2)
