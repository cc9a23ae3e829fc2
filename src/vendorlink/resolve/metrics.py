"""Clustering and linkage metrics, each with its exact definition.

Inputs are one true label and one predicted cluster label per record. Records whose true
label is unknown (``None`` / NaN) are left out of every metric (both labelings are
restricted to the labelled records). Notation: ``n_ij`` is the number of records in true
entity ``i`` and predicted cluster ``j``; ``a_i = Σ_j n_ij``, ``b_j = Σ_i n_ij``;
``C(k) = k (k - 1) / 2`` is the number of pairs among ``k`` records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score


@dataclass
class PRF:
    precision: float
    recall: float
    f1: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _codes(true_labels: Any, pred_labels: Any) -> tuple[np.ndarray, np.ndarray]:
    t = pd.Series(np.asarray(true_labels, dtype=object))
    p = pd.Series(np.asarray(pred_labels, dtype=object))
    if len(t) != len(p):
        raise ValueError(f"{len(t)} true labels but {len(p)} predicted labels")
    known = t.notna().to_numpy()
    tc, _ = pd.factorize(t[known])
    pc, _ = pd.factorize(p[known])
    if (pc < 0).any():
        raise ValueError("every labelled record needs a predicted cluster (found a missing one)")
    return tc.astype(np.int64), pc.astype(np.int64)


def _contingency(tc: np.ndarray, pc: np.ndarray) -> sparse.csr_matrix:
    n = len(tc)
    return sparse.csr_matrix(
        (np.ones(n, dtype=np.int64), (tc, pc)),
        shape=(int(tc.max(initial=-1)) + 1, int(pc.max(initial=-1)) + 1),
    )


def _pairs(k: np.ndarray) -> int:
    k = np.asarray(k, dtype=np.int64)
    return int((k * (k - 1) // 2).sum())


def pairwise_scores(true_labels: Any, pred_labels: Any) -> PRF:
    """Pairwise precision, recall and F1 over record pairs.

    A pair is predicted when both records are in one predicted cluster and true when both
    are in one true entity. TP = Σ_ij C(n_ij); precision = TP / Σ_j C(b_j) (1 when no pair
    is predicted); recall = TP / Σ_i C(a_i) (1 when no pair is true); F1 their harmonic mean.
    """
    tc, pc = _codes(true_labels, pred_labels)
    cont = _contingency(tc, pc)
    tp = _pairs(cont.data)
    pred = _pairs(np.bincount(pc))
    true = _pairs(np.bincount(tc))
    p = tp / pred if pred else 1.0
    r = tp / true if true else 1.0
    return PRF(p, r, _f1(p, r))


def pair_set_scores(
    left: np.ndarray, right: np.ndarray, true_labels: Any, n_true_pairs: int
) -> PRF:
    """Precision, recall and F1 of a set of predicted links (pairs of record positions).

    TP = predicted links whose records share a known true label; precision = TP / number
    of links; recall = TP / ``n_true_pairs`` (all true pairs, e.g. from
    :func:`vendorlink.resolve.blocking.true_pair_count`). Used for ``link_only`` tasks,
    where the links themselves (not the clusters) are the output.
    """
    codes, _ = pd.factorize(pd.Series(np.asarray(true_labels, dtype=object)))
    tp = int(((codes[left] == codes[right]) & (codes[left] >= 0)).sum())
    p = tp / len(left) if len(left) else 1.0
    r = tp / n_true_pairs if n_true_pairs else 1.0
    return PRF(p, r, _f1(p, r))


def bcubed_scores(true_labels: Any, pred_labels: Any) -> PRF:
    """B-cubed precision, recall and F1, averaged over records.

    For record x in true entity T(x) and predicted cluster P(x):
    precision(x) = |T(x) ∩ P(x)| / |P(x)| and recall(x) = |T(x) ∩ P(x)| / |T(x)|.
    Precision and recall are the means over all labelled records; F1 is the harmonic
    mean of those two means (Bagga & Baldwin 1998; Amigó et al. 2009).
    """
    tc, pc = _codes(true_labels, pred_labels)
    if len(tc) == 0:
        return PRF(1.0, 1.0, 1.0)
    cont = _contingency(tc, pc).tocoo()
    n_ij = cont.data.astype(np.float64)
    a = np.bincount(tc).astype(np.float64)
    b = np.bincount(pc).astype(np.float64)
    # every record of cell (i, j) has the same precision n_ij / b_j and recall n_ij / a_i
    p = float((n_ij * n_ij / b[cont.col]).sum() / len(tc))
    r = float((n_ij * n_ij / a[cont.row]).sum() / len(tc))
    return PRF(p, r, _f1(p, r))


def adjusted_rand_index(true_labels: Any, pred_labels: Any) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985).

    ARI = (Σ_ij C(n_ij) - E) / (½ (Σ_i C(a_i) + Σ_j C(b_j)) - E) with
    E = Σ_i C(a_i) Σ_j C(b_j) / C(n): 1 for identical clusterings, about 0 for random ones.
    """
    tc, pc = _codes(true_labels, pred_labels)
    return float(adjusted_rand_score(tc, pc))


def normalized_mutual_information(true_labels: Any, pred_labels: Any) -> float:
    """Normalised mutual information with arithmetic-mean normalisation.

    NMI = I(T; P) / ((H(T) + H(P)) / 2), entropies in nats over the record distribution
    (scikit-learn's ``normalized_mutual_info_score``, ``average_method='arithmetic'``).
    """
    tc, pc = _codes(true_labels, pred_labels)
    return float(normalized_mutual_info_score(tc, pc, average_method="arithmetic"))


def cluster_metrics(true_labels: Any, pred_labels: Any) -> dict[str, float]:
    """All of the above in one flat dict (``pairwise_precision``, ``bcubed_f1``, ``ari``, ...)."""
    out: dict[str, float] = {}
    for prefix, prf in (
        ("pairwise", pairwise_scores(true_labels, pred_labels)),
        ("bcubed", bcubed_scores(true_labels, pred_labels)),
    ):
        for k, v in prf.to_dict().items():
            out[f"{prefix}_{k}"] = v
    out["ari"] = adjusted_rand_index(true_labels, pred_labels)
    out["nmi"] = normalized_mutual_information(true_labels, pred_labels)
    return out
