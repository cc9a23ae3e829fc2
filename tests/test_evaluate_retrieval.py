"""Retrieval metrics: hand-computed examples, zero-shot queries, and pytorch-metric-learning."""

from __future__ import annotations

import numpy as np
import pytest

from vendorlink.evaluate import evaluate_retrieval


def unit(angles_deg: list[float]) -> np.ndarray:
    a = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    return np.stack([np.cos(a), np.sin(a)], axis=1).astype(np.float32)


# Documents on the unit circle: ranking by cosine = ranking by angular distance.
DOCS = unit([0, 10, 20, 30, 40, 50, 90, 120])
DOC_LABELS = ["A", "B", "A", "B", "C", "A", "B", "C"]
QUERIES = unit([-5, 33, 125, 95, 0])
QUERY_LABELS = ["A", "B", "C", "A", "Z"]  # Z has no document: zero-shot
# Rankings (relevance) worked out by hand:
#   q0 (-5°, A):  d0 d1 d2 d3 d4 d5 d6 d7 -> 1 0 1 0 0 1 0 0   R=3
#   q1 (33°, B):  d3 d4 d2 d5 d1 d0 d6 d7 -> 1 0 0 0 1 0 1 0   R=3
#   q2 (125°, C): d7 d6 d5 d4 d3 d2 d1 d0 -> 1 0 0 1 0 0 0 0   R=2
#   q3 (95°, A):  d6 d7 d5 d4 d3 d2 d1 d0 -> 0 0 1 0 0 1 0 1   R=3


def test_hand_computed_example() -> None:
    report = evaluate_retrieval(QUERIES, QUERY_LABELS, DOCS, DOC_LABELS)
    pq = report.per_query
    assert pq["query"].tolist() == [0, 1, 2, 3]
    assert pq["n_relevant"].tolist() == [3, 3, 2, 3]
    np.testing.assert_allclose(pq["r_precision"], [2 / 3, 1 / 3, 1 / 2, 1 / 3])
    np.testing.assert_allclose(pq["mrr_at_10"], [1, 1, 1, 1 / 3])
    np.testing.assert_allclose(pq["map_at_r"], [(1 + 2 / 3) / 3, 1 / 3, 1 / 2, (1 / 3) / 3])
    np.testing.assert_allclose(pq["f1_at_x"], pq["r_precision"])  # X = R: P = Rec
    d = report.as_dict()
    assert d["n_queries"] == 5 and d["n_evaluated"] == 4 and d["n_zero_shot"] == 1
    assert d["n_vendors"] == 3 and d["n_zero_shot_vendors"] == 1 and d["cutoff"] == "R"
    assert report.zero_shot_queries.tolist() == [4]
    r_prec = [2 / 3, 1 / 3, 1 / 2, 1 / 3]
    assert d["r_precision_query_mean"] == pytest.approx(np.mean(r_prec))
    assert d["r_precision_query_std"] == pytest.approx(np.std(r_prec))
    vendor_values = [1 / 2, 1 / 3, 1 / 2]  # A: mean(2/3, 1/3); B; C
    assert d["r_precision_vendor_mean"] == pytest.approx(np.mean(vendor_values))
    assert d["r_precision_vendor_std"] == pytest.approx(np.std(vendor_values))
    assert d["mrr_at_10_query_mean"] == pytest.approx((3 + 1 / 3) / 4)
    assert d["mrr_at_10_vendor_mean"] == pytest.approx(((1 + 1 / 3) / 2 + 1 + 1) / 3)
    # Macro-F1@X with X = R is R-Precision per vendor, macro-averaged (not per query).
    assert d["macro_f1_at_x"] == pytest.approx(np.mean(vendor_values))
    assert d["macro_f1_at_x"] != pytest.approx(d["r_precision_query_mean"])
    assert report.per_vendor["A"]["n_queries"] == 2


def test_macro_f1_with_fixed_cutoff() -> None:
    report = evaluate_retrieval(QUERIES, QUERY_LABELS, DOCS, DOC_LABELS, x=2)
    # top-2 hits: q0 1 (of R=3), q1 1 (R=3), q2 1 (R=2), q3 0 (R=3)
    np.testing.assert_allclose(report.per_query["f1_at_x"], [0.4, 0.4, 0.5, 0.0])
    # Vendor A pooled: tp 1, sum X 4, sum R 6 -> P 1/4, Rec 1/6, F1 0.2; B 0.4; C 0.5.
    assert report.per_vendor["A"]["f1_pooled"] == pytest.approx(0.2)
    assert report.macro_f1_at_x == pytest.approx(np.mean([0.2, 0.4, 0.5]))
    assert report.macro_f1_at_x_std == pytest.approx(np.std([0.2, 0.4, 0.5]))
    assert report.as_dict()["cutoff"] == "2"


def test_mrr_is_zero_beyond_rank_10() -> None:
    docs = unit([*range(0, 12), 90])  # 12 "B" documents closer than the only "A" document
    labels = ["B"] * 12 + ["A"]
    report = evaluate_retrieval(unit([0.5]), ["A"], docs, labels)
    assert report.per_query["mrr_at_10"].tolist() == [0.0]
    assert report.per_query["r_precision"].tolist() == [0.0]
    near = evaluate_retrieval(unit([0.5]), ["A"], unit([*range(0, 9), 90]), ["B"] * 9 + ["A"])
    assert near.per_query["mrr_at_10"].tolist() == [pytest.approx(0.1)]  # rank 10


