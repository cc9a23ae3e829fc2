"""Training pairs for the match function: from proxy labels (shared phones) or true labels.

Proxy labels (Nagpal et al. §3): build the graph whose edges join records sharing a value
of the proxy field (phone numbers); each connected component is one proxy entity.

- Positives: pairs of records in one component. Components with more than
  ``max_pairs_per_component`` pairs contribute that many random pairs (the *pool*). Each
  pooled pair whose unigram Jaccard of the text is at least ``near_duplicate_jaccard`` is
  kept with probability ``near_duplicate_keep`` (every other pair is kept), then
  ``n_positive`` pairs are drawn uniformly from the kept ones. This is the sampling bias
  against near-duplicates of §3.2: reposted copies of one ad would otherwise dominate the
  positives and teach the model only "identical text => match". (The paper's exact
  formula is lost in our copy of the text; this rejection scheme is our reading of it.)
- Negatives: candidate pairs (from blocking) whose records are in different components;
  optionally a ``random_negative_fraction`` of random cross-component pairs. Records
  without a proxy value have no label and are never used.

The proxy field itself is never a feature: the settings refuse a comparison on it, and
:func:`check_no_proxy_feature` guards the feature names.

True labels (structured benchmarks): :func:`labelled_pairs` samples positives and
negatives among candidate pairs by the record table's labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vendorlink.errors import InputError
from vendorlink.resolve.blocking import CandidatePairs, label_codes
from vendorlink.resolve.features import row_intersections
from vendorlink.resolve.guard import GuardReport, GuardSettings, guarded_set_matrix
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import TrainingSettings

HIST_BINS = np.linspace(0.0, 1.0, 21)


@dataclass
class SamplingReport:
    """Jaccard-of-unigrams histograms of the positive pool and of the sampled positives."""

    bins: list[float]
    pool_counts: list[int]
    sampled_counts: list[int]
    n_pool: int
    n_sampled: int
    near_duplicate_jaccard: float
    near_duplicate_share_pool: float
    near_duplicate_share_sampled: float
    n_components: int = 0
    n_labelled_records: int = 0
    n_negative_candidates: int = 0
    identifier_guard: dict[str, Any] | None = None  # proxy values left out (guard report)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class TrainingPairs:
    """Labelled pairs: ``y`` = 1 for a match; ``groups`` keeps an entity's pairs together."""

    left: np.ndarray
    right: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    jaccard: np.ndarray | None = None
    report: SamplingReport | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.left)

    def split(self, test_fraction: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Boolean train / test masks, splitting by group (no entity on both sides)."""
        rng = np.random.default_rng(seed)
        uniq = np.unique(self.groups)
        test_groups = rng.choice(uniq, size=round(test_fraction * len(uniq)), replace=False)
        test = np.isin(self.groups, test_groups)
        return ~test, test


def proxy_components(
    records: RecordTable, proxy_field: str, guard: GuardSettings | None = None
) -> np.ndarray:
    """Proxy entity per record: its component in the shared-value graph (-1 if no value).

    Values shared by implausibly many ads, names or cities link nothing
    (:mod:`vendorlink.resolve.guard`; ``guard`` defaults to :class:`GuardSettings`)."""
    return guarded_proxy_components(records, proxy_field, guard)[0]


def guarded_proxy_components(
    records: RecordTable, proxy_field: str, guard: GuardSettings | None = None
) -> tuple[np.ndarray, GuardReport]:
    """:func:`proxy_components` and the guard's report of the values it left out."""
    if records.kind(proxy_field) not in ("string_list", "hash_list"):
        raise InputError(f"proxy field {proxy_field!r} must be a list field")
    csr, report = guarded_set_matrix(records, proxy_field, guard)  # records x values
    mat = csr.tocoo()
    n, m = mat.shape
    graph = coo_matrix((np.ones(len(mat.row)), (mat.row, mat.col + n)), shape=(n + m, n + m))
    _, comp = connected_components(graph, directed=False)
    has = np.diff(csr.indptr) > 0
    out = np.where(has, comp[:n], -1).astype(np.int64)
    # renumber 0..k-1 for tidiness
    _, out[has] = np.unique(out[has], return_inverse=True)
    return out, report


def unigram_jaccard(
    records: RecordTable, text_field: str, left: np.ndarray, right: np.ndarray
) -> np.ndarray:
    """Jaccard similarity of the sets of word unigrams of two records' text (NaN: no text)."""
    mat = records.set_matrix(text_field, 1)
    inter = row_intersections(mat, left, right)
    sizes = np.diff(mat.indptr)
    union = sizes[left] + sizes[right] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def _positive_pool(
    comp: np.ndarray, max_pairs: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(comp, kind="stable")
    order = order[comp[order] >= 0]
    bounds = np.flatnonzero(np.diff(comp[order])) + 1
    lefts, rights = [], []
    for members in np.split(order, bounds):
        k = len(members)
        if k < 2:
            continue
        n_pairs = k * (k - 1) // 2
        if n_pairs <= max_pairs:
            i, j = np.triu_indices(k, 1)
        else:  # random distinct pairs without enumerating the component
            i = rng.integers(0, k, size=2 * max_pairs)
            j = rng.integers(0, k, size=2 * max_pairs)
            keep = i != j
            i, j = np.minimum(i[keep], j[keep]), np.maximum(i[keep], j[keep])
            uniq = np.unique(i * k + j)[:max_pairs]
            rng.shuffle(uniq)
            i, j = uniq // k, uniq % k
        a, b = members[i], members[j]
        lefts.append(np.minimum(a, b))
        rights.append(np.maximum(a, b))
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(lefts), np.concatenate(rights)


def proxy_pairs(
    records: RecordTable,
    candidates: CandidatePairs,
    settings: TrainingSettings,
    *,
    seed: int = 0,
) -> TrainingPairs:
    """Positives from proxy components (biased against near-duplicates), negatives in blocks."""
    if not settings.proxy_field:
        raise InputError("proxy_pairs needs training.proxy_field")
    rng = np.random.default_rng(seed)
    guard = GuardSettings.from_training(settings)
    comp, guard_report = guarded_proxy_components(records, settings.proxy_field, guard)
    pool_l, pool_r = _positive_pool(comp, settings.max_pairs_per_component, rng)
    if len(pool_l) == 0:
        raise InputError(
            f"no two records share a value of {settings.proxy_field!r}: no positive pairs"
        )
    if settings.text_field:
        jac = unigram_jaccard(records, settings.text_field, pool_l, pool_r)
    else:
        jac = np.full(len(pool_l), np.nan)
    near = np.nan_to_num(jac, nan=0.0) >= settings.near_duplicate_jaccard
    keep = ~near | (rng.random(len(pool_l)) < settings.near_duplicate_keep)
    kept = np.flatnonzero(keep)
    take = rng.choice(kept, size=min(settings.n_positive, len(kept)), replace=False)
    pos_l, pos_r, pos_j = pool_l[take], pool_r[take], jac[take]

    # negatives: candidate pairs across two labelled components
    cl, cr = comp[candidates.left], comp[candidates.right]
    neg_idx = np.flatnonzero((cl >= 0) & (cr >= 0) & (cl != cr))
    n_random = round(settings.random_negative_fraction * settings.n_negative)
    n_block = min(settings.n_negative - n_random, len(neg_idx))
    pick = rng.choice(neg_idx, size=n_block, replace=False)
    neg_l, neg_r = candidates.left[pick], candidates.right[pick]
    n_random = settings.n_negative - n_block  # random pairs top up short blocks
    if n_random > 0:
        rl, rr = _random_cross_pairs(comp, n_random, rng)
        neg_l, neg_r = np.concatenate([neg_l, rl]), np.concatenate([neg_r, rr])
    neg_j = (
        unigram_jaccard(records, settings.text_field, neg_l, neg_r)
        if settings.text_field
        else np.full(len(neg_l), np.nan)
    )
    pool_counts, _ = np.histogram(np.nan_to_num(jac), bins=HIST_BINS)
    samp_counts, _ = np.histogram(np.nan_to_num(pos_j), bins=HIST_BINS)
    t = settings.near_duplicate_jaccard
    report = SamplingReport(
        bins=HIST_BINS.tolist(),
        pool_counts=pool_counts.tolist(),
        sampled_counts=samp_counts.tolist(),
        n_pool=len(pool_l),
        n_sampled=len(pos_l),
        near_duplicate_jaccard=t,
        near_duplicate_share_pool=float(near.mean()),
        near_duplicate_share_sampled=float((np.nan_to_num(pos_j) >= t).mean())
        if len(pos_j)
        else 0.0,
        n_components=int(comp.max() + 1) if (comp >= 0).any() else 0,
        n_labelled_records=int((comp >= 0).sum()),
        n_negative_candidates=len(neg_idx),
        identifier_guard=guard_report.to_dict(),
    )
    left = np.concatenate([pos_l, neg_l]).astype(np.int64)
    right = np.concatenate([pos_r, neg_r]).astype(np.int64)
    return TrainingPairs(
        left=left,
        right=right,
        y=np.concatenate([np.ones(len(pos_l), np.int8), np.zeros(len(neg_l), np.int8)]),
        groups=comp[left],
        jaccard=np.concatenate([pos_j, neg_j]),
        report=report,
        meta={"proxy_field": settings.proxy_field, "source": "proxy"},
    )


def _random_cross_pairs(
    comp: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    labelled = np.flatnonzero(comp >= 0)
    a = rng.choice(labelled, size=2 * n)
    b = rng.choice(labelled, size=2 * n)
    ok = comp[a] != comp[b]
    a, b = a[ok][:n], b[ok][:n]
    return np.minimum(a, b), np.maximum(a, b)


def labelled_pairs(
    records: RecordTable,
    candidates: CandidatePairs,
    *,
    n_positive: int,
    n_negative: int,
    restrict_to: np.ndarray | None = None,
    seed: int = 0,
) -> TrainingPairs:
    """Pairs among candidates labelled by the records' true labels.

    ``restrict_to`` (boolean mask over records) keeps only pairs whose two records are in
    it, e.g. the records of a training share of the entities.
    """
    codes = label_codes(records)
    if codes is None:
        raise InputError("labelled_pairs needs records with labels (settings.label_column)")
    rng = np.random.default_rng(seed)
    cl, cr = codes[candidates.left], codes[candidates.right]
    ok = (cl >= 0) & (cr >= 0)
    if restrict_to is not None:
        ok &= restrict_to[candidates.left] & restrict_to[candidates.right]
    pos = np.flatnonzero(ok & (cl == cr))
    neg = np.flatnonzero(ok & (cl != cr))
    if len(pos) == 0 or len(neg) == 0:
        raise InputError(
            f"labelled candidates give {len(pos)} positive and {len(neg)} negative pairs; "
            "both are needed"
        )
    pos = rng.choice(pos, size=min(n_positive, len(pos)), replace=False)
    neg = rng.choice(neg, size=min(n_negative, len(neg)), replace=False)
    idx = np.concatenate([pos, neg])
    return TrainingPairs(
        left=candidates.left[idx],
        right=candidates.right[idx],
        y=np.concatenate([np.ones(len(pos), np.int8), np.zeros(len(neg), np.int8)]),
        groups=codes[candidates.left[idx]],
        meta={"source": "labels"},
    )


def check_no_proxy_feature(feature_names: Sequence[str], proxy_field: str | None) -> None:
    """Raise if any feature is computed from the proxy field."""
    if not proxy_field:
        return
    bad = [f for f in feature_names if f.split(":", 1)[-1].split("/")[0] == proxy_field]
    if bad:
        raise InputError(
            f"features {bad} use the proxy field {proxy_field!r}; the proxy labels the "
            "training pairs and must not be an input of the match function"
        )
