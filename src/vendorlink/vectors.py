"""Checking and normalising embedding matrices (shared by evaluation and the FAISS index)."""

from __future__ import annotations

from typing import Any

import numpy as np

from vendorlink.errors import InputError


def unit_rows(
    vectors: Any, name: str, *, dim: int | None = None, allow_empty: bool = True
) -> np.ndarray:
    """``vectors`` as a C-contiguous float32 matrix with L2-normalised rows.

    Raises :class:`InputError` (a ``ValueError``) naming ``name`` and the offending rows for a
    wrong shape or width, non-finite values, or all-zero rows (which have no direction).
    """
    x = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if x.ndim != 2 or (x.shape[0] == 0 and not allow_empty):
        kind = "a non-empty" if not allow_empty else "an"
        raise InputError(f"{name} must be {kind} (n, dim) matrix, got shape {x.shape}")
    if dim is not None and x.shape[1] != dim:
        raise InputError(f"{name} have dim {x.shape[1]}, expected {dim}")
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if bad.size:
        raise InputError(f"{name} has non-finite values in rows {bad[:10].tolist()}")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    zero = np.flatnonzero(norms[:, 0] == 0)
    if zero.size:
        raise InputError(f"{name} has all-zero rows (no direction) {zero[:10].tolist()}")
    return np.ascontiguousarray(x / norms)
