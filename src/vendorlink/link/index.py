"""A FAISS inner-product index over L2-normalised ad embeddings (cosine similarity).

Kinds:

- ``"flat"``: exact search (``IndexFlatIP``); the default up to ``flat_limit`` vectors;
- ``"hnsw"``: graph search (``IndexHNSWFlat``, ``M`` links per node, ``ef_search`` at query
  time); the default above ``flat_limit``; no training step;
- ``"ivf"``: inverted lists (``IndexIVFFlat`` with ``nlist`` k-means cells, ``nprobe``
  visited per query); needs a training pass over the vectors.

Vectors are normalised on the way in (rows with no direction are an error naming them), so
scores are cosine similarities. Ids are arbitrary strings (ad ids), kept beside the index.
Saved as a folder: ``index.faiss`` + ``ids.json`` + ``meta.json`` (atomic).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vendorlink.atomic import staging_dir
from vendorlink.errors import InputError
from vendorlink.vectors import unit_rows

__all__ = ["INDEX_KINDS", "EmbeddingIndex", "IndexKind"]

IndexKind = Literal["auto", "flat", "hnsw", "ivf"]
INDEX_KINDS: tuple[str, ...] = ("auto", "flat", "hnsw", "ivf")


class EmbeddingIndex:
    """Search ``k`` nearest ids by cosine similarity. Build with :meth:`build`."""

    def __init__(self, index: Any, ids: list[str], kind: str, params: dict[str, Any]) -> None:
        self.index = index
        self.ids = list(ids)
        self.id_array = np.array(self.ids, dtype=object)  # positions -> ids, made once
        self.kind = kind
        self.params = dict(params)
        self._apply_search_params()

    @property
    def dim(self) -> int:
        return int(self.index.d)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        vectors: Any,
        *,
        kind: IndexKind = "auto",
        flat_limit: int = 50_000,
        hnsw_m: int = 32,
        ef_construction: int = 80,
        ef_search: int = 128,
        nlist: int | None = None,
        nprobe: int | None = None,
        seed: int = 0,
    ) -> EmbeddingIndex:
        """Index ``vectors`` (row ``i`` has id ``ids[i]``; ids must be unique)."""
        import faiss

        if kind not in INDEX_KINDS:
            raise InputError(f"unknown index kind {kind!r}; choose from {INDEX_KINDS}")
        x = unit_rows(vectors, "vectors")
        ids = [str(i) for i in ids]
        if len(ids) != len(x):
            raise InputError(f"{len(ids)} ids for {len(x)} vectors")
        if len(set(ids)) != len(ids):
            raise InputError("ids must be unique")
        n, dim = x.shape
        if kind == "auto":
            kind = "flat" if n <= flat_limit else "hnsw"
        params: dict[str, Any] = {}
        if kind == "flat":
            index = faiss.IndexFlatIP(dim)
        elif kind == "hnsw":
            index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = ef_construction
            params = {"M": hnsw_m, "ef_construction": ef_construction, "ef_search": ef_search}
        else:
            if n < 2:
                raise InputError("an IVF index needs at least 2 vectors to train")
            nlist = nlist or max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))
            nprobe = nprobe or max(1, min(nlist, math.ceil(nlist / 8)))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = seed
            index.train(x)
            params = {"nlist": nlist, "nprobe": nprobe}
        index.add(x)
        return cls(index, ids, kind, params)

    def _apply_search_params(self) -> None:
        if self.kind == "hnsw":
            self.index.hnsw.efSearch = int(self.params.get("ef_search", 128))
        elif self.kind == "ivf":
            self.index.nprobe = int(self.params.get("nprobe", 1))

    def set_search_params(self, **params: int) -> None:
        """Change ``ef_search`` (HNSW) or ``nprobe`` (IVF) for later searches."""
        self.params.update(params)
        self._apply_search_params()

    def search(self, vectors: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` per query: ``(ids, scores)``, each ``(Q, k)``, best first.

        ``ids`` is an object array of id strings (``None`` where fewer than ``k`` were
        found); ``scores`` float32 cosine similarities (``-inf`` there).
        """
        if k < 1:
            raise InputError(f"k must be at least 1, got {k}")
        q = unit_rows(vectors, "query vectors", dim=self.dim)
        k_eff = min(k, len(self))
        scores = np.full((len(q), k), -np.inf, dtype=np.float32)
        ids = np.full((len(q), k), None, dtype=object)
        if k_eff == 0 or len(q) == 0:
            return ids, scores
        found_scores, positions = self.index.search(q, k_eff)
        id_array = self.id_array
        valid = positions >= 0
        scores[:, :k_eff] = np.where(valid, found_scores, -np.inf)
        ids[:, :k_eff] = np.where(valid, id_array[np.maximum(positions, 0)], None)
        return ids, scores

    # -- persistence -----------------------------------------------------------------------
    def save(self, folder: str | Path, overwrite: bool = True, **meta: Any) -> Path:
        """Write ``index.faiss``, ``ids.json`` and ``meta.json`` (plus ``meta`` fields)."""
        import faiss

        folder = Path(folder)
        with staging_dir(folder, overwrite) as tmp:
            faiss.write_index(self.index, str(tmp / "index.faiss"))
            (tmp / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
            info = {"kind": self.kind, "params": self.params, "dim": self.dim, "n": len(self)}
            info.update(meta)
            (tmp / "meta.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> EmbeddingIndex:
        import faiss

        folder = Path(folder)
        if not (folder / "index.faiss").is_file():
            raise FileNotFoundError(f"{folder} holds no saved index (index.faiss missing)")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
        index = faiss.read_index(str(folder / "index.faiss"))
        return cls(index, ids, meta["kind"], meta.get("params", {}))

    @staticmethod
    def read_meta(folder: str | Path) -> dict[str, Any]:
        path = Path(folder) / "meta.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
