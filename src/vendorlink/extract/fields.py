"""All fields of an ad's text in one call, and the batch form the pipeline calls.

:func:`extract_fields` returns every field of :data:`vendorlink.lexicon.FIELD_NAMES`
(sorted, de-duplicated lists in the lexicon's formats), the masked text
(:func:`vendorlink.extract.masking.mask_text`) and the text statistics of
:mod:`vendorlink.extract.text_stats`. :func:`extract_batch` does the same for a batch of
texts and returns a DataFrame, one row per text in input order; it is a pure function of
its input, so it runs unchanged in-process or under a distributed engine (Ray Data
``map_batches``, via :func:`extract_frame`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from vendorlink.extract.attributes import numeric_attributes, prepare
from vendorlink.extract.descriptors import (
    extract_ethnicities,
    extract_eye_colours,
    extract_hair_colours,
    extract_restrictions,
    extract_skin_colours,
    words_of,
)
from vendorlink.extract.masking import identifier_spans, mask_with_spans
from vendorlink.extract.names import extract_names
from vendorlink.extract.spans import Span, lower_same_length
from vendorlink.extract.text_stats import TEXT_STAT_NAMES, text_stats
from vendorlink.lexicon import FIELD_NAMES

FIELD_COLUMNS: tuple[str, ...] = (*FIELD_NAMES, "masked_text", *TEXT_STAT_NAMES)
"""Keys of :func:`extract_fields` and columns of :func:`extract_batch`, in order."""


def extract_fields(text: str | None) -> dict[str, Any]:
    """Every extracted field of one ad's ``text`` (see :data:`FIELD_COLUMNS`).

    ``None`` is read as the empty text. Lists are sorted and de-duplicated; values follow
    :data:`vendorlink.lexicon.FIELD_NAMES`.
    """
    if text is None:
        text = ""
    elif not isinstance(text, str):
        raise TypeError(f"extract_fields expects a str, got {type(text).__name__}")
    lower = lower_same_length(text)
    words = words_of(lower)  # a superset of the words left after blanking: used as a gate
    spans = identifier_spans(text, lower, words)
    # Descriptive fields are read with the identifiers blanked out, so that the digits of a
    # phone number are no rate and "snap: blonde_babe" says nothing about hair.
    plain = _blank(text, spans)
    plain_lower = lower_same_length(plain)
    prepared = prepare(plain, plain_lower)
    numeric = numeric_attributes(prepared, words)
    out: dict[str, Any] = {
        "phones": _values(spans["phones"]),
        "emails": _values(spans["emails"]),
        "urls": _values(spans["urls"]),
        "social_handles": _values(spans["social_handles"]),
        "ages": numeric["ages"],
        "rates": numeric["rates"],
        "names": extract_names(plain, plain_lower, words),
        "ethnicities": extract_ethnicities(plain_lower, words),
        "hair_colours": extract_hair_colours(plain_lower, words),
        "eye_colours": extract_eye_colours(plain_lower, words),
        "skin_colours": extract_skin_colours(plain_lower, words),
        "heights_cm": numeric["heights_cm"],
        "weights_kg": numeric["weights_kg"],
        "measurements": numeric["measurements"],
        "restrictions": extract_restrictions(plain_lower, words),
        "masked_text": mask_with_spans(text, spans),
    }
    out.update(text_stats(text, lower))
    return out


def extract_batch(texts: Iterable[str | None]) -> pd.DataFrame:
    """Fields of each text, one row per text in input order (columns: :data:`FIELD_COLUMNS`).

    Missing texts (``None``, NaN) are read as empty texts. List columns hold Python lists.
    """
    rows = [extract_fields(_as_text(t)) for t in texts]
    return pd.DataFrame.from_records(rows, columns=list(FIELD_COLUMNS))


def extract_frame(batch: pd.DataFrame | dict[str, Any], text_column: str = "text") -> pd.DataFrame:
    """``batch`` with the extracted fields added as columns (for ``map_batches``)."""
    frame = batch if isinstance(batch, pd.DataFrame) else pd.DataFrame(batch)
    fields = extract_batch(frame[text_column].tolist())
    fields.index = frame.index
    return pd.concat([frame.drop(columns=[c for c in FIELD_COLUMNS if c in frame]), fields], axis=1)


_BLANKED_KINDS = ("phones", "emails", "urls", "social_handles", "post_ids")


def _blank(text: str, spans: dict[str, list[Span]]) -> str:
    """``text`` with the identifier spans written as spaces (offsets unchanged)."""
    cuts = sorted((s.start, s.end) for kind in _BLANKED_KINDS for s in spans[kind])
    if not cuts:
        return text
    parts: list[str] = []
    pos = 0
    for start, end in cuts:
        if end <= pos:
            continue
        start = max(start, pos)
        parts.append(text[pos:start])
        parts.append(" " * (end - start))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _values(spans: list[Span]) -> list[str]:
    return sorted({span.value for span in spans})


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if value is pd.NA or (isinstance(value, float) and value != value):  # NaN
        return ""
    raise TypeError(f"extract_batch expects texts, got {type(value).__name__}")


__all__ = ["FIELD_COLUMNS", "extract_batch", "extract_fields", "extract_frame"]
