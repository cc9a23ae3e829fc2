"""Search a workspace's ads for an ad id or for new text and/or image files.

:func:`search_ads` embeds the query with a trained model (default: the workspace's most
recent one, :func:`latest_model`) and searches the model's cached FAISS index
(``artefacts/indexes/<model>``, built once, rebuilt when the weights or the ads change).
Without any trained model it falls back to the frozen encoders (zero-shot: text vectors,
mean image vectors, or both concatenated as unit vectors) with an index under
``artefacts/indexes/zero-shot`` and says so in :attr:`SearchResult.notice`.

New text is masked with the same rules as ``vendorlink extract`` before it is embedded, as
the workspace's ads were. Hits carry the masked text unless ``reveal=True``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError, WorkspaceError
from vendorlink.link.index import EmbeddingIndex, IndexKind
from vendorlink.link.search import LinkHit, ensure_link_index, search_vector

__all__ = [
    "ZERO_SHOT",
    "SearchHit",
    "SearchResult",
    "embed_query",
    "label_source_for",
    "latest_model",
    "prepare_index",
    "resolve_model",
    "search_ads",
    "zero_shot_encoders",
]

ZERO_SHOT = "zero-shot"


@dataclass(frozen=True)
class SearchHit:
    """One result: rank (1 = best), ad id, cosine similarity, vendor label, text."""

    rank: int
    ad_id: str
    score: float
    vendor: str | None = None
    text: str = ""


@dataclass
class SearchResult:
    """Hits best first, and how they were found."""

    query: dict[str, Any]
    model: str
    index_kind: str
    hits: list[SearchHit]
    notice: str = ""
    label_source: str | None = None
    query_vector: np.ndarray | None = field(default=None, repr=False)
    predicted_vendor: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "query": self.query,
            "model": self.model,
            "index_kind": self.index_kind,
            "label_source": self.label_source,
            "notice": self.notice,
            "predicted_vendor": self.predicted_vendor,
            "hits": [h.__dict__ for h in self.hits],
        }


def latest_model(workspace: Workspace) -> Path | None:
    """The most recently written trained model folder under ``artefacts/models``."""
    root = workspace.artefacts / "models"
    if not root.is_dir():
        return None
    folders = [p for p in root.iterdir() if (p / "config.json").is_file()]
    weights = [p for p in folders if any(p.glob("*.safetensors"))]
    if not weights:
        return None
    return max(weights, key=lambda p: max(f.stat().st_mtime for f in p.glob("*.safetensors")))


def resolve_model(workspace: Workspace, model: str | Path | None) -> tuple[Path | None, str]:
    """``(model folder or None for zero-shot, notice)`` for a name, a folder or ``None``."""
    if model is None:
        found = latest_model(workspace)
        if found is None:
            return None, (
                f"no trained model in {workspace.artefacts / 'models'}: using the zero-shot "
                "encoders (MiniLM text / EfficientNet-Lite0 image vectors, no training); "
                "train a model for vendor-specific results"
            )
        return found, ""
    if str(model) == ZERO_SHOT:
        return None, "zero-shot encoders requested: results use no trained model"
    candidate = Path(model)
    for folder in (candidate, workspace.artefacts / "models" / str(model)):
        if (folder / "config.json").is_file():
            return folder, ""
    known = sorted(p.name for p in (workspace.artefacts / "models").glob("*/config.json"))
    raise InputError(f"no trained model {str(model)!r}; models in the workspace: {known}")


def _zero_shot_folder(workspace: Workspace) -> Path:
    return workspace.artefacts / "indexes" / ZERO_SHOT


def _zero_shot_index(
    workspace: Workspace,
    text_encoder: Any,
    image_encoder: Any,
    kind: IndexKind,
    progress: bool,
) -> Path:
    """Build (or reuse) the zero-shot index of every ad with text or image."""
    from vendorlink.evaluate.model import zero_shot_multimodal
    from vendorlink.train.data import build_ad_table

    folder = _zero_shot_folder(workspace)
    with workspace.connect(read_only=True) as con:
        n_ads = int(con.execute("SELECT count(*) FROM ads").fetchall()[0][0])
        meta = EmbeddingIndex.read_meta(folder)
        wanted = {"text_encoder": text_encoder.name, "image_encoder": image_encoder.name}
        if (
            meta
            and meta.get("n_ads_in_workspace") == n_ads
            and all(meta.get(k) == v for k, v in wanted.items())
            and (kind == "auto" or meta.get("kind") == kind)
            and (folder / "embeddings.npy").is_file()
        ):
            return folder
        table = build_ad_table(
            workspace,
            con=con,
            split_name=None,
            label_source=None,
            text_encoder=text_encoder,
            image_encoder=image_encoder,
            progress=progress,
            require_labels=False,
        )
    usable = table.has_text | table.has_image
    if not usable.any():
        raise InputError(f"no ad in {workspace.path} has text or an image to search")
    matrix = zero_shot_multimodal(table)[usable]
    index = EmbeddingIndex.build([str(a) for a in table.ad_ids[usable]], matrix, kind=kind)
    index.save(folder, model=ZERO_SHOT, n_ads_in_workspace=n_ads, **wanted)
    np.save(folder / "embeddings.npy", matrix)
    return folder


def zero_shot_encoders(encoders: tuple[Any, Any] | None = None) -> tuple[Any, Any]:
    """The (text, image) encoder objects of the zero-shot fallback (names or objects;
    default MiniLM and EfficientNet-Lite0)."""
    from vendorlink.train.data import resolve_encoder

    text, image = encoders or ("minilm", "efficientnet-lite0")
    return resolve_encoder(text), resolve_encoder(image)


def prepare_index(
    workspace: Workspace,
    model_folder: Path | None,
    *,
    kind: IndexKind = "auto",
    progress: bool = False,
    encoders: tuple[Any, Any] | None = None,
) -> Path:
    """The index folder for ``model_folder`` (``None``: zero-shot with ``encoders``), built
    if needed."""
    if model_folder is not None:
        return ensure_link_index(workspace, model_folder, kind=kind, progress=progress)
    text, image = zero_shot_encoders(encoders)
    return _zero_shot_index(workspace, text, image, kind, progress)


def _train_settings(model_folder: Path) -> dict[str, Any]:
    path = model_folder / "train_config.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def embed_query(
    model_folder: Path | None,
    *,
    text: str | None = None,
    images: list[Path] | None = None,
    encoders: tuple[Any, Any] | None = None,
) -> dict[str, np.ndarray]:
    """``{"embedding": (1, dim)}`` (plus ``"logits"`` when the model has a classifier) for
    new text (masked first) and/or image files. ``encoders``: those of the zero-shot
    fallback (``model_folder=None``)."""
    from vendorlink.extract.fields import extract_fields
    from vendorlink.train.data import resolve_encoder

    images = [Path(p) for p in images or []]
    for path in images:
        if not path.is_file():
            raise InputError(f"image file {path} does not exist")
    has_text = bool(text and text.strip())
    if not has_text and not images:
        raise InputError("a query needs an ad id, non-empty text or at least one image file")
    settings = _train_settings(model_folder) if model_folder is not None else {}
    backend = settings.get("encoder_backend", "torch")
    text_name = settings.get("text_encoder", "minilm")
    image_name = settings.get("image_encoder", "efficientnet-lite0")
    modality = "multimodal"
    model = None
    if model_folder is not None:
        from vendorlink.models.multimodal import VendorModel

        model = VendorModel.load(model_folder)
        modality = model.config.modality
    if modality == "text" and not has_text:
        raise InputError(f"the model {model_folder} is text-only: give --text")
    if modality == "image" and not images:
        raise InputError(f"the model {model_folder} is image-only: give --image")
    use_text = has_text and modality != "image"
    use_image = bool(images) and modality != "text"
    t = i = None
    if model is None:
        text_name, image_name = zero_shot_encoders(encoders)
    if use_text or model is None:
        encoder = resolve_encoder(text_name, backend)
        masked = extract_fields(text)["masked_text"] if use_text else ""
        t = encoder.encode([masked]) if use_text else np.zeros((1, encoder.dim), np.float32)
    if use_image or model is None:
        encoder = resolve_encoder(image_name, backend)
        i = (
            encoder.encode([str(p) for p in images]).mean(axis=0, keepdims=True)
            if use_image
            else np.zeros((1, encoder.dim), np.float32)
        )
    flags_t, flags_i = np.array([use_text]), np.array([use_image])
    if model is None:
        from types import SimpleNamespace

        from vendorlink.evaluate.model import zero_shot_multimodal

        row = SimpleNamespace(text=t, image=i, has_text=flags_t, has_image=flags_i)
        return {"embedding": zero_shot_multimodal(row)}
    return model.embed(
        text=t if modality != "image" else None,
        image=i if modality != "text" else None,
        has_text=flags_t if modality != "image" else None,
        has_image=flags_i if modality != "text" else None,
    )


def label_source_for(workspace: Workspace, model_folder: Path | None) -> str | None:
    """The labels hits are shown with: the model's training labels, else the default."""
    if model_folder is not None:
        source = _train_settings(model_folder).get("label_source")
        if source:
            return str(source)
    return workspace.settings.get("default_label_source")


