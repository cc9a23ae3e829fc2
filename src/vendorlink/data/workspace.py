"""A workspace: one folder holding a DuckDB database and the artefacts of every stage.

Layout::

    WORKSPACE/
      workspace.json      # marker and settings (schema version, default label source)
      vendorlink.duckdb   # tables described in vendorlink.data.schema
      artefacts/          # models, indexes, reports written by later stages

Stages open the workspace, do their work inside one transaction and record a
row in ``runs``; an interrupted stage leaves the tables as they were.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from vendorlink import __version__
from vendorlink.atomic import atomic_write_text
from vendorlink.data.schema import DDL, SCHEMA_VERSION
from vendorlink.errors import WorkspaceError

MARKER = "workspace.json"
DB_NAME = "vendorlink.duckdb"


@dataclass
class Workspace:
    """Handle on a workspace folder. Create with :meth:`init`, open with :meth:`open`."""

    path: Path
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def db_path(self) -> Path:
        return self.path / DB_NAME

    @property
    def artefacts(self) -> Path:
        return self.path / "artefacts"

    @classmethod
    def init(cls, path: str | Path, *, exist_ok: bool = True) -> Workspace:
        """Create a workspace at ``path`` (or open it if it exists and ``exist_ok``)."""
        path = Path(path)
        if (path / MARKER).exists():
            if not exist_ok:
                raise WorkspaceError(f"{path} is already a vendorlink workspace")
            return cls.open(path)
        if path.exists() and any(path.iterdir()):
            raise WorkspaceError(
                f"{path} exists and is not empty; choose a new folder for the workspace"
            )
        path.mkdir(parents=True, exist_ok=True)
        (path / "artefacts").mkdir(exist_ok=True)
        settings = {
            "schema_version": SCHEMA_VERSION,
            "created_at": _now().isoformat(),
            "created_by": f"vendorlink {__version__}",
        }
        ws = cls(path=path, settings=settings)
        with ws.connect() as con:
            for ddl in DDL:
                con.execute(ddl)
        atomic_write_text(path / MARKER, json.dumps(settings, indent=2))
        return ws

    @classmethod
    def open(cls, path: str | Path) -> Workspace:
        """Open an existing workspace; a clear error if ``path`` is not one."""
        path = Path(path)
        marker = path / MARKER
        if not marker.exists():
            raise WorkspaceError(
                f"{path} is not a vendorlink workspace (no {MARKER}); "
                f"create one with `vendorlink init {path}`"
            )
        settings = json.loads(marker.read_text(encoding="utf-8"))
        version = settings.get("schema_version")
        if version != SCHEMA_VERSION:
            raise WorkspaceError(
                f"{path} has schema version {version}; this vendorlink reads {SCHEMA_VERSION}"
            )
        ws = cls(path=path, settings=settings)
        with ws.connect() as con:  # tables added by later versions of the same schema
            for ddl in DDL:
                con.execute(ddl)
        return ws

    def save_settings(self, **updates: Any) -> None:
        self.settings.update(updates)
        atomic_write_text(self.path / MARKER, json.dumps(self.settings, indent=2))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A DuckDB connection to the workspace database, closed on exit."""
        try:
            con = duckdb.connect(str(self.db_path), read_only=read_only)
        except duckdb.IOException as exc:
            raise WorkspaceError(
                f"cannot open {self.db_path}: {exc} (is another vendorlink process using it?)"
            ) from exc
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def run(self, command: str, params: dict[str, Any]) -> Iterator[RunContext]:
        """Record a run of ``command``; yields a :class:`RunContext` with an open connection.

        The body's writes happen inside one transaction, committed only if the body
        returns (or at each :meth:`RunContext.checkpoint` the body calls). On any
        exception (including Ctrl-C) the transaction is rolled back, the run is recorded
        as failed or interrupted, and the exception propagates.
        """
        run_id = f"{_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        with self.connect() as con:
            con.execute(
                "INSERT INTO runs (run_id, command, started_at, status, params, version) "
                "VALUES (?, ?, ?, 'running', ?, ?)",
                [run_id, command, _now(), json.dumps(params, default=str), __version__],
            )
            ctx = RunContext(run_id=run_id, con=con, workspace=self)
            con.execute("BEGIN TRANSACTION")
            try:
                yield ctx
            except BaseException as exc:
                con.execute("ROLLBACK")
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                con.execute(
                    "UPDATE runs SET status = ?, finished_at = ?, error = ? WHERE run_id = ?",
                    [status, _now(), f"{type(exc).__name__}: {exc}", run_id],
                )
                raise
            con.execute(
                "UPDATE runs SET status = 'ok', finished_at = ?, stats = ? WHERE run_id = ?",
                [_now(), json.dumps(ctx.stats, default=str), run_id],
            )
            con.execute("COMMIT")

    def table_count(self, table: str, where: str = "") -> int:
        with self.connect(read_only=True) as con:
            row = con.execute(f"SELECT count(*) FROM {table} {where}").fetchone()
        return int(row[0]) if row else 0


@dataclass
class RunContext:
    """What a stage gets while it runs: its run id, the open connection, a stats dict."""

    run_id: str
    con: duckdb.DuckDBPyConnection
    workspace: Workspace
    stats: dict[str, Any] = field(default_factory=dict)

    def checkpoint(self) -> None:
        """Commit the work so far and open a new transaction.

        For stages whose partial output is valid on its own (e.g. fields of the ads done
        so far): an interrupted run then keeps its committed batches, and the next run
        resumes after them. Stages that must be all-or-nothing (ingest) never call it.
        """
        self.con.execute("COMMIT")
        self.con.execute("BEGIN TRANSACTION")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
