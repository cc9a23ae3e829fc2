"""Multi-label metrics and per-label threshold calibration (a label with no positives
and no predictions gets precision, recall and F1 0; ROC-AUC from scikit-learn).

For ``y`` ``(N, C)`` in {0, 1}, probabilities ``p`` ``(N, C)`` and thresholds ``(C,)``
(an ad is flagged for label ``j`` when ``p[:, j] >= threshold[j]``):

- ``f1_macro``: unweighted mean over the C labels of each label's F1;
- ``f1_micro``: F1 of the true/false positives and false negatives pooled over all labels;
- ``precision_macro`` / ``recall_macro``: unweighted means over labels;
- ``roc_auc_macro``: mean over the labels that have both classes in ``y`` of each label's
  ROC-AUC (labels with one class are skipped and counted in ``labels_without_auc``);
- ``per_label``: ``label``, ``precision``, ``recall``, ``f1``, ``support`` (positives in
  ``y``), ``roc_auc``, ``threshold``.

:func:`calibrate_thresholds` picks, per label, the threshold that maximises that label's F1
on the given (validation) data, searching every distinct predicted probability; ties go to
the higher threshold. A label without positives keeps ``default``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["calibrate_thresholds", "macro_roc_auc", "multilabel_metrics", "roc_curves"]


def _check(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y), np.asarray(p, dtype=np.float64)
    if y.ndim != 2 or y.shape != p.shape:
        raise ValueError(f"labels and probabilities must both be (N, C), got {y.shape}, {p.shape}")
    if y.shape[0] == 0:
        raise ValueError("no samples to evaluate")
    return y.astype(np.int64), p


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


def macro_roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean ROC-AUC over the labels with both classes present (NaN when none has)."""
    y, p = _check(y, p)
    values = [_auc(y[:, j], p[:, j]) for j in range(y.shape[1])]
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def multilabel_metrics(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: np.ndarray | Sequence[float] | float = 0.5,
    names: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Macro / micro F1, macro precision / recall, macro ROC-AUC and the per-label table."""
    y, p = _check(y, p)
    c = y.shape[1]
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (c,))
    pred = p >= thr
    truth = y == 1
    # Counted per label here (scikit-learn reads a one-column matrix as a binary target).
    tp = (pred & truth).sum(axis=0).astype(np.float64)
    n_pred, support = pred.sum(axis=0), truth.sum(axis=0)
    precision = np.divide(tp, n_pred, out=np.zeros(c), where=n_pred > 0)
    recall = np.divide(tp, support, out=np.zeros(c), where=support > 0)
    denom = n_pred + support
    f1 = np.divide(2 * tp, denom, out=np.zeros(c), where=denom > 0)
    micro_denom = float(denom.sum())
    names = list(names) if names is not None else [str(j) for j in range(c)]
    aucs = [_auc(y[:, j], p[:, j]) for j in range(c)]
    finite = [a for a in aucs if not np.isnan(a)]
    per_label = [
        {
            "label": names[j],
            "precision": float(precision[j]),
            "recall": float(recall[j]),
            "f1": float(f1[j]),
            "support": int(support[j]),
            "roc_auc": aucs[j],
            "threshold": float(thr[j]),
        }
        for j in range(c)
    ]
    return {
        "n_samples": int(y.shape[0]),
        "n_labels": c,
        "f1_macro": float(np.mean(f1)),
        "f1_micro": 2 * float(tp.sum()) / micro_denom if micro_denom else 0.0,
        "precision_macro": float(np.mean(precision)),
        "recall_macro": float(np.mean(recall)),
        "roc_auc_macro": float(np.mean(finite)) if finite else float("nan"),
        "labels_without_auc": c - len(finite),
        "per_label": per_label,
    }


def _best_f1_threshold(y: np.ndarray, p: np.ndarray, default: float) -> float:
    """The threshold maximising F1 of ``p >= t`` over the distinct values of ``p``."""
    n_pos = int(y.sum())
    if n_pos == 0:
        return default
    order = np.argsort(-p, kind="stable")
    p_sorted, y_sorted = p[order], y[order]
    tp = np.cumsum(y_sorted)
    k = np.arange(1, len(p) + 1)
    # Only cut between distinct values: the last index of each run of equal probabilities.
    last = np.r_[p_sorted[1:] != p_sorted[:-1], True]
    f1 = np.where(last, 2 * tp / (k + n_pos), -1.0)
    best = np.flatnonzero(f1 == f1.max())
    return float(p_sorted[best[0]])  # the earliest cut = the highest threshold among ties


def calibrate_thresholds(y: np.ndarray, p: np.ndarray, default: float = 0.5) -> np.ndarray:
    """Per-label thresholds maximising each label's F1 on ``(y, p)`` (see module docstring)."""
    y, p = _check(y, p)
    return np.array(
        [_best_f1_threshold(y[:, j], p[:, j], default) for j in range(y.shape[1])],
        dtype=np.float64,
    )


def roc_curves(
    y: np.ndarray, p: np.ndarray, names: Sequence[str]
) -> dict[str, tuple[np.ndarray, np.ndarray, float]]:
    """``label -> (fpr, tpr, auc)`` for the labels with both classes present."""
    from sklearn.metrics import roc_curve

    y, p = _check(y, p)
    out: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    for j, name in enumerate(names):
        if y[:, j].min() == y[:, j].max():
            continue
        fpr, tpr, _ = roc_curve(y[:, j], p[:, j])
        out[name] = (fpr, tpr, _auc(y[:, j], p[:, j]))
    return out
