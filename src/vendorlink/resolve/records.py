"""The record table that resolve works on: typed, normalised fields plus a column mapping.

Any data maps onto it: ads from a workspace (:func:`ads_frame`), FEBRL, restaurant
lists. Each :class:`~vendorlink.resolve.settings.FieldSpec` names a field, its kind and the
input column it comes from. Normalisation by kind:

- ``text``: ``str`` (missing -> ``""``); word tokens are lower-case runs of letters/digits.
- ``string`` / ``category``: stripped ``str`` or ``None`` (empty -> ``None``); categories
  are also lower-cased.
- ``number``: ``float64`` (missing or unparsable -> NaN).
- ``timestamp``: seconds since 1970 as ``float64`` (NaN when missing; ``YYYYMMDD`` strings,
  ISO strings, dates and datetimes are read; an unparsable value is an error).
- ``string_list``: tuple of non-empty stripped strings (a scalar becomes a one-item list).
- ``hash_list``: ``uint64`` array per record (16-digit hex strings or ints; bad hex is an
  error naming the row and field).
- ``embedding``: one ``float32`` matrix row per record (NaN row when missing).

Records are addressed by position (``rid`` 0..n-1) everywhere in resolve; ``ids`` maps back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import sparse

from vendorlink.errors import InputError
from vendorlink.resolve.settings import FieldSpec, ResolveSettings
from vendorlink.resolve.textindex import TextIndex, build_text_index

_WORD = re.compile(r"[^\W_]+")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens (runs of Unicode letters and digits)."""
    return _WORD.findall(text.lower()) if text else []


_SPECIAL = re.compile(r"[^\w\s]|_")


def count_special_chars(text: str) -> int:
    """Characters that are neither letters, digits nor whitespace (emoji, punctuation)."""
    return len(_SPECIAL.findall(text)) if text else 0


