"""The flag training table: cached encoder vectors of the labelled ads, their labels and parts.

:func:`build_flag_data` reads the ads named by a :class:`~vendorlink.flag.labels.LabelSet`
from a workspace with :func:`vendorlink.train.build_ad_table` (text vector = cached
embedding of the masked text, image vector = mean of the ad's cached image embeddings;
vectors not cached yet are computed and cached), and gives every ad a part:

- ``split_name=None`` (default): a seeded split by *content group* (an exact duplicate goes
  where its original goes, so the same content is never in train and test), ``ratios``
  train / val / test;
- ``split_name="default"`` (or another): the workspace's split of that name (ads outside
  it get no part and are not used).

Label ids that are not ads of the workspace raise an :class:`InputError` naming them, or
are set aside with a count (``unknown="skip"``); ads without text and image are set aside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder
from vendorlink.errors import InputError
from vendorlink.flag.labels import LabelSet
from vendorlink.train.data import AdTable, build_ad_table

__all__ = ["FlagData", "build_flag_data", "group_split"]

PARTS = ("train", "val", "test")


@dataclass
class FlagData:
    """Aligned arrays: ``table`` (vectors, presence flags), ``labels`` (n, C), ``part`` (n,)."""

    table: AdTable
    labels: np.ndarray
    names: list[str]
    part: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.table)

    def rows(self, part: str, modality: str = "multimodal") -> np.ndarray:
        """Row positions of ``part`` usable by a model of ``modality``."""
        return np.flatnonzero((self.part == part) & self.table.usable(modality))

    def inputs(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """Numpy model inputs of ``rows``."""
        t = self.table
        return {
            "text": t.text[rows],
            "image": t.image[rows],
            "has_text": t.has_text[rows],
            "has_image": t.has_image[rows],
        }


def group_split(
    groups: Sequence[str], ratios: Sequence[float] = (0.7, 0.15, 0.15), seed: int = 0
) -> np.ndarray:
    """``train`` / ``val`` / ``test`` per row, whole groups at a time, in seeded random order."""
    if len(ratios) != 3 or any(r < 0 for r in ratios) or not np.isclose(sum(ratios), 1.0):
        raise InputError(f"ratios must be three non-negative numbers summing to 1, got {ratios}")
    keys = np.asarray(groups, dtype=object)
    unique, inverse = np.unique(keys.astype(str), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    sizes = np.bincount(inverse, minlength=len(unique))[order]
    cumulative = np.cumsum(sizes) / max(len(keys), 1)
    part_of_group = np.empty(len(unique), dtype=object)
    bounds = np.cumsum(ratios)
    for rank, g in enumerate(order):
        start = cumulative[rank] - sizes[rank] / max(len(keys), 1)
        part_of_group[g] = PARTS[min(int(np.searchsorted(bounds, start, side="right")), 2)]
    return part_of_group[inverse]


def build_flag_data(
    workspace: Workspace,
    labels: LabelSet,
    *,
    con: Any,
    text_encoder: str | Encoder | None = "minilm",
    image_encoder: str | Encoder | None = "efficientnet-lite0",
    backend: str = "torch",
    split_name: str | None = None,
    ratios: Sequence[float] = (0.7, 0.15, 0.15),
    seed: int = 0,
    unknown: Literal["error", "skip"] = "error",
    raw: bool = False,
    progress: bool = False,
) -> FlagData:
    """Vectors, labels and parts of the labelled ads (see the module docstring).

    ``raw`` also reads each ad's masked text and image files (for fine-tuning).
    """
    rows = con.execute("SELECT ad_id, external_id, duplicate_of FROM ads").fetchall()
    by_id = {r[0]: r for r in rows}
    by_external = {r[1]: r[0] for r in rows if r[1] is not None}
    resolved: list[str] = []
    keep: list[int] = []
    missing: list[str] = []
    for i, ad in enumerate(labels.ad_ids.tolist()):
        ad_id = ad if ad in by_id else by_external.get(ad)
        if ad_id is None:
            missing.append(ad)
            continue
        resolved.append(ad_id)
        keep.append(i)
    if missing and (unknown == "error" or not resolved):
        raise InputError(
            f"{len(missing)} of {len(labels)} labelled ads are not in the workspace "
            f"{workspace.path} (e.g. {missing[:5]}); check the id column, or set them aside "
            "with unknown='skip' (--skip-unknown)"
        )
    stats: dict[str, Any] = {"label_rows": len(labels), "unknown_ids": len(missing)}
    table = build_ad_table(
        workspace,
        con=con,
        split_name=None,
        label_source=None,
        text_encoder=text_encoder,
        image_encoder=image_encoder,
        backend=backend,
        ad_ids=resolved,
        progress=progress,
        stats=stats,
        require_labels=False,
        raw=raw,
    )
    matrix = labels.matrix[np.array(keep, dtype=np.int64)]
    if split_name is None:
        group = [by_id[a][2] or a for a in resolved]
        part = group_split(group, ratios, seed)
    else:
        found = dict(
            con.execute(
                "SELECT ad_id, part FROM splits WHERE split_name = ?", [split_name]
            ).fetchall()
        )
        if not found:
            raise InputError(f"split {split_name!r} does not exist in {workspace.path}")
        part = np.array([found.get(a) for a in resolved], dtype=object)
    empty = ~table.usable("multimodal")
    stats["no_content"] = int(empty.sum())
    part = np.where(empty, None, part)
    stats["parts"] = {p: int((part == p).sum()) for p in PARTS}
    return FlagData(table=table, labels=matrix, names=list(labels.names), part=part, stats=stats)
