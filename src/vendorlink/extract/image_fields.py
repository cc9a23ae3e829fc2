"""Fields of an ad's image: perceptual hashes, size, format and faces.

- ``phash``, ``dhash``: 64-bit perceptual and difference hashes (``imagehash``), as 16 hex
  digits; near-duplicate pictures have hashes a small :func:`hamming` distance apart.
- ``width``, ``height``, ``format`` (PIL's name: "JPEG", "PNG", ...) of the file as stored.
- ``n_faces``, ``has_face``: frontal faces found by OpenCV's Haar cascade
  (``haarcascade_frontalface_default.xml``); the image is scaled down to at most
  :data:`DETECT_MAX_SIDE` pixels on its long side first, which keeps detection fast.

The cascade is loaded lazily, once per thread (OpenCV's detector is not safe to share
between threads). :func:`image_fields_batch` reads many files, optionally with a thread
pool, and puts an unreadable file aside with an ``error`` string instead of raising.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps

DETECT_MAX_SIDE = 400
HASH_SIZE = 8
IMAGE_FIELD_NAMES: tuple[str, ...] = (
    "phash",
    "dhash",
    "width",
    "height",
    "format",
    "n_faces",
    "has_face",
)

_local = threading.local()
# Importing cv2 from two threads at once can expose a half-initialised module (no
# ``cv2.data`` yet); the first import happens under this lock.
_import_lock = threading.Lock()


def image_fields(image: str | Path | Image.Image) -> dict[str, Any]:
    """Fields of one image, given as a path or a PIL image (see the module docstring).

    Raises ``OSError`` (``FileNotFoundError``, ``PIL.UnidentifiedImageError``) for a file
    that cannot be read or decoded; :func:`image_fields_batch` turns those into errors.
    """
    import imagehash

    if isinstance(image, Image.Image):
        return _fields_of(image, imagehash)
    with Image.open(image) as opened:
        opened.load()
        return _fields_of(opened, imagehash)


def image_fields_batch(
    images: Sequence[str | Path | Image.Image], workers: int = 1
) -> list[dict[str, Any]]:
    """Fields of each image, in input order. A failure gives ``{"error": "..."}`` (the other
    keys ``None``) instead of an exception. ``workers`` > 1 uses a thread pool (decoding,
    hashing and detection release the GIL for much of their work)."""
    if workers <= 1 or len(images) <= 1:
        return [_safe_fields(image) for image in images]
    _cv2()  # import OpenCV once, here, before threads race to import it
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_safe_fields, images))


def hamming(hex_a: str, hex_b: str) -> int:
    """Number of differing bits between two hex hash strings of the same length."""
    if len(hex_a) != len(hex_b):
        raise ValueError(f"hashes of different lengths: {len(hex_a)} and {len(hex_b)} hex digits")
    return (int(hex_a, 16) ^ int(hex_b, 16)).bit_count()


def count_faces(image: Image.Image) -> int:
    """Frontal faces in ``image`` (Haar cascade on a grey copy at most 400 px on a side)."""
    cv2 = _cv2()
    grey = ImageOps.exif_transpose(image).convert("L")
    scale = DETECT_MAX_SIDE / max(grey.size)
    if scale < 1.0:
        size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
        grey = grey.resize(size, Image.Resampling.BILINEAR)
    pixels = cv2.equalizeHist(np.asarray(grey, dtype=np.uint8))
    faces = _cascade().detectMultiScale(pixels, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
    return len(faces)


def _fields_of(image: Image.Image, imagehash: Any) -> dict[str, Any]:
    rgb = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    n_faces = count_faces(rgb)
    return {
        "phash": str(imagehash.phash(rgb, hash_size=HASH_SIZE)),
        "dhash": str(imagehash.dhash(rgb, hash_size=HASH_SIZE)),
        "width": image.width,
        "height": image.height,
        "format": image.format,
        "n_faces": n_faces,
        "has_face": n_faces > 0,
    }


def _safe_fields(image: str | Path | Image.Image) -> dict[str, Any]:
    try:
        return {**image_fields(image), "error": None}
    except Exception as exc:  # a bad file is reported, never fatal to the batch
        out: dict[str, Any] = dict.fromkeys(IMAGE_FIELD_NAMES)
        out["error"] = f"{type(exc).__name__}: {exc}"
        return out


def _cv2() -> Any:
    """The OpenCV module, imported under a lock (see ``_import_lock``)."""
    with _import_lock:
        import cv2
        import cv2.data

    return cv2


def _cascade() -> Any:
    """This thread's face detector, loaded on first use."""
    cascade = getattr(_local, "cascade", None)
    if cascade is None:
        cv2 = _cv2()
        path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"cannot load the OpenCV face cascade from {path}")
        _local.cascade = cascade
    return cascade


__all__ = [
    "DETECT_MAX_SIDE",
    "IMAGE_FIELD_NAMES",
    "count_faces",
    "hamming",
    "image_fields",
    "image_fields_batch",
]
