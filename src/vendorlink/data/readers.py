"""Readers for ad files: MATCHED-style CSV, JSONL and Parquet.

Every reader yields batches of *raw records*: a list of :class:`RawRecord`, one per
input row, in input order. A row that cannot be read (bad encoding, bad JSON,
too many fields) is still yielded, with ``error`` set, so that ingest can put it
in the rejects table; no row is skipped here.

Columns are found by a :class:`ColumnMap`: each canonical field (``id``, ``text``,
``title``, ``description``, ``images``, ``vendor``, ``region``, ``city``,
``posted_at``) maps to a source column, detected case-insensitively from common
names when not given. The MATCHED format has ``TEXT`` = title ``[SEP]``
description, ``IMAGES`` = one or more image paths, ``VENDOR``.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendorlink.errors import InputError

CANONICAL_FIELDS: tuple[str, ...] = (
    "id",
    "text",
    "title",
    "description",
    "images",
    "vendor",
    "region",
    "city",
    "posted_at",
)

# Source column names recognised for each canonical field when no mapping is given.
DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "ad_id", "adid", "post_id"),
    "text": ("text", "body", "content"),
    "title": ("title",),
    "description": ("description", "desc"),
    "images": ("images", "image", "image_paths", "image_path", "imgs"),
    "vendor": ("vendor", "vendor_id", "label", "author"),
    "region": ("region",),
    "city": ("city", "location"),
    "posted_at": ("posted_at", "date", "post_date", "posted", "timestamp"),
}

FORMATS = ("csv", "jsonl", "parquet")
BATCH_ROWS = 20_000


@dataclass
class ColumnMap:
    """Which source column holds each canonical field. Unset fields are auto-detected."""

    mapping: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, items: list[str] | None) -> ColumnMap:
        """Parse ``["text=body", "images=pics"]`` (canonical=source) into a map."""
        mapping: dict[str, str] = {}
        for item in items or []:
            if "=" not in item:
                raise InputError(f"column mapping {item!r} must look like FIELD=COLUMN")
            key, value = (part.strip() for part in item.split("=", 1))
            key = key.lower()
            if key not in CANONICAL_FIELDS:
                raise InputError(
                    f"unknown field {key!r} in column mapping; "
                    f"fields are {', '.join(CANONICAL_FIELDS)}"
                )
            mapping[key] = value
        return cls(mapping)

    def resolve(self, columns: list[str], source: str) -> dict[str, str]:
        """Map canonical fields to the columns present; raise if a mapped column is missing."""
        by_lower = {c.lower(): c for c in columns}
        resolved: dict[str, str] = {}
        for key, column in self.mapping.items():
            if column not in columns:
                raise InputError(
                    f"{source}: column {column!r} (mapped to {key}) not found; "
                    f"columns are {', '.join(columns)}"
                )
            resolved[key] = column
        for key in CANONICAL_FIELDS:
            if key in resolved:
                continue
            for name in DEFAULT_NAMES[key]:
                if name in by_lower and by_lower[name] not in resolved.values():
                    resolved[key] = by_lower[name]
                    break
        if not {"text", "title", "description", "images"} & resolved.keys():
            raise InputError(
                f"{source}: no text or image column found among {', '.join(columns)}; "
                "name one with --map text=COLUMN or --map images=COLUMN"
            )
        return resolved


@dataclass
class RawRecord:
    """One input row, with its canonical fields as strings (or a list for images)."""

    source_row: int
    values: dict[str, Any]
    extra: dict[str, Any]
    raw: dict[str, Any]
    error: str | None = None
    detail: str | None = None


def detect_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        return fmt
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".parquet", ".pq"):
        return "parquet"
    raise InputError(f"{path}: cannot tell the format from {suffix!r}; pass --format")


def read_records(
    path: str | Path,
    *,
    fmt: str | None = None,
    columns: ColumnMap | None = None,
    encoding: str = "utf-8",
    batch_rows: int = BATCH_ROWS,
) -> tuple[dict[str, str], Iterator[list[RawRecord]]]:
    """Open ``path`` and return (resolved column map, iterator over batches of records)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    fmt = detect_format(path, fmt)
    columns = columns or ColumnMap()
    if fmt == "csv":
        return _read_csv(path, columns, encoding, batch_rows)
    if fmt == "jsonl":
        return _read_jsonl(path, columns, encoding, batch_rows)
    return _read_parquet(path, columns, batch_rows)


