"""Read-only SQL over the workspace tables for the app's pages: search, ads, clusters.

Each function takes an open DuckDB cursor and returns plain dicts (JSON-ready). They read
what the stages wrote (``ads``, ``images``, ``fields``, ``resolve_clusters``,
``resolve_pairs``) and compute nothing but counts, orderings and pages; cluster profiles
and graphs come from :mod:`vendorlink.resolve.profiles` and :mod:`vendorlink.resolve.export`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import duckdb

from vendorlink.errors import InputError
from vendorlink.extract.emails import extract_emails
from vendorlink.extract.phones import extract_phones, normalise_phone
from vendorlink.lexicon import FIELD_NAMES

SearchKind = Literal["auto", "text", "phone", "email", "alias", "id"]
SEARCH_KINDS: tuple[str, ...] = ("auto", "text", "phone", "email", "alias", "id")
_SUMMARY_COLUMNS = (
    "a.ad_id, a.title, f.masked_text, a.region, a.city, a.posted_at, a.n_images, c.cluster"
)


@dataclass(frozen=True)
class ParsedQuery:
    """What a search query is read as: its kind and the value(s) looked up."""

    kind: str
    values: tuple[str, ...]


def parse_query(query: str, kind: str, con: duckdb.DuckDBPyConnection) -> ParsedQuery:
    """Read ``query`` as ``kind``; ``auto``: an ad id, else phones, else emails, else text."""
    query = query.strip()
    if kind not in SEARCH_KINDS:
        raise InputError(f"search kind {kind!r} is not one of {SEARCH_KINDS}")
    if not query:
        raise InputError("the search query is empty")
    if kind == "id":
        return ParsedQuery("id", (query,))
    if kind in ("phone", "auto"):
        phones = extract_phones(query) or [p for p in [normalise_phone(query)] if p]
        if phones:
            return ParsedQuery("phone", tuple(phones))
        if kind == "phone":
            raise InputError(f"{query!r} is not a phone number vendorlink can read")
    if kind in ("email", "auto"):
        emails = extract_emails(query) if "@" in query or " at " in query else []
        if emails:
            return ParsedQuery("email", tuple(emails))
        if kind == "email":
            raise InputError(f"{query!r} is not an email address vendorlink can read")
    if kind == "auto":
        found = con.execute("SELECT count(*) FROM ads WHERE ad_id = ?", [query]).fetchone()
        if found and found[0]:
            return ParsedQuery("id", (query,))
    if kind == "alias":
        return ParsedQuery("alias", (query.lower(),))
    return ParsedQuery("text", (query,))


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _search_where(parsed: ParsedQuery) -> tuple[str, list[Any]]:
    if parsed.kind == "id":
        return "a.ad_id = ?", [parsed.values[0]]
    if parsed.kind == "phone":
        return "list_has_any(f.phones, ?::VARCHAR[])", [list(parsed.values)]
    if parsed.kind == "email":
        return "list_has_any(f.emails, ?::VARCHAR[])", [list(parsed.values)]
    if parsed.kind == "alias":
        return "list_contains([lower(x) for x in f.names], ?)", [parsed.values[0]]
    # text: every word must occur in the masked text, or the query is one of the aliases
    words = parsed.values[0].split()
    clauses = " AND ".join("f.masked_text ILIKE ? ESCAPE '\\'" for _ in words)
    params: list[Any] = [f"%{_escape_like(w)}%" for w in words]
    return (
        f"(({clauses}) OR list_contains([lower(x) for x in f.names], ?))",
        [*params, parsed.values[0].lower()],
    )


def search_ads(
    con: duckdb.DuckDBPyConnection, parsed: ParsedQuery, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """``(total, page)`` of the ads matching ``parsed``, newest first."""
    where, params = _search_where(parsed)
    base = (
        "FROM ads a LEFT JOIN fields f USING (ad_id) "
        "LEFT JOIN resolve_clusters c USING (ad_id) "
        f"WHERE {where}"
    )
    total = con.execute(f"SELECT count(*) {base}", params).fetchone()
    rows = con.execute(
        f"SELECT {_SUMMARY_COLUMNS} {base} "
        "ORDER BY a.posted_at DESC NULLS LAST, a.ad_id LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return int(total[0]) if total else 0, _dicts(rows)


def ad_summaries(con: duckdb.DuckDBPyConnection, ad_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Summary rows (as in search results, without ``first_image``) of ``ad_ids``, by id.

    Three ``IN`` lookups that DuckDB answers from the primary-key indexes (a few ms at
    MATCHED scale, where the equivalent join scans the tables).
    """
    if not ad_ids:
        return {}
    marks = ", ".join("?" * len(ad_ids))
    out = {
        r["ad_id"]: r
        for r in _dicts(
            con.execute(
                "SELECT ad_id, title, region, city, posted_at, n_images FROM ads "
                f"WHERE ad_id IN ({marks})",
                ad_ids,
            )
        )
    }
    for ad_id, masked in con.execute(
        f"SELECT ad_id, masked_text FROM fields WHERE ad_id IN ({marks})", ad_ids
    ).fetchall():
        out[ad_id]["masked_text"] = masked
    for ad_id, cluster in con.execute(
        f"SELECT ad_id, cluster FROM resolve_clusters WHERE ad_id IN ({marks})", ad_ids
    ).fetchall():
        out[ad_id]["cluster"] = cluster
    return out


