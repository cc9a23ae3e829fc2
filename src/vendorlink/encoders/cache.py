"""Embedding cache in the workspace: each input is encoded once per encoder, ever.

Layout::

    WORKSPACE/artefacts/embeddings/<slug of encoder name>/
      encoder.json                  # the full encoder name, modality and dimension
      part-<time>-<uuid>.parquet    # shards: key (string), vector (fixed_size_list<float>[dim])

A vector's key is ``(encoder.name, input hash)``: the folder stands for the encoder name,
and inside it ``key`` is the SHA-1 of the exact text fed to the encoder (UTF-8), or the
image's ``image_id`` (SHA-256 of its bytes). Identical texts in different ads, and one
picture posted in many ads, are therefore encoded once.

Why Parquet shards and not a DuckDB table: the vectors are write-once, read-in-bulk
blobs. On this project's 2-core machine, 1M x 384 float32 vectors took 4.5 s to write as
Parquet shards and 37 s to insert into a DuckDB ``FLOAT[384]`` table (2.0 GB file, in the
same database every other stage locks for writing); reading them all back is one
sequential scan either way. Shards need no lock (each writer adds new files), every
shard is written under a temporary name and renamed into place (atomic: a crash loses at
most the shard being written, and the next call redoes only that), and deleting an
encoder's cache is deleting its folder. DuckDB still reads them directly when SQL is
wanted: ``SELECT key, vector FROM read_parquet('artefacts/embeddings/<slug>/part-*.parquet')``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from vendorlink.atomic import atomic_write_text
from vendorlink.data.workspace import Workspace
from vendorlink.encoders.base import Encoder, EncoderError
from vendorlink.encoders.onnx_export import name_slug
from vendorlink.errors import InputError, StageOrderError
from vendorlink.progress import progress_bar

log = logging.getLogger(__name__)

EMBEDDINGS_DIR = "embeddings"
TextSource = Literal["masked_text", "text"]


def text_key(text: str) -> str:
    """Cache key of a text: SHA-1 of its UTF-8 bytes."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


