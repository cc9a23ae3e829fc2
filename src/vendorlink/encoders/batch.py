"""Encoding as a function over batches of records, for distributed engines.

:class:`BatchEncoder` is a callable class: constructed once per worker (it loads the model),
then called on batches (a ``dict`` of numpy arrays, a pandas DataFrame or a pyarrow Table),
returning the batch with an embedding column added. That is the shape Ray Data's
``map_batches`` expects, so the in-process code runs unchanged on a cluster::

    ds.map_batches(BatchEncoder, fn_constructor_kwargs={"spec": "minilm", "column": "text"},
                   concurrency=8, batch_size=256)

No Ray import happens here; nothing depends on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vendorlink.encoders.base import Backend, load_encoder


class BatchEncoder:
    """Adds ``output`` (one float32 vector per row) computed from the ``column`` of a batch."""

    def __init__(
        self,
        spec: str = "minilm",
        column: str = "text",
        *,
        output: str = "embedding",
        backend: Backend = "torch",
        **options: Any,
    ) -> None:
        self.encoder = load_encoder(spec, backend=backend, **options)
        self.column = column
        self.output = output

    def __call__(self, batch: Any) -> Any:
        import pandas as pd
        import pyarrow as pa

        if isinstance(batch, pa.Table):
            vectors = self.encoder.encode(batch.column(self.column).to_pylist())
            flat = pa.array(vectors.reshape(-1))
            column = pa.FixedSizeListArray.from_arrays(flat, self.encoder.dim)
            return batch.append_column(self.output, column)
        if isinstance(batch, pd.DataFrame):
            out = batch.copy()
            out[self.output] = list(self.encoder.encode(batch[self.column].tolist()))
            return out
        if isinstance(batch, dict):
            vectors = self.encoder.encode(list(batch[self.column]))
            return {**batch, self.output: vectors}
        raise TypeError(f"unsupported batch type {type(batch).__name__}")


def stack(column: Any) -> np.ndarray:
    """A float32 matrix from an embedding column (list of arrays, Arrow lists, 2-D array)."""
    if isinstance(column, np.ndarray) and column.ndim == 2:
        return column.astype(np.float32, copy=False)
    return np.stack([np.asarray(v, dtype=np.float32) for v in column])
