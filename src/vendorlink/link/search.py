"""Link an ad to the other ads most likely posted by the same vendor.

:func:`embed_workspace_ads` embeds every ad a trained model can see (its modality) from
the cached encoder vectors; :func:`build_link_index` stores those embeddings and a FAISS
index under ``WORKSPACE/artefacts/indexes/<model name>``; :func:`link_ad` searches it
(building it first when it is missing or was built from other weights or other ads).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.link.index import EmbeddingIndex, IndexKind
from vendorlink.models.multimodal import WEIGHTS_FILE, VendorModel

__all__ = [
    "LinkHit",
    "build_link_index",
    "embed_workspace_ads",
    "ensure_link_index",
    "index_folder",
    "link_ad",
    "search_vector",
]


@dataclass(frozen=True)
class LinkHit:
    """One linked ad: its rank (1 = most similar), id and cosine similarity."""

    rank: int
    ad_id: str
    score: float


@contextmanager
def _connection(
    workspace: Workspace, con: duckdb.DuckDBPyConnection | None
) -> Iterator[duckdb.DuckDBPyConnection]:
    if con is not None:
        yield con
    else:
        with workspace.connect(read_only=True) as own:
            yield own


def _fingerprint(model_folder: Path) -> str:
    digest = hashlib.sha1()
    with open(model_folder / WEIGHTS_FILE, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _encoder_specs(model_folder: Path) -> dict[str, Any]:
    path = model_folder / "train_config.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return {
        "text_encoder": data.get("text_encoder", "minilm"),
        "image_encoder": data.get("image_encoder", "efficientnet-lite0"),
        "backend": data.get("encoder_backend", "torch"),
    }


def embed_workspace_ads(
    workspace: Workspace,
    model_folder: str | Path,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    text_encoder: Any = None,
    image_encoder: Any = None,
    progress: bool = False,
) -> tuple[list[str], np.ndarray]:
    """``(ad_ids, embeddings)`` of every ad the model can embed, ordered by ``ad_id``.

    The encoders default to those named in the model folder's ``train_config.json``; their
    names must match the ones the model was trained on (``config.json``). Ads the model's
    modality cannot see (e.g. image-only ads for a text model) are left out.
    """
    from vendorlink.train.data import build_ad_table, resolve_encoder

    folder = Path(model_folder)
    model = VendorModel.load(folder)
    specs = _encoder_specs(folder)
    mode = model.config.modality
    text_enc = resolve_encoder(
        (text_encoder or specs["text_encoder"]) if mode != "image" else None, specs["backend"]
    )
    image_enc = resolve_encoder(
        (image_encoder or specs["image_encoder"]) if mode != "text" else None, specs["backend"]
    )
    for enc, trained in (
        (text_enc, model.config.text_encoder),
        (image_enc, model.config.image_encoder),
    ):
        if enc is not None and trained and enc.name != trained:
            raise InputError(
                f"the model in {folder} was trained on vectors of {trained!r}, not {enc.name!r}"
            )
    with _connection(workspace, con) as c:
        table = build_ad_table(
            workspace,
            con=c,
            split_name=None,
            label_source=None,
            text_encoder=text_enc,
            image_encoder=image_enc,
            progress=progress,
            require_labels=False,
        )
    from vendorlink.train.loop import embed_table

    table = table.select(table.usable(mode))
    return [str(a) for a in table.ad_ids], embed_table(model, table)


def index_folder(workspace: Workspace, model_folder: str | Path) -> Path:
    """Where the link index of a model lives: ``artefacts/indexes/<model folder name>``."""
    return workspace.artefacts / "indexes" / Path(model_folder).name


def build_link_index(
    workspace: Workspace,
    model_folder: str | Path,
    *,
    kind: IndexKind = "auto",
    con: duckdb.DuckDBPyConnection | None = None,
    progress: bool = False,
    **index_options: Any,
) -> Path:
    """Embed every ad with the model and save the index and the embeddings."""
    model_folder = Path(model_folder)
    ids, matrix = embed_workspace_ads(workspace, model_folder, con=con, progress=progress)
    if not ids:
        raise InputError(f"no ad in {workspace.path} can be embedded by {model_folder}")
    index = EmbeddingIndex.build(ids, matrix, kind=kind, **index_options)
    out = index_folder(workspace, model_folder)
    index.save(
        out,
        model=str(model_folder),
        model_fingerprint=_fingerprint(model_folder),
        n_ads_in_workspace=_n_ads(workspace, con),
    )
    np.save(out / "embeddings.npy", matrix)
    return out


def _n_ads(workspace: Workspace, con: duckdb.DuckDBPyConnection | None) -> int:
    with _connection(workspace, con) as c:
        return int(c.execute("SELECT count(*) FROM ads").fetchall()[0][0])


def ensure_link_index(
    workspace: Workspace,
    model_folder: str | Path,
    *,
    kind: IndexKind = "auto",
    con: duckdb.DuckDBPyConnection | None = None,
    progress: bool = False,
) -> Path:
    """The model's saved index folder, (re)built when missing or stale.

    Stale: built from other weights (fingerprint of ``model.safetensors``), for another
    number of ads, or without its ``embeddings.npy``. Later calls reuse the saved index.
    """
    model_folder = Path(model_folder)
    folder = index_folder(workspace, model_folder)
    meta = EmbeddingIndex.read_meta(folder)
    stale = (
        not meta
        or meta.get("model_fingerprint") != _fingerprint(model_folder)
        or meta.get("n_ads_in_workspace") != _n_ads(workspace, con)
        or not (folder / "embeddings.npy").is_file()
        or (kind != "auto" and meta.get("kind") != kind)
    )
    if stale:
        build_link_index(workspace, model_folder, kind=kind, con=con, progress=progress)
    return folder


def link_ad(
    workspace: Workspace,
    model_folder: str | Path,
    ad_id: str,
    k: int = 10,
    *,
    kind: IndexKind = "auto",
    con: duckdb.DuckDBPyConnection | None = None,
) -> list[LinkHit]:
    """The ``k`` ads most similar to ``ad_id`` under the model (the ad itself excluded)."""
    model_folder = Path(model_folder)
    folder = ensure_link_index(workspace, model_folder, kind=kind, con=con)
    index = EmbeddingIndex.load(folder)
    position = {a: i for i, a in enumerate(index.ids)}
    if ad_id not in position:
        raise InputError(
            f"ad {ad_id!r} is not in the link index of {model_folder.name} (unknown ad, or "
            "it lacks the modality the model needs)"
        )
    vectors = np.load(folder / "embeddings.npy", mmap_mode="r")
    query = np.asarray(vectors[position[ad_id]])[None, :]
    return search_vector(index, query, k, exclude=ad_id)


def search_vector(
    index: EmbeddingIndex, query: np.ndarray, k: int, exclude: str | None = None
) -> list[LinkHit]:
    """Top ``k`` hits of one query vector (``(1, dim)``), ``exclude`` left out."""
    ids, scores = index.search(query, k + (exclude is not None))
    return hits_from_row(ids[0], scores[0], k, exclude)


def hits_from_row(
    ids: np.ndarray, scores: np.ndarray, k: int, exclude: str | None = None
) -> list[LinkHit]:
    """One query's search result row (asked with ``k + 1`` when ``exclude`` is set) as at
    most ``k`` ranked hits, without ``exclude`` and the empty slots."""
    hits: list[LinkHit] = []
    for other, score in zip(ids, scores, strict=True):
        if other is None or other == exclude:
            continue
        hits.append(LinkHit(rank=len(hits) + 1, ad_id=str(other), score=float(score)))
    return hits[:k]