class EmbeddingStore:
    """The cached vectors of one encoder, keyed by input hash, in Parquet shards."""

    def __init__(self, root: str | Path, encoder_name: str, dim: int, modality: str = "") -> None:
        self.folder = Path(root) / name_slug(encoder_name)
        self.encoder_name = encoder_name
        self.dim = int(dim)
        meta_path = self.folder / "encoder.json"
        if meta_path.is_file():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("encoder") != encoder_name or int(meta.get("dim", -1)) != self.dim:
                raise EncoderError(
                    f"{self.folder} holds vectors of {meta.get('encoder')!r} "
                    f"(dim {meta.get('dim')}), not {encoder_name!r} (dim {dim})"
                )
        else:
            meta = {"encoder": encoder_name, "dim": self.dim, "modality": modality}
            atomic_write_text(meta_path, json.dumps(meta, indent=2))

    @classmethod
    def for_workspace(cls, workspace: Workspace, encoder: Encoder) -> EmbeddingStore:
        root = workspace.artefacts / EMBEDDINGS_DIR
        return cls(root, encoder.name, encoder.dim, encoder.modality)

    # -- reading ----------------------------------------------------------------------------
    def shards(self) -> list[Path]:
        return sorted(self.folder.glob("part-*.parquet"))

    def keys(self) -> set[str]:
        """Every key stored (reads only the key column of each shard)."""
        out: set[str] = set()
        for shard in self.shards():
            out.update(pq.read_table(shard, columns=["key"]).column("key").to_pylist())
        return out

    def __len__(self) -> int:
        return len(self.keys())

    def missing(self, keys: Sequence[str]) -> list[str]:
        """The distinct ``keys`` not stored yet, in first-seen order."""
        wanted = pd.Index(pd.unique(pd.Series(keys, dtype=object)))
        found = np.zeros(len(wanted), dtype=bool)
        for shard in self.shards():
            stored = pq.read_table(shard, columns=["key"]).column("key").to_numpy(False)
            pos = wanted.get_indexer(stored)
            found[pos[pos >= 0]] = True
        return [str(k) for k in wanted[~found]]

    def get(self, keys: Sequence[str]) -> np.ndarray:
        """Vectors for ``keys`` (repeats allowed), one row per key; KeyError if any is absent."""
        codes, uniques = pd.factorize(pd.Series(keys, dtype=object))
        wanted = pd.Index(uniques)
        vectors = np.zeros((len(wanted), self.dim), dtype=np.float32)
        found = np.zeros(len(wanted), dtype=bool)
        for shard in self.shards():
            if found.all():
                break
            stored = pq.read_table(shard, columns=["key"]).column("key").to_numpy(False)
            pos = wanted.get_indexer(stored)
            take = (pos >= 0) & ~found[np.maximum(pos, 0)]
            if not take.any():
                continue
            matrix = _read_vectors(shard, self.dim)
            vectors[pos[take]] = matrix[take]
            found[pos[take]] = True
        if not found.all():
            absent = [str(k) for k in wanted[~found][:5]]
            raise KeyError(f"{(~found).sum()} keys not in {self.folder} (e.g. {absent})")
        return vectors if len(wanted) == len(codes) else vectors[codes]

    # -- writing ----------------------------------------------------------------------------
    def add(self, keys: Sequence[str], vectors: np.ndarray) -> Path | None:
        """Store ``vectors`` under ``keys`` as one new shard (atomic rename)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise EncoderError(
                f"{len(keys)} keys but vectors of shape {vectors.shape}; expected dim {self.dim}"
            )
        if not len(keys):
            return None
        if not np.isfinite(vectors).all():
            raise EncoderError(f"{self.encoder_name} produced non-finite values; not caching")
        column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dim)
        table = pa.table({"key": pa.array(list(keys), pa.string()), "vector": column})
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = self.folder / f".{name}.tmp"
        try:
            pq.write_table(
                table,
                tmp,
                compression={"key": "zstd", "vector": "none"},
                use_dictionary=False,
                write_statistics=["key"],
            )
            os.replace(tmp, self.folder / name)
        finally:
            tmp.unlink(missing_ok=True)
        return self.folder / name

    def compact(self) -> None:
        """Merge all shards into one (duplicates dropped); old shards removed after the rename."""
        shards = self.shards()
        if len(shards) < 2:
            return
        table = pa.concat_tables(pq.read_table(s) for s in shards)
        keys = table.column("key").to_numpy(False)
        _, first = np.unique(keys, return_index=True)
        first.sort()
        matrix = _vectors_of(table, self.dim)[first]
        self.add([str(k) for k in keys[first]], matrix)
        for shard in shards:
            shard.unlink(missing_ok=True)


def _read_vectors(shard: Path, dim: int) -> np.ndarray:
    return _vectors_of(pq.read_table(shard, columns=["vector"]), dim)


def _vectors_of(table: pa.Table, dim: int) -> np.ndarray:
    column = table.column("vector").combine_chunks()
    return column.flatten().to_numpy(zero_copy_only=False).reshape(-1, dim)


# -- workspace stages ----------------------------------------------------------------------------
def embed_ads(
    workspace: Workspace,
    encoder: Encoder,
    *,
    use: TextSource = "masked_text",
    batch_size: int = 64,
    progress: bool = False,
    ad_ids: Sequence[str] | None = None,
    skip_empty: bool = True,
    flush_every: int = 4096,
    con: duckdb.DuckDBPyConnection | None = None,
    stats: dict[str, Any] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Text embeddings of the workspace's ads, encoding only texts not cached yet.

    ``use="masked_text"`` (default) embeds ``fields.masked_text`` (identifiers masked by
    ``vendorlink extract``), ``use="text"`` the raw ad text. ``ad_ids`` limits and orders the
    result (default: every ad, ordered by ``ad_id``). Ads whose text is empty or blank are
    left out when ``skip_empty`` (their vectors would all be the same and link unrelated
    image-only ads); the returned ids say which ads the rows belong to.

    New vectors are written every ``flush_every`` texts, so an interrupted call resumes where
    it stopped. Returns ``(ad_ids, matrix)`` with ``matrix[i]`` the vector of ``ad_ids[i]``.

    ``con``: an open connection to read the workspace with (inside ``workspace.run(...)``,
    pass ``run.con``: DuckDB refuses a second, read-only connection in the same process).
    ``stats``: a dict that receives counts (ads, distinct texts, texts encoded).
    """
    if encoder.modality != "text":
        raise EncoderError(f"embed_ads needs a text encoder; {encoder.name} encodes images")
    ids, texts = _ad_texts(workspace, use, ad_ids, con)
    if skip_empty:
        keep = [i for i, text in enumerate(texts) if text.strip()]
        ids, texts = [ids[i] for i in keep], [texts[i] for i in keep]
    keys = [text_key(t) for t in texts]
    store = EmbeddingStore.for_workspace(workspace, encoder)
    todo = store.missing(keys)
    text_of = dict(zip(keys, texts, strict=True))
    log.info("%s: %d ads, %d distinct texts to encode", encoder.name, len(ids), len(todo))
    if stats is not None:
        stats.update(
            encoder=encoder.name, ads=len(ids), distinct_inputs=len(set(keys)), encoded=len(todo)
        )
    with progress_bar(f"embed texts ({encoder.name})", len(todo), progress) as advance:
        for lo in range(0, len(todo), flush_every):
            chunk = todo[lo : lo + flush_every]
            vectors = encoder.encode([text_of[k] for k in chunk], batch_size=batch_size)
            store.add(chunk, vectors)
            advance(len(chunk))
    matrix = store.get(keys) if keys else np.zeros((0, encoder.dim), dtype=np.float32)
    return ids, matrix


