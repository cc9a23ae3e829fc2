"""The ``extract`` stage: fields and masked text for each ad, hashes and face flags per image.

Reads ``ads`` and ``images``; writes ``fields`` (one row per ad) and ``image_fields`` (one
row per distinct image). Each batch is committed when done and work already done is skipped
unless ``force`` is given, so an interrupted extraction resumes where it stopped. The
per-batch functions (:func:`vendorlink.extract.fields.extract_batch`,
:func:`vendorlink.extract.image_fields.image_fields_batch`) are pure, so the same code runs
under a distributed engine's ``map_batches`` for collections too big for one machine.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from vendorlink.data.store import insert_arrow, scalar
from vendorlink.data.workspace import RunContext, Workspace
from vendorlink.extract.fields import extract_batch
from vendorlink.extract.image_fields import image_fields_batch
from vendorlink.lexicon import FIELD_NAMES
from vendorlink.progress import progress_bar

TEXT_BATCH = 5_000
IMAGE_BATCH = 2_000
FIELD_COLUMNS = (
    *FIELD_NAMES,
    "masked_text", "n_chars", "n_special_chars", "n_emoji", "n_tokens", "n_unique_tokens",
    "uppercase_ratio",
)  # fmt: skip


def run_extract(
    workspace: Workspace,
    *,
    images: bool = True,
    force: bool = False,
    workers: int = 2,
    progress: bool = False,
) -> dict[str, Any]:
    """Extract fields of every ad (and image) not yet extracted; returns coverage statistics."""
    params = {"images": images, "force": force, "workers": workers}
    with workspace.run("extract", params) as run:
        if force:
            run.con.execute("DELETE FROM fields")
            if images:
                run.con.execute("DELETE FROM image_fields")
        n_ads = _extract_texts(run, progress)
        n_images = _extract_images(run, workers, progress) if images else 0
        stats = {"ads_extracted": n_ads, "images_hashed": n_images, **field_coverage(run)}
        run.stats.update(stats)
    return stats


def _extract_texts(run: RunContext, progress: bool) -> int:
    todo = run.con.sql(
        "SELECT ad_id, text FROM ads WHERE ad_id NOT IN (SELECT ad_id FROM fields) ORDER BY ad_id"
    ).to_arrow_table()
    total = todo.num_rows
    with progress_bar("extract fields", total, progress) as advance:
        for start in range(0, total, TEXT_BATCH):
            chunk = todo.slice(start, TEXT_BATCH)
            ad_ids = chunk.column("ad_id").to_pylist()
            frame = extract_batch(chunk.column("text").to_pylist())
            frame = frame.rename(columns={"n_uppercase_ratio": "uppercase_ratio"})
            frame.insert(0, "ad_id", ad_ids)
            frame["run_id"] = run.run_id
            insert_arrow(
                run.con,
                "fields",
                pa.Table.from_pandas(
                    frame[["ad_id", *FIELD_COLUMNS, "run_id"]], preserve_index=False
                ),
            )
            run.checkpoint()  # an interrupted extraction resumes after this batch
            advance(len(ad_ids))
    return total


def _extract_images(run: RunContext, workers: int, progress: bool) -> int:
    todo = run.con.execute(
        "SELECT image_id, any_value(root || '/' || path) FROM images "
        "WHERE image_id NOT IN (SELECT image_id FROM image_fields) GROUP BY image_id ORDER BY 1"
    ).fetchall()
    with progress_bar("hash images", len(todo), progress) as advance:
        for start in range(0, len(todo), IMAGE_BATCH):
            chunk = todo[start : start + IMAGE_BATCH]
            results = image_fields_batch([path for _, path in chunk], workers=workers)
            rows = [
                {
                    "image_id": image_id,
                    "phash": r.get("phash"),
                    "dhash": r.get("dhash"),
                    "n_faces": r.get("n_faces"),
                    "has_face": r.get("has_face"),
                    "error": r.get("error"),
                    "run_id": run.run_id,
                }
                for (image_id, _), r in zip(chunk, results, strict=True)
            ]
            insert_arrow(run.con, "image_fields", rows)
            run.checkpoint()
            advance(len(chunk))
    return len(todo)


def field_coverage(run: RunContext) -> dict[str, Any]:
    """Share of ads with at least one value of each field; image hash and face counts."""
    n = int(scalar(run.con, "SELECT count(*) FROM fields") or 0)
    coverage: dict[str, float] = {}
    if n:
        exprs = ", ".join(f"count(*) FILTER (WHERE len({f}) > 0)" for f in FIELD_NAMES)
        row = run.con.execute(f"SELECT {exprs} FROM fields").fetchone() or ()
        coverage = {f: round(int(c) / n, 4) for f, c in zip(FIELD_NAMES, row, strict=True)}
    faces = run.con.execute(
        "SELECT count(*), count(*) FILTER (WHERE has_face), "
        "count(*) FILTER (WHERE error IS NOT NULL)"
        " FROM image_fields"
    ).fetchone() or (0, 0, 0)
    return {
        "ads_with_fields": n,
        "share_of_ads_with": coverage,
        "images": {"hashed": int(faces[0]), "with_face": int(faces[1]), "errors": int(faces[2])},
    }