def _describe(
    workspace: Workspace, ids: list[str], reveal: bool, source: str | None
) -> dict[str, tuple[Any, str]]:
    """ad id -> (vendor in label source ``source`` or None, masked or raw text)."""
    if not ids:
        return {}
    with workspace.connect(read_only=True) as con:
        con.execute("CREATE TEMP TABLE q (ad_id VARCHAR)")
        con.executemany("INSERT INTO q VALUES (?)", [[a] for a in ids])
        has_fields = bool(con.execute("SELECT count(*) FROM fields").fetchall()[0][0])
        rows = con.execute(
            "SELECT q.ad_id, l.vendor, a.text, "
            + ("f.masked_text " if has_fields else "NULL ")
            + "FROM q JOIN ads a USING (ad_id) "
            "LEFT JOIN labels l ON l.ad_id = q.ad_id AND l.label_source = ? "
            + ("LEFT JOIN fields f ON f.ad_id = q.ad_id" if has_fields else ""),
            [source or ""],
        ).fetchall()
    from vendorlink.extract.fields import extract_fields

    out: dict[str, tuple[Any, str]] = {}
    for ad_id, vendor, raw, masked in rows:
        if reveal:
            shown = raw or ""
        else:
            shown = masked if masked is not None else extract_fields(raw)["masked_text"]
        out[ad_id] = (vendor, shown or "")
    return out