def _ad_texts(
    workspace: Workspace,
    use: TextSource,
    ad_ids: Sequence[str] | None,
    con: duckdb.DuckDBPyConnection | None,
) -> tuple[list[str], list[str]]:
    if use == "masked_text":
        sql = (
            "SELECT a.ad_id, f.masked_text FROM ads a LEFT JOIN fields f USING (ad_id) "
            "ORDER BY a.ad_id"
        )
    elif use == "text":
        sql = "SELECT ad_id, text FROM ads ORDER BY ad_id"
    else:
        raise InputError(f"use must be 'masked_text' or 'text', got {use!r}")
    rows: list[tuple[str, str | None]] = _fetch(workspace, con, sql)
    text_of = dict(rows)
    if ad_ids is None:
        ids = [r[0] for r in rows]
    else:
        ids = list(ad_ids)
        unknown = [a for a in ids if a not in text_of]
        if unknown:
            raise InputError(f"{len(unknown)} ad ids are not in the workspace: {unknown[:5]}")
    missing = [a for a in ids if text_of[a] is None]
    if missing:
        raise StageOrderError(
            f"{len(missing)} ads have no masked text (e.g. {missing[:3]}): run "
            f"`vendorlink extract {workspace.path}` first, or embed the raw text with use='text'"
        )
    return ids, [text_of[a] or "" for a in ids]


