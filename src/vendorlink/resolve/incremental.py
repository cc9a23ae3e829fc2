"""Incremental linking: match new ads to the existing vendor clusters, without resolving all.

After ``vendorlink resolve`` the workspace holds the clusters (``resolve_clusters``) and the
fitted resolver (``artefacts/resolve/model``: settings and match function; the link
threshold in ``summary.json``). New ads that were ingested and extracted since are linked
one batch at a time:

1. candidates: existing ads sharing a phone or email with the new ad (direct identifier
   link), a word unigram or bigram held by at most ``max_df`` existing ads (the rarest
   ``max_tokens`` of the new ad; the most recent ``per_token`` holders of each), a name,
   or an image hash within ``max_hamming`` bits; of these, the ``max_candidates`` that
   share the most such evidence with the new ad (every direct identifier link is kept),
   and the ads linked since the linker was loaded;
2. the match function scores each (new ad, candidate) pair, the features computed on a
   small record table of the new ads and their candidates only;
3. each cluster's score is its best pair score; the ad joins the best cluster when that
   score reaches the link threshold, or the cluster of a shared identifier (score 1.0).

:class:`IncrementalLinker` loads the existing records and indexes once (a few seconds on
MATCHED scale) and then links a batch in well under a second; :func:`link_new_ads` keeps
one linker per workspace and resolve run, so repeated calls (an HTTP endpoint) pay the
load once. With ``write=True`` the assignments are added to ``resolve_clusters`` (a new
cluster id for an ad that joins none) and to the cached linker, so later calls neither
reload it nor miss the ads just written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vendorlink.data.store import insert_arrow
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError, StageOrderError
from vendorlink.resolve.embeddings import add_cached_embeddings
from vendorlink.resolve.pipeline import Resolver
from vendorlink.resolve.records import ADS_SQL, RecordTable

MODEL_DIR = "model"
# the ads query of resolve, on the given ads only (first parameter: their ids)
_NEW_ADS_SQL = ADS_SQL.replace(
    "FROM ads a", "FROM (SELECT * FROM ads WHERE list_contains(?, ad_id)) a", 1
)
IDENTIFIER_FIELDS = ("phones", "emails")
# ads written since the linker was loaded are compared with every new ad; past this many
# the linker is rebuilt from the workspace instead (they then get indexed like the rest)
MAX_RECENT = 1000


@dataclass
class CandidateCluster:
    """One existing cluster a new ad may belong to, with its best pair score."""

    cluster: int
    score: float
    best_ad: str
    n_pairs: int


@dataclass
class Assignment:
    """Where one new ad goes: ``cluster`` (``None``: no existing cluster) and why."""

    ad_id: str
    cluster: int | None
    score: float
    via: str  # "identifier", "match" or "none"
    candidates: list[CandidateCluster] = field(default_factory=list)
    n_candidates: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class IncrementalLinker:
    """The existing records, clusters, match function and candidate indexes of a workspace."""

    def __init__(
        self,
        resolver: Resolver,
        records: RecordTable,
        clusters: np.ndarray,
        threshold: float,
        run_id: str,
        *,
        max_df: int = 200,
        max_tokens: int = 20,
        per_token: int = 50,
        max_hamming: int = 6,
        max_candidates: int = 300,
    ) -> None:
        if resolver.match_function is None:
            raise InputError("the resolver has no match function")
        self.resolver = resolver
        self.records = records
        self.clusters = np.asarray(clusters, dtype=np.int64)
        self.threshold = float(threshold)
        self.run_id = run_id
        self.max_df, self.max_tokens, self.per_token = max_df, max_tokens, per_token
        self.max_hamming = max_hamming
        self.max_candidates = max_candidates
        self.position = {a: i for i, a in enumerate(records.ids.tolist())}
        # ads linked (and written) since loading: always candidates, found by brute force
        self.recent: RecordTable | None = None
        self.recent_clusters = np.zeros(0, dtype=np.int64)
        self._values: dict[str, dict[str, np.ndarray]] = {}
        for name, spec in records.specs.items():
            if spec.kind == "string_list":
                self._values[name] = _inverted(records.values[name])
        self._text = [n for n, s in records.specs.items() if s.kind == "text"]
        self._csc = {
            (n, k): records.text_index(n).ngram_matrix(k).tocsc() for n in self._text
            for k in (1, 2)
        }  # fmt: skip
        self._hash_fields = [n for n, s in records.specs.items() if s.kind == "hash_list"]
        self._hashes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for name in self._hash_fields:
            lists = records.values[name]
            owner = np.repeat(np.arange(len(lists)), [len(h) for h in lists])
            flat = np.concatenate(lists) if lists else np.zeros(0, np.uint64)
            self._hashes[name] = (flat.astype(np.uint64), owner.astype(np.int64))

    # ---- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, workspace: Workspace, **options: Any) -> IncrementalLinker:
        """The linker of ``workspace``'s latest resolve run (read-only)."""
        folder = workspace.artefacts / "resolve"
        if not (folder / MODEL_DIR / "settings.yaml").exists():
            raise StageOrderError(
                f"{folder / MODEL_DIR} holds no fitted resolver; run `vendorlink resolve` first"
            )
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        resolver = Resolver.load(folder / MODEL_DIR)
        with workspace.connect(read_only=True) as con:
            frame = con.execute(
                f"SELECT * FROM ({ADS_SQL}) WHERE ad_id IN (SELECT ad_id FROM resolve_clusters)",
                [""],
            ).df()
            assigned = con.execute("SELECT ad_id, cluster FROM resolve_clusters").df()
            emb = _embedding_fields(resolver)
            if emb:
                add_cached_embeddings(workspace, con, frame, only=emb)
        if frame.empty:
            raise StageOrderError("no resolve clusters in this workspace; run `vendorlink resolve`")
        records = resolver.records(frame)
        cluster_of = dict(zip(assigned["ad_id"], assigned["cluster"], strict=True))
        clusters = np.array([cluster_of[a] for a in records.ids.tolist()], dtype=np.int64)
        return cls(
            resolver, records, clusters, float(summary["threshold"]),
            str(summary.get("run_id", "")), **options,
        )  # fmt: skip

    # ---- linking --------------------------------------------------------------------------
    def candidates(self, new: RecordTable, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Existing records that may match new record ``i``; and those sharing an
        identifier with it (a subset)."""
        found: list[np.ndarray] = []
        direct: list[np.ndarray] = []
        for name, inverted in self._values.items():
            hits = [inverted[v] for v in new.values[name][i] if v in inverted]
            if hits:
                rows = np.concatenate(hits)
                (direct if name in IDENTIFIER_FIELDS else found).append(rows[: self.max_df])
        for name in self._text:
            index = self.records.text_index(name)
            text = new.values[name][i]
            for k in (1, 2):
                csc = self._csc[(name, k)]
                cols = index.columns(text, k)
                if len(cols) == 0:
                    continue
                df = np.diff(csc.indptr)[cols]
                cols = cols[(df > 0) & (df <= self.max_df)]
                cols = cols[np.argsort(np.diff(csc.indptr)[cols], kind="stable")][: self.max_tokens]
                for c in cols:
                    found.append(csc.indices[csc.indptr[c] : csc.indptr[c + 1]][-self.per_token :])
        for name, (flat, owner) in self._hashes.items():
            mine = new.values[name][i]
            if len(mine) and len(flat):
                dist = np.bitwise_count(flat[:, None] ^ mine[None, :].astype(np.uint64))
                found.append(owner[(dist <= self.max_hamming).any(axis=1)])
        direct_rows = np.unique(np.concatenate(direct)) if direct else np.zeros(0, np.int64)
        rows = direct_rows
        if found:
            # the existing ads sharing the most rare words, names or images come first
            held, evidence = np.unique(np.concatenate(found), return_counts=True)
            if len(held) > self.max_candidates:
                held = held[np.argsort(-evidence, kind="stable")[: self.max_candidates]]
            rows = np.union1d(held, direct_rows)
        n_old = len(self.records)
        if self.recent is not None:  # recently linked ads: positions after the existing ones
            rows = np.union1d(rows, n_old + np.arange(len(self.recent)))
            direct_rows = np.union1d(direct_rows, n_old + self._recent_direct(new, i))
        return rows.astype(np.int64), direct_rows.astype(np.int64)

    def _recent_direct(self, new: RecordTable, i: int) -> np.ndarray:
        """Recently linked ads sharing a phone or email with new record ``i``."""
        assert self.recent is not None
        out = []
        for name in IDENTIFIER_FIELDS:
            if name not in new.specs:
                continue
            mine = set(new.values[name][i])
            if mine:
                out += [k for k, vs in enumerate(self.recent.values[name]) if mine & set(vs)]
        return np.asarray(out, dtype=np.int64)

    def _cluster(self, row: int) -> int:
        n_old = len(self.records)
        return int(self.clusters[row] if row < n_old else self.recent_clusters[row - n_old])

    def _ad_id(self, row: int) -> str:
        n_old = len(self.records)
        if row < n_old:
            return str(self.records.ids[row])
        assert self.recent is not None
        return str(self.recent.ids[row - n_old])

    def _table(self, rows: np.ndarray) -> RecordTable:
        """The existing (and recently linked) records at positions ``rows`` (sorted)."""
        n_old = len(self.records)
        parts = [self.records.subset(rows[rows < n_old])]
        if self.recent is not None and (rows >= n_old).any():
            parts.append(self.recent.subset(rows[rows >= n_old] - n_old))
        return parts[0] if len(parts) == 1 else RecordTable.concat(parts)

    def add(self, new: RecordTable, clusters: Sequence[int]) -> None:
        """Remember ads just written to ``resolve_clusters`` (candidates of later calls)."""
        tables = [new] if self.recent is None else [self.recent, new]
        self.recent = RecordTable.concat(tables)
        self.recent_clusters = np.concatenate(
            [self.recent_clusters, np.asarray(clusters, dtype=np.int64)]
        )
        n_old = len(self.records)
        for k, a in enumerate(self.recent.ids.tolist()):
            self.position[a] = n_old + k

    def link(self, frame: pd.DataFrame, top_k: int = 5) -> list[Assignment]:
        """Assignments of the new ads in ``frame`` (columns of ``ads_frame``)."""
        return self.link_records(self.resolver.records(frame), top_k)

    def link_records(self, new: RecordTable, top_k: int = 5) -> list[Assignment]:
        """Assignments of the new records ``new`` (built by this linker's resolver)."""
        known = [a for a in new.ids.tolist() if a in self.position]
        if known:
            raise InputError(f"ads already in the clusters: {known[:5]}")
        per_ad = [self.candidates(new, i) for i in range(len(new))]
        rows = np.unique(np.concatenate([c for c, _ in per_ad] + [np.zeros(0, np.int64)]))
        small = RecordTable.concat([new, self._table(rows)])
        local = {int(r): len(new) + j for j, r in enumerate(rows.tolist())}
        left = np.concatenate(
            [np.full(len(c), i, np.int64) for i, (c, _) in enumerate(per_ad)] + [np.zeros(0, int)]
        )
        right_rows = np.concatenate([c for c, _ in per_ad] + [np.zeros(0, np.int64)])
        right = np.array([local[int(r)] for r in right_rows], dtype=np.int64)
        scores = np.zeros(0, np.float32)
        if len(left):
            X = self.resolver.features(small, left, right)
            scores = self.resolver.match_function.match_probability(X)  # type: ignore[union-attr]
        out = []
        for i, (_cands, direct) in enumerate(per_ad):
            mask = left == i
            out.append(self._assign(str(new.ids[i]), right_rows[mask], scores[mask], direct, top_k))
        return out

    def _assign(
        self, ad_id: str, rows: np.ndarray, scores: np.ndarray, direct: np.ndarray, top_k: int
    ) -> Assignment:
        by_cluster: dict[int, CandidateCluster] = {}
        for r, s in zip(rows.tolist(), scores.tolist(), strict=True):
            c = self._cluster(r)
            cur = by_cluster.get(c)
            if cur is None:
                by_cluster[c] = CandidateCluster(c, float(s), self._ad_id(r), 1)
            else:
                cur.n_pairs += 1
                if s > cur.score:
                    cur.score, cur.best_ad = float(s), self._ad_id(r)
        ranked = sorted(by_cluster.values(), key=lambda c: -c.score)
        top = [CandidateCluster(c.cluster, round(c.score, 4), c.best_ad, c.n_pairs)
               for c in ranked[:top_k]]  # fmt: skip
        if len(direct):
            ident = {self._cluster(r) for r in direct.tolist()}
            best = max(ident, key=lambda c: by_cluster[c].score if c in by_cluster else 0.0)
            return Assignment(ad_id, best, 1.0, "identifier", top, len(rows))
        if ranked and ranked[0].score >= self.threshold:
            return Assignment(ad_id, ranked[0].cluster, round(ranked[0].score, 4), "match", top,
                              len(rows))  # fmt: skip
        best_score = round(ranked[0].score, 4) if ranked else 0.0
        return Assignment(ad_id, None, best_score, "none", top, len(rows))


def _embedding_fields(resolver: Resolver) -> list[str]:
    return [f.name for f in resolver.settings.fields if f.kind == "embedding"]


def _inverted(lists: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """Value -> positions of the records holding it."""
    rows: dict[str, list[int]] = {}
    for i, values in enumerate(lists):
        for v in values:
            rows.setdefault(v, []).append(i)
    return {v: np.asarray(r, dtype=np.int64) for v, r in rows.items()}


_LINKERS: dict[tuple[str, str], IncrementalLinker] = {}


def get_linker(workspace: Workspace) -> IncrementalLinker:
    """The cached linker of ``workspace`` (rebuilt when a new resolve run replaced it)."""
    summary = workspace.artefacts / "resolve" / "summary.json"
    run_id = ""
    if summary.exists():
        run_id = str(json.loads(summary.read_text(encoding="utf-8")).get("run_id", ""))
    key = (str(Path(workspace.path).resolve()), run_id)
    if key not in _LINKERS:
        _LINKERS.clear()
        _LINKERS[key] = IncrementalLinker.load(workspace)
    return _LINKERS[key]


def link_new_ads(
    workspace: Workspace,
    ad_ids: Sequence[str],
    *,
    top_k: int = 5,
    write: bool = False,
) -> list[dict[str, Any]]:
    """Link ads of ``workspace`` that are ingested and extracted but not yet clustered.

    Returns one dict per ad: ``ad_id``, ``cluster`` (existing cluster id, or ``None``),
    ``score`` (best pair score; 1.0 for a shared identifier), ``via`` (``identifier``,
    ``match`` or ``none``), ``candidates`` (up to ``top_k`` clusters with ``cluster``,
    ``score``, ``best_ad``, ``n_pairs``) and ``n_candidates``. With ``write`` the ads are
    added to ``resolve_clusters`` (ads that join no cluster get new cluster ids).
    """
    ad_ids = [str(a) for a in ad_ids]
    if not ad_ids:
        return []
    linker = get_linker(workspace)
    with workspace.connect(read_only=True) as con:
        frame = con.execute(_NEW_ADS_SQL, [ad_ids, ""]).df()
        emb = _embedding_fields(linker.resolver)
        if emb:
            add_cached_embeddings(workspace, con, frame, only=emb)
        extracted = set(
            r[0] for r in con.execute(
                "SELECT ad_id FROM fields WHERE list_contains(?, ad_id)", [ad_ids]
            ).fetchall()
        )  # fmt: skip
    missing = [a for a in ad_ids if a not in set(frame["ad_id"])]
    if missing:
        raise InputError(f"ads not in the workspace: {missing[:5]}")
    not_extracted = [a for a in ad_ids if a not in extracted]
    if not_extracted:
        raise StageOrderError(
            f"ads without extracted fields (run `vendorlink extract`): {not_extracted[:5]}"
        )
    frame = frame.set_index("ad_id", drop=False).loc[list(dict.fromkeys(ad_ids))]
    t0 = time.perf_counter()
    new = linker.resolver.records(frame.reset_index(drop=True))
    assignments = linker.link_records(new, top_k=top_k)
    if write:
        linker.add(new, _write_assignments(workspace, linker, assignments))
        if linker.recent is not None and len(linker.recent) > MAX_RECENT:
            _LINKERS.clear()
    out = [a.to_dict() for a in assignments]
    for row in out:
        row["seconds"] = round((time.perf_counter() - t0) / len(out), 4)
    return out


def _write_assignments(
    workspace: Workspace, linker: IncrementalLinker, assignments: list[Assignment]
) -> list[int]:
    """Add the assignments to ``resolve_clusters``; returns the cluster of each ad."""
    with workspace.run("resolve", {"incremental": True, "n_ads": len(assignments)}) as run:
        rows = run.con.execute("SELECT coalesce(max(cluster), -1) FROM resolve_clusters")
        next_id = int(rows.fetchall()[0][0])
        clusters = []
        for a in assignments:
            if a.cluster is None:
                next_id += 1
                clusters.append(next_id)
            else:
                clusters.append(a.cluster)
        insert_arrow(
            run.con,
            "resolve_clusters",
            pa.table(
                {
                    "run_id": pa.array([linker.run_id] * len(assignments), pa.string()),
                    "ad_id": pa.array([a.ad_id for a in assignments], pa.string()),
                    "cluster": pa.array(clusters, pa.int32()),
                }
            ),
        )
    return clusters
