"""Output files of a generated dataset: atomic folder, schemas, streaming writers."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from vendorlink import lexicon
from vendorlink.atomic import check_target, new_staging_folder, publish_folder

from .indicators import INDICATORS

ADS_COLUMNS: tuple[str, ...] = ("ID", "TEXT", "IMAGES", "REGION", "CITY", "POSTED_AT")
IMAGE_SEPARATOR = "|"
PARQUET_COMPRESSION = "zstd"

_INT_FIELDS = frozenset({"ages", "rates", "heights_cm", "weights_kg"})


def ads_schema(include_vendor: bool, indicator_columns: bool = False) -> pa.Schema:
    cols = [pa.field(name, pa.string(), nullable=False) for name in ADS_COLUMNS]
    if include_vendor:
        cols.append(pa.field("VENDOR", pa.string(), nullable=False))
    if indicator_columns:
        cols += [pa.field(ads_indicator_column(n), pa.int8(), nullable=False) for n in INDICATORS]
    return pa.schema(cols)


def ads_indicator_column(name: str) -> str:
    """The 0/1 column of indicator ``name`` in the ads file (``IND_MOVEMENT``)."""
    return f"IND_{name.upper()}"


def truth_ads_schema() -> pa.Schema:
    fields = [
        pa.field("ad_id", pa.string(), nullable=False),
        pa.field("vendor_id", pa.string(), nullable=False),
        pa.field("region", pa.string(), nullable=False),
        pa.field("city", pa.string(), nullable=False),
        pa.field("posted_at", pa.string(), nullable=False),
    ]
    for name in lexicon.FIELD_NAMES:
        item = pa.int32() if name in _INT_FIELDS else pa.string()
        fields.append(pa.field(name, pa.list_(item), nullable=False))
    fields += [
        pa.field("is_exact_duplicate_of", pa.string(), nullable=True),
        pa.field("n_images", pa.int32(), nullable=False),
    ]
    fields += [pa.field(f"ind_{name}", pa.bool_(), nullable=False) for name in INDICATORS]
    fields.append(pa.field("indicators", pa.list_(pa.string()), nullable=False))
    return pa.schema(fields)


def truth_images_schema() -> pa.Schema:
    return pa.schema(
        [
            pa.field("path", pa.string(), nullable=False),
            pa.field("vendor_id", pa.string(), nullable=False),
            pa.field("kind", pa.string(), nullable=False),
            pa.field("source_path", pa.string(), nullable=True),
            pa.field("ad_ids", pa.list_(pa.string()), nullable=False),
            pa.field("n_ads", pa.int32(), nullable=False),
            pa.field("used_by_vendor_id", pa.string(), nullable=False),
            pa.field("transform", pa.string(), nullable=True),
            pa.field("format", pa.string(), nullable=False),
            pa.field("width", pa.int32(), nullable=False),
            pa.field("height", pa.int32(), nullable=False),
            pa.field("n_bytes", pa.int64(), nullable=False),
        ]
    )


class OutputFolder:
    """Write a dataset into a temporary sibling folder and move it into place at the end.

    Refuses a non-empty ``out_dir`` unless ``overwrite``; on failure the temporary folder
    is removed and ``out_dir`` is left as it was.
    """

    def __init__(self, out_dir: str | Path, overwrite: bool = False) -> None:
        self.out_dir = Path(out_dir)
        self.overwrite = overwrite
        check_target(self.out_dir, overwrite)
        self.tmp = new_staging_folder(self.out_dir)
        self._done = False

    def path(self, name: str) -> Path:
        return self.tmp / name

    def commit(self) -> Path:
        """Move the finished folder into place (replacing an old one when allowed)."""
        publish_folder(self.tmp, self.out_dir)
        self._done = True
        return self.out_dir

    def abort(self) -> None:
        if not self._done:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is not None:
            self.abort()


class AdsWriter:
    """Streams the ads table to ``ads.csv`` or ``ads.parquet``."""

    def __init__(
        self, path: Path, parquet: bool, include_vendor: bool, indicator_columns: bool = False
    ) -> None:
        self.path = path
        self.parquet = parquet
        self.schema = ads_schema(include_vendor, indicator_columns)
        self.rows = 0
        if parquet:
            self._pq: pq.ParquetWriter | None = pq.ParquetWriter(
                path, self.schema, compression=PARQUET_COMPRESSION
            )
            self._handle = None
        else:
            self._pq = None
            self._handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
            self._csv = csv.writer(self._handle, lineterminator="\n")
            self._csv.writerow(self.schema.names)

    def write(self, columns: dict[str, list[str]]) -> None:
        """Append rows given as columns (extra keys, e.g. an unused VENDOR, are ignored)."""
        names = self.schema.names
        if self._pq is not None:
            self._pq.write_table(pa.table({n: columns[n] for n in names}, schema=self.schema))
        else:
            self._csv.writerows(zip(*(columns[n] for n in names), strict=True))
        self.rows += len(columns["ID"])

    def write_table(self, table: pa.Table) -> None:
        """Append an Arrow table with this writer's schema (Parquet output only)."""
        if self._pq is None:
            raise ValueError("write_table needs Parquet output")
        self._pq.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self._pq is not None:
            self._pq.close()
        if self._handle is not None:
            self._handle.close()


class ParquetStream:
    """A Parquet file written in batches with a fixed schema."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.schema = schema
        self._writer = pq.ParquetWriter(path, schema, compression=PARQUET_COMPRESSION)

    def write(self, columns: dict[str, Any]) -> None:
        self._writer.write_table(pa.table(columns, schema=self.schema))

    def write_table(self, table: pa.Table) -> None:
        self._writer.write_table(table)

    def close(self) -> None:
        self._writer.close()


def write_parquet(path: Path, table: pa.Table) -> None:
    pq.write_table(table, path, compression=PARQUET_COMPRESSION)


def write_json(path: Path, obj: Any) -> None:
    path.write_text(
        json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False) + "\n", encoding="utf-8"
    )
