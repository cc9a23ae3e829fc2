"""Classification metrics for identifying the vendor of an ad (closed set, MATCHED Table 2/4).

All computed with scikit-learn, ``zero_division=0``. Unless ``labels`` is given, the label
set is the union of the true and the predicted labels (scikit-learn's default).

- ``accuracy``: fraction of ads whose predicted vendor is the true one.
- ``balanced_accuracy``: mean over vendors present in ``y_true`` of per-vendor recall.
- ``f1_macro``: unweighted mean over vendors of per-vendor F1.
- ``f1_weighted``: mean of per-vendor F1 weighted by each vendor's support in ``y_true``.
- ``f1_micro``: F1 of the pooled counts (= accuracy for single-label prediction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["classification_metrics", "per_vendor_f1"]


def _check(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} labels, y_pred {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("no predictions to evaluate")
    return y_true, y_pred


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    labels: Sequence[Any] | None = None,
) -> dict[str, float | int]:
    """Vendor-identification metrics. Keys (definitions in the module docstring):

    ``n_samples``, ``n_classes`` (size of the label set used), ``accuracy``,
    ``balanced_accuracy``, ``f1_macro``, ``f1_weighted``, ``f1_micro``.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    y_true, y_pred = _check(y_true, y_pred)
    label_list = list(labels) if labels is not None else np.unique(np.concatenate([y_true, y_pred]))
    f1 = {
        average: float(
            f1_score(y_true, y_pred, labels=label_list, average=average, zero_division=0)
        )
        for average in ("macro", "weighted", "micro")
    }
    return {
        "n_samples": len(y_true),
        "n_classes": len(label_list),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "f1_macro": f1["macro"],
        "f1_weighted": f1["weighted"],
        "f1_micro": f1["micro"],
    }


def per_vendor_f1(
    y_true: Sequence[Any] | np.ndarray,
    y_pred: Sequence[Any] | np.ndarray,
    train_counts: Mapping[Any, int] | None = None,
) -> list[dict[str, Any]]:
    """One row per vendor in ``y_true`` or ``y_pred``, sorted by ``support`` descending.

    Keys: ``vendor``, ``precision``, ``recall``, ``f1``, ``support`` (ads of the vendor in
    ``y_true``) and, when ``train_counts`` (vendor -> training ads) is given,
    ``train_ads`` (0 for a vendor absent from it): the data for "per-vendor F1 against ad
    frequency".
    """
    from sklearn.metrics import precision_recall_fscore_support

    y_true, y_pred = _check(y_true, y_pred)
    label_list = np.unique(np.concatenate([y_true, y_pred]))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=label_list, average=None, zero_division=0
    )
    rows: list[dict[str, Any]] = []
    for i, vendor in enumerate(label_list.tolist()):
        row: dict[str, Any] = {
            "vendor": vendor,
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        if train_counts is not None:
            row["train_ads"] = int(train_counts.get(vendor, 0))
        rows.append(row)
    rows.sort(key=lambda row: (-row["support"], str(row["vendor"])))
    return rows
