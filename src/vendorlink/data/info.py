"""What a workspace holds: counts, vendors, regions, modality coverage, rejects, stage status."""

from __future__ import annotations

from typing import Any

from vendorlink.data.store import scalar
from vendorlink.data.workspace import Workspace


def workspace_info(workspace: Workspace) -> dict[str, Any]:
    """A summary of the workspace as a JSON-ready dict (the CLI prints it as tables)."""
    with workspace.connect(read_only=True) as con:

        def count(sql: str, params: list[Any] | None = None) -> int:
            return int(scalar(con, sql, params or []) or 0)

        n_ads = count("SELECT count(*) FROM ads")
        info: dict[str, Any] = {
            "workspace": str(workspace.path),
            "default_label_source": workspace.settings.get("default_label_source"),
            "ads": {
                "total": n_ads,
                "text_and_image": count("SELECT count(*) FROM ads WHERE has_text AND has_image"),
                "text_only": count("SELECT count(*) FROM ads WHERE has_text AND NOT has_image"),
                "image_only": count("SELECT count(*) FROM ads WHERE has_image AND NOT has_text"),
                "exact_duplicates": count(
                    "SELECT count(*) FROM ads WHERE duplicate_of IS NOT NULL"
                ),
            },
            "images": {
                "references": count("SELECT count(*) FROM images"),
                "distinct": count("SELECT count(DISTINCT image_id) FROM images"),
            },
            "sources": [
                {"source": s, "ads": int(n)}
                for s, n in con.execute(
                    "SELECT source, count(*) FROM ads GROUP BY 1 ORDER BY 1"
                ).fetchall()
            ],
            "regions": {
                str(r): int(n)
                for r, n in con.execute(
                    "SELECT coalesce(region, '(none)'), count(*) FROM ads "
                    "GROUP BY 1 ORDER BY 2 DESC"
                ).fetchall()
            },
            "labels": {
                src: {"ads": int(n), "vendors": int(v)}
                for src, n, v in con.execute(
                    "SELECT label_source, count(*), count(DISTINCT vendor) FROM labels "
                    "GROUP BY 1 ORDER BY 1"
                ).fetchall()
            },
            "rejects": {
                f"{kind}:{reason}": int(n)
                for kind, reason, n in con.execute(
                    "SELECT kind, reason, count(*) FROM rejects GROUP BY 1, 2 ORDER BY 3 DESC"
                ).fetchall()
            },
            "stages": {
                "extracted_ads": count("SELECT count(*) FROM fields"),
                "hashed_images": count("SELECT count(*) FROM image_fields"),
                "images_with_face": count("SELECT count(*) FROM image_fields WHERE has_face"),
                "splits": {
                    name: {part: int(n) for part, n in _parts(con, name)}
                    for (name,) in con.execute(
                        "SELECT DISTINCT split_name FROM splits ORDER BY 1"
                    ).fetchall()
                },
            },
            "runs": [
                {"run_id": r, "command": c, "status": s, "started_at": str(t)}
                for r, c, s, t in con.execute(
                    "SELECT run_id, command, status, started_at FROM runs "
                    "ORDER BY started_at DESC LIMIT 8"
                ).fetchall()
            ],
        }
    return info


def _parts(con: Any, name: str) -> list[tuple[str, int]]:
    return con.execute(
        "SELECT domain || ':' || part, count(*) FROM splits WHERE split_name = ? "
        "GROUP BY 1 ORDER BY 1",
        [name],
    ).fetchall()


def list_rejects(
    workspace: Workspace, *, reason: str | None = None, limit: int | None = 50
) -> list[dict[str, Any]]:
    """Rejected rows and images, newest run first, optionally of one reason."""
    sql = (
        "SELECT run_id, source, source_row, ad_id, kind, reason, detail FROM rejects "
        + ("WHERE reason = ? " if reason else "")
        + "ORDER BY run_id DESC, source, source_row"
        + (f" LIMIT {int(limit)}" if limit else "")
    )
    with workspace.connect(read_only=True) as con:
        cursor = con.execute(sql, [reason] if reason else [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
