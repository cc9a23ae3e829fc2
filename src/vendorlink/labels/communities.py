"""Vendor labels: communities of ads that share an identifier, as the MATCHED paper built them.

Nodes are ads and identifiers (phone numbers, emails; optionally social handles);
an edge joins an ad to each identifier extracted from it. Each connected component
is one vendor community, and every ad in it gets that community's label. Ads with
no identifier get no label (they are counted, not hidden).

A *giant* community is one with at least ``max(giant_min_ads, giant_fraction * labelled
ads)`` ads: chains of shared numbers (a booker's phone, a reused number) can merge
many vendors into one, and such communities deserve a look before they are used as
ground truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

IDENTIFIER_FIELDS = ("phones", "emails", "social_handles")
DEFAULT_IDENTIFIERS = ("phones", "emails")
SIZE_BUCKETS: tuple[tuple[int, int | None], ...] = (
    (1, 1), (2, 4), (5, 9), (10, 24), (25, 99), (100, 499), (500, None),
)  # fmt: skip


@dataclass
class Communities:
    """Communities found among ads: a label per labelled ad and one row per community."""

    labels: dict[str, str]  # ad_id -> community label
    sizes: dict[str, int]  # community label -> number of ads
    identifiers: dict[str, list[str]]  # community label -> identifiers in it
    giant: set[str]
    n_ads: int  # ads considered (labelled + unlabelled)
    giant_threshold: int
    stats: dict[str, Any] = field(default_factory=dict)


def identifier_communities(
    ad_ids: Sequence[str],
    identifiers: Sequence[Sequence[str]],
    *,
    giant_min_ads: int = 50,
    giant_fraction: float = 0.01,
    prefix: str = "comm",
) -> Communities:
    """Group ads into connected components of the ad–identifier graph.

    ``identifiers[i]`` lists the identifiers of ``ad_ids[i]`` (already normalised, e.g.
    E.164 phones and lower-case emails). Labels are ``{prefix}-NNNNNN``, numbered by
    decreasing size, ties broken by the smallest identifier, so the same input always
    gives the same labels.
    """
    n_ads = len(ad_ids)
    ident_index: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    for i, idents in enumerate(identifiers):
        for ident in idents:
            j = ident_index.setdefault(ident, len(ident_index))
            rows.append(i)
            cols.append(n_ads + j)
    n_nodes = n_ads + len(ident_index)
    graph = coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (np.array(rows, int), np.array(cols, int))),
        shape=(n_nodes, n_nodes),
    )
    _, component = connected_components(graph, directed=False)
    ident_names = np.empty(len(ident_index), dtype=object)
    for ident, j in ident_index.items():
        ident_names[j] = ident

    members: dict[int, list[int]] = {}
    labelled = np.zeros(n_ads, dtype=bool)
    for i in range(n_ads):
        if identifiers[i]:
            labelled[i] = True
            members.setdefault(int(component[i]), []).append(i)
    comp_idents: dict[int, list[str]] = {c: [] for c in members}
    for j in range(len(ident_index)):
        comp_idents[int(component[n_ads + j])].append(str(ident_names[j]))
    order = sorted(members, key=lambda c: (-len(members[c]), min(comp_idents[c])))
    n_labelled = int(labelled.sum())
    threshold = max(giant_min_ads, int(np.ceil(giant_fraction * n_labelled)))

    labels: dict[str, str] = {}
    sizes: dict[str, int] = {}
    idents_out: dict[str, list[str]] = {}
    giant: set[str] = set()
    width = max(6, len(str(len(order))))
    for rank, comp in enumerate(order, start=1):
        name = f"{prefix}-{rank:0{width}d}"
        for i in members[comp]:
            labels[ad_ids[i]] = name
        sizes[name] = len(members[comp])
        idents_out[name] = sorted(comp_idents[comp])
        if sizes[name] >= threshold:
            giant.add(name)
    result = Communities(labels, sizes, idents_out, giant, n_ads, threshold)
    result.stats = community_stats(result)
    return result


def community_stats(communities: Communities) -> dict[str, Any]:
    """Number and size distribution of communities, and the giant ones."""
    sizes = np.array(sorted(communities.sizes.values()), dtype=float)
    n_labelled = int(sizes.sum()) if sizes.size else 0
    buckets = {}
    for low, high in SIZE_BUCKETS:
        key = f"{low}+" if high is None else (str(low) if low == high else f"{low}-{high}")
        mask = sizes >= low if high is None else (sizes >= low) & (sizes <= high)
        buckets[key] = int(mask.sum())
    described = {}
    if sizes.size:
        described = {
            "min": int(sizes.min()),
            "median": float(np.median(sizes)),
            "mean": round(float(sizes.mean()), 3),
            "p90": float(np.percentile(sizes, 90)),
            "p99": float(np.percentile(sizes, 99)),
            "max": int(sizes.max()),
        }
    giant = sorted(communities.giant, key=lambda c: -communities.sizes[c])
    return {
        "n_ads": communities.n_ads,
        "n_labelled": n_labelled,
        "n_unlabelled": communities.n_ads - n_labelled,
        "n_communities": len(communities.sizes),
        "size": described,
        "size_histogram": buckets,
        "giant_threshold": communities.giant_threshold,
        "giant": [
            {
                "vendor": c,
                "n_ads": communities.sizes[c],
                "n_identifiers": len(communities.identifiers[c]),
                "share_of_labelled": round(communities.sizes[c] / max(n_labelled, 1), 4),
            }
            for c in giant
        ],
    }


def communities_table(communities: Communities, label_source: str, run_id: str) -> pa.Table:
    names = list(communities.sizes)
    return pa.table(
        {
            "label_source": [label_source] * len(names),
            "vendor": names,
            "n_ads": [communities.sizes[n] for n in names],
            "n_identifiers": [len(communities.identifiers[n]) for n in names],
            "identifiers": [communities.identifiers[n] for n in names],
            "is_giant": [n in communities.giant for n in names],
            "run_id": [run_id] * len(names),
        }
    )
