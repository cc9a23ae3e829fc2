"""Small helpers for moving Arrow data in and out of the workspace's DuckDB tables."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import duckdb
import pyarrow as pa

_names = itertools.count()


def insert_arrow(
    con: duckdb.DuckDBPyConnection, table: str, data: pa.Table | list[dict[str, Any]]
) -> int:
    """Insert ``data`` (an Arrow table or a list of row dicts) into ``table``, by column name."""
    if isinstance(data, list):
        if not data:
            return 0
        data = pa.Table.from_pylist(data)
    if data.num_rows == 0:
        return 0
    view = f"_insert_{next(_names)}"
    con.register(view, data)
    try:
        cols = ", ".join(f'"{c}"' for c in data.column_names)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {view}")
    finally:
        con.unregister(view)
    return data.num_rows


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] = ()) -> Any:
    """The first column of the first row of ``sql`` (None when there is no row)."""
    row = con.execute(sql, list(params)).fetchone()
    return row[0] if row else None
