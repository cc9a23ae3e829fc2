"""Extract fields from a CSV or JSONL file of ads into a JSONL file, without a workspace.

Input: a CSV file (``.csv``; ``.tsv`` is tab-separated) with a text column named ``TEXT`` or
``text`` (any case), or a JSON Lines file (``.jsonl``, ``.ndjson``) whose objects have a
``text`` (or ``TEXT``) field. Output: one JSON object per input row, in input order, with
``row`` (0-based data-row number), ``id`` where the row has an ``id`` / ``ad_id`` column,
and every field of :func:`vendorlink.extract.fields.extract_fields`. A row that cannot be
read (a line that is not a JSON object, text that is missing or not a string, bytes that are
not UTF-8, a CSV row with the wrong number of cells) still gets its line, with an ``error``
key saying why, so that output line *k* always belongs to input row *k*. Blank lines of a
JSONL file are not rows.

The output is written to a temporary file beside ``output_path`` and renamed into place
only when complete.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vendorlink.errors import InputError
from vendorlink.extract.fields import extract_fields
from vendorlink.lexicon import FIELD_NAMES
from vendorlink.progress import progress_bar

CSV_SUFFIXES = {".csv": ",", ".tsv": "\t"}
JSONL_SUFFIXES = (".jsonl", ".ndjson")
TEXT_KEYS = ("text", "TEXT")
ID_KEYS = ("id", "ID", "ad_id", "AD_ID")


@dataclass
class ExtractSummary:
    """What :func:`extract_file` did."""

    input_path: str
    output_path: str
    format: str
    n_rows: int = 0
    n_ok: int = 0
    n_errors: int = 0
    seconds: float = 0.0
    rows_with: dict[str, int] = field(default_factory=dict)
    """Rows with at least one value, per field of :data:`vendorlink.lexicon.FIELD_NAMES`."""

    @property
    def rows_per_second(self) -> float:
        return self.n_rows / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rows_per_second": round(self.rows_per_second, 1)}


@dataclass
class _Row:
    text: str | None
    id: Any = None
    error: str | None = None


def extract_file(
    input_path: str | Path, output_path: str | Path, progress: bool = True
) -> ExtractSummary:
    """Extract the fields of every row of ``input_path`` into the JSONL file ``output_path``.

    Raises :class:`vendorlink.errors.InputError` if the file is missing, of an unknown kind,
    or (CSV) has no text column; problems of single rows become ``error`` lines.
    """
    source = Path(input_path)
    target = Path(output_path)
    if not source.is_file():
        raise InputError(f"{source}: no such file")
    fmt = _format_of(source)
    summary = ExtractSummary(str(source), str(target), fmt)
    summary.rows_with = dict.fromkeys(FIELD_NAMES, 0)
    total = _count_rows(source, fmt) if progress else None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    started = time.perf_counter()
    try:
        rows = (
            _csv_rows(source, CSV_SUFFIXES[source.suffix.lower()])
            if fmt == "csv"
            else _jsonl_rows(source)
        )
        with (
            tmp.open("w", encoding="utf-8", newline="\n") as out,
            progress_bar(f"extract {source.name}", total, progress) as advance,
        ):
            for number, row in enumerate(rows):
                record = _record(number, row, summary)
                out.write(json.dumps(record, ensure_ascii=False))
                out.write("\n")
                advance(1)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    summary.seconds = time.perf_counter() - started
    return summary


def _record(number: int, row: _Row, summary: ExtractSummary) -> dict[str, Any]:
    summary.n_rows += 1
    record: dict[str, Any] = {"row": number}
    if row.id is not None:
        record["id"] = row.id
    if row.error is not None or row.text is None:
        summary.n_errors += 1
        record["error"] = row.error or "no text"
        return record
    try:
        fields = extract_fields(row.text)
    except Exception as exc:  # never expected; a row must not stop the file
        summary.n_errors += 1
        record["error"] = f"extraction failed: {type(exc).__name__}: {exc}"
        return record
    summary.n_ok += 1
    for name in FIELD_NAMES:
        if fields[name]:
            summary.rows_with[name] += 1
    record.update(fields)
    return record


def _format_of(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES:
        return "jsonl"
    raise InputError(f"{path}: unknown file kind {suffix!r}; use .csv, .tsv, .jsonl or .ndjson")


def _csv_rows(path: Path, delimiter: str) -> Iterator[_Row]:
    # Ads can be long: lift the csv module's field size limit while this file is read.
    old_limit = csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    try:
        yield from _csv_rows_within_limit(path, delimiter)
    finally:
        csv.field_size_limit(old_limit)


def _csv_rows_within_limit(path: Path, delimiter: str) -> Iterator[_Row]:
    # surrogateescape: bytes that are not UTF-8 survive reading and mark only their row.
    handle = path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        text_col = _column(header, TEXT_KEYS)
        if text_col is None:
            raise InputError(
                f"{path}: no text column (looked for TEXT or text among {', '.join(header)})"
            )
        id_col = _column(header, ID_KEYS)
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield _Row(None, None, f"row cannot be read as CSV: {exc}")
                continue
            row_id = cells[id_col] if id_col is not None and id_col < len(cells) else None
            if len(cells) != len(header):
                yield _Row(
                    None, row_id, f"row has {len(cells)} cells, the header has {len(header)}"
                )
                continue
            text = cells[text_col]
            if _has_surrogates(text):
                yield _Row(None, row_id, "text is not valid UTF-8")
                continue
            yield _Row(text, row_id)


def _jsonl_rows(path: Path) -> Iterator[_Row]:
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                yield _Row(None, None, "line is not valid UTF-8")
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield _Row(None, None, f"line is not JSON: {exc.msg}")
                continue
            if not isinstance(obj, dict):
                yield _Row(None, None, f"line is a JSON {type(obj).__name__}, not an object")
                continue
            row_id = next((obj[k] for k in ID_KEYS if k in obj), None)
            key = next((k for k in TEXT_KEYS if k in obj), None)
            if key is None:
                yield _Row(None, row_id, "no text field")
                continue
            text = obj[key]
            if not isinstance(text, str):
                kind = "null" if text is None else type(text).__name__
                yield _Row(None, row_id, f"text is {kind}, not a string")
                continue
            yield _Row(text, row_id)


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    wanted = {n.lower() for n in names}
    for i, name in enumerate(header):
        if name.strip().lower() in wanted:
            return i
    return None


def _has_surrogates(value: str) -> bool:
    return not value.isascii() and any("\udc80" <= c <= "\udcff" for c in value)


def _count_rows(path: Path, fmt: str) -> int | None:
    """Rows in the file, for the progress bar (None if counting fails)."""
    try:
        if fmt == "jsonl":
            with path.open("rb") as handle:
                return sum(1 for line in handle if line.strip())
        delimiter = CSV_SUFFIXES[path.suffix.lower()]
        with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as f:
            return max(0, sum(1 for _ in csv.reader(f, delimiter=delimiter)) - 1)
    except (OSError, csv.Error):
        return None


__all__ = ["ExtractSummary", "extract_file"]
