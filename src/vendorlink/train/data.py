"""The training table: one row per ad with its cached encoder vectors, label and split part.

Text vector: the cached embedding of the ad's masked text (``embed_ads``); ads with empty
text get zeros and ``has_text = False``. Image vector: the mean of the cached embeddings of
the ad's images (``aggregate_images``); ads without a (readable) image get zeros and
``has_image = False``. Nothing is dropped here: models that need a modality select the rows
that have it (:meth:`AdTable.usable`), and the caller reports how many were left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import torch

from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder, embed_ads, embed_images, load_encoder
from vendorlink.errors import InputError, StageOrderError
from vendorlink.models.fusion import aggregate_images

__all__ = ["AdTable", "build_ad_table", "resolve_encoder"]


@dataclass
class AdTable:
    """Aligned arrays over ads (row ``i`` is ``ad_ids[i]``).

    ``vendor`` is ``None`` for unlabelled ads, ``part`` / ``domain`` ``None`` for ads
    outside the split. ``text`` is ``(N, text_dim)`` and ``image`` ``(N, image_dim)``
    float32 (zeros where absent).

    Optional (:func:`build_ad_table` with ``raw=True`` / ``keep_images=True``): ``texts``,
    the masked text of each ad (for fine-tuning the text encoder); ``image_paths``, each
    ad's readable image files in position order (for fine-tuning the image encoder);
    ``image_vectors`` ``(M, image_dim)`` with ``image_owner`` ``(M,)`` (the row each image
    belongs to), the per-image cached vectors behind ``image`` (for the per-pair mode).
    """

    ad_ids: np.ndarray
    vendor: np.ndarray
    part: np.ndarray
    domain: np.ndarray
    text: np.ndarray
    image: np.ndarray
    has_text: np.ndarray
    has_image: np.ndarray
    text_encoder: str = ""
    image_encoder: str = ""
    texts: np.ndarray | None = None
    image_paths: np.ndarray | None = None
    image_vectors: np.ndarray | None = None
    image_owner: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ad_ids)

    def select(self, mask: np.ndarray) -> AdTable:
        """The rows where ``mask`` is true (or the given row positions, in that order)."""
        positions = np.arange(len(self))[mask]
        image_vectors = image_owner = None
        if self.image_vectors is not None and self.image_owner is not None:
            new_row = np.full(len(self), -1, dtype=np.int64)
            new_row[positions] = np.arange(len(positions))
            order = np.argsort(new_row[self.image_owner], kind="stable")
            order = order[new_row[self.image_owner][order] >= 0]
            image_vectors = self.image_vectors[order]
            image_owner = new_row[self.image_owner][order]
        return AdTable(
            ad_ids=self.ad_ids[mask],
            vendor=self.vendor[mask],
            part=self.part[mask],
            domain=self.domain[mask],
            text=self.text[mask],
            image=self.image[mask],
            has_text=self.has_text[mask],
            has_image=self.has_image[mask],
            text_encoder=self.text_encoder,
            image_encoder=self.image_encoder,
            texts=None if self.texts is None else self.texts[mask],
            image_paths=None if self.image_paths is None else self.image_paths[mask],
            image_vectors=image_vectors,
            image_owner=image_owner,
        )

    def usable(self, modality: str) -> np.ndarray:
        """Rows a model of ``modality`` can embed (bool mask)."""
        if modality == "text":
            return self.has_text.copy()
        if modality == "image":
            return self.has_image.copy()
        return self.has_text | self.has_image

    def rows(
        self,
        part: str | Sequence[str] | None = None,
        domain: str | Sequence[str] | None = None,
        labelled: bool = True,
    ) -> np.ndarray:
        """Bool mask of the rows in ``part`` and ``domain`` (``None`` = any), labelled."""
        mask = np.ones(len(self), dtype=bool)
        if part is not None:
            mask &= np.isin(self.part, [part] if isinstance(part, str) else list(part))
        if domain is not None:
            mask &= np.isin(self.domain, [domain] if isinstance(domain, str) else list(domain))
        if labelled:
            mask &= np.array([v is not None for v in self.vendor], dtype=bool)
        return mask

    def tensors(self, rows: np.ndarray | None = None) -> dict[str, torch.Tensor]:
        """Model inputs for ``rows`` (positions), as tensors."""
        sel = slice(None) if rows is None else rows
        return {
            "text": torch.from_numpy(np.ascontiguousarray(self.text[sel])),
            "image": torch.from_numpy(np.ascontiguousarray(self.image[sel])),
            "has_text": torch.from_numpy(np.ascontiguousarray(self.has_text[sel])),
            "has_image": torch.from_numpy(np.ascontiguousarray(self.has_image[sel])),
        }


def resolve_encoder(encoder: str | Encoder | None, backend: str = "torch") -> Encoder | None:
    """An encoder object from a name / folder (``None`` stays ``None``)."""
    if encoder is None or encoder == "":
        return None
    if isinstance(encoder, str):
        return load_encoder(encoder, backend=backend)  # type: ignore[arg-type]
    return encoder


def build_ad_table(
    workspace: Workspace,
    *,
    con: duckdb.DuckDBPyConnection,
    split_name: str | None = "default",
    label_source: str | None = None,
    text_encoder: str | Encoder | None = "minilm",
    image_encoder: str | Encoder | None = "efficientnet-lite0",
    backend: str = "torch",
    ad_ids: Sequence[str] | None = None,
    progress: bool = False,
    stats: dict[str, Any] | None = None,
    require_labels: bool = True,
    raw: bool = False,
    keep_images: bool = False,
) -> AdTable:
    """Read ads, labels and split parts, and their cached (or newly computed) vectors.

    ``split_name=None`` reads no split (``part``/``domain`` all ``None``). ``label_source``
    defaults to the workspace's default label source (with ``require_labels=False`` and no
    default, every ``vendor`` is ``None``). ``ad_ids`` restricts the table
    (default: every ad). An encoder given as ``None`` leaves that modality absent.
    ``raw`` also reads the masked texts and image file paths (fine-tuning regimes);
    ``keep_images`` keeps the per-image vectors (per-(text, image)-pair mode).
    """
    label_source = label_source or workspace.settings.get("default_label_source")
    if label_source is None and require_labels:
        raise StageOrderError(
            f"{workspace.path} has no default label source: run `vendorlink label` first "
            "or pass label_source"
        )
    if label_source is not None:
        n_labels = con.execute(
            "SELECT count(*) FROM labels WHERE label_source = ?", [label_source]
        ).fetchall()[0][0]
        if not n_labels:
            raise InputError(f"label source {label_source!r} has no labels in {workspace.path}")
    if split_name is not None:
        n_split = con.execute(
            "SELECT count(*) FROM splits WHERE split_name = ?", [split_name]
        ).fetchall()[0][0]
        if not n_split:
            raise StageOrderError(
                f"split {split_name!r} does not exist in {workspace.path}: run `vendorlink split`"
            )
    rows = con.execute(
        "SELECT a.ad_id, l.vendor, s.part, s.domain FROM ads a "
        "LEFT JOIN labels l ON l.ad_id = a.ad_id AND l.label_source = ? "
        "LEFT JOIN splits s ON s.ad_id = a.ad_id AND s.split_name = ? "
        "ORDER BY a.ad_id",
        [label_source or "", split_name or ""],
    ).fetchall()
    if ad_ids is not None:
        by_id = {r[0]: r for r in rows}
        unknown = [a for a in ad_ids if a not in by_id]
        if unknown:
            raise InputError(f"{len(unknown)} ad ids are not in the workspace: {unknown[:5]}")
        rows = [by_id[a] for a in ad_ids]
    ids = np.array([r[0] for r in rows], dtype=object)
    position = {a: i for i, a in enumerate(ids.tolist())}
    n = len(ids)

    text_enc = resolve_encoder(text_encoder, backend)
    image_enc = resolve_encoder(image_encoder, backend)
    text_dim = text_enc.dim if text_enc is not None else 0
    image_dim = image_enc.dim if image_enc is not None else 0
    text = np.zeros((n, text_dim), dtype=np.float32)
    has_text = np.zeros(n, dtype=bool)
    if text_enc is not None and n:
        got_ids, matrix = embed_ads(
            workspace, text_enc, ad_ids=ids.tolist(), con=con, progress=progress
        )
        pos = np.array([position[a] for a in got_ids], dtype=np.int64)
        if len(pos):
            text[pos] = matrix
            has_text[pos] = True

    image = np.zeros((n, image_dim), dtype=np.float32)
    has_image = np.zeros(n, dtype=bool)
    texts: np.ndarray | None = None
    image_paths: np.ndarray | None = None
    image_vectors: np.ndarray | None = None
    image_owner: np.ndarray | None = None
    if raw and text_enc is not None:
        masked = dict(con.execute("SELECT ad_id, coalesce(masked_text, '') FROM fields").fetchall())
        texts = np.array([masked.get(a, "") for a in ids.tolist()], dtype=object)
    if image_enc is not None and n:
        pairs = con.execute(
            "SELECT ad_id, image_id, root, path FROM images ORDER BY ad_id, position"
        ).fetchall()
        file_of = {img: str(Path(root) / path) for _, img, root, path in pairs}
        pairs = [(a, img) for a, img, _, _ in pairs if a in position]
        if pairs:
            distinct = sorted({img for _, img in pairs})
            img_stats: dict[str, Any] = {}
            got, vectors = embed_images(
                workspace,
                image_enc,
                image_ids=distinct,
                con=con,
                on_error="skip",
                progress=progress,
                stats=img_stats,
            )
            row_of = {img: i for i, img in enumerate(got)}
            kept = [(position[a], row_of[img]) for a, img in pairs if img in row_of]
            if kept:
                ad_index = torch.tensor([k[0] for k in kept], dtype=torch.long)
                which = torch.tensor([k[1] for k in kept], dtype=torch.long)
                pooled, present = aggregate_images(
                    torch.from_numpy(vectors)[which], ad_index, "mean", num_ads=n
                )
                image = pooled.numpy().astype(np.float32)
                has_image = present.numpy()
                if keep_images:
                    image_vectors = vectors[which.numpy()]
                    image_owner = ad_index.numpy()
                if raw:
                    image_paths = np.empty(n, dtype=object)
                    for i in range(n):
                        image_paths[i] = []
                    for a, img in pairs:
                        if img in row_of:
                            image_paths[position[a]].append(file_of[img])
            if stats is not None:
                stats["images_failed"] = len(img_stats.get("failed", {}))
    if stats is not None:
        stats.update(
            ads=n,
            ads_with_text=int(has_text.sum()),
            ads_with_image=int(has_image.sum()),
            labelled=int(sum(r[1] is not None for r in rows)),
        )
    return AdTable(
        ad_ids=ids,
        vendor=np.array([r[1] for r in rows], dtype=object),
        part=np.array([r[2] for r in rows], dtype=object),
        domain=np.array([r[3] for r in rows], dtype=object),
        text=text,
        image=image,
        has_text=has_text,
        has_image=has_image,
        text_encoder=text_enc.name if text_enc is not None else "",
        image_encoder=image_enc.name if image_enc is not None else "",
        texts=texts,
        image_paths=image_paths,
        image_vectors=image_vectors,
        image_owner=image_owner,
    )
