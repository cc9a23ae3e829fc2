"""Batches with several ads of each vendor, so contrastive losses have positives.

:func:`vendor_batches` makes one epoch: each vendor's ads are shuffled and cut into groups
of at most ``ads_per_vendor`` (K); the groups are shuffled and packed into batches of about
``vendors_per_batch * ads_per_vendor`` (P x K) ads. Every ad appears exactly once per epoch
(unlike a sampler that draws P vendors with replacement, no ad is over-used and the epoch
is well defined); a vendor with one ad still serves CE and as a negative.
"""

from __future__ import annotations

import numpy as np

__all__ = ["vendor_batches"]


def vendor_batches(
    labels: np.ndarray,
    vendors_per_batch: int,
    ads_per_vendor: int,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Row positions of each batch of one epoch (see the module docstring)."""
    if vendors_per_batch < 1 or ads_per_vendor < 1:
        raise ValueError("vendors_per_batch and ads_per_vendor must be at least 1")
    labels = np.asarray(labels)
    groups: list[np.ndarray] = []
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        rows = rows[rng.permutation(len(rows))]
        groups += [rows[i : i + ads_per_vendor] for i in range(0, len(rows), ads_per_vendor)]
    order = rng.permutation(len(groups))
    target = vendors_per_batch * ads_per_vendor
    batches: list[np.ndarray] = []
    current: list[np.ndarray] = []
    size = 0
    for g in order:
        current.append(groups[g])
        size += len(groups[g])
        if size >= target:
            batches.append(np.concatenate(current))
            current, size = [], 0
    if current:
        batches.append(np.concatenate(current))
    return batches