@dataclass
class RecordTable:
    """Typed records: ``ids`` and, per field name, normalised ``values`` (see module doc)."""

    ids: np.ndarray
    specs: dict[str, FieldSpec]
    values: dict[str, Any]
    sources: np.ndarray | None = None  # int code per record (link_only)
    source_names: list[str] = field(default_factory=list)
    labels: np.ndarray | None = None  # true entity label per record (object, None if unknown)
    workers: int = 1  # processes for heavy per-record work (the text index)
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.ids)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        settings: ResolveSettings | Sequence[FieldSpec],
        *,
        record_id: str | None = None,
        source_column: str | None = None,
        label_column: str | None = None,
    ) -> RecordTable:
        """Build a record table from a DataFrame, reading each field from its mapped column."""
        if isinstance(settings, ResolveSettings):
            specs = list(settings.fields)
            record_id = record_id or settings.record_id
            source_column = source_column or settings.source_column
            label_column = label_column or settings.label_column
        else:
            specs = list(settings)
        record_id = record_id or "record_id"
        needed = [record_id] + [s.source_column for s in specs]
        needed += [c for c in (source_column, label_column) if c]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise InputError(f"record table lacks columns {missing}; it has {list(frame.columns)}")
        ids = frame[record_id].astype(str).to_numpy(dtype=object)
        dup = pd.Series(ids).duplicated()
        if dup.any():
            raise InputError(
                f"record ids repeat in column {record_id!r}: e.g. {ids[int(np.argmax(dup))]!r}"
            )
        values: dict[str, Any] = {}
        for spec in specs:
            values[spec.name] = _normalise(frame[spec.source_column], spec, ids)
        sources, source_names = None, []
        if source_column:
            codes, uniques = pd.factorize(frame[source_column].astype(str), sort=True)
            sources, source_names = codes.astype(np.int32), [str(u) for u in uniques]
        labels = None
        if label_column:
            lab = frame[label_column]
            labels = np.array(
                [None if _is_missing(v) else str(v) for v in lab.tolist()], dtype=object
            )
        return cls(
            ids=ids,
            specs={s.name: s for s in specs},
            values=values,
            sources=sources,
            source_names=source_names,
            labels=labels,
        )

    def subset(self, rows: np.ndarray) -> RecordTable:
        """The records at positions ``rows`` (renumbered 0..len(rows)-1)."""
        rows = np.asarray(rows)
        values: dict[str, Any] = {}
        for name, v in self.values.items():
            values[name] = v[rows] if isinstance(v, np.ndarray) else [v[i] for i in rows]
        return RecordTable(
            ids=self.ids[rows],
            specs=dict(self.specs),
            values=values,
            sources=None if self.sources is None else self.sources[rows],
            source_names=list(self.source_names),
            labels=None if self.labels is None else self.labels[rows],
        )

    @classmethod
    def concat(cls, tables: Sequence[RecordTable]) -> RecordTable:
        """The records of ``tables`` one after another (same fields; caches start empty)."""
        if not tables:
            raise InputError("nothing to concatenate")
        first = tables[0]
        values: dict[str, Any] = {}
        for name in first.specs:
            parts = [t.values[name] for t in tables]
            if isinstance(parts[0], np.ndarray) and parts[0].ndim == 2:  # embeddings
                width = max(p.shape[1] for p in parts)
                parts = [p if p.shape[1] == width else _nan_rows(p, width) for p in parts]
                values[name] = np.concatenate(parts)
            elif isinstance(parts[0], np.ndarray):
                values[name] = np.concatenate(parts)
            else:
                values[name] = [x for p in parts for x in p]
        labels = None
        if all(t.labels is not None for t in tables):
            labels = np.concatenate([t.labels for t in tables])
        return cls(
            ids=np.concatenate([t.ids for t in tables]),
            specs=dict(first.specs),
            values=values,
            labels=labels,
        )

    # ---- derived, cached per field ------------------------------------------------------
    def kind(self, name: str) -> str:
        if name not in self.specs:
            raise InputError(f"record table has no field {name!r}; it has {list(self.specs)}")
        return self.specs[name].kind

    def tokens(self, name: str) -> list[list[str]]:
        """Word tokens of a text (or string) field, per record."""
        key = ("tokens", name)
        if key not in self._cache:
            self._cache[key] = [tokenize(t or "") for t in self.values[name]]
        return self._cache[key]

    def text_index(self, name: str) -> TextIndex:
        """The compact n-gram / token index of a text field (built once, in chunks)."""
        key = ("text_index", name)
        if key not in self._cache:
            self._cache[key] = build_text_index(self.values[name], workers=self.workers)
        return self._cache[key]

    def ngrams(self, name: str, n: int) -> list[list[str]]:
        """Distinct word n-grams (``n`` = 1 or 2 or more) of a text field, per record."""
        key = ("ngrams", name, n)
        if key not in self._cache:
            toks = self.tokens(name)
            if n == 1:
                out = [list(dict.fromkeys(t)) for t in toks]
            else:
                out = [
                    list(dict.fromkeys(" ".join(t[i : i + n]) for i in range(len(t) - n + 1)))
                    for t in toks
                ]
            self._cache[key] = out
        return self._cache[key]

    def set_matrix(self, name: str, n: int = 1, char: bool = False) -> sparse.csr_matrix:
        """Binary CSR matrix, records x distinct items, of a field's item sets.

        Items are word n-grams of text (``char`` -> character n-grams of the lower-cased
        string), the values of a list field, or the hashes of a hash list.
        """
        key = ("set_matrix", name, n, char)
        if key in self._cache:
            return self._cache[key]
        kind = self.kind(name)
        if kind == "text" and not char and n in (1, 2):
            return self.text_index(name).ngram_matrix(n)
        if char:
            items: list[Any] = [_char_ngrams((s or "").lower(), n) for s in self.values[name]]
        elif kind == "text":
            items = self.ngrams(name, n)
        elif kind == "hash_list":
            items = [list(dict.fromkeys(h.tolist())) for h in self.values[name]]
        else:
            items = [list(dict.fromkeys(v)) for v in self.values[name]]
        vocab: dict[Any, int] = {}
        indptr = np.zeros(len(items) + 1, dtype=np.int64)
        indices: list[int] = []
        for i, row in enumerate(items):
            for it in row:
                indices.append(vocab.setdefault(it, len(vocab)))
            indptr[i + 1] = len(indices)
        data = np.ones(len(indices), dtype=np.float32)
        mat = sparse.csr_matrix(
            (data, np.asarray(indices, dtype=np.int64), indptr),
            shape=(len(items), max(len(vocab), 1)),
        )
        self._cache[key] = mat
        return mat

    def present(self, name: str) -> np.ndarray:
        """Boolean mask: the record has a (non-empty) value for the field."""
        key = ("present", name)
        if key in self._cache:
            return self._cache[key]
        kind, v = self.kind(name), self.values[name]
        if kind == "text":
            out = np.array([bool(t) for t in v], dtype=bool)
        elif kind in ("string", "category"):
            out = np.array([s is not None for s in v], dtype=bool)
        elif kind in ("number", "timestamp"):
            out = ~np.isnan(v)
        elif kind == "embedding":
            out = ~np.isnan(v).any(axis=1)
        else:
            out = np.array([len(x) > 0 for x in v], dtype=bool)
        self._cache[key] = out
        return out

    def to_arrow(self, names: Sequence[str] | None = None) -> pa.Table:
        """An Arrow table for DuckDB: ``rid``, ``record_id``, ``src``, ``label`` and fields.

        Text n-grams are not included (blocking reads them from :meth:`text_index`); hash
        lists become ``UBIGINT[]``; embeddings are left out (blocked with FAISS).
        """
        n = len(self)
        cols: dict[str, pa.Array] = {
            "rid": pa.array(np.arange(n, dtype=np.int64)),
            "record_id": pa.array(self.ids.tolist(), pa.string()),
            "src": pa.array(np.zeros(n, dtype=np.int32) if self.sources is None else self.sources),
            "label": pa.array(
                [None] * n if self.labels is None else self.labels.tolist(), pa.string()
            ),
        }
        for name in names if names is not None else list(self.specs):
            kind, v = self.kind(name), self.values[name]
            if kind == "text" or kind in ("string", "category"):
                cols[name] = pa.array(list(v), pa.string())
            elif kind == "number":
                cols[name] = pa.array(v, pa.float64(), mask=np.isnan(v))
            elif kind == "timestamp":
                mask = np.isnan(v)
                secs = np.where(mask, 0, v).astype(np.int64)
                cols[name] = pa.array(secs, pa.timestamp("s"), mask=mask)
            elif kind == "string_list":
                cols[name] = pa.array([list(x) for x in v], pa.list_(pa.string()))
            elif kind == "hash_list":
                cols[name] = pa.array([x.tolist() for x in v], pa.list_(pa.uint64()))
        return pa.table(cols)


