"""Metrics: vendor identification (classification) and ad-to-vendor linking (retrieval).

Each metric's exact definition and averaging is in its module docstring and in the keys
documented by :meth:`RetrievalReport.as_dict` and :func:`classification_metrics`.
This package needs numpy, pandas, scikit-learn and faiss, not torch.
"""

from vendorlink.evaluate.classification import classification_metrics, per_vendor_f1
from vendorlink.evaluate.retrieval import (
    METRICS,
    MetricSummary,
    RetrievalReport,
    average_precision_at_r,
    evaluate_retrieval,
    f1_at_x,
    macro_f1_at_x,
    r_precision,
    reciprocal_rank_at_k,
)

__all__ = [
    "METRICS",
    "MetricSummary",
    "RetrievalReport",
    "average_precision_at_r",
    "classification_metrics",
    "evaluate_retrieval",
    "f1_at_x",
    "macro_f1_at_x",
    "per_vendor_f1",
    "r_precision",
    "reciprocal_rank_at_k",
]
