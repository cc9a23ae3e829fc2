"""Identifier communities and their union with match clusters.

Ads sharing a phone number or an email are one *identifier community* (the baseline an
analyst starts from, and the proxy labels of training). The final vendor clusters of
``vendorlink resolve`` join the match-function clusters with these communities: shared
identifiers are the strongest evidence there is, and the match function adds the links
they miss (ads without an identifier, vendors that rotate phones).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components as _cc

from vendorlink.resolve.clustering import ScoredPairs, connected_components, supported_components
from vendorlink.resolve.guard import GuardReport, GuardSettings, guarded_set_matrix
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.threshold import (
    HoldoutCurve,
    ThresholdChoice,
    choose_union_threshold,
    community_edges,
    identifier_holdout_curve,
)


def identifier_components(
    records: RecordTable,
    fields: Sequence[str],
    guard: GuardSettings | None = None,
    reports: list[GuardReport] | None = None,
) -> np.ndarray:
    """Component per record of the graph joining records that share a value of any of
    ``fields`` (list fields); ``-1`` for records with none of them.

    Values shared by implausibly many ads, names or cities join nothing
    (:mod:`vendorlink.resolve.guard`; ``guard`` defaults to :class:`GuardSettings`); the
    guard's report of each field is appended to ``reports`` when given."""
    mats = []
    for name in fields:
        if name in records.specs:
            mat, report = guarded_set_matrix(records, name, guard)
            mats.append(mat)
            if reports is not None:
                reports.append(report)
    if not mats:
        return np.full(len(records), -1, dtype=np.int64)
    mat = sparse.hstack(mats, format="coo")
    n, m = mat.shape
    graph = sparse.coo_matrix((np.ones(len(mat.row)), (mat.row, mat.col + n)), shape=(n + m, n + m))
    _, comp = _cc(graph, directed=False)
    has = np.zeros(n, dtype=bool)
    has[mat.row] = True
    out = np.full(n, -1, dtype=np.int64)
    _, out[has] = np.unique(comp[:n][has], return_inverse=True)
    return out


def singleton_labels(components: np.ndarray) -> np.ndarray:
    """Cluster labels from components: records with ``-1`` become their own cluster."""
    comp = np.asarray(components, dtype=np.int64)
    out = comp.copy()
    lone = comp < 0
    out[lone] = comp.max(initial=-1) + 1 + np.arange(int(lone.sum()))
    return out


def merge_labelings(*labelings: np.ndarray) -> np.ndarray:
    """Connected components of "same label in any labeling" (cluster ids by size)."""
    n = len(labelings[0])
    lefts, rights = [], []
    for lab in labelings:
        arr = np.asarray(lab)
        codes, _ = pd.factorize(pd.Series(arr if arr.dtype.kind in "iu" else arr.astype(object)))
        order = np.argsort(codes, kind="stable")
        same = codes[order][1:] == codes[order][:-1]
        lefts.append(order[:-1][same])
        rights.append(order[1:][same])
    return connected_components(n, np.concatenate(lefts), np.concatenate(rights))


def join_with_identifiers(
    scored: ScoredPairs,
    components: np.ndarray,
    threshold: float | None = None,
    *,
    hide_fraction: float = 0.3,
    seed: int = 0,
    min_support: int = 1,
    strong_margin: float = 0.5,
) -> tuple[np.ndarray, ThresholdChoice, HoldoutCurve | None]:
    """Final clusters: match edges at the link threshold joined with the identifier
    communities (``components``, ``-1`` = none). Without a given ``threshold`` the link
    threshold is chosen label-free by :func:`~vendorlink.resolve.threshold.
    identifier_holdout_curve` (returned, else ``None``). ``min_support`` > 1: weak match
    edges must support each join (:func:`~vendorlink.resolve.clustering.
    supported_components`), so one borderline pair cannot bridge two vendors."""
    curve = None
    if threshold is None:
        curve = identifier_holdout_curve(
            scored, components, hide_fraction=hide_fraction, seed=seed,
            min_support=min_support, strong_margin=strong_margin,
        )  # fmt: skip
        choice = choose_union_threshold(curve)
    else:
        choice = ThresholdChoice(float(threshold), "fixed", f"fixed link threshold {threshold}", 0)
    labels = link_with_identifiers(
        scored, components, choice.threshold, min_support=min_support, strong_margin=strong_margin
    )
    return labels, choice, curve


def link_with_identifiers(
    scored: ScoredPairs,
    components: np.ndarray,
    threshold: float,
    *,
    min_support: int = 1,
    strong_margin: float = 0.5,
) -> np.ndarray:
    """Clusters of the match edges at ``threshold`` joined with the identifier communities
    (``components``, ``-1`` = none), weak edges needing ``min_support`` per join."""
    cl, cr = community_edges(np.asarray(components, dtype=np.int64))
    return supported_components(
        scored.n_records, scored.left, scored.right, scored.scores, threshold,
        fixed_left=cl, fixed_right=cr, min_support=min_support, strong_margin=strong_margin,
    )  # fmt: skip