def all_ad_summaries(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The summary row of every ad (one scan and two joins; ``masked_text`` cut to the 241
    characters a snippet needs)."""
    return _dicts(
        con.execute(
            "SELECT a.ad_id, a.title, a.region, a.city, a.posted_at, a.n_images, "
            "left(f.masked_text, 241) AS masked_text, c.cluster FROM ads a "
            "LEFT JOIN fields f USING (ad_id) LEFT JOIN resolve_clusters c USING (ad_id)"
        )
    )


def first_images(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """The lowest image position of every ad with an image (its thumbnail)."""
    return dict(con.execute("SELECT ad_id, min(position) FROM images GROUP BY 1").fetchall())


def ad_record(con: duckdb.DuckDBPyConnection, ad_id: str) -> dict[str, Any] | None:
    """One ad with its raw and masked text, extracted fields, images and cluster."""
    field_cols = ", ".join(f"f.{name}" for name in FIELD_NAMES)
    rows = _dicts(
        con.execute(
            "SELECT a.ad_id, a.source, a.title, a.description, a.text, a.has_text, a.has_image, "
            "a.n_images, a.vendor, a.region, a.city, a.posted_at, a.duplicate_of, "
            f"f.masked_text, f.n_chars, f.n_tokens, f.n_emoji, {field_cols}, c.cluster "
            "FROM ads a LEFT JOIN fields f USING (ad_id) "
            "LEFT JOIN resolve_clusters c USING (ad_id) WHERE a.ad_id = ?",
            [ad_id],
        )
    )
    if not rows:
        return None
    ad = rows[0]
    ad["fields"] = {name: ad.pop(name) or [] for name in FIELD_NAMES}
    ad["extracted"] = ad["masked_text"] is not None
    ad["images"] = _dicts(
        con.execute(
            "SELECT i.position, i.image_id, i.width, i.height, i.format, i.n_bytes, "
            "g.has_face, g.phash FROM images i LEFT JOIN image_fields g USING (image_id) "
            "WHERE i.ad_id = ? ORDER BY i.position",
            [ad_id],
        )
    )
    return ad


def image_location(
    con: duckdb.DuckDBPyConnection, ad_id: str, position: int
) -> tuple[str, str, str | None] | None:
    """``(root, path, format)`` of one image of an ad, as ingest recorded it."""
    row = con.execute(
        "SELECT root, path, format FROM images WHERE ad_id = ? AND position = ?",
        [ad_id, position],
    ).fetchone()
    return (str(row[0]), str(row[1]), row[2]) if row else None


# -- clusters ------------------------------------------------------------------------------
def cluster_members(
    con: duckdb.DuckDBPyConnection, cluster: int, limit: int, offset: int
) -> list[dict[str, Any]]:
    rows = con.execute(
        f"SELECT {_SUMMARY_COLUMNS} FROM resolve_clusters c JOIN ads a USING (ad_id) "
        "LEFT JOIN fields f USING (ad_id) WHERE c.cluster = ? "
        "ORDER BY a.posted_at DESC NULLS LAST, a.ad_id LIMIT ? OFFSET ?",
        [cluster, limit, offset],
    )
    return _dicts(rows)


def cluster_counts(con: duckdb.DuckDBPyConnection, cluster: int) -> dict[str, Any]:
    """Posting timeline (ads per day), cities and regions, and the most frequent field values."""

    def counts(sql: str) -> list[dict[str, Any]]:
        return [{"value": v, "ads": int(n)} for v, n in con.execute(sql, [cluster]).fetchall()]

    members = "FROM resolve_clusters c JOIN ads a USING (ad_id) "
    with_fields = members + "JOIN fields f USING (ad_id) "
    out: dict[str, Any] = {
        "timeline": [
            {"date": str(d), "ads": int(n)}
            for d, n in con.execute(
                f"SELECT a.posted_at, count(*) {members} WHERE c.cluster = ? "
                "AND a.posted_at IS NOT NULL GROUP BY 1 ORDER BY 1",
                [cluster],
            ).fetchall()
        ],
        "cities": counts(
            f"SELECT coalesce(a.city, '(none)'), count(*) {members} WHERE c.cluster = ? "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
        "regions": counts(
            f"SELECT coalesce(a.region, '(none)'), count(*) {members} WHERE c.cluster = ? "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        ),
    }
    for name in ("phones", "emails", "names", "ages", "rates", "ethnicities", "hair_colours"):
        out[name] = counts(
            f"SELECT CAST(v AS VARCHAR), count(*) FROM (SELECT unnest(f.{name}) AS v "
            f"{with_fields} WHERE c.cluster = ?) GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"
        )
    return out


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