def embed_images(
    workspace: Workspace,
    encoder: Encoder,
    *,
    batch_size: int = 32,
    progress: bool = False,
    image_ids: Sequence[str] | None = None,
    on_error: Literal["raise", "skip"] = "raise",
    flush_every: int = 1024,
    con: duckdb.DuckDBPyConnection | None = None,
    stats: dict[str, Any] | None = None,
) -> tuple[list[str], np.ndarray]:
    """Embeddings of the workspace's distinct images (by ``image_id``), encoding only new ones.

    ``image_ids`` limits and orders the result (default: every distinct image, ordered by
    id). An image that cannot be read any more raises (``on_error="raise"``), or is left out
    of the result with a logged warning (``on_error="skip"``); nothing is cached for it.
    Returns ``(image_ids, matrix)``. ``con`` and ``stats`` as in :func:`embed_ads` (``stats``
    also gets ``failed``: image id -> reason).
    """
    if encoder.modality != "image":
        raise EncoderError(f"embed_images needs an image encoder; {encoder.name} encodes text")
    rows: list[tuple[str, str, str]] = _fetch(
        workspace,
        con,
        "SELECT image_id, any_value(root), any_value(path) FROM images "
        "GROUP BY image_id ORDER BY image_id",
    )
    path_of = {image_id: Path(root) / path for image_id, root, path in rows}
    if image_ids is None:
        ids = [r[0] for r in rows]
    else:
        ids = list(dict.fromkeys(image_ids))
        unknown = [i for i in ids if i not in path_of]
        if unknown:
            raise InputError(f"{len(unknown)} image ids are not in the workspace: {unknown[:5]}")
    store = EmbeddingStore.for_workspace(workspace, encoder)
    todo = store.missing(ids)
    failed: dict[str, str] = {}
    with progress_bar(f"embed images ({encoder.name})", len(todo), progress) as advance:
        for lo in range(0, len(todo), flush_every):
            chunk = todo[lo : lo + flush_every]
            done, vectors = _encode_images(encoder, chunk, path_of, batch_size, on_error, failed)
            store.add(done, vectors)
            advance(len(chunk))
    if failed:
        log.warning(
            "%d images could not be read and were left out: %s",
            len(failed),
            "; ".join(f"{k[:12]}: {v}" for k, v in list(failed.items())[:5]),
        )
        ids = [i for i in ids if i not in failed]
    if stats is not None:
        stats.update(
            encoder=encoder.name,
            images=len(ids),
            encoded=len(todo) - len(failed),
            failed=dict(failed),
        )
    matrix = store.get(ids) if ids else np.zeros((0, encoder.dim), dtype=np.float32)
    return ids, matrix


def _fetch(workspace: Workspace, con: duckdb.DuckDBPyConnection | None, sql: str) -> list[Any]:
    if con is not None:
        return con.execute(sql).fetchall()
    with workspace.connect(read_only=True) as own:
        return own.execute(sql).fetchall()


def _encode_images(
    encoder: Encoder,
    image_ids: list[str],
    path_of: dict[str, Path],
    batch_size: int,
    on_error: str,
    failed: dict[str, str],
) -> tuple[list[str], np.ndarray]:
    if on_error not in ("raise", "skip"):
        raise InputError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    done: list[str] = []
    parts: list[np.ndarray] = []
    for lo in range(0, len(image_ids), batch_size):
        batch = image_ids[lo : lo + batch_size]
        try:
            parts.append(encoder.encode([path_of[i] for i in batch], batch_size=batch_size))
            done.extend(batch)
            continue
        except EncoderError:
            if on_error == "raise":
                raise
        for image_id in batch:  # find the unreadable ones, keep the rest
            try:
                parts.append(encoder.encode([path_of[image_id]], batch_size=1))
                done.append(image_id)
            except EncoderError as exc:
                failed[image_id] = str(exc)
    matrix = np.concatenate(parts) if parts else np.zeros((0, encoder.dim), np.float32)
    return done, matrix


def cache_info(workspace: Workspace) -> list[dict[str, Any]]:
    """One row per cached encoder: name, modality, dim, vectors, shards, bytes on disk."""
    root = workspace.artefacts / EMBEDDINGS_DIR
    out = []
    for meta_path in sorted(root.glob("*/encoder.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        shards = sorted(meta_path.parent.glob("part-*.parquet"))
        rows = sum(pq.ParquetFile(s).metadata.num_rows for s in shards)
        size = sum(s.stat().st_size for s in shards)
        out.append({**meta, "vectors": rows, "shards": len(shards), "bytes": size})
    return out
