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

from vendorlink.resolve.clustering import ScoredPairs, connected_components
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.threshold import (
    HoldoutCurve,
    ThresholdChoice,
    choose_union_threshold,
    community_edges,
    identifier_holdout_curve,
)


def identifier_components(records: RecordTable, fields: Sequence[str]) -> np.ndarray:
    """Component per record of the graph joining records that share a value of any of
    ``fields`` (list fields); ``-1`` for records with none of them."""
    mats = [records.set_matrix(f) for f in fields if f in records.specs]
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
) -> tuple[np.ndarray, ThresholdChoice, HoldoutCurve | None]:
    """Final clusters: match edges at the link threshold joined with the identifier
    communities (``components``, ``-1`` = none). Without a given ``threshold`` the link
    threshold is chosen label-free by :func:`~vendorlink.resolve.threshold.
    identifier_holdout_curve` (returned, else ``None``)."""
    curve = None
    if threshold is None:
        curve = identifier_holdout_curve(scored, components, hide_fraction=hide_fraction, seed=seed)
        choice = choose_union_threshold(curve)
    else:
        choice = ThresholdChoice(float(threshold), "fixed", f"fixed link threshold {threshold}", 0)
    left, right, _ = scored.edges(choice.threshold)
    cl, cr = community_edges(components)
    labels = connected_components(
        scored.n_records, np.concatenate([left, cl]), np.concatenate([right, cr])
    )
    return labels, choice, curve
