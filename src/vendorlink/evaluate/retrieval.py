"""Retrieval metrics for linking ads to vendors (the MATCHED retrieval setup).

Documents are one set of embeddings with vendor labels (in MATCHED: the training split),
queries another (the test split). Similarity is cosine: both sets are L2-normalised and
searched exactly with FAISS ``IndexFlatIP``. For a query ``q`` with vendor ``y_q``, the
relevant documents are those with label ``y_q`` and ``R_q`` is their number (the query's
own document is not counted, nor retrieved, when ``exclude_self`` removes it).

Queries with ``R_q = 0`` (their vendor has no document: unseen vendors, the open-set case)
are **zero-shot**: counted and listed in the report, left out of every average below.

Per-query metrics (``rel_i`` = 1 when the i-th ranked document is relevant):

- ``r_precision``: ``sum_{i<=R} rel_i / R`` (precision within the top R).
- ``map_at_r``: ``1/R * sum_{i<=R} rel_i * P@i`` (MAP@R of Musgrave et al., 2020).
- ``mrr_at_10``: ``1 / rank`` of the first relevant document in a k=10 search, else 0.
- ``f1_at_x``: with cut-off ``X`` (``X = R_q`` by default, as in the paper; or a fixed
  integer), ``tp = sum_{i<=X} rel_i``, ``P = tp / X``, ``Rec = tp / R``, ``F1 = 2 P Rec /
  (P + Rec)`` (0 when ``tp = 0``).

Each is summarised four ways (population std, ``ddof=0``): ``query_mean`` / ``query_std``
over evaluated queries, and ``vendor_mean`` / ``vendor_std`` over vendors, each vendor's
value being the mean over its queries first (every vendor weighs the same).

``macro_f1_at_x`` follows the paper ("independently calculates F1 scores for each vendor
class and averages them", X = the number of relevant items): for each vendor ``c``, over its
evaluated queries, ``P_c = sum tp / sum X``, ``Rec_c = sum tp / sum R``, ``F1_c`` their
harmonic mean; reported as mean and std of ``F1_c`` over vendors. With the default ``X = R``,
``P_c = Rec_c = F1_c`` = vendor c's mean R-Precision, so ``macro_f1_at_x`` equals
``r_precision`` ``vendor_mean`` (not the per-query mean, which the published MATCHED code
reported as Macro-F1@X); pass an integer ``x`` for an F1 that differs from R-Precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vendorlink.vectors import unit_rows

__all__ = [
    "METRICS",
    "MetricSummary",
    "RetrievalReport",
    "average_precision_at_r",
    "evaluate_retrieval",
    "f1_at_x",
    "macro_f1_at_x",
    "r_precision",
    "reciprocal_rank_at_k",
]

METRICS: tuple[str, ...] = ("r_precision", "map_at_r", "mrr_at_10", "f1_at_x")


# --- per-query metrics on a ranked relevance matrix -------------------------------------


def _columns(relevance: np.ndarray) -> np.ndarray:
    return np.arange(relevance.shape[1])[None, :]


def r_precision(relevance: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Per query: relevant documents among the top ``R`` over ``R``.

    ``relevance`` is ``(Q, k)`` bool in rank order with ``k >= max(R)``; ``n_relevant``
    ``(Q,)`` with every ``R > 0``.
    """
    n_relevant = np.asarray(n_relevant)
    within = _columns(relevance) < n_relevant[:, None]
    return (relevance & within).sum(axis=1) / n_relevant


def average_precision_at_r(relevance: np.ndarray, n_relevant: np.ndarray) -> np.ndarray:
    """Per query MAP@R: ``1/R * sum_{i<=R} rel_i * precision@i``."""
    n_relevant = np.asarray(n_relevant)
    cols = _columns(relevance)
    within = cols < n_relevant[:, None]
    precision_at_i = np.cumsum(relevance, axis=1) / (cols + 1)
    return (precision_at_i * (relevance & within)).sum(axis=1) / n_relevant


