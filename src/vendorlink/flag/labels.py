"""Multi-label targets for the flag job: any number of 0/1 columns, or one list column.

A :class:`LabelSet` is ``ad_ids`` (n,), ``names`` (C,) and ``matrix`` (n, C) uint8. It comes
from a table (Parquet, CSV, JSON Lines, or a pandas DataFrame) with an id column and:

- ``columns=[...]``: those columns, each holding only 0/1 (or true/false) values;
- ``prefix="ind_"`` (the default when neither ``columns`` nor ``list_column`` is given):
  every column whose name starts with the prefix; the label name is the rest of the name
  (``ind_movement`` -> ``movement``), as the generator's ``truth_ads.parquet`` has them;
- ``list_column="indicators"``: one column whose cells are lists of label names (or a
  ``|``-separated string); the label set is every name seen, sorted (or ``names=``).

Errors are specific: a missing id or label column, a non-binary value (with the column,
the row and the value), a missing value, a duplicate id, no label column at all.
:func:`keyword_labels` turns the ``KEYWORDS`` column of the Openclipart loader into the
``top_k`` most frequent keywords as targets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vendorlink.errors import InputError

__all__ = ["LabelSet", "keyword_labels", "load_labels", "read_table"]

ID_COLUMNS = ("ad_id", "ID", "id")
_TRUE = {"1", "true", "t", "yes", "y"}
_FALSE = {"0", "false", "f", "no", "n"}


@dataclass
class LabelSet:
    """Aligned ad ids, label names and a 0/1 matrix (row ``i`` belongs to ``ad_ids[i]``)."""

    ad_ids: np.ndarray
    names: list[str]
    matrix: np.ndarray

    def __post_init__(self) -> None:
        self.ad_ids = np.asarray(self.ad_ids, dtype=object)
        self.matrix = np.asarray(self.matrix, dtype=np.uint8)
        if self.matrix.shape != (len(self.ad_ids), len(self.names)):
            raise InputError(
                f"label matrix shape {self.matrix.shape} does not match "
                f"{len(self.ad_ids)} ads x {len(self.names)} labels"
            )
        if len(set(self.names)) != len(self.names):
            raise InputError(f"label names repeat: {self.names}")

    def __len__(self) -> int:
        return len(self.ad_ids)

    def positives(self) -> dict[str, int]:
        """Positive count of each label."""
        return {n: int(c) for n, c in zip(self.names, self.matrix.sum(axis=0), strict=True)}

    def select(self, ad_ids: Sequence[str]) -> LabelSet:
        """The rows of ``ad_ids`` in that order (every id must be present)."""
        row_of = {a: i for i, a in enumerate(self.ad_ids.tolist())}
        missing = [a for a in ad_ids if a not in row_of]
        if missing:
            raise InputError(f"{len(missing)} ads have no labels, e.g. {missing[:5]}")
        rows = np.array([row_of[a] for a in ad_ids], dtype=np.int64)
        return LabelSet(self.ad_ids[rows], list(self.names), self.matrix[rows])


def read_table(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """A DataFrame from a Parquet, CSV/TSV or JSON Lines file (or the DataFrame itself)."""
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise InputError(f"labels file {path} does not exist")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str,
                               keep_default_na=False, na_values=[""])  # fmt: skip
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(path, lines=True, dtype=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read labels file {path}: {exc}") from exc
    raise InputError(f"labels file {path}: unknown format {suffix!r} (.parquet, .csv, .jsonl)")


def _id_column(frame: pd.DataFrame, id_column: str | None) -> str:
    if id_column is not None:
        if id_column not in frame.columns:
            raise InputError(f"labels have no id column {id_column!r}: {list(frame.columns)}")
        return id_column
    for name in ID_COLUMNS:
        if name in frame.columns:
            return name
    raise InputError(f"labels have no id column (one of {ID_COLUMNS}): {list(frame.columns)}")


def _binary(values: pd.Series, column: str, ids: np.ndarray) -> np.ndarray:
    """A 0/1 column as uint8; a clear error for missing or non-binary values."""
    out = np.zeros(len(values), dtype=np.uint8)
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            raise InputError(f"label column {column!r} has a missing value for ad {ids[i]!r}")
        if isinstance(value, (bool, np.bool_)):
            out[i] = int(value)
            continue
        if isinstance(value, (int, np.integer, float, np.floating)) and value in (0, 1):
            out[i] = int(value)
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            out[i] = 1
        elif text not in _FALSE:
            raise InputError(
                f"label column {column!r} must hold 0/1 (or true/false) values; "
                f"ad {ids[i]!r} has {value!r}"
            )
    return out


def _list_cells(values: pd.Series, column: str, ids: np.ndarray) -> list[list[str]]:
    cells: list[list[str]] = []
    for i, value in enumerate(values.tolist()):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            cells.append([])
        elif isinstance(value, str):
            cells.append([v.strip() for v in value.split("|") if v.strip()])
        elif isinstance(value, (list, tuple, np.ndarray)):
            cells.append([str(v).strip() for v in value if str(v).strip()])
        else:
            raise InputError(
                f"list column {column!r} must hold lists of label names or '|'-separated "
                f"text; ad {ids[i]!r} has {value!r}"
            )
    return cells


def load_labels(
    source: str | Path | pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    prefix: str | None = None,
    list_column: str | None = None,
    names: Sequence[str] | None = None,
    id_column: str | None = None,
) -> LabelSet:
    """Read a :class:`LabelSet` (see the module docstring for the three forms)."""
    frame = read_table(source)
    id_col = _id_column(frame, id_column)
    ids = frame[id_col].astype(object).to_numpy()
    if pd.isna(frame[id_col]).any():
        raise InputError(f"id column {id_col!r} has missing values")
    ids = np.array([str(a) for a in ids], dtype=object)
    dupes = pd.Series(ids).duplicated()
    if dupes.any():
        raise InputError(f"ad ids repeat in the labels: {ids[dupes.to_numpy()][:5].tolist()}")
    if sum(x is not None for x in (columns, prefix, list_column)) > 1:
        raise InputError("give only one of columns, prefix and list_column")
    if list_column is not None:
        if list_column not in frame.columns:
            raise InputError(f"labels have no column {list_column!r}: {list(frame.columns)}")
        cells = _list_cells(frame[list_column], list_column, ids)
        label_names = list(names) if names is not None else sorted({v for c in cells for v in c})
        if not label_names:
            raise InputError(f"list column {list_column!r} names no labels")
        index = {n: j for j, n in enumerate(label_names)}
        matrix = np.zeros((len(ids), len(label_names)), dtype=np.uint8)
        for i, cell in enumerate(cells):
            for value in cell:
                if value in index:
                    matrix[i, index[value]] = 1
        return LabelSet(ids, label_names, matrix)
    if columns is not None:
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise InputError(f"labels have no column(s) {missing}: {list(frame.columns)}")
        chosen, label_names = list(columns), [str(c) for c in columns]
    else:
        prefix = "ind_" if prefix is None else prefix
        chosen = [c for c in frame.columns if str(c).startswith(prefix) and c != id_col]
        if not chosen:
            raise InputError(
                f"no label columns: none starts with {prefix!r} (give columns=, prefix= or "
                f"list_column=); columns are {list(frame.columns)}"
            )
        label_names = [str(c)[len(prefix) :] or str(c) for c in chosen]
    if not chosen:
        raise InputError("no label columns given")
    matrix = np.stack([_binary(frame[c], str(c), ids) for c in chosen], axis=1)
    return LabelSet(ids, label_names, matrix)


def keyword_labels(
    source: str | Path | pd.DataFrame,
    top_k: int = 20,
    column: str = "KEYWORDS",
    id_column: str | None = None,
) -> LabelSet:
    """The ``top_k`` most frequent keywords of a ``|``-separated keyword column as labels.

    Ties in frequency are broken alphabetically, so the label set is deterministic.
    """
    if top_k < 1:
        raise InputError(f"top_k must be at least 1, got {top_k}")
    frame = read_table(source)
    if column not in frame.columns:
        raise InputError(f"{column!r} column missing; columns are {list(frame.columns)}")
    ids = frame[_id_column(frame, id_column)].astype(str).to_numpy()
    cells = _list_cells(frame[column], column, ids)
    counts: Counter[str] = Counter(v for cell in cells for v in set(cell))
    top = [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]]
    if not top:
        raise InputError(f"column {column!r} holds no keywords")
    return load_labels(
        pd.DataFrame({"ad_id": ids, "labels": cells}), list_column="labels", names=top
    )


def label_summary(labels: LabelSet) -> dict[str, Any]:
    """Counts for logs and reports."""
    return {"ads": len(labels), "labels": len(labels.names), "positives": labels.positives()}
