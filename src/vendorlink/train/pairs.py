"""The per-(text, image)-pair mode of MATCHED: one sample per pair of an ad's text and image.

MATCHED trains its multimodal baselines on ``(text, image)`` pairs: an ad with three images
becomes three samples sharing the ad's text. Done wrong, the pairs of one ad land in
different parts of the split (the same text in train and test). Here the split is made **by
ad before expansion**: :func:`expand_pairs` takes an ad-level
:class:`~vendorlink.train.data.AdTable` whose rows already carry their ad's ``part`` and
``domain``, and every pair inherits them, so all pairs of an ad stay in one part.

- an ad with text and ``k`` images gives ``k`` samples ``(text, image_j)``;
- an ad with text and no image gives one text-only sample;
- an ad with images and no text gives one image-only sample per image.

At evaluation the pair embeddings of each ad are averaged and L2-normalised
(:func:`aggregate_by_ad`), so metrics are counted per ad, as in the ad-level mode.
"""

from __future__ import annotations

import numpy as np

from vendorlink.errors import InputError
from vendorlink.train.data import AdTable
from vendorlink.vectors import unit_rows

__all__ = ["aggregate_by_ad", "expand_pairs"]


def expand_pairs(table: AdTable) -> tuple[AdTable, np.ndarray]:
    """One row per (text, image) pair; returns ``(pairs, ad_row)``.

    ``ad_row[i]`` is the row of ``table`` that pair ``i`` comes from. Needs the per-image
    vectors (``build_ad_table(..., keep_images=True)``) when the table has image vectors,
    or the image paths (``raw=True``) for the fine-tuning regimes.
    """
    n = len(table)
    has_vectors = table.image_vectors is not None and table.image_owner is not None
    if table.image.shape[1] and not has_vectors and table.image_paths is None:
        raise InputError(
            "the per-pair mode needs each image's vector: build the table with keep_images=True"
        )
    images_of: list[list[int]] = [[] for _ in range(n)]
    if has_vectors:
        assert table.image_owner is not None
        for j, owner in enumerate(table.image_owner.tolist()):
            images_of[owner].append(j)
    ad_row: list[int] = []
    image_index: list[int] = []  # -1 = no image in this sample
    path_index: list[int] = []  # position in the ad's image_paths, -1 = none
    for i in range(n):
        if table.image_paths is not None and table.has_image[i] and not has_vectors:
            choices = list(range(len(table.image_paths[i])))
            per = [(-1, k) for k in choices]
        elif table.has_image[i] and images_of[i]:
            per = [(j, k) for k, j in enumerate(images_of[i])]
        else:
            per = [(-1, -1)]
        for j, k in per:
            ad_row.append(i)
            image_index.append(j)
            path_index.append(k)
    rows = np.asarray(ad_row, dtype=np.int64)
    images = np.asarray(image_index, dtype=np.int64)
    pairs = table.select(rows)
    pairs.image_vectors = pairs.image_owner = None
    if has_vectors:
        assert table.image_vectors is not None
        image = np.zeros_like(pairs.image)
        present = images >= 0
        image[present] = table.image_vectors[images[present]]
        pairs.image = image
        pairs.has_image = present
    if table.image_paths is not None:
        paths = np.empty(len(rows), dtype=object)
        for p, (i, k) in enumerate(zip(rows.tolist(), path_index, strict=True)):
            own = list(table.image_paths[i])
            paths[p] = [own[k]] if 0 <= k < len(own) else []
        pairs.image_paths = paths
    return pairs, rows


def aggregate_by_ad(embeddings: np.ndarray, ad_row: np.ndarray, n_ads: int) -> np.ndarray:
    """Mean of each ad's pair embeddings, L2-normalised: ``(n_ads, dim)``.

    ``ad_row[i]`` is the ad of pair ``i``; an ad without pairs gets a zero row.
    """
    if len(embeddings) != len(ad_row):
        raise ValueError(f"{len(embeddings)} embeddings for {len(ad_row)} pair rows")
    out = np.zeros((n_ads, embeddings.shape[1]), dtype=np.float32)
    np.add.at(out, ad_row, embeddings.astype(np.float32))
    counts = np.bincount(ad_row, minlength=n_ads)
    filled = counts > 0
    out[filled] = unit_rows(out[filled] / counts[filled, None], "pair embeddings")
    return out
