"""Access tokens (stored hashed in the workspace) and the audit log of the investigator app.

A token is 32 random bytes, URL-safe base64. Only its SHA-256 is stored, in the workspace's
``meta`` table under ``app_token:<name>``; the token itself is printed once, when it is
created. A request is let in when the SHA-256 of the token it carries (``Authorization:
Bearer``, ``X-Vendorlink-Token`` or the ``vendorlink_token`` cookie) equals a stored hash
(compared in constant time). The token's name is the *actor* of the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

import duckdb

TOKEN_PREFIX = "app_token:"
COOKIE_NAME = "vendorlink_token"
HEADER_NAME = "x-vendorlink-token"
AUDIT_TEXT_COLUMNS = ((1, "actor"), (2, "client"), (3, "action"), (4, "target"), (5, "detail"))


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (tokens are random, so no salt or stretching is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_token_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``{hash: name}`` of every app token of the workspace."""
    rows = con.execute(
        "SELECT key, value FROM meta WHERE starts_with(key, ?)", [TOKEN_PREFIX]
    ).fetchall()
    return {value: key[len(TOKEN_PREFIX) :] for key, value in rows}


def create_token(con: duckdb.DuckDBPyConnection, name: str = "analyst") -> str:
    """Create (or replace) the token called ``name``; returns the token (shown only once)."""
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"a token name is letters, digits, '-' and '_', got {name!r}")
    token = secrets.token_urlsafe(32)
    con.execute(
        "INSERT INTO meta VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [TOKEN_PREFIX + name, hash_token(token)],
    )
    return token


def ensure_token(con: duckdb.DuckDBPyConnection, name: str = "analyst") -> str | None:
    """A new token when the workspace has none yet (first start), else ``None``."""
    if load_token_hashes(con):
        return None
    return create_token(con, name)


class TokenChecker:
    """Who a token belongs to, or ``None``; hashes are read once and on :meth:`reload`."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._hashes: dict[str, str] = {}
        self.reload()

    def reload(self) -> None:
        self._hashes = load_token_hashes(self._con.cursor())

    def actor(self, token: str | None) -> str | None:
        if not token:
            return None
        digest = hash_token(token)
        found = None
        for stored, name in self._hashes.items():  # constant time per stored hash
            if hmac.compare_digest(stored, digest):
                found = name
        return found


class AuditLog:
    """Appends rows to the workspace's ``audit_log`` table.

    Rows are queued and written in one transaction every ``flush_seconds`` by a background
    thread (a commit per request would cost more than the request), on :meth:`flush`, before
    every read (:meth:`entries`) and on :meth:`close`.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, flush_seconds: float = 0.25) -> None:
        self._con = con.cursor()
        self._lock = threading.Lock()
        self._queue: list[list[Any]] = []
        self._stop = threading.Event()
        self._flush_seconds = flush_seconds
        self._thread = threading.Thread(target=self._run, name="audit-log", daemon=True)
        self._thread.start()

    def record(
        self,
        actor: str,
        action: str,
        target: str | None = None,
        detail: dict[str, Any] | None = None,
        client: str | None = None,
    ) -> None:
        at = datetime.now(UTC).replace(tzinfo=None)
        row = [at, actor, client, action, target, json.dumps(detail or {}, default=str)]
        with self._lock:
            self._queue.append(row)

    def flush(self) -> None:
        """Write the queued rows in one ``INSERT ... SELECT`` over an Arrow table (a row-by-row
        ``executemany`` holds the interpreter for milliseconds per row)."""
        import pyarrow as pa

        with self._lock:
            rows, self._queue = self._queue, []
            if not rows:
                return
            columns = list(zip(*rows, strict=True))
            batch = pa.table(
                {
                    "logged_at": pa.array(columns[0], pa.timestamp("us")),
                    **{name: pa.array(columns[i], pa.string()) for i, name in AUDIT_TEXT_COLUMNS},
                }
            )
            self._con.register("audit_batch", batch)
            try:
                self._con.execute(
                    "INSERT INTO audit_log SELECT logged_at, actor, client, action, target, "
                    "detail::JSON FROM audit_batch"
                )
            finally:
                self._con.unregister("audit_batch")

    def _run(self) -> None:
        while not self._stop.wait(self._flush_seconds):
            self.flush()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()

    def entries(
        self, limit: int = 100, offset: int = 0, action: str | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """Newest first: ``(total, rows)``."""
        self.flush()
        where, params = ("WHERE action = ?", [action]) if action else ("", [])
        with self._lock:
            total = self._con.execute(f"SELECT count(*) FROM audit_log {where}", params).fetchone()
            rows = self._con.execute(
                f"SELECT logged_at, actor, client, action, target, detail FROM audit_log {where} "
                "ORDER BY logged_at DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()
        keys = ("at", "actor", "client", "action", "target", "detail")
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            item["at"] = item["at"].isoformat()
            item["detail"] = json.loads(item["detail"]) if item["detail"] else {}
            out.append(item)
        return int(total[0]) if total else 0, out