def _nan_rows(matrix: np.ndarray, width: int) -> np.ndarray:
    """An all-missing embedding block (a table whose records have no vector) at ``width``."""
    if not np.isnan(matrix).all():
        raise InputError(f"embeddings of width {matrix.shape[1]} and {width} cannot be joined")
    return np.full((len(matrix), width), np.nan, dtype=np.float32)


# ---- normalisation ------------------------------------------------------------------------
def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and np.isnan(v):
        return True
    return bool(v is pd.NA or v is pd.NaT)


def _as_list(v: Any) -> list[Any]:
    if _is_missing(v):
        return []
    if isinstance(v, (list, tuple, np.ndarray, pa.Array)):
        return [x for x in list(v) if not _is_missing(x)]
    return [v]


def _vector(v: Any) -> np.ndarray | None:
    """One embedding as float32, ``None`` when missing or empty (vectors are converted
    whole; element by element only when some elements are missing)."""
    if _is_missing(v):
        return None
    try:
        vec = np.asarray(v, dtype=np.float32)
    except (TypeError, ValueError):
        kept = _as_list(v)
        return np.asarray(kept, dtype=np.float32) if kept else None
    return vec.ravel() if vec.size else None


def _normalise(col: pd.Series, spec: FieldSpec, ids: np.ndarray) -> Any:
    kind, raw = spec.kind, col.tolist()
    if kind == "text":
        return ["" if _is_missing(v) else str(v) for v in raw]
    if kind in ("string", "category"):
        out = []
        for v in raw:
            s = None if _is_missing(v) else str(v).strip()
            if s and kind == "category":
                s = s.lower()
            out.append(s or None)
        return np.array(out, dtype=object)
    if kind == "number":
        return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
    if kind == "timestamp":
        return _timestamps(col, spec, ids)
    if kind == "string_list":
        return [tuple(dict.fromkeys(s for s in (str(x).strip() for x in _as_list(v)) if s))
                for v in raw]  # fmt: skip
    if kind == "hash_list":
        out_h = []
        for i, v in enumerate(raw):
            try:
                hashes = [int(x, 16) if isinstance(x, str) else int(x) for x in _as_list(v)]
                out_h.append(np.array(hashes, dtype=np.uint64))
            except (ValueError, OverflowError) as exc:
                raise InputError(
                    f"record {ids[i]!r}, field {spec.name!r} (column {spec.source_column!r}): "
                    f"image hash {v!r} is not a 64-bit hex hash ({exc})"
                ) from exc
        return out_h
    if kind == "embedding":
        vecs = [_vector(v) for v in raw]
        dims = {len(x) for x in vecs if x is not None}
        if len(dims) > 1:
            raise InputError(f"field {spec.name!r}: embeddings have different lengths {dims}")
        d = dims.pop() if dims else 1
        mat = np.full((len(vecs), d), np.nan, dtype=np.float32)
        for i, x in enumerate(vecs):
            if x is not None:
                mat[i] = x
        return mat
    raise InputError(f"field {spec.name!r}: unknown kind {kind!r}")


