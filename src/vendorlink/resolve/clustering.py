"""Clusters from scored pairs: connected components, or correlation clustering.

Scored pairs are kept (:class:`ScoredPairs`), so clusters for another threshold or method
need no re-scoring. Edges are the pairs scoring at least the threshold.

- ``connected_components`` (Nagpal et al.): every chain of edges joins one cluster, so a
  few false edges can merge many entities (the "snowball effect").
- :func:`supported_components`: connected components in which one weak edge cannot bridge
  two groups of records (used where match edges join the identifier communities).
- ``correlation``: correlation clustering, which resists chaining. It maximises the sum,
  over pairs of records in one cluster, of w_ij = s_ij - t for a scored pair (negative
  below the threshold) and w_ij = -γ t for a pair never scored (blocking did not propose
  it; γ = ``unscored_penalty`` in [0, 1], 1 treating it as a score of 0). It starts from
  KwikCluster (a random pivot takes its unclustered neighbours at or above the threshold;
  Ailon et al. 2008), then makes ``n_passes`` rounds of local moves: each record moves to
  the neighbouring cluster, or a new singleton, with the largest gain Σ_{j in c} w_vj. A
  bridge between two dense groups no longer merges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as _scipy_components

from vendorlink.errors import InputError


def _renumber_by_size(labels: np.ndarray) -> np.ndarray:
    """Cluster ids 0..k-1 by decreasing size (ties: smallest member first), deterministic."""
    _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
    first = np.full(len(counts), len(labels), dtype=np.int64)
    np.minimum.at(first, inv, np.arange(len(labels)))
    order = np.lexsort((first, -counts))
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inv].astype(np.int64)


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component label per record of the graph with edges ``(left[i], right[i])``."""
    graph = coo_matrix((np.ones(len(left), np.int8), (left, right)), shape=(n, n))
    _, labels = _scipy_components(graph, directed=False)
    return _renumber_by_size(labels)


