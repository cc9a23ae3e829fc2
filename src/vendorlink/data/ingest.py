"""Ingest ad files into a workspace: validate, normalise, reject with reasons, never drop silently.

Rules, in the order they are applied to each input row:

1. A row the reader could not read (bad encoding, bad JSON, too many fields) is rejected.
2. Text comes from ``text`` (MATCHED: title ``[SEP]`` description) or from ``title`` and
   ``description``; images from ``images`` (a list, a JSON list, or paths joined by ``|``).
   A row with neither text nor an image is rejected (``no_content``); a date that cannot be
   parsed is rejected (``bad_value``).
3. The ad id is the row's ``id`` when the source has one. Otherwise it is derived from the
   row's content and its occurrence number within the source (``ad-`` + 16 hex digits), so
   the same file gives the same ids on every run.
4. An id already in the workspace with the same content is *already present* (nothing is
   added: ingest is idempotent). With different content it is rejected (``id_conflict``).
5. Each image must resolve inside the image root, exist and decode fully. A bad image
   rejects its ad (``on_bad_image="reject_ad"``, the default) or only itself
   (``"drop_image"``); either way the rejects table says which file and why.
6. Exact duplicates (same text and same image bytes as an earlier ad) are kept, with
   ``duplicate_of`` naming the first such ad.

The whole ingest runs in one transaction: interrupted, it leaves the workspace as it was.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from vendorlink.data.images import ImageCheck, check_images
from vendorlink.data.readers import ColumnMap, RawRecord, detect_format, read_records
from vendorlink.data.store import insert_arrow, scalar
from vendorlink.data.workspace import RunContext, Workspace
from vendorlink.errors import InputError
from vendorlink.progress import progress_bar

SEP = "[SEP]"
IMAGE_SEPARATOR = "|"
BadImagePolicy = Literal["reject_ad", "drop_image"]


@dataclass
class IngestOptions:
    """Options of one ingest; every CLI option of ``vendorlink ingest`` maps to one field."""

    source: str | None = None  # name of the source; default: the file name
    fmt: str | None = None  # csv, jsonl or parquet; default: from the suffix
    columns: list[str] = field(default_factory=list)  # FIELD=COLUMN mappings
    image_root: str | None = None  # default: <input folder>/images if it exists, else the folder
    encoding: str = "utf-8"
    on_bad_image: BadImagePolicy = "reject_ad"
    image_workers: int = 4
    batch_rows: int = 20_000
    progress: bool = False


@dataclass
class IngestSummary:
    """What an ingest did. ``read`` = added + already_present + rejected (nothing else)."""

    run_id: str
    source: str
    read: int = 0
    added: int = 0
    already_present: int = 0
    rejected: int = 0
    duplicates: int = 0
    images_added: int = 0
    images_rejected: int = 0
    reject_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class _Ad:
    record: RawRecord
    ad_id: str
    external_id: str | None
    title: str
    description: str
    text: str
    images: list[str]
    vendor: str | None
    region: str | None
    city: str | None
    posted_at: date | None
    row_hash: str


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def ingest(
    workspace: Workspace, path: str | Path, options: IngestOptions | None = None
) -> IngestSummary:
    """Ingest one file into ``workspace``; returns what was added, skipped and rejected."""
    options = options or IngestOptions()
    path = Path(path)
    fmt = detect_format(path, options.fmt)
    source = options.source or path.name
    root = _image_root(path, options.image_root)
    resolved, batches = read_records(
        path,
        fmt=fmt,
        columns=ColumnMap.parse(options.columns),
        encoding=options.encoding,
        batch_rows=options.batch_rows,
    )
    params = {**options.__dict__, "path": str(path), "source": source, "image_root": str(root)}
    with workspace.run("ingest", params) as run:
        summary = IngestSummary(run_id=run.run_id, source=source)
        _upsert_source(run, source, path, fmt, root, resolved)
        occurrences: Counter[str] = Counter()
        seen: dict[str, tuple[str, int]] = {}
        with progress_bar(f"ingest {path.name}", None, options.progress) as advance:
            for batch in batches:
                _ingest_batch(run, batch, source, root, options, occurrences, seen, summary)
                advance(len(batch))
        summary.duplicates = _mark_duplicates(run)
        _clear_fixed_rejects(run, source)
        run.stats.update(summary.as_dict())
    return summary


def _image_root(path: Path, image_root: str | None) -> Path:
    if image_root:
        root = Path(image_root)
        if not root.is_dir():
            raise InputError(f"image root {root} is not a folder")
    else:
        root = path.parent / "images"
        if not root.is_dir():
            root = path.parent
    return root.resolve()


def _upsert_source(
    run: RunContext, source: str, path: Path, fmt: str, root: Path, resolved: dict[str, str]
) -> None:
    run.con.execute(
        "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source) DO UPDATE SET "
        "path = excluded.path, format = excluded.format, image_root = excluded.image_root, "
        "column_map = excluded.column_map",
        [source, str(path.resolve()), fmt, str(root), json.dumps(resolved), run.run_id],
    )


def _ingest_batch(
    run: RunContext,
    batch: list[RawRecord],
    source: str,
    root: Path,
    options: IngestOptions,
    occurrences: Counter[str],
    seen: dict[str, tuple[str, int]],
    summary: IngestSummary,
) -> None:
    summary.read += len(batch)
    rejects: list[dict[str, Any]] = []
    ads: list[_Ad] = []
    for record in batch:
        try:
            ads.append(_normalise(record, occurrences))
        except _Rejected as rej:
            rejects.append(_reject_row(record, None, rej.reason, rej.detail))

    # Ids from earlier runs, and ids seen earlier in this run (``seen``, all batches).
    known = _known_row_hashes(run, [ad.ad_id for ad in ads])
    new_ads: list[_Ad] = []
    for ad in ads:
        if ad.ad_id in seen:
            row_hash, row = seen[ad.ad_id]
            reason = "repeated_row" if row_hash == ad.row_hash else "id_conflict"
            detail = f"id {ad.ad_id!r} was already used by row {row} of this source"
            rejects.append(_reject_row(ad.record, ad.ad_id, reason, detail))
            continue
        seen[ad.ad_id] = (ad.row_hash, ad.record.source_row)
        if ad.ad_id not in known:
            new_ads.append(ad)
        elif known[ad.ad_id] == ad.row_hash:
            summary.already_present += 1
        else:
            detail = f"id {ad.ad_id!r} already holds different content in the workspace"
            rejects.append(_reject_row(ad.record, ad.ad_id, "id_conflict", detail))

    checks = check_images(
        [p for ad in new_ads for p in ad.images], root, workers=options.image_workers
    )
    ad_rows: list[dict[str, Any]] = []
    image_rows: list[dict[str, Any]] = []
    for ad in new_ads:
        good: list[ImageCheck] = []
        bad: list[ImageCheck] = []
        for p in ad.images:
            (bad if checks[p].reason else good).append(checks[p])
        if bad and options.on_bad_image == "reject_ad":
            first = bad[0]
            detail = "; ".join(f"{c.detail}" for c in bad)
            rejects.append(_reject_row(ad.record, ad.ad_id, first.reason or "", detail))
            continue
        for check in bad:
            rejects.append(
                _reject_image(ad.record, ad.ad_id, check.reason or "", check.detail or "")
            )
            summary.images_rejected += 1
        has_text = bool(ad.text.replace(SEP, "").strip())
        if not has_text and not good:
            rejects.append(
                _reject_row(ad.record, ad.ad_id, bad[0].reason or "no_content", "no good image")
            )
            continue
        content_hash = _sha1(ad.text, *[c.image_id or "" for c in good])
        ad_rows.append(
            {
                "ad_id": ad.ad_id,
                "source": source,
                "source_row": ad.record.source_row,
                "external_id": ad.external_id,
                "title": ad.title,
                "description": ad.description,
                "text": ad.text,
                "has_text": has_text,
                "n_images": len(good),
                "has_image": bool(good),
                "vendor": ad.vendor,
                "region": ad.region,
                "city": ad.city,
                "posted_at": ad.posted_at,
                "content_hash": content_hash,
                "row_hash": ad.row_hash,
                "duplicate_of": None,
                "extra": json.dumps(ad.record.extra, default=str) if ad.record.extra else None,
                "run_id": run.run_id,
            }
        )
        for position, check in enumerate(good):
            image_rows.append(
                {
                    "ad_id": ad.ad_id,
                    "position": position,
                    "image_id": check.image_id,
                    "root": str(root),
                    "path": check.rel_path,
                    "width": check.width,
                    "height": check.height,
                    "format": check.format,
                    "n_bytes": check.n_bytes,
                    "run_id": run.run_id,
                }
            )

    insert_arrow(run.con, "ads", ad_rows)
    insert_arrow(run.con, "images", image_rows)
    _insert_rejects(run, source, rejects)
    summary.added += len(ad_rows)
    summary.images_added += len(image_rows)
    for rej in rejects:
        if rej["kind"] == "row":
            summary.rejected += 1
        summary.reject_reasons[rej["reason"]] = summary.reject_reasons.get(rej["reason"], 0) + 1


def _normalise(record: RawRecord, occurrences: Counter[str]) -> _Ad:
    if record.error:
        raise _Rejected(record.error, record.detail or "")
    values = record.values
    text_value = _clean(values.get("text"))
    title = _clean(values.get("title"))
    description = _clean(values.get("description"))
    if text_value is not None:
        text = text_value.replace("\r\n", "\n")
        if SEP in text:
            head, tail = text.split(SEP, 1)
            title, description = head.strip(), tail.strip()
        else:
            title, description = "", text.strip()
    else:
        title, description = title or "", description or ""
        text = f"{title} {SEP} {description}" if title and description else title or description
    images = _parse_images(values.get("images"))
    if not text.replace(SEP, "").strip() and not images:
        raise _Rejected("no_content", "no text and no image")
    posted_raw = _clean(values.get("posted_at"))
    posted_at = None
    if posted_raw:
        try:
            posted_at = date.fromisoformat(posted_raw[:10])
        except ValueError:
            raise _Rejected(
                "bad_value", f"posted_at {posted_raw!r} is not a YYYY-MM-DD date"
            ) from None
    vendor = _clean(values.get("vendor"))
    region = _clean(values.get("region"))
    city = _clean(values.get("city"))
    row_hash = _sha1(
        text,
        json.dumps(images),
        vendor or "",
        region or "",
        city or "",
        str(posted_at or ""),
        json.dumps(record.extra, sort_keys=True, default=str),
    )
    external_id = _clean(values.get("id"))
    if external_id is None:
        n = occurrences[row_hash]
        occurrences[row_hash] += 1
        ad_id = "ad-" + _sha1(row_hash, str(n))[:16]
    else:
        ad_id = external_id
    return _Ad(
        record, ad_id, external_id, title, description, text, images,
        vendor, region, city, posted_at, row_hash,
    )  # fmt: skip


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value != value:  # NaN
        return None
    text = str(value).strip()
    return text or None


def _parse_images(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v) for v in value if v is not None]
    else:
        text = str(value).strip()
        if not text:
            return []
        if text.startswith("["):
            try:
                items = [str(v) for v in json.loads(text)]
            except (json.JSONDecodeError, TypeError):
                items = text.split(IMAGE_SEPARATOR)
        else:
            items = re.split(r"\s*\|\s*", text)
    return [item.strip() for item in items if item and item.strip()]


def _sha1(*parts: str) -> str:
    digest = hashlib.sha1(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


def _reject_row(record: RawRecord, ad_id: str | None, reason: str, detail: str) -> dict[str, Any]:
    return {
        "source_row": record.source_row,
        "ad_id": ad_id,
        "kind": "row",
        "reason": reason,
        "detail": detail,
        "raw": json.dumps(record.raw, default=str, ensure_ascii=False),
    }


def _reject_image(record: RawRecord, ad_id: str, reason: str, detail: str) -> dict[str, Any]:
    return {
        "source_row": record.source_row,
        "ad_id": ad_id,
        "kind": "image",
        "reason": reason,
        "detail": detail,
        "raw": None,
    }


def _known_row_hashes(run: RunContext, ad_ids: list[str]) -> dict[str, str]:
    """Row hash of each of ``ad_ids`` that an earlier run put in ``ads``."""
    if not ad_ids:
        return {}
    ids = pa.table({"ad_id": pa.array(list(dict.fromkeys(ad_ids)), pa.string())})
    run.con.register("_batch_ids", ids)
    try:
        rows = run.con.execute(
            "SELECT a.ad_id, a.row_hash FROM ads a JOIN _batch_ids b USING (ad_id) "
            "WHERE a.run_id <> ?",
            [run.run_id],
        ).fetchall()
    finally:
        run.con.unregister("_batch_ids")
    return dict(rows)


def _insert_rejects(run: RunContext, source: str, rejects: list[dict[str, Any]]) -> None:
    """Insert rejects, skipping ones already recorded for the same row and reason."""
    if not rejects:
        return
    rows = [{"run_id": run.run_id, "source": source, **r} for r in rejects]
    arrow = pa.Table.from_pylist(rows)
    run.con.register("_rejects", arrow)
    try:
        run.con.execute(
            "INSERT INTO rejects (run_id, source, source_row, ad_id, kind, reason, detail, raw) "
            "SELECT n.run_id, n.source, n.source_row, n.ad_id, n.kind, n.reason, n.detail, n.raw "
            "FROM _rejects n WHERE NOT EXISTS (SELECT 1 FROM rejects r WHERE "
            "r.source = n.source AND r.source_row = n.source_row AND r.kind = n.kind "
            "AND r.reason = n.reason)"
        )
    finally:
        run.con.unregister("_rejects")


def _mark_duplicates(run: RunContext) -> int:
    """Set ``duplicate_of`` on this run's ads whose content an earlier ad already had."""
    run.con.execute(
        """
        UPDATE ads SET duplicate_of = first.first_id
        FROM (
            SELECT content_hash,
                   arg_min(ad_id, (run_id = ?, duplicate_of IS NOT NULL, run_id, source_row, ad_id))
                       AS first_id
            FROM ads GROUP BY content_hash HAVING count(*) > 1
        ) AS first
        WHERE ads.content_hash = first.content_hash AND ads.run_id = ?
          AND ads.ad_id <> first.first_id AND ads.duplicate_of IS NULL
        """,
        [run.run_id, run.run_id],
    )
    sql = "SELECT count(*) FROM ads WHERE run_id = ? AND duplicate_of IS NOT NULL"
    return int(scalar(run.con, sql, [run.run_id]))


def _clear_fixed_rejects(run: RunContext, source: str) -> None:
    """Remove earlier row rejects of rows that this run has now ingested (the input was fixed)."""
    run.con.execute(
        "DELETE FROM rejects WHERE source = ? AND kind = 'row' AND run_id <> ? AND source_row IN "
        "(SELECT source_row FROM ads WHERE source = ? AND run_id = ?)",
        [source, run.run_id, source, run.run_id],
    )