def _timestamps(col: pd.Series, spec: FieldSpec, ids: np.ndarray) -> np.ndarray:
    if pd.api.types.is_datetime64_any_dtype(col):
        ts = pd.to_datetime(col)
    else:
        text = col.map(lambda v: None if _is_missing(v) else str(v).strip() or None)
        is_ymd = text.str.fullmatch(r"\d{8}").fillna(False).astype(bool)
        ts = pd.Series(pd.NaT, index=col.index, dtype="datetime64[ns]")
        if is_ymd.any():
            ts[is_ymd] = pd.to_datetime(text[is_ymd], format="%Y%m%d", errors="coerce")
        rest = ~is_ymd & text.notna()
        if rest.any():
            parsed = pd.to_datetime(text[rest], errors="coerce", format="mixed")
            bad = parsed.isna()
            if bad.any():
                pos = int(np.flatnonzero(rest.to_numpy())[int(np.argmax(bad.to_numpy()))])
                raise InputError(
                    f"record {ids[pos]!r}, field {spec.name!r} (column {spec.source_column!r}):"
                    f" {col.iloc[pos]!r} is not a date"
                )
            ts[rest] = parsed
    ts = pd.to_datetime(ts)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    secs = ts.astype("datetime64[s]").astype("int64").to_numpy().astype(np.float64)
    secs[ts.isna().to_numpy()] = np.nan
    return secs


def _char_ngrams(s: str, n: int) -> list[str]:
    if len(s) < n:
        return [s] if s else []
    return list(dict.fromkeys(s[i : i + n] for i in range(len(s) - n + 1)))


# ---- ads from a workspace -----------------------------------------------------------------
ADS_SQL = """
SELECT
    a.ad_id,
    coalesce(f.masked_text, a.text) AS text,
    f.phones, f.emails, f.names, f.ethnicities,
    list_transform(f.rates, lambda x: CAST(x AS VARCHAR)) AS rates,
    f.restrictions,
    a.posted_at, a.city, a.region,
    (SELECT list(x.phash ORDER BY i.position)
       FROM images i JOIN image_fields x USING (image_id)
      WHERE i.ad_id = a.ad_id AND x.phash IS NOT NULL) AS image_hashes,
    l.vendor AS label
FROM ads a
LEFT JOIN fields f USING (ad_id)
LEFT JOIN labels l ON l.ad_id = a.ad_id AND l.label_source = ?
ORDER BY a.ad_id
"""


def ads_frame(con: Any, label_source: str | None = None) -> pd.DataFrame:
    """One row per ad of a workspace connection, in the columns of :func:`ads_settings`.

    ``text`` is the masked text from ``fields`` (the ad text when not extracted), so text
    features cannot see phone numbers; ``image_hashes`` lists the ad's pHashes in image
    order; ``label`` is the vendor of ``label_source`` (``None`` when not given).
    """
    return con.execute(ADS_SQL, [label_source or ""]).df()
