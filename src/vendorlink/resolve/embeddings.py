"""Cached link embeddings of a workspace as resolve fields (used when present).

``vendorlink embed`` / the link models cache vectors under ``artefacts/embeddings/<encoder>``
(:mod:`vendorlink.encoders.cache`): text vectors keyed by the SHA-1 of the masked text,
image vectors keyed by ``image_id``. :func:`add_cached_embeddings` adds to an ads frame

- ``text_embedding``: the vector of the ad's masked text (``None`` when not cached / empty);
- ``image_embedding``: the mean of the vectors of the ad's images (``None`` without any),

from the first cached text and image encoder (by folder name), without loading a model.
Nothing is computed: a workspace without cached vectors resolves without these fields.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from vendorlink.data.workspace import Workspace
from vendorlink.encoders.cache import EMBEDDINGS_DIR, text_key


def cached_encoders(workspace: Workspace) -> dict[str, Path]:
    """``{"text": folder, "image": folder}`` of the first cached encoder per modality."""
    root = workspace.artefacts / EMBEDDINGS_DIR
    out: dict[str, Path] = {}
    for folder in sorted(root.glob("*")) if root.is_dir() else []:
        meta_path = folder / "encoder.json"
        if not meta_path.is_file() or not any(folder.glob("part-*.parquet")):
            continue
        modality = json.loads(meta_path.read_text(encoding="utf-8")).get("modality", "")
        if modality in ("text", "image") and modality not in out:
            out[modality] = folder
    return out


_SHARD_KEYS: dict[Path, list[str]] = {}


def _shard_keys(shard: Path) -> list[str]:
    """The keys of one shard (shards are write-once, so their key lists are cached)."""
    if shard not in _SHARD_KEYS:
        _SHARD_KEYS[shard] = pq.read_table(shard, columns=["key"]).column("key").to_pylist()
    return _SHARD_KEYS[shard]


# Decoded vector matrices of shards read for a few of their rows (write-once files; least
# recently used dropped beyond SHARD_CACHE_BYTES): incremental linking reads a few vectors
# per call. Shards read for most of their rows (a whole resolve run) are not kept.
SHARD_CACHE_BYTES = 256 * 1024**2
_SHARD_VECTORS: OrderedDict[Path, np.ndarray] = OrderedDict()


def _shard_vectors(shard: Path, keep: bool) -> np.ndarray:
    """The ``(rows, dim)`` float32 vectors of one shard (``keep``: cache them)."""
    flat = _SHARD_VECTORS.get(shard)
    if flat is not None:
        _SHARD_VECTORS.move_to_end(shard)
        return flat
    vec = pq.read_table(shard, columns=["vector"]).column("vector").combine_chunks()
    dim = len(vec[0]) if len(vec) else 0
    flat = vec.values.to_numpy(zero_copy_only=False).reshape(-1, dim).astype(np.float32)
    if not keep:
        return flat
    _SHARD_VECTORS[shard] = flat
    while len(_SHARD_VECTORS) > 1 and sum(a.nbytes for a in _SHARD_VECTORS.values()) > (
        SHARD_CACHE_BYTES
    ):
        _SHARD_VECTORS.popitem(last=False)
    return flat


def _vectors(folder: Path, keys: set[str]) -> dict[str, np.ndarray]:
    """Stored vectors of ``keys`` (those found) from one encoder folder."""
    found: dict[str, np.ndarray] = {}
    for shard in sorted(folder.glob("part-*.parquet")):
        if len(found) == len(keys):
            break
        names = _shard_keys(shard)
        rows = [i for i, k in enumerate(names) if k in keys and k not in found]
        if not rows:
            continue
        flat = _shard_vectors(shard, keep=2 * len(rows) < len(names))
        for i in rows:
            found[names[i]] = flat[i].copy()
    return found


def add_cached_embeddings(
    workspace: Workspace, con: Any, frame: pd.DataFrame, only: Sequence[str] | None = None
) -> list[str]:
    """Add ``text_embedding`` / ``image_embedding`` columns to ``frame`` (in place) from the
    cache (``only``: just these columns, each added even when nothing is cached, as
    ``None``); returns the names of the columns added."""
    encoders = cached_encoders(workspace)
    added: list[str] = []
    if only is not None:
        for name in only:
            frame[name] = None
        encoders = {m: f for m, f in encoders.items() if f"{m}_embedding" in only}
    if "text" in encoders:
        keys = [text_key(t) if isinstance(t, str) and t.strip() else None for t in frame["text"]]
        vectors = _vectors(encoders["text"], {k for k in keys if k})
        if vectors:
            frame["text_embedding"] = [vectors.get(k) if k else None for k in keys]
            added.append("text_embedding")
    if "image" in encoders:
        images = con.execute(
            "SELECT ad_id, image_id FROM images WHERE image_id IS NOT NULL "
            "AND list_contains(?, ad_id)",
            [frame["ad_id"].astype(str).tolist()],
        ).fetchall()
        vectors = _vectors(encoders["image"], {i for _, i in images})
        if vectors:
            per_ad: dict[str, list[np.ndarray]] = {}
            for ad_id, image_id in images:
                if image_id in vectors:
                    per_ad.setdefault(ad_id, []).append(vectors[image_id])
            frame["image_embedding"] = [
                np.mean(per_ad[a], axis=0) if a in per_ad else None for a in frame["ad_id"]
            ]
            added.append("image_embedding")
    return sorted(set(added) | set(only or ()))
