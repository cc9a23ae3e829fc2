"""Atomic writes: a file or a whole folder appears complete or not at all."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vendorlink.errors import InputError


class OutputExistsError(InputError, FileExistsError):
    """The output path exists and may not be replaced."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_target(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace a non-empty folder (or any file) unless ``overwrite``."""
    if out_dir.is_file() or out_dir.is_symlink():
        raise OutputExistsError(f"{out_dir} exists and is not a folder; choose another path")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out_dir} exists and is not empty; choose another folder or pass "
            "overwrite=True (--overwrite) to replace it"
        )


def new_staging_folder(out_dir: Path) -> Path:
    """An empty hidden sibling of ``out_dir`` to write into before :func:`publish_folder`."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    return tmp


def publish_folder(tmp: Path, out_dir: Path) -> None:
    """Move the finished ``tmp`` to ``out_dir``; an old ``out_dir`` is removed only afterwards."""
    old: Path | None = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}"
        os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        if old is not None:
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def staging_dir(out_dir: Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces ``out_dir`` atomically.

    On any exception the temporary folder is removed and ``out_dir`` is left as it was.
    """
    out_dir = Path(out_dir)
    check_target(out_dir, overwrite)
    tmp = new_staging_folder(out_dir)
    try:
        yield tmp
        check_target(out_dir, overwrite)  # someone may have written there meanwhile
        publish_folder(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
