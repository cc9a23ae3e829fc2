"""Field extraction from ad texts and images.

Text: :func:`extract_fields` / :func:`extract_batch` (every field of
:data:`vendorlink.lexicon.FIELD_NAMES`, the masked text and text statistics),
:func:`mask_text`, :func:`find_phone_spans`. Images: :func:`image_fields_batch` and
:func:`hamming` here (imported on first use, so that text-only workers do not load OpenCV);
``image_fields`` itself from :mod:`vendorlink.extract.image_fields`. Files:
:func:`extract_file`.
"""

from __future__ import annotations

from typing import Any

from vendorlink.extract.fields import FIELD_COLUMNS, extract_batch, extract_fields, extract_frame
from vendorlink.extract.masking import PLACEHOLDERS, mask_text
from vendorlink.extract.phones import extract_phones, find_phone_spans, normalise_phone
from vendorlink.extract.text_stats import TEXT_STAT_NAMES

_LAZY = {
    "image_fields_batch": "vendorlink.extract.image_fields",
    "hamming": "vendorlink.extract.image_fields",
    "extract_file": "vendorlink.extract.standalone",
    "ExtractSummary": "vendorlink.extract.standalone",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "FIELD_COLUMNS",
    "PLACEHOLDERS",
    "TEXT_STAT_NAMES",
    "ExtractSummary",
    "extract_batch",
    "extract_fields",
    "extract_file",
    "extract_frame",
    "extract_phones",
    "find_phone_spans",
    "hamming",
    "image_fields_batch",
    "mask_text",
    "normalise_phone",
]