def correlation_clustering(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    *,
    unscored_penalty: float = 0.5,
    n_passes: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Cluster label per record by pivot + local-move correlation clustering (module doc).

    ``left``, ``right``, ``scores`` are all scored pairs (below the threshold too).
    """
    rng = np.random.default_rng(seed)
    t = float(threshold)
    penalty = unscored_penalty * t
    adj: list[dict[int, float]] = [{} for _ in range(n)]
    for a, b, s in zip(left.tolist(), right.tolist(), scores.tolist(), strict=True):
        if a != b:
            adj[a][b] = s
            adj[b][a] = s
    label = np.full(n, -1, dtype=np.int64)
    next_id = 0
    for v in rng.permutation(n).tolist():  # KwikCluster on the edges at the threshold
        if label[v] >= 0:
            continue
        label[v] = next_id
        for u, s in adj[v].items():
            if s >= t and label[u] < 0:
                label[u] = next_id
        next_id += 1
    sizes = np.bincount(label, minlength=n).astype(np.int64)
    free = [c for c in range(len(sizes)) if sizes[c] == 0]
    for _ in range(n_passes):
        moved = 0
        for v in rng.permutation(n).tolist():
            nbrs = adj[v]
            if not nbrs:
                continue
            gain: dict[int, float] = {}
            for u, s in nbrs.items():
                c = int(label[u])
                gain[c] = gain.get(c, 0.0) + (s - t + penalty)
            own = int(label[v])
            best_c = own
            best = gain.get(own, 0.0) - penalty * (sizes[own] - 1)
            for c, g in gain.items():
                if c != own:
                    val = g - penalty * sizes[c]
                    if val > best + 1e-12:
                        best, best_c = val, c
            if best < -1e-12:  # alone is better than anywhere
                best_c = free.pop()
            if best_c != own:
                sizes[own] -= 1
                sizes[best_c] += 1
                if sizes[own] == 0:
                    free.append(own)
                label[v] = best_c
                moved += 1
        if moved == 0:
            break
    return _renumber_by_size(label)


def supported_components(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    scores: np.ndarray,
    threshold: float,
    *,
    fixed_left: np.ndarray | None = None,
    fixed_right: np.ndarray | None = None,
    min_support: int = 2,
    strong_margin: float = 0.5,
) -> np.ndarray:
    """Connected components that a single weak edge cannot bridge.

    *Cores* are the components of the strong edges (score at least ``threshold +
    strong_margin * (1 - threshold)``) and of the ``fixed`` edges (e.g. shared
    identifiers). Weak edges (at the threshold, below strong) then join two cores only when
    at least ``min_support`` of them run between the two, or when one core is a single
    record. One borderline pair between two large vendors thus no longer merges them (the
    chaining that costs connected components most of their pairwise precision), while a
    record with one good match still joins. ``min_support=1`` is plain connected components
    of all edges at the threshold.
    """
    t = float(threshold)
    fl = np.zeros(0, np.int64) if fixed_left is None else np.asarray(fixed_left, np.int64)
    fr = np.zeros(0, np.int64) if fixed_right is None else np.asarray(fixed_right, np.int64)
    edge = scores >= t
    if min_support <= 1:
        return connected_components(
            n, np.concatenate([left[edge], fl]), np.concatenate([right[edge], fr])
        )
    strong = scores >= t + strong_margin * (1.0 - t)
    core = connected_components(
        n, np.concatenate([left[strong], fl]), np.concatenate([right[strong], fr])
    )
    weak = edge & ~strong
    a, b = core[left[weak]], core[right[weak]]
    cross = a != b
    a, b = np.minimum(a[cross], b[cross]), np.maximum(a[cross], b[cross])
    n_cores = int(core.max()) + 1 if n else 0
    pair, support = np.unique(a * np.int64(n_cores) + b, return_counts=True)
    ca, cb = pair // n_cores, pair % n_cores
    size = np.bincount(core, minlength=n_cores)
    join = (support >= min_support) | (np.minimum(size[ca], size[cb]) == 1)
    merged = connected_components(n_cores, ca[join], cb[join])
    return _renumber_by_size(merged[core])


def component_pairs(
    n: int, left: np.ndarray, right: np.ndarray, max_size: int = 300
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair inside each connected component of 3..``max_size`` records.

    Used to complete the evidence before correlation clustering: a pair that blocking
    never proposed is scored rather than guessed. Pairs come back with ``left < right``.
    """
    labels = connected_components(n, left, right)
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    lefts, rights = [], []
    for members in np.split(order, bounds):
        k = len(members)
        if 3 <= k <= max_size:
            i, j = np.triu_indices(k, 1)
            a, b = members[i], members[j]
            lefts.append(np.minimum(a, b))
            rights.append(np.maximum(a, b))
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(lefts).astype(np.int64), np.concatenate(rights).astype(np.int64)


@dataclass
class Clusters:
    """A cluster label per record (0 = largest cluster), with the threshold and method used."""

    labels: np.ndarray
    ids: np.ndarray
    threshold: float
    method: str

    @property
    def sizes(self) -> np.ndarray:
        return np.bincount(self.labels)

    @property
    def n_clusters(self) -> int:
        return int(self.labels.max(initial=-1)) + 1

    @property
    def largest(self) -> int:
        return int(self.sizes.max(initial=0))

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "record_id": self.ids,
                "cluster": self.labels,
                "cluster_size": self.sizes[self.labels],
            }
        )

    def size_distribution(self) -> pd.DataFrame:
        sizes = pd.Series(self.sizes)
        return sizes.value_counts().sort_index().rename_axis("size").reset_index(name="n_clusters")