def search_ads(
    workspace: Workspace,
    *,
    ad_id: str | None = None,
    text: str | None = None,
    images: list[Path] | None = None,
    k: int = 10,
    model: str | Path | None = None,
    kind: IndexKind = "auto",
    reveal: bool = False,
    progress: bool = False,
    encoders: tuple[Any, Any] | None = None,
) -> SearchResult:
    """Top ``k`` ads for an ad of the workspace (``ad_id``) or for new text / images.

    ``model``: a model name (under ``artefacts/models``), a folder, ``"zero-shot"``, or
    ``None`` (the most recent trained model; zero-shot when there is none, with a notice).
    ``encoders``: the (text, image) encoders of the zero-shot fallback (names or objects).
    """
    if k < 1:
        raise InputError(f"k must be at least 1, got {k}")
    if ad_id is not None and (text or images):
        raise InputError("give either an ad id or new text / images, not both")
    if not (workspace.path / "vendorlink.duckdb").exists():
        raise WorkspaceError(f"{workspace.path} has no database")
    model_folder, notice = resolve_model(workspace, model)
    folder = prepare_index(workspace, model_folder, kind=kind, progress=progress, encoders=encoders)
    index = EmbeddingIndex.load(folder)
    if ad_id is not None:
        position = {a: i for i, a in enumerate(index.ids)}
        if ad_id not in position:
            raise InputError(
                f"ad {ad_id!r} is not in the index of {folder.name} (unknown ad id, or the ad "
                "lacks the modality the model needs)"
            )
        vectors = np.load(folder / "embeddings.npy", mmap_mode="r")
        query = np.asarray(vectors[position[ad_id]], dtype=np.float32)[None, :]
        found = search_vector(index, query, k, exclude=ad_id)
        described: dict[str, Any] = {"ad_id": ad_id}
        predicted = None
    else:
        predicted = None
        embedded = embed_query(model_folder, text=text, images=images, encoders=encoders)
        query = embedded["embedding"]
        if "logits" in embedded:
            from vendorlink.models.io import load_model

            vendors = load_model(model_folder).vendors if model_folder is not None else []
            if vendors:
                predicted = vendors[int(np.argmax(embedded["logits"][0]))]
        found = search_vector(index, query, k)
        described = {
            "text": bool(text and text.strip()),
            "images": [str(p) for p in images or []],
        }
    source = label_source_for(workspace, model_folder)
    return SearchResult(
        query=described,
        model=str(model_folder) if model_folder is not None else ZERO_SHOT,
        index_kind=index.kind,
        hits=_with_details(workspace, found, reveal, source),
        notice=notice,
        label_source=source,
        query_vector=query,
        predicted_vendor=predicted,
    )


def _with_details(
    workspace: Workspace, hits: list[LinkHit], reveal: bool, source: str | None
) -> list[SearchHit]:
    info = _describe(workspace, [h.ad_id for h in hits], reveal, source)
    return [SearchHit(h.rank, h.ad_id, h.score, *info.get(h.ad_id, (None, ""))) for h in hits]