def _split_values(
    row: Mapping[str, Any], resolved: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    used = set(resolved.values())
    values = {key: row.get(column) for key, column in resolved.items()}
    extra = {k: v for k, v in row.items() if k not in used and k is not None}
    return values, extra


def _has_surrogates(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
    return False


def _read_csv(
    path: Path, columns: ColumnMap, encoding: str, batch_rows: int
) -> tuple[dict[str, str], Iterator[list[RawRecord]]]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    enc = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    handle = open(path, encoding=enc, errors="surrogateescape", newline="")  # noqa: SIM115
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.reader(handle, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise InputError(f"{path}: the file is empty") from None
    if any(_has_surrogates(h) for h in header):
        handle.close()
        raise InputError(f"{path}: the header is not valid {encoding}; pass --encoding")
    resolved = columns.resolve(header, str(path))

    def batches() -> Iterator[list[RawRecord]]:
        batch: list[RawRecord] = []
        try:
            for cells in reader:
                row_number = reader.line_num  # physical line where the record ends
                if not cells:
                    continue  # blank line: not a record
                row = dict(zip(header, cells, strict=False))
                values, extra = _split_values(row, resolved)
                record = RawRecord(row_number, values, extra, raw=_printable(row))
                if len(cells) > len(header):
                    record.error = "malformed_row"
                    record.detail = f"{len(cells)} fields, header has {len(header)}"
                else:
                    bad = [k for k, v in row.items() if _has_surrogates(v)]
                    if bad:
                        record.error = "bad_encoding"
                        record.detail = f"column {bad[0]!r} is not valid {encoding}"
                batch.append(record)
                if len(batch) >= batch_rows:
                    yield batch
                    batch = []
            if batch:
                yield batch
        finally:
            handle.close()

    return resolved, batches()


def _read_jsonl(
    path: Path, columns: ColumnMap, encoding: str, batch_rows: int
) -> tuple[dict[str, str], Iterator[list[RawRecord]]]:
    # Columns are the union of the keys of the first rows: read ahead to resolve them.
    keys: list[str] = []
    with open(path, "rb") as handle:
        for i, line in enumerate(handle):
            if i >= 1000:
                break
            try:
                obj = json.loads(line.decode(encoding))
            except (UnicodeDecodeError, json.JSONDecodeError):
                continue
            if isinstance(obj, dict):
                keys.extend(k for k in obj if k not in keys)
    resolved = columns.resolve(keys, str(path))

    def batches() -> Iterator[list[RawRecord]]:
        batch: list[RawRecord] = []
        with open(path, "rb") as handle:
            for line_number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                record = _jsonl_record(line, line_number, resolved, encoding)
                batch.append(record)
                if len(batch) >= batch_rows:
                    yield batch
                    batch = []
        if batch:
            yield batch

    return resolved, batches()


def _jsonl_record(
    line: bytes, line_number: int, resolved: dict[str, str], encoding: str
) -> RawRecord:
    try:
        text = line.decode(encoding)
    except UnicodeDecodeError as exc:
        raw = {"line": line.decode(encoding, errors="replace")[:2000]}
        return RawRecord(
            line_number, {}, {}, raw, "bad_encoding", f"byte {exc.start}: {exc.reason}"
        )
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return RawRecord(line_number, {}, {}, {"line": text[:2000]}, "bad_json", str(exc))
    if not isinstance(obj, dict):
        return RawRecord(
            line_number, {}, {}, {"line": text[:2000]}, "bad_json", "not a JSON object"
        )
    values, extra = _split_values(obj, resolved)
    return RawRecord(line_number, values, extra, raw=obj)


def _read_parquet(
    path: Path, columns: ColumnMap, batch_rows: int
) -> tuple[dict[str, str], Iterator[list[RawRecord]]]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise InputError(f"{path}: not a readable Parquet file ({exc})") from exc
    resolved = columns.resolve(list(parquet.schema_arrow.names), str(path))

    def batches() -> Iterator[list[RawRecord]]:
        row_number = 0
        for table in parquet.iter_batches(batch_size=batch_rows):
            out: list[RawRecord] = []
            for row in table.to_pylist():
                row_number += 1
                values, extra = _split_values(row, resolved)
                out.append(RawRecord(row_number, values, extra, raw=row))
            yield out

    return resolved, batches()


def _printable(row: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``row`` safe to store as JSON (undecodable bytes shown as replacements)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, str) and _has_surrogates(value):
            value = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        out[str(key)] = value
    return out