@dataclass
class ScoredPairs:
    """Candidate pairs with their match probabilities, kept for re-clustering."""

    left: np.ndarray
    right: np.ndarray
    scores: np.ndarray
    ids: np.ndarray  # record id per position

    @property
    def n_records(self) -> int:
        return len(self.ids)

    def __len__(self) -> int:
        return len(self.left)

    def edges(self, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        keep = self.scores >= threshold
        return self.left[keep], self.right[keep], self.scores[keep]

    def clusters(
        self,
        threshold: float,
        method: str = "connected_components",
        *,
        n_passes: int = 5,
        unscored_penalty: float = 0.5,
        seed: int = 0,
    ) -> Clusters:
        """Clusters at ``threshold`` by ``method`` (no re-scoring)."""
        if method == "connected_components":
            left, right, _ = self.edges(threshold)
            labels = connected_components(self.n_records, left, right)
        elif method == "correlation":
            labels = correlation_clustering(
                self.n_records, self.left, self.right, self.scores, threshold,
                unscored_penalty=unscored_penalty, n_passes=n_passes, seed=seed,
            )  # fmt: skip
        else:
            raise InputError(f"clustering method {method!r} is not known")
        return Clusters(labels=labels, ids=self.ids, threshold=threshold, method=method)

    def missing_component_pairs(
        self, threshold: float, max_size: int = 300
    ) -> tuple[np.ndarray, np.ndarray]:
        """Pairs inside components (at ``threshold``, up to ``max_size``) not yet scored."""
        left, right, _ = self.edges(threshold)
        a, b = component_pairs(self.n_records, left, right, max_size)
        n = np.int64(self.n_records)
        known = self.left.astype(np.int64) * n + self.right.astype(np.int64)
        new = ~np.isin(a * n + b, known)
        return a[new], b[new]

    def extend(self, left: np.ndarray, right: np.ndarray, scores: np.ndarray) -> ScoredPairs:
        """These pairs plus more scored pairs (``left < right``, not already present)."""
        return ScoredPairs(
            np.concatenate([self.left, left]).astype(np.int64),
            np.concatenate([self.right, right]).astype(np.int64),
            np.concatenate([self.scores, scores]).astype(np.float32),
            self.ids,
        )

    def subset(self, rows: np.ndarray) -> ScoredPairs:
        """The pairs among records ``rows`` only, renumbered to 0..len(rows)-1."""
        rows = np.asarray(rows)
        pos = np.full(self.n_records, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        a, b = pos[self.left], pos[self.right]
        keep = (a >= 0) & (b >= 0)
        return ScoredPairs(a[keep], b[keep], self.scores[keep], self.ids[rows])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "record_id_l": self.ids[self.left],
                "record_id_r": self.ids[self.right],
                "score": self.scores,
            }
        )

    def save(self, path: str | Path) -> None:
        """Write ``l, r, score`` and the record ids to one Parquet file (atomically)."""
        path = Path(path)
        table = pa.table({"l": self.left, "r": self.right, "score": self.scores})
        table = table.replace_schema_metadata({"n_records": str(self.n_records)})
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)
        ids_path = path.with_suffix(".ids.parquet")
        tmp = ids_path.with_name(f".{ids_path.name}.tmp")
        pq.write_table(pa.table({"record_id": self.ids.astype(str).tolist()}), tmp)
        tmp.replace(ids_path)

    @classmethod
    def load(cls, path: str | Path) -> ScoredPairs:
        path = Path(path)
        table = pq.read_table(path)
        ids = pq.read_table(path.with_suffix(".ids.parquet")).column("record_id").to_pylist()
        return cls(
            left=table.column("l").to_numpy(),
            right=table.column("r").to_numpy(),
            scores=table.column("score").to_numpy(),
            ids=np.array(ids, dtype=object),
        )


def one_to_one(left: np.ndarray, right: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Greedy one-to-one matching: a mask keeping, in descending score order, each edge
    whose two records are both still unmatched (ties: the earlier edge).

    For linking two sources that each hold an entity at most once (two restaurant guides,
    two registers), a record links to at most one record of the other source.
    """
    order = np.lexsort((np.arange(len(scores)), -np.asarray(scores, dtype=np.float64)))
    used: set[int] = set()
    keep = np.zeros(len(scores), dtype=bool)
    for i in order.tolist():
        a, b = int(left[i]), int(right[i])
        if a not in used and b not in used:
            keep[i] = True
            used.update((a, b))
    return keep
