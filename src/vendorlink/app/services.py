"""The app's service layer: every page and endpoint calls one method here, and each method
calls the library (search SQL, ``link_ad``, encoders and the vendor model, ingest, extract,
and the flag / incremental-resolve / profile functions where the workspace has them).

One :class:`Services` object per served workspace. It holds the only read-write DuckDB
connection of the process (DuckDB refuses read-only and read-write connections to one file
in one process; library stages that open their own connection share this database), a
cursor per call, the loaded vendor model and encoders, and the link index in memory.

Errors are :class:`AppError` with an HTTP status and a message that says what to do.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from vendorlink.app import graphs, queries
from vendorlink.app.batching import BatchedSearch
from vendorlink.app.config import MB, AppSettings
from vendorlink.app.masking import display_text, masked_fields
from vendorlink.app.security import AuditLog, TokenChecker, ensure_token
from vendorlink.data.workspace import Workspace
from vendorlink.errors import VendorlinkError
from vendorlink.link.neighbours import NeighbourTable

CLUSTER_SORTS: dict[str, tuple[str, bool]] = {
    "size": ("n_ads", False),
    "-size": ("n_ads", True),
    "first_seen": ("first_posted", True),
    "last_seen": ("last_posted", False),
    "span": ("span_days", False),
    "phones": ("n_phones", False),
    "cities": ("n_cities", False),
    "image_reuse": ("image_reuse_ratio", False),
    "cluster": ("cluster", True),
}
"""Sort keys of the cluster list: profile column and ascending."""


class AppError(Exception):
    """A request the app cannot serve: HTTP ``status`` and a message for the analyst."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _LinkCache:
    key: tuple[Any, ...]
    index: Any  # EmbeddingIndex
    vectors: np.ndarray
    position: dict[str, int]
    searcher: BatchedSearch  # the index behind a queue: concurrent queries share one scan
    table: NeighbourTable | None = None  # every indexed ad's neighbours, once computed

    def table_rows(self, position: int, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The ``k`` nearest ads of the indexed ad at ``position`` from the table, or
        ``None`` while it is not built (or holds fewer)."""
        table = self.table
        if table is None or k > table.k:
            return None
        return self.index.id_array[table.positions[position, :k]], table.scores[position, :k]


def _hit_dicts(hits: list[Any]) -> list[dict[str, Any]]:
    """``LinkHit`` objects as the API's ``{"rank", "ad_id", "score"}`` rows."""
    return [{"rank": h.rank, "ad_id": h.ad_id, "score": h.score} for h in hits]


class ServedWorkspace(Workspace):
    """A workspace whose connections are all read-write, for a process that writes.

    The app writes (audit log, ingest) while library functions read; DuckDB refuses a
    read-only and a read-write connection to one file in one process, so here every
    connection is read-write and they all share one database instance. Library code that
    asks for ``read_only=True`` still only reads.
    """

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with super().connect(read_only=False) as con:
            yield con


def find_model(workspace: Workspace, name: str | None) -> tuple[Path | None, str]:
    """The vendor model the app links with (library ``resolve_model``): ``name`` (a folder or
    a name under ``artefacts/models``), else the newest trained model; ``(None, notice)``
    when the workspace has none."""
    from vendorlink.link import ZERO_SHOT, resolve_model

    if name == ZERO_SHOT:
        raise VendorlinkError("the app links with a trained model; zero-shot is CLI-only")
    return resolve_model(workspace, name)


class Services:
    """Library calls behind the app (see the module docstring)."""

    def __init__(self, settings: AppSettings) -> None:
        self.settings = settings
        import faiss  # one thread per search: concurrent requests use the cores instead

        faiss.omp_set_num_threads(settings.search_threads)
        self.workspace = ServedWorkspace.open(settings.workspace)
        self.con = duckdb.connect(str(self.workspace.db_path))
        self.model_folder, self.model_notice = find_model(self.workspace, settings.model)
        self.first_token = ensure_token(self.con.cursor())
        self.tokens = TokenChecker(self.con)
        self.audit = AuditLog(self.con, settings.audit_flush_seconds)
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()
        self._link: _LinkCache | None = None
        self._flag_model: Any = None
        self._profile_cache: tuple[Any, pd.DataFrame] | None = None
        self._first_image: dict[str, int] | None = None
        self._summaries: dict[str, dict[str, Any]] = {}  # ad id -> summary (see summaries())
        self._summaries_complete = False
        self._vendors: list[str] | None = None
        self._n_ads = self._count("SELECT count(*) FROM ads")

    def close(self) -> None:
        if self._link is not None:
            self._link.searcher.close()
            self._link = None  # also stops a neighbour table still being built
        self.audit.close()
        self.con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        return self.con.cursor()

    def _count(self, sql: str, params: list[Any] | None = None) -> int:
        row = self.cursor().execute(sql, params or []).fetchone()
        return int(row[0]) if row else 0

    # -- overview ---------------------------------------------------------------------------
    def overview(self) -> dict[str, Any]:
        """What the workspace holds and which parts of the app it can serve."""
        return {
            "workspace": str(self.workspace.path),
            "ads": self._count("SELECT count(*) FROM ads"),
            "images": self._count("SELECT count(*) FROM images"),
            "extracted": self._count("SELECT count(*) FROM fields"),
            "clusters": self._count("SELECT count(DISTINCT cluster) FROM resolve_clusters"),
            "flags": self._count("SELECT count(DISTINCT ad_id) FROM flags")
            if self._has_table("flags")
            else 0,
            "model": self.model_folder.name if self.model_folder else None,
            "link_table": self.link_table_ready(),
            "resolver": (self.workspace.artefacts / "resolve" / "summary.json").is_file(),
        }

    def _has_table(self, name: str) -> bool:
        return bool(
            self._count(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
            )
        )

    def page(self, page: int, page_size: int | None) -> tuple[int, int]:
        size = self.settings.page_size if page_size is None else page_size
        if not 1 <= size <= self.settings.max_page_size:
            raise AppError(422, f"page_size must be 1..{self.settings.max_page_size}")
        if page < 1:
            raise AppError(422, "page must be 1 or more")
        return size, (page - 1) * size

    # -- search -----------------------------------------------------------------------------
    def search(
        self, query: str, kind: str = "auto", page: int = 1, page_size: int | None = None
    ) -> dict[str, Any]:
        size, offset = self.page(page, page_size)
        cur = self.cursor()
        try:
            parsed = queries.parse_query(query, kind, cur)
        except VendorlinkError as exc:
            raise AppError(422, str(exc)) from exc
        total, rows = queries.search_ads(cur, parsed, size, offset)
        return {
            "query": query,
            "kind": parsed.kind,
            "total": total,
            "page": page,
            "page_size": size,
            "pages": max(1, -(-total // size)),
            "results": [self._summary(r) for r in rows],
        }

    def search_all(self, query: str, kind: str = "auto") -> list[dict[str, Any]]:
        cur = self.cursor()
        try:
            parsed = queries.parse_query(query, kind, cur)
        except VendorlinkError as exc:
            raise AppError(422, str(exc)) from exc
        return [
            self._summary(r)
            for r in queries.search_ads(cur, parsed, self.settings.max_export_rows, 0)[1]
        ]

    def _thumbnails(self) -> dict[str, int]:
        """Each ad's first image position, read once (and again after an ingest)."""
        cached = self._first_image
        if cached is None:
            cached = self._first_image = queries.first_images(self.cursor())
        return cached

    def summaries(self, ad_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Summaries of ``ad_ids`` (unknown ids left out), from memory.

        Up to ``summary_preload_ads`` ads, the first miss loads every summary in one query;
        beyond, misses are looked up by id and kept (at most that many, then the memory
        starts again). An ingest empties it.
        """
        cache = self._summaries
        missing = [a for a in ad_ids if a not in cache]
        if missing:
            with self._lock:
                cache = self._summaries
                limit = self.settings.summary_preload_ads
                if not self._summaries_complete and self._n_ads <= limit:
                    rows = queries.all_ad_summaries(self.cursor())
                    cache = {r["ad_id"]: self._summary(r) for r in rows}
                    self._summaries, self._summaries_complete = cache, True
                elif not self._summaries_complete:
                    found = queries.ad_summaries(self.cursor(), missing)
                    if len(cache) + len(found) > limit:
                        cache = self._summaries = {}
                    cache.update({a: self._summary(r) for a, r in found.items()})
        return {a: cache[a] for a in ad_ids if a in cache}

    def _forget_summaries(self) -> None:
        self._summaries, self._summaries_complete = {}, False

    def _summary(self, row: dict[str, Any]) -> dict[str, Any]:
        text = row.get("masked_text") or ""
        first = self._thumbnails().get(row["ad_id"])
        return {
            "ad_id": row["ad_id"],
            "snippet": text[:240] + ("…" if len(text) > 240 else ""),
            "region": row.get("region"),
            "city": row.get("city"),
            "posted_at": None if row.get("posted_at") is None else str(row["posted_at"]),
            "n_images": row.get("n_images") or 0,
            "thumbnail": None if first is None else f"/api/ads/{row['ad_id']}/images/{first}",
            "cluster": row.get("cluster"),
        }

    # -- ads --------------------------------------------------------------------------------
    def ad(self, ad_id: str, reveal: bool = False) -> dict[str, Any]:
        record = queries.ad_record(self.cursor(), ad_id)
        if record is None:
            raise AppError(404, f"no ad {ad_id!r} in this workspace")
        return {
            "ad_id": record["ad_id"],
            "revealed": reveal,
            "title": display_text(record["title"], None, reveal) if record["title"] else "",
            "text": display_text(record["text"], record["masked_text"], reveal),
            "extracted": record["extracted"],
            "region": record["region"],
            "city": record["city"],
            "posted_at": None if record["posted_at"] is None else str(record["posted_at"]),
            "source": record["source"],
            "duplicate_of": record["duplicate_of"],
            "cluster": record["cluster"],
            "has_text": record["has_text"],
            "has_image": record["has_image"],
            "text_stats": {k: record[k] for k in ("n_chars", "n_tokens", "n_emoji")},
            "fields": masked_fields(record["fields"], reveal),
            "images": [
                {**img, "url": f"/api/ads/{ad_id}/images/{img['position']}"}
                for img in record["images"]
            ],
        }

    def image_file(self, ad_id: str, position: int) -> tuple[Path, str]:
        """The file of one image, only when it lies inside the image root it was ingested from."""
        found = queries.image_location(self.cursor(), ad_id, position)
        if found is None:
            raise AppError(404, f"ad {ad_id!r} has no image {position}")
        root_s, rel, fmt = found
        root = Path(root_s).resolve()
        path = (root / rel).resolve()
        if not path.is_relative_to(root):
            raise AppError(403, "the image path leaves the image root; refusing to serve it")
        if not path.is_file():
            raise AppError(404, f"image file {rel} is missing from {root}")
        media = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}.get(
            str(fmt).upper(), "image/webp" if str(fmt).upper() == "WEBP" else "image/jpeg"
        )
        return path, media

    # -- linking ----------------------------------------------------------------------------
    def require_model(self) -> Path:
        if self.model_folder is None:
            raise AppError(
                409,
                "this workspace has no trained vendor model (artefacts/models/*): train one "
                "with the identify/link training before asking for linked ads",
            )
        return self.model_folder

    def _link_cache(self) -> _LinkCache:
        """The model's link index in memory (library ``ensure_link_index`` builds or refreshes
        the saved one when the weights or the number of ads changed)."""
        from vendorlink.link import EmbeddingIndex, ensure_link_index

        model = self.require_model()
        key = (str(model), (model / "model.safetensors").stat().st_mtime_ns, self._n_ads)
        cache = self._link
        if cache is not None and cache.key == key:
            return cache
        with self._lock:
            if self._link is not None and self._link.key == key:
                return self._link
            try:
                folder = ensure_link_index(self.workspace, model, con=self.cursor())
            except VendorlinkError as exc:
                raise AppError(409, f"cannot build the link index of {model.name}: {exc}") from exc
            index = EmbeddingIndex.load(folder)
            vectors = np.load(folder / "embeddings.npy")
            if self._link is not None:
                self._link.searcher.close()
            searcher = BatchedSearch(
                index, self.settings.search_batch, self.settings.search_threads
            )
            cache = _LinkCache(
                key, index, vectors, {a: i for i, a in enumerate(index.ids)}, searcher
            )
            self._link = cache
            if 0 < len(index) <= self.settings.neighbour_table_max_ads:
                threading.Thread(
                    target=self._build_table, args=(cache,), name="neighbour-table", daemon=True
                ).start()
            return cache

    def _build_table(self, cache: _LinkCache) -> None:
        """Fill ``cache.table`` (library ``neighbour_table``); until then, and for ads beyond
        it, linked ads come from the batched index search. Stops when the cache is replaced."""
        from vendorlink.link.neighbours import neighbour_table

        try:
            cache.table = neighbour_table(
                cache.vectors, self.settings.max_k + 1, should_stop=lambda: self._link is not cache
            )
        except Exception as exc:  # the search path keeps serving; say why the table is missing
            logging.getLogger(__name__).warning("neighbour table not built: %s", exc)
            cache.table = None

    def link_table_ready(self) -> bool:
        """Whether linked ads are answered from the precomputed neighbour table."""
        return self._link is not None and self._link.table is not None

    @staticmethod
    def _hits(cache: _LinkCache, vector: np.ndarray, k: int, exclude: str | None) -> list[dict]:
        from vendorlink.link import search_vector

        return _hit_dicts(search_vector(cache.searcher, vector, k, exclude=exclude))

    def check_k(self, k: int | None) -> int:
        k = self.settings.default_k if k is None else k
        if not 1 <= k <= self.settings.max_k:
            raise AppError(422, f"k must be 1..{self.settings.max_k}")
        return k

    def linked(self, ad_id: str, k: int | None = None) -> dict[str, Any]:
        """The ``k`` ads most similar to ``ad_id`` under the model, with summaries (from the
        neighbour table when it is built, else one index search)."""
        cache, position, k = self._linked_query(ad_id, k, self._link_cache())
        rows = cache.table_rows(position, k + 1)
        if rows is None:
            ids, scores = cache.searcher.search(cache.vectors[position][None, :], k + 1)
            rows = ids[0], scores[0]
        return self._linked_answer(ad_id, k, *rows)

    async def linked_async(self, ad_id: str, k: int | None = None) -> dict[str, Any]:
        """:meth:`linked` for an ``async`` endpoint: waits for the batched search without
        holding a thread (the link index is loaded in a worker thread the first time)."""
        from starlette.concurrency import run_in_threadpool

        cache = self._link
        if cache is None:
            cache = await run_in_threadpool(self._link_cache)
        else:
            cache = self._link_cache()  # a stat() to notice new weights; cheap when unchanged
        cache, position, k = self._linked_query(ad_id, k, cache)
        rows = cache.table_rows(position, k + 1)
        if rows is None:
            rows = await cache.searcher.search_one(cache.vectors[position], k + 1)
        return self._linked_answer(ad_id, k, *rows)

    def _linked_query(
        self, ad_id: str, k: int | None, cache: _LinkCache
    ) -> tuple[_LinkCache, int, int]:
        k = self.check_k(k)
        if ad_id not in cache.position:
            if not self._count("SELECT count(*) FROM ads WHERE ad_id = ?", [ad_id]):
                raise AppError(404, f"no ad {ad_id!r} in this workspace")
            raise AppError(
                422,
                f"ad {ad_id!r} is not in the link index of model {cache.key[0]}: it lacks the "
                "modality the model needs",
            )
        return cache, cache.position[ad_id], k

    def _linked_answer(
        self, ad_id: str, k: int, ids: np.ndarray, scores: np.ndarray
    ) -> dict[str, Any]:
        from vendorlink.link import hits_from_row

        hits = _hit_dicts(hits_from_row(ids, scores, k, exclude=ad_id))
        return {"ad_id": ad_id, "model": self.model_folder.name if self.model_folder else None,
                "k": k, "linked": self._with_summaries(hits)}  # fmt: skip

    def _with_summaries(self, hits: list[dict[str, Any]]) -> list[dict[str, Any]]:
        summaries = self.summaries([h["ad_id"] for h in hits])
        return [{**h, **summaries[h["ad_id"]]} if h["ad_id"] in summaries else h for h in hits]

    # -- graphs -----------------------------------------------------------------------------
    def ad_graph(self, ad_id: str, k: int | None = None) -> dict[str, Any]:
        """The knowledge graph of a query ad (library ``knowledge_graph``, top-k cut)."""
        from vendorlink.link import knowledge_graph

        k = self.check_k(k)
        model = self.require_model()
        if not self._count("SELECT count(*) FROM ads WHERE ad_id = ?", [ad_id]):
            raise AppError(404, f"no ad {ad_id!r} in this workspace")
        try:
            graph = knowledge_graph(self.workspace, ad_id=ad_id, model=model, cut="top_k", k=k)
        except VendorlinkError as exc:
            raise AppError(422, str(exc)) from exc
        out = graphs.from_networkx(graph)
        summaries = queries.ad_summaries(self.cursor(), [n["id"] for n in out["nodes"]])
        for node in out["nodes"]:
            node["query"] = node.get("role") == "query"
            cluster = summaries.get(node["id"], {}).get("cluster")
            node["cluster"] = "" if cluster is None else str(cluster)
        out["query"] = ad_id
        return out

    # -- clusters ---------------------------------------------------------------------------
    def require_clusters(self) -> None:
        if not self._count("SELECT count(*) FROM resolve_clusters"):
            raise AppError(
                409, "clusters are not computed for this workspace: run `vendorlink resolve`"
            )

    def _profiles(self) -> pd.DataFrame:
        """Every cluster's profile (library ``cluster_profiles``), cached until they change."""
        from vendorlink.resolve.profiles import cluster_profiles

        self.require_clusters()
        cur = self.cursor()
        key = cur.execute("SELECT count(*), sum(cluster), max(run_id) FROM resolve_clusters")
        version = key.fetchone()
        with self._lock:
            if self._profile_cache is None or self._profile_cache[0] != version:
                self._profile_cache = (version, cluster_profiles(cur))
            return self._profile_cache[1]

    def clusters(
        self,
        *,
        min_size: int | None = None,
        max_size: int | None = None,
        region: str | None = None,
        city: str | None = None,
        sort: str = "size",
        page: int = 1,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> dict[str, Any]:
        """A page of cluster profiles, filtered and sorted (``CLUSTER_SORTS``)."""
        frame = self._profiles()
        if sort not in CLUSTER_SORTS:
            raise AppError(422, f"sort {sort!r} is not one of {tuple(CLUSTER_SORTS)}")
        size, offset = self.page(page, page_size) if limit is None else (limit, 0)
        keep = np.ones(len(frame), dtype=bool)
        if min_size is not None:
            keep &= frame["n_ads"].to_numpy() >= min_size
        if max_size is not None:
            keep &= frame["n_ads"].to_numpy() <= max_size
        for column, value in (("regions", region), ("cities", city)):
            if value:
                keep &= frame[column].map(lambda items, v=value: v in list(items)).to_numpy()
        column, ascending = CLUSTER_SORTS[sort]
        chosen = frame[keep].sort_values(
            [column, "cluster"], ascending=[ascending, True], na_position="last", kind="stable"
        )
        total = len(chosen)
        rows = graphs.frame_records(chosen.iloc[offset : offset + size])
        return {"total": total, "page": page, "page_size": size,
                "pages": max(1, -(-total // size)), "sort": sort, "clusters": rows}  # fmt: skip

    def cluster(
        self, cluster: int, page: int = 1, page_size: int | None = None, reveal: bool = False
    ) -> dict[str, Any]:
        """One cluster: profile, timeline, cities, most frequent field values, members."""
        frame = self._profiles()
        size, offset = self.page(page, page_size)
        row = frame[frame["cluster"] == cluster]
        if row.empty:
            raise AppError(404, f"no cluster {cluster} in this workspace")
        profile = graphs.frame_records(row)[0]
        cur = self.cursor()
        counts = queries.cluster_counts(cur, cluster)
        top = {k: v for k, v in counts.items() if k not in ("timeline", "cities", "regions")}
        if not reveal:
            for key, placeholder in (("phones", "<PHONE>"), ("emails", "<EMAIL>")):
                top[key] = [{"value": f"{placeholder} {i + 1}", "ads": item["ads"]}
                            for i, item in enumerate(top[key])]  # fmt: skip
        members = queries.cluster_members(cur, cluster, size, offset)
        return {
            "cluster": cluster,
            "revealed": reveal,
            "profile": profile,
            "top_values": top,
            "timeline": counts["timeline"],
            "cities": counts["cities"],
            "regions": counts["regions"],
            "page": page,
            "page_size": size,
            "pages": max(1, -(-int(profile["n_ads"]) // size)),
            "members": [self._summary(m) for m in members],
        }

    def cluster_graph(self, cluster: int) -> dict[str, Any]:
        """The cluster's ads and their links (library ``resolve.export.cluster_graph``)."""
        from vendorlink.resolve.export import cluster_graph

        frame = self._profiles()
        if not (frame["cluster"] == cluster).any():
            raise AppError(404, f"no cluster {cluster} in this workspace")
        graph = cluster_graph(self.cursor(), [cluster], self._link_threshold())
        out = graphs.from_networkx(graph, limit=self.settings.graph_node_limit)
        for node in out["nodes"]:
            node["cluster"] = str(cluster)
        out["cluster"] = cluster
        return out

    def _link_threshold(self) -> float:
        """The latest resolve run's threshold (``summary.json``; 0.5 without one), as
        ``vendorlink resolve export`` uses it."""
        path = self.workspace.artefacts / "resolve" / "summary.json"
        try:
            return float(json.loads(path.read_text(encoding="utf-8"))["threshold"])
        except (OSError, ValueError, KeyError):
            return 0.5

    # -- flags ------------------------------------------------------------------------------
    def flags(self, ad_id: str) -> dict[str, Any]:
        if not self._count("SELECT count(*) FROM ads WHERE ad_id = ?", [ad_id]):
            raise AppError(404, f"no ad {ad_id!r} in this workspace")
        if not self._has_table("flags") or not self._count("SELECT count(*) FROM flags"):
            raise AppError(
                409, "flags are not computed for this workspace: run `vendorlink flag` first"
            )
        rows = self.cursor().execute(
            "SELECT * FROM flags WHERE ad_id = ? ORDER BY 1, 2, 3", [ad_id]
        )
        names = [d[0] for d in rows.description]
        items = [dict(zip(names, r, strict=True)) for r in rows.fetchall()]
        if not items:
            raise AppError(404, f"ad {ad_id!r} has no flags (added after `vendorlink flag` ran?)")
        return {"ad_id": ad_id, "flags": [{k: v for k, v in i.items() if k != "ad_id"}
                                          for i in items]}  # fmt: skip

    # -- predict ----------------------------------------------------------------------------
    def _flags_model(self) -> Any:
        """The newest flag model of the workspace (``artefacts/models/flag/*``), or ``None``."""
        from vendorlink.flag import FlagModel

        root = self.workspace.artefacts / "models" / "flag"
        found = sorted(root.glob("*/inference_config.json"), key=lambda p: p.stat().st_mtime)
        if not found:
            return None
        with self._lock:
            if self._flag_model is None or self._flag_model.folder != found[-1].parent:
                self._flag_model = FlagModel.load(found[-1].parent)
            return self._flag_model

    def decode_image(self, data: bytes, label: str) -> bytes:
        """Check one uploaded image's size and that it decodes; returns its bytes."""
        from PIL import Image, UnidentifiedImageError

        limit = self.settings.max_image_bytes
        if len(data) > limit:
            raise AppError(
                413, f"{label} is {len(data) / MB:.1f} MB; the limit is {limit / MB:.0f} MB"
            )
        try:
            with Image.open(io.BytesIO(data)) as image:
                pixels = image.width * image.height
                if pixels > self.settings.max_image_pixels:
                    raise AppError(
                        413,
                        f"{label} has {pixels:,} pixels; the limit is "
                        f"{self.settings.max_image_pixels:,}",
                    )
                image.verify()
        except AppError:
            raise
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise AppError(422, f"{label} is not an image vendorlink can decode ({exc})") from exc
        return data

    def predict(self, instances: list[dict[str, Any]], k: int | None = None) -> dict[str, Any]:
        """Vendor candidates, linked ads and flags of new ads (text and/or base64 images)."""
        k = self.check_k(k)
        if not instances:
            raise AppError(422, "instances is empty")
        if len(instances) > self.settings.max_instances:
            raise AppError(422, f"at most {self.settings.max_instances} instances per call")
        texts: list[str] = []
        images: list[list[bytes]] = []
        for i, inst in enumerate(instances):
            text = inst.get("text") or ""
            if len(text) > self.settings.max_text_chars:
                raise AppError(
                    413, f"instance {i}: text over {self.settings.max_text_chars} characters"
                )
            raw = inst.get("image_base64") or []
            raw = [raw] if isinstance(raw, str) else list(raw)
            if len(raw) > self.settings.max_images_per_ad:
                raise AppError(
                    422, f"instance {i}: at most {self.settings.max_images_per_ad} images"
                )
            decoded = []
            for j, item in enumerate(raw):
                try:
                    data = base64.b64decode(item, validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise AppError(422, f"instance {i}: image {j} is not valid base64") from exc
                decoded.append(self.decode_image(data, f"instance {i}: image {j}"))
            if not text.strip() and not decoded:
                raise AppError(422, f"instance {i} has neither text nor an image")
            texts.append(text)
            images.append(decoded)
        cache = self._link_cache()
        flag_model = self._flags_model()
        out = []
        for text, pics in zip(texts, images, strict=True):
            embedded = self._embed_query(text, pics)
            out.append(
                {
                    "vendor_candidates": self._candidates(embedded.get("logits")),
                    "linked_ads": self._with_summaries(
                        self._hits(cache, embedded["embedding"], k, None)
                    ),
                    "masked_text": self._mask(text),
                    "flags": self._predict_flags(flag_model, text, pics),
                }
            )
        return {"model": self.model_folder.name if self.model_folder else None,
                "predictions": out}  # fmt: skip

    @staticmethod
    def _mask(text: str) -> str:
        from vendorlink.extract.masking import mask_text

        return mask_text(text)

    def _embed_query(self, text: str, images: list[bytes]) -> dict[str, np.ndarray]:
        """The library's ``embed_query`` (mask, encode, model) on one new ad."""
        from vendorlink.link import embed_query

        with tempfile.TemporaryDirectory(prefix="vendorlink-predict-") as tmp:
            paths = []
            for j, data in enumerate(images):
                paths.append(Path(tmp) / f"{j}.img")
                paths[-1].write_bytes(data)
            try:
                return embed_query(self.require_model(), text=text or None, images=paths)
            except (VendorlinkError, ValueError) as exc:
                raise AppError(422, str(exc)) from exc

    def _candidates(self, logits: np.ndarray | None, top: int = 5) -> list[dict[str, Any]]:
        """The model's most likely known vendors (softmax of its classifier's logits)."""
        from vendorlink.models.io import load_model

        if logits is None:
            return []
        if self._vendors is None:
            self._vendors = list(load_model(self.require_model()).vendors)
        vendors = self._vendors
        if not vendors:
            return []
        row = logits[0] - logits[0].max()
        probs = np.exp(row) / np.exp(row).sum()
        return [{"vendor": vendors[j], "probability": round(float(probs[j]), 4)}
                for j in np.argsort(-probs)[:top]]  # fmt: skip

    @staticmethod
    def _predict_flags(flag_model: Any, text: str, images: list[bytes]) -> dict[str, Any]:
        if flag_model is None:
            reason = "no flag model in this workspace: train one with `vendorlink flag`"
            return {"available": False, "reason": reason}
        try:
            return {"available": True, **flag_model.predict(text=text or None, images=images)}
        except (VendorlinkError, ValueError) as exc:
            return {"available": True, "error": str(exc)}

    # -- ingest -----------------------------------------------------------------------------
    def ingest_ad(
        self,
        text: str,
        images: list[tuple[str, bytes]],
        *,
        region: str | None = None,
        city: str | None = None,
        posted_at: str | None = None,
    ) -> dict[str, Any]:
        """Ingest one new ad (library ``ingest`` + ``run_extract``) and link it."""
        from vendorlink.data.ingest import IngestOptions, ingest
        from vendorlink.extract.stage import run_extract

        if len(text) > self.settings.max_text_chars:
            raise AppError(413, f"the text is over {self.settings.max_text_chars} characters")
        if len(images) > self.settings.max_images_per_ad:
            raise AppError(422, f"at most {self.settings.max_images_per_ad} images per ad")
        if not text.strip() and not images:
            raise AppError(422, "a new ad needs text, an image or both")
        for name, data in images:
            self.decode_image(data, f"image {name!r}")
        upload = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
        folder = self.workspace.artefacts / "app-uploads" / upload
        (folder / "images").mkdir(parents=True)
        names = []
        for j, (name, data) in enumerate(images):
            suffix = Path(name).suffix.lower() if Path(name).suffix.lower() in (
                ".jpg", ".jpeg", ".png", ".gif", ".webp") else ".img"  # fmt: skip
            safe = f"{j}{suffix}"
            (folder / "images" / safe).write_bytes(data)
            names.append(safe)
        ad_id = f"app-{upload}"
        record = {"id": ad_id, "text": text, "images": names, "region": region or None,
                  "city": city or None, "posted_at": posted_at or None}  # fmt: skip
        (folder / "ads.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
        with self._write_lock:
            try:
                summary = ingest(
                    self.workspace,
                    folder / "ads.jsonl",
                    IngestOptions(source=f"app-upload-{upload}", fmt="jsonl"),
                )
            except VendorlinkError as exc:
                shutil.rmtree(folder)
                raise AppError(422, str(exc)) from exc
            if summary.rejected:  # the rejects table keeps the row and the reason
                shutil.rmtree(folder)
                reasons = ", ".join(summary.reject_reasons)
                raise AppError(422, f"the ad was rejected by ingest: {reasons}")
            run_extract(self.workspace, progress=False)
            self._n_ads = self._count("SELECT count(*) FROM ads")
            if self._link is not None:
                self._link.searcher.close()
            self._link = None
            self._first_image = None
            self._forget_summaries()
            resolved = self._link_incrementally(ad_id)
        linked: dict[str, Any] | None = None
        try:
            linked = self.linked(ad_id) if self.model_folder is not None else None
        except AppError as exc:
            linked = {"error": exc.message}
        return {"ad_id": ad_id, "ingest": summary.as_dict(), "resolve": resolved,
                "linked": linked}  # fmt: skip

    def _link_incrementally(self, ad_id: str) -> dict[str, Any]:
        """Put the new ad in an existing cluster (library ``link_new_ads``, written)."""
        from vendorlink.resolve.incremental import link_new_ads

        if not self._count("SELECT count(*) FROM resolve_clusters"):
            return {"linked": False, "reason": "no clusters yet: run `vendorlink resolve`"}
        try:
            assignment = link_new_ads(self.workspace, [ad_id], write=True)[0]
        except VendorlinkError as exc:
            return {"linked": False, "reason": str(exc)}
        return {"linked": True, **json.loads(json.dumps(assignment, default=str))}
