"""Links: ``https://www.example.com/ads/123`` -> ``example.com/ads/123``.

A host with a scheme or ``www.`` is trusted with any alphabetic top-level domain; a bare
host ("example.com/rose") needs a known one (:data:`KNOWN_TLDS`), so that "5.6" or "Hi.Im"
are not links. Spelled-out dots ("example dot com") are read as dots. Values are lower
case, without scheme, ``www.`` or a trailing slash; trailing punctuation is not part of a
link. Hosts that follow ``@`` are e-mail domains, not links.
"""

from __future__ import annotations

import re

from vendorlink.extract.spans import Span, lower_same_length, sorted_unique

_TLD_TEXT = """com net org info biz us io co tv xxx club site online xyz top ca uk de fr ru nl es eu
    au mobi app"""
KNOWN_TLDS: frozenset[str] = frozenset(_TLD_TEXT.split())

_SP = r"[ \t]{0,3}+"
_DOT = rf"(?:\.|{_SP}[(\[{{<]{_SP}dot{_SP}[)\]}}>]{_SP}|[ \t]{{1,3}}+dot[ \t]{{1,3}}+)"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,62}+)"
URL_RE = re.compile(
    rf"(?<![a-z0-9@._%+/-])(?P<scheme>https?://)?+(?P<www>www{_DOT})?+"
    rf"(?P<host>{_LABEL}(?:{_DOT}{_LABEL})++)"
    r"(?P<path>/[^\s<>\"'`]{0,2000}+)?+"
)
DOT_RE = re.compile(_DOT)
# Quick test of whether a text can hold a link: a known top-level domain after a dot (a
# pattern that starts with a literal "."), a scheme, "www" or a spelled-out dot.
_TLD_HINT_RE = re.compile(r"\.(?:" + "|".join(sorted(KNOWN_TLDS)) + r")(?![a-z0-9])")
_TRAILING = ".,;:!?)]}'\"*~"


def find_url_spans(text: str, lower: str | None = None) -> list[Span]:
    """Links in ``text`` as ``(start, end, normalised link)`` spans."""
    low = lower if lower is not None else lower_same_length(text)
    if not ("http" in low or "www" in low or "dot" in low or _TLD_HINT_RE.search(low)):
        return []
    spans: list[Span] = []
    for match in URL_RE.finditer(low):
        value, end = _normalise(match)
        if value is not None:
            spans.append(Span(match.start(), end, value))
    return spans


def extract_urls(text: str) -> list[str]:
    """Sorted distinct normalised links in ``text``."""
    return sorted_unique(span.value for span in find_url_spans(text))


def normalise_url(raw: str) -> str | None:
    """Normalised form of one link, or ``None`` if it does not look like one."""
    match = URL_RE.fullmatch(lower_same_length(raw.strip()))
    if match is None:
        return None
    return _normalise(match)[0]


def _normalise(match: re.Match[str]) -> tuple[str | None, int]:
    labels = DOT_RE.split(match.group("host"))
    tld = labels[-1]
    trusted = bool(match.group("scheme") or match.group("www"))
    end = match.end()
    if not tld.isalpha() or not 2 <= len(tld) <= 24:
        return None, end
    if not trusted and (tld not in KNOWN_TLDS or len(labels[-2]) < 2):
        return None, end
    if any(label.endswith("-") for label in labels):
        return None, end
    path = match.group("path") or ""
    stripped = path.rstrip(_TRAILING)
    end -= len(path) - len(stripped)
    path = stripped.rstrip("/")
    return ".".join(labels) + path, end


__all__ = ["KNOWN_TLDS", "URL_RE", "extract_urls", "find_url_spans", "normalise_url"]
