"""Checking image references: inside the image root, present, decodable; size and format."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from PIL import Image, UnidentifiedImageError

# Decompression bombs are rejected as undecodable rather than crashing a batch.
Image.MAX_IMAGE_PIXELS = 50_000_000


@dataclass(frozen=True)
class ImageCheck:
    """Result of checking one image reference. ``reason`` is None when the image is good."""

    path: str  # as written in the input
    rel_path: str | None = None  # relative to the image root
    image_id: str | None = None  # SHA-256 of the file bytes
    width: int | None = None
    height: int | None = None
    format: str | None = None
    n_bytes: int | None = None
    reason: str | None = None
    detail: str | None = None


def check_image(path: str, root: Path) -> ImageCheck:
    """Check one image reference against ``root`` (an already-resolved folder)."""
    candidate = Path(path)
    full = candidate if candidate.is_absolute() else root / candidate
    try:
        resolved = full.resolve()
    except (OSError, RuntimeError) as exc:  # symlink loops
        return ImageCheck(path, reason="image_missing", detail=str(exc))
    if not resolved.is_relative_to(root):
        return ImageCheck(
            path, reason="image_outside_root", detail=f"{path!r} resolves outside {root}"
        )
    rel = resolved.relative_to(root).as_posix()
    if not resolved.is_file():
        return ImageCheck(path, rel, reason="image_missing", detail=f"no file at {rel}")
    try:
        data = resolved.read_bytes()
    except OSError as exc:
        return ImageCheck(path, rel, reason="image_missing", detail=str(exc))
    try:
        with Image.open(BytesIO(data)) as img:
            fmt = img.format
            img.load()  # full decode: catches truncated files that verify() lets through
            width, height = img.size
    except UnidentifiedImageError:
        detail = f"{rel}: not an image format Pillow can read"
        return ImageCheck(path, rel, reason="image_undecodable", detail=detail)
    except (OSError, SyntaxError, ValueError) as exc:
        return ImageCheck(path, rel, reason="image_undecodable", detail=f"{rel}: {exc}")
    except Image.DecompressionBombError as exc:
        return ImageCheck(path, rel, reason="image_undecodable", detail=f"{rel}: {exc}")
    return ImageCheck(
        path,
        rel,
        image_id=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        format=fmt,
        n_bytes=len(data),
    )


def check_images(paths: list[str], root: Path, workers: int = 4) -> dict[str, ImageCheck]:
    """Check many image references in parallel; returns path -> result for unique paths."""
    unique = list(dict.fromkeys(paths))
    if not unique:
        return {}
    if workers <= 1 or len(unique) < 16:
        return {p: check_image(p, root) for p in unique}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = pool.map(lambda p: check_image(p, root), unique, chunksize=32)
        return dict(zip(unique, results, strict=True))
