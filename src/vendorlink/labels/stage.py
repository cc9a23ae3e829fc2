"""The ``label`` stage: write vendor labels into a workspace.

Label sources (``labels.label_source``):

- ``given``: the VENDOR column of the ingested files.
- ``identifiers``: communities of ads sharing a phone number or email (see
  :mod:`vendorlink.labels.communities`); needs the ``extract`` stage first.
- any other name: labels read from a file (e.g. ``truth`` from a generated benchmark's
  ``truth_ads.parquet``).

The workspace's *default* label source, used by ``split`` and later stages, is stored in
``workspace.json``; the first labelling sets it, ``set_default=True`` changes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from vendorlink.data.store import insert_arrow, scalar
from vendorlink.data.workspace import RunContext, Workspace
from vendorlink.errors import InputError, StageOrderError
from vendorlink.labels.agreement import label_agreement
from vendorlink.labels.communities import (
    DEFAULT_IDENTIFIERS,
    IDENTIFIER_FIELDS,
    communities_table,
    identifier_communities,
)


def label_by_identifiers(
    workspace: Workspace,
    *,
    identifiers: Sequence[str] = DEFAULT_IDENTIFIERS,
    giant_min_ads: int = 50,
    giant_fraction: float = 0.01,
    label_source: str = "identifiers",
    set_default: bool = False,
) -> dict[str, Any]:
    """Label ads by identifier communities; returns the community statistics."""
    unknown = set(identifiers) - set(IDENTIFIER_FIELDS)
    if unknown:
        raise InputError(
            f"unknown identifier field(s) {sorted(unknown)}; use {', '.join(IDENTIFIER_FIELDS)}"
        )
    params = {"identifiers": list(identifiers), "giant_min_ads": giant_min_ads,
              "giant_fraction": giant_fraction, "label_source": label_source}  # fmt: skip
    with workspace.run("label", params) as run:
        n_ads = int(scalar(run.con, "SELECT count(*) FROM ads"))
        n_fields = int(scalar(run.con, "SELECT count(*) FROM fields"))
        if n_fields < n_ads:
            raise StageOrderError(
                f"{n_ads - n_fields} ads have no extracted fields; run `vendorlink extract` first"
            )
        concat = " || ".join(f"coalesce(f.{name}, [])" for name in identifiers)
        rows = run.con.execute(
            f"SELECT a.ad_id, list_distinct({concat}) FROM ads a JOIN fields f USING (ad_id) "
            "ORDER BY a.ad_id"
        ).fetchall()
        found = identifier_communities(
            [r[0] for r in rows],
            [r[1] or [] for r in rows],
            giant_min_ads=giant_min_ads,
            giant_fraction=giant_fraction,
        )
        _replace_labels(run, label_source, found.labels)
        run.con.execute("DELETE FROM label_communities WHERE label_source = ?", [label_source])
        insert_arrow(
            run.con, "label_communities", communities_table(found, label_source, run.run_id)
        )
        stats = {"label_source": label_source, **found.stats}
        run.stats.update(stats)
    _maybe_set_default(workspace, label_source, set_default)
    return stats


def label_from_given(workspace: Workspace, *, set_default: bool = False) -> dict[str, Any]:
    """Use the VENDOR column of the ingested files as labels (label source ``given``)."""
    with workspace.run("label", {"label_source": "given"}) as run:
        rows = run.con.execute("SELECT ad_id, vendor FROM ads WHERE vendor IS NOT NULL").fetchall()
        if not rows:
            raise InputError("no ingested ad has a vendor column; use identifier communities")
        labels = dict(rows)
        _replace_labels(run, "given", labels)
        stats = _label_stats(run, "given", labels)
        run.stats.update(stats)
    _maybe_set_default(workspace, "given", set_default)
    return stats


def label_from_file(
    workspace: Workspace,
    path: str | Path,
    *,
    label_source: str = "truth",
    id_column: str = "ad_id",
    vendor_column: str = "vendor_id",
    set_default: bool = False,
) -> dict[str, Any]:
    """Read labels (ad id -> vendor) from a CSV or Parquet file into ``label_source``."""
    if label_source in ("given", "identifiers"):
        raise InputError(f"label source {label_source!r} is reserved; choose another name")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    reader = "read_parquet" if path.suffix.lower() in (".parquet", ".pq") else "read_csv_auto"
    params = {"path": str(path), "label_source": label_source,
              "id_column": id_column, "vendor_column": vendor_column}  # fmt: skip
    with workspace.run("label", params) as run:
        try:
            rows = run.con.execute(
                f'SELECT CAST("{id_column}" AS VARCHAR), CAST("{vendor_column}" AS VARCHAR) '
                f"FROM {reader}(?)",
                [str(path)],
            ).fetchall()
        except Exception as exc:  # duckdb.BinderException names the missing column
            raise InputError(
                f"{path}: cannot read {id_column!r} and {vendor_column!r}: {exc}"
            ) from exc
        labels = {a: v for a, v in rows if a is not None and v is not None}
        known = {r[0] for r in run.con.execute("SELECT ad_id FROM ads").fetchall()}
        unmatched = len(set(labels) - known)
        labels = {a: v for a, v in labels.items() if a in known}
        _replace_labels(run, label_source, labels)
        stats = {**_label_stats(run, label_source, labels), "file_ids_not_in_workspace": unmatched}
        run.stats.update(stats)
    _maybe_set_default(workspace, label_source, set_default)
    return stats


def compare_label_sources(workspace: Workspace, predicted: str, reference: str) -> dict[str, Any]:
    """Agreement of two label sources over the ads both label (see ``label_agreement``)."""
    with workspace.connect(read_only=True) as con:
        pred = _labels_of(con, predicted)
        ref = _labels_of(con, reference)
    return {"predicted": predicted, "reference": reference, **label_agreement(pred, ref)}


def label_sources(workspace: Workspace) -> dict[str, int]:
    with workspace.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT label_source, count(*) FROM labels GROUP BY 1 ORDER BY 1"
        ).fetchall()
    return {name: int(n) for name, n in rows}


def default_label_source(workspace: Workspace) -> str | None:
    return workspace.settings.get("default_label_source")


def _labels_of(con: Any, source: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT ad_id, vendor FROM labels WHERE label_source = ?", [source]
    ).fetchall()
    if not rows:
        raise InputError(f"no labels from source {source!r} in this workspace")
    return dict(rows)


def _replace_labels(run: RunContext, label_source: str, labels: dict[str, str]) -> None:
    run.con.execute("DELETE FROM labels WHERE label_source = ?", [label_source])
    table = pa.table(
        {
            "ad_id": list(labels),
            "label_source": [label_source] * len(labels),
            "vendor": list(labels.values()),
            "run_id": [run.run_id] * len(labels),
        },
        schema=pa.schema(
            [("ad_id", pa.string()), ("label_source", pa.string()),
             ("vendor", pa.string()), ("run_id", pa.string())]
        ),
    )  # fmt: skip
    insert_arrow(run.con, "labels", table)


def _label_stats(run: RunContext, label_source: str, labels: dict[str, str]) -> dict[str, Any]:
    n_ads = int(scalar(run.con, "SELECT count(*) FROM ads"))
    sizes: dict[str, int] = {}
    for vendor in labels.values():
        sizes[vendor] = sizes.get(vendor, 0) + 1
    return {
        "label_source": label_source,
        "n_ads": n_ads,
        "n_labelled": len(labels),
        "n_unlabelled": n_ads - len(labels),
        "n_vendors": len(sizes),
        "max_vendor_size": max(sizes.values(), default=0),
    }


def _maybe_set_default(workspace: Workspace, label_source: str, force: bool) -> None:
    if force or not workspace.settings.get("default_label_source"):
        workspace.save_settings(default_label_source=label_source)
