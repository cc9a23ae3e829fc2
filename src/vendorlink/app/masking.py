"""What the app shows before an analyst asks to reveal: masked text and masked identifiers.

The masked text is the one ``vendorlink extract`` wrote (``fields.masked_text``; the same
function the models see). Identifier fields (phones, emails, links, handles) are shown as
the placeholders of that masking, one per value, so that the page says how many there are
without showing them. Revealing is an explicit, audited request.
"""

from __future__ import annotations

from typing import Any

from vendorlink.extract.masking import mask_text

IDENTIFIER_PLACEHOLDERS = {
    "phones": "<PHONE>",
    "emails": "<EMAIL>",
    "urls": "<LINK>",
    "social_handles": "<HANDLE>",
}


def masked_fields(fields: dict[str, Any], reveal: bool) -> dict[str, Any]:
    """``fields`` with identifier values replaced by placeholders unless ``reveal``."""
    if reveal:
        return dict(fields)
    out = dict(fields)
    for key, placeholder in IDENTIFIER_PLACEHOLDERS.items():
        if out.get(key):
            out[key] = [placeholder] * len(out[key])
    return out


def display_text(raw: str | None, masked: str | None, reveal: bool) -> str:
    """The raw text when revealed, else the stored masked text (masked now if missing)."""
    if reveal:
        return raw or ""
    if masked is not None:
        return masked
    return mask_text(raw or "")