def reciprocal_rank_at_k(relevance: np.ndarray, k: int = 10) -> np.ndarray:
    """Per query: ``1 / rank`` of the first relevant document within the top ``k``, else 0."""
    top = relevance[:, :k]
    hit = top.any(axis=1)
    first = top.argmax(axis=1)
    return np.where(hit, 1.0 / (first + 1), 0.0)


def f1_at_x(
    relevance: np.ndarray, n_relevant: np.ndarray, cutoff: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per query F1 at cut-off ``X`` (``cutoff``, ``(Q,)``); returns ``(f1, tp)``."""
    n_relevant, cutoff = np.asarray(n_relevant), np.asarray(cutoff)
    tp = (relevance & (_columns(relevance) < cutoff[:, None])).sum(axis=1)
    precision = tp / np.maximum(cutoff, 1)
    recall = tp / n_relevant
    denom = precision + recall
    f1 = np.where(tp > 0, 2 * precision * recall / np.where(denom > 0, denom, 1.0), 0.0)
    return f1, tp


def macro_f1_at_x(
    tp: np.ndarray, cutoff: np.ndarray, n_relevant: np.ndarray, vendor: np.ndarray
) -> dict[Any, float]:
    """Per vendor ``F1_c`` from ``P_c = sum tp / sum X`` and ``Rec_c = sum tp / sum R``
    over the vendor's queries; average the values for Macro-F1@X."""
    result: dict[Any, float] = {}
    for c in _unique_in_order(vendor):
        sel = vendor == c
        hits = float(tp[sel].sum())
        p = hits / max(float(cutoff[sel].sum()), 1.0)
        r = hits / float(n_relevant[sel].sum())
        result[c] = 2 * p * r / (p + r) if hits > 0 else 0.0
    return result


def _unique_in_order(values: np.ndarray) -> list[Any]:
    seen: dict[Any, None] = {}
    for value in values.tolist():
        seen.setdefault(value, None)
    return list(seen)


# --- report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricSummary:
    """A per-query metric summarised over queries and over vendors (population std)."""

    query_mean: float
    query_std: float
    vendor_mean: float
    vendor_std: float


@dataclass
class RetrievalReport:
    """Retrieval metrics of one query set against one document set.

    ``per_query`` holds arrays over the evaluated (non-zero-shot) queries: ``query`` (index
    into the queries given), ``vendor``, ``n_relevant`` and one array per metric.
    ``per_vendor`` maps each evaluated vendor to ``n_queries``, ``n_relevant`` (R), each
    metric's mean over the vendor's queries and ``f1_pooled`` (its ``F1_c``).
    ``zero_shot_queries`` are the indices of queries whose vendor has no document.
    """

    n_queries: int
    n_documents: int
    n_evaluated: int
    n_zero_shot: int
    n_vendors: int
    n_zero_shot_vendors: int
    cutoff: str
    metrics: dict[str, MetricSummary]
    macro_f1_at_x: float
    macro_f1_at_x_std: float
    per_query: dict[str, np.ndarray] = field(repr=False)
    per_vendor: dict[Any, dict[str, float]] = field(repr=False)
    zero_shot_queries: np.ndarray = field(repr=False)

    def as_dict(self) -> dict[str, float | int | str]:
        """Flat summary. Keys:

        ``n_queries``, ``n_documents``, ``n_evaluated`` (queries with R > 0),
        ``n_zero_shot`` (queries with R = 0, excluded), ``n_vendors`` (vendors of evaluated
        queries), ``n_zero_shot_vendors``, ``cutoff`` (``"R"`` or the fixed X);
        for each metric ``m`` in ``r_precision``, ``map_at_r``, ``mrr_at_10``, ``f1_at_x``:
        ``m_query_mean``, ``m_query_std``, ``m_vendor_mean``, ``m_vendor_std``;
        and ``macro_f1_at_x``, ``macro_f1_at_x_std`` (over vendors, pooled per vendor).
        """
        out: dict[str, float | int | str] = {
            "n_queries": self.n_queries,
            "n_documents": self.n_documents,
            "n_evaluated": self.n_evaluated,
            "n_zero_shot": self.n_zero_shot,
            "n_vendors": self.n_vendors,
            "n_zero_shot_vendors": self.n_zero_shot_vendors,
            "cutoff": self.cutoff,
        }
        for name, summary in self.metrics.items():
            out[f"{name}_query_mean"] = summary.query_mean
            out[f"{name}_query_std"] = summary.query_std
            out[f"{name}_vendor_mean"] = summary.vendor_mean
            out[f"{name}_vendor_std"] = summary.vendor_std
        out["macro_f1_at_x"] = self.macro_f1_at_x
        out["macro_f1_at_x_std"] = self.macro_f1_at_x_std
        return out


# --- search and evaluation ------------------------------------------------------------


def _encode_labels(query_labels: Any, document_labels: Any) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    q = np.asarray(query_labels, dtype=object).ravel()
    d = np.asarray(document_labels, dtype=object).ravel()
    codes, _ = pd.factorize(np.concatenate([q, d]))
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        where = ["query" if i < len(q) else "document" for i in missing[:10]]
        rows = [int(i if i < len(q) else i - len(q)) for i in missing[:10]]
        raise ValueError(f"missing labels at {list(zip(where, rows, strict=True))}")
    return codes[: len(q)], codes[len(q) :]


def _search(index: Any, queries: np.ndarray, k: int, self_position: np.ndarray) -> np.ndarray:
    """Top-k document positions per query, the query's own document removed (-1 padding)."""
    extra = int((self_position >= 0).any())
    search_k = min(k + extra, index.ntotal)
    _, ids = index.search(queries, search_k)
    if extra:
        own = (ids == self_position[:, None]) & (self_position[:, None] >= 0)
        order = np.argsort(own, axis=1, kind="stable")  # push the own document last
        ids = np.take_along_axis(ids, order, axis=1)
        ids[own.any(axis=1), -1] = -1
    return ids


def evaluate_retrieval(
    query_embeddings: Any,
    query_labels: Sequence[Any] | np.ndarray,
    document_embeddings: Any,
    document_labels: Sequence[Any] | np.ndarray,
    *,
    query_ids: Sequence[Any] | np.ndarray | None = None,
    document_ids: Sequence[Any] | np.ndarray | None = None,
    exclude_self: bool = False,
    x: int | None = None,
    batch_size: int = 256,
) -> RetrievalReport:
    """Evaluate query-to-document retrieval by vendor (see the module docstring).

    ``exclude_self=True`` (needs ``query_ids`` and unique ``document_ids``) removes each
    query's own document from its ranking and from its R, for when the queries are part of
    the documents. ``x`` fixes the F1 cut-off (default: ``X = R`` per query, as MATCHED).
    """
    import faiss

    queries = unit_rows(query_embeddings, "query_embeddings", allow_empty=False)
    documents = unit_rows(document_embeddings, "document_embeddings", allow_empty=False)
    if queries.shape[1] != documents.shape[1]:
        raise ValueError(f"queries have dim {queries.shape[1]}, documents dim {documents.shape[1]}")
    if len(query_labels) != len(queries) or len(document_labels) != len(documents):
        raise ValueError("each embeddings matrix needs one label per row")
    if x is not None and x < 1:
        raise ValueError(f"x must be a positive cut-off or None (= R), got {x}")
    q_codes, d_codes = _encode_labels(query_labels, document_labels)
    n_q, n_d = len(queries), len(documents)

    self_position = np.full(n_q, -1, dtype=np.int64)
    if exclude_self:
        if query_ids is None or document_ids is None:
            raise ValueError("exclude_self=True needs query_ids and document_ids")
        doc_ids = list(document_ids)
        if len(doc_ids) != n_d or len(query_ids) != n_q:
            raise ValueError("query_ids / document_ids must have one id per row")
        position = {doc_id: i for i, doc_id in enumerate(doc_ids)}
        if len(position) != n_d:
            raise ValueError("document_ids must be unique for exclude_self")
        for i, qid in enumerate(query_ids):
            j = position.get(qid, -1)
            if j >= 0 and d_codes[j] != q_codes[i]:
                raise ValueError(f"query id {qid!r} is a document with a different label")
            self_position[i] = j

    doc_counts = np.bincount(d_codes, minlength=int(max(q_codes.max(), d_codes.max())) + 1)
    has_self = self_position >= 0
    n_relevant = doc_counts[q_codes] - has_self.astype(np.int64)
    available = n_d - has_self.astype(np.int64)
    cutoff = n_relevant.copy() if x is None else np.minimum(x, available)
    evaluated = np.flatnonzero(n_relevant > 0)

    index = faiss.IndexFlatIP(queries.shape[1])
    index.add(documents)
    scores: dict[str, list[np.ndarray]] = {name: [] for name in METRICS}
    tps: list[np.ndarray] = []
    for start in range(0, len(evaluated), batch_size):
        rows = evaluated[start : start + batch_size]
        r, cut, labels = n_relevant[rows], cutoff[rows], q_codes[rows]
        k = int(max(r.max(), cut.max()))
        ids = _search(index, queries[rows], k, self_position[rows])
        relevance = (ids >= 0) & (d_codes[np.maximum(ids, 0)] == labels[:, None])
        scores["r_precision"].append(r_precision(relevance, r))
        scores["map_at_r"].append(average_precision_at_r(relevance, r))
        f1, tp = f1_at_x(relevance, r, cut)
        scores["f1_at_x"].append(f1)
        tps.append(tp)
        # MRR@10 from its own k=10 search (not a k=1 search, not a longer list).
        ids10 = _search(index, queries[rows], 10, self_position[rows])
        relevance10 = (ids10 >= 0) & (d_codes[np.maximum(ids10, 0)] == labels[:, None])
        scores["mrr_at_10"].append(reciprocal_rank_at_k(relevance10, 10))

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(parts) if parts else np.zeros(0)

    per_query_scores = {name: cat(parts) for name, parts in scores.items()}
    raw_query_labels = np.asarray(query_labels, dtype=object).ravel()
    vendor = raw_query_labels[evaluated]
    per_vendor: dict[Any, dict[str, float]] = {}
    pooled = macro_f1_at_x(cat(tps), cutoff[evaluated], n_relevant[evaluated], vendor)
    for c in _unique_in_order(vendor):
        sel = vendor == c
        entry: dict[str, float] = {
            "n_queries": int(sel.sum()),
            "n_relevant": float(n_relevant[evaluated][sel].mean()),
        }
        for name, values in per_query_scores.items():
            entry[name] = float(values[sel].mean())
        entry["f1_pooled"] = pooled[c]
        per_vendor[c] = entry

    def summarise(name: str) -> MetricSummary:
        values = per_query_scores[name]
        by_vendor = np.array([v[name] for v in per_vendor.values()])
        return MetricSummary(
            query_mean=_mean(values),
            query_std=_std(values),
            vendor_mean=_mean(by_vendor),
            vendor_std=_std(by_vendor),
        )

    f1_by_vendor = np.array(list(pooled.values()))
    zero_shot = np.flatnonzero(n_relevant <= 0)
    return RetrievalReport(
        n_queries=n_q,
        n_documents=n_d,
        n_evaluated=len(evaluated),
        n_zero_shot=len(zero_shot),
        n_vendors=len(per_vendor),
        n_zero_shot_vendors=len(set(raw_query_labels[zero_shot].tolist())),
        cutoff="R" if x is None else str(x),
        metrics={name: summarise(name) for name in METRICS},
        macro_f1_at_x=_mean(f1_by_vendor),
        macro_f1_at_x_std=_std(f1_by_vendor),
        per_query={
            "query": evaluated,
            "vendor": vendor,
            "n_relevant": n_relevant[evaluated],
            **per_query_scores,
        },
        per_vendor=per_vendor,
        zero_shot_queries=zero_shot,
    )


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else float("nan")


def _std(values: np.ndarray) -> float:
    return float(np.std(values)) if len(values) else float("nan")