def test_exclude_self_when_queries_are_documents() -> None:
    ids = [f"d{i}" for i in range(len(DOCS))]
    report = evaluate_retrieval(
        DOCS, DOC_LABELS, DOCS, DOC_LABELS, query_ids=ids, document_ids=ids, exclude_self=True
    )
    # d0 (A at 0°) without itself: d1 B, d2 A, d3 B, ... R = 2 -> top 2 has one A.
    assert report.per_query["n_relevant"][0] == 2
    assert report.per_query["r_precision"][0] == pytest.approx(0.5)
    assert report.per_query["mrr_at_10"][0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="query_ids"):
        evaluate_retrieval(DOCS, DOC_LABELS, DOCS, DOC_LABELS, exclude_self=True)


def test_all_zero_shot_and_bad_input() -> None:
    report = evaluate_retrieval(QUERIES[:2], ["X", "Y"], DOCS, DOC_LABELS)
    assert report.n_evaluated == 0 and report.n_zero_shot == 2
    assert np.isnan(report.as_dict()["r_precision_query_mean"])
    with pytest.raises(ValueError, match="zero"):
        evaluate_retrieval(np.zeros((1, 2)), ["A"], DOCS, DOC_LABELS)
    with pytest.raises(ValueError, match="missing labels"):
        evaluate_retrieval(QUERIES[:1], [None], DOCS, DOC_LABELS)
    with pytest.raises(ValueError, match="dim"):
        evaluate_retrieval(np.ones((1, 3)), ["A"], DOCS, DOC_LABELS)


def random_set(seed: int, n: int, n_labels: int, dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_labels, size=n)
    centres = rng.normal(size=(n_labels, dim))
    x = centres[labels] + rng.normal(scale=1.0, size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32), labels


def test_matches_pytorch_metric_learning_accuracy_calculator() -> None:
    import pytorch_metric_learning  # noqa: F401  (a dev dependency: the reference implementation)
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    docs, doc_labels = random_set(0, 120, 10)
    queries, query_labels = random_set(1, 40, 12)  # labels 10, 11: no documents (zero-shot)
    ours = evaluate_retrieval(queries, query_labels, docs, doc_labels).as_dict()
    assert ours["n_zero_shot"] > 0
    metrics = ("r_precision", "mean_average_precision_at_r")
    for avg_of_avgs, key in ((False, "query_mean"), (True, "vendor_mean")):
        calc = AccuracyCalculator(include=metrics, avg_of_avgs=avg_of_avgs, k=None)
        ref = calc.get_accuracy(queries, query_labels, docs, doc_labels)
        assert ours[f"r_precision_{key}"] == pytest.approx(ref["r_precision"], abs=1e-6)
        assert ours[f"map_at_r_{key}"] == pytest.approx(
            ref["mean_average_precision_at_r"], abs=1e-6
        )
    # pml 2.9 omits mean_reciprocal_rank from requires_knn(): ask for precision_at_1 too so
    # that its k=10 neighbour search runs.
    calc = AccuracyCalculator(include=("mean_reciprocal_rank", "precision_at_1"), k=10)
    ref = calc.get_accuracy(queries, query_labels, docs, doc_labels)
    assert ours["mrr_at_10_query_mean"] == pytest.approx(ref["mean_reciprocal_rank"], abs=1e-6)


def test_exclude_self_matches_pml_ref_includes_query() -> None:
    import pytorch_metric_learning  # noqa: F401  (a dev dependency: the reference implementation)
    from pytorch_metric_learning.utils.accuracy_calculator import AccuracyCalculator

    x, labels = random_set(2, 60, 15)
    ids = np.arange(60)
    ours = evaluate_retrieval(
        x, labels, x, labels, query_ids=ids, document_ids=ids, exclude_self=True
    ).as_dict()
    calc = AccuracyCalculator(include=("r_precision", "mean_average_precision_at_r"), k=None)
    ref = calc.get_accuracy(x, labels)  # reference = query, self excluded
    assert ours["r_precision_query_mean"] == pytest.approx(ref["r_precision"], abs=1e-6)
    assert ours["map_at_r_query_mean"] == pytest.approx(
        ref["mean_average_precision_at_r"], abs=1e-6
    )


def test_batching_and_mixed_membership() -> None:
    docs, doc_labels = random_set(3, 50, 6)
    queries, query_labels = random_set(4, 30, 6)
    whole = evaluate_retrieval(queries, query_labels, docs, doc_labels).as_dict()
    batched = evaluate_retrieval(queries, query_labels, docs, doc_labels, batch_size=7).as_dict()
    assert whole == pytest.approx(batched)
    # One query is document 0, the other is new: only the first loses itself from R.
    mixed_q = np.stack([docs[0], queries[0]])
    labels = [doc_labels[0], doc_labels[0]]
    report = evaluate_retrieval(
        mixed_q,
        labels,
        docs,
        doc_labels,
        query_ids=["doc0", "new"],
        document_ids=[f"doc{i}" for i in range(50)],
        exclude_self=True,
    )
    count = int((doc_labels == doc_labels[0]).sum())
    assert report.per_query["n_relevant"].tolist() == [count - 1, count]
