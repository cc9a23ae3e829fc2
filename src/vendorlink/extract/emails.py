"""E-mail addresses, plain or spelled out ("name at example dot com", "name(at)example(dot)com").

Matching runs on the lower-case text. ``@`` and bracketed ``(at)`` / ``[at]`` / ``{at}`` /
``<at>`` are trusted; the bare word " at " is common English ("text me at 9"), so an address
written with it needs a known top-level domain and a local part that is not an ordinary
word ("me", "us", ...). The pattern's repetitions are possessive and its spaces bounded, so
matching is linear in the input length.
"""

from __future__ import annotations

import re

from vendorlink.extract.spans import Span, lower_same_length, sorted_unique
from vendorlink.extract.urls import KNOWN_TLDS

_SP = r"[ \t]{0,3}+"
# "@" / "." bare or with spaces on both sides ("rose @ example . com"), bracketed words
# ("(at)", "[dot]") or the bare words " at " / " dot ".
_AT = (
    rf"(?:@|[ \t]{{1,3}}+@[ \t]{{1,3}}+|{_SP}[(\[{{<]{_SP}at{_SP}[)\]}}>]{_SP}"
    r"|[ \t]{1,3}+at[ \t]{1,3}+)"
)
DOT_PATTERN = (
    rf"(?:\.|[ \t]{{1,3}}+\.[ \t]{{1,3}}+|{_SP}[(\[{{<]{_SP}dot{_SP}[)\]}}>]{_SP}"
    r"|[ \t]{1,3}+dot[ \t]{1,3}+)"
)
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,62}+)"
EMAIL_RE = re.compile(
    rf"(?<![a-z0-9._%+@-])(?P<local>[a-z0-9._%+-]{{1,64}}+)(?P<at>{_AT})"
    rf"(?P<domain>{_LABEL}(?:{DOT_PATTERN}{_LABEL})++)"
)
DOT_RE = re.compile(DOT_PATTERN)
# Where an address can be: at an "@", a bracketed "at" or a bare " at ". Each hint is then
# tried from the start of the word before it. (Scanning for the hints first keeps the
# common case, a text with no address, cheap.)
_BRACKET_AT_RE = re.compile(r"[(\[{<][ \t]{0,3}at[ \t]{0,3}[)\]}>]")
_LOCAL_BEFORE_RE = re.compile(r"[a-z0-9._%+-]{1,64}[ \t]{0,3}$")

# Local parts that, before a bare " at ", are ordinary words and not an address.
_WORD_LOCAL_TEXT = """
    me us you him her them it in out here there home now text call email mail reach find
    contact see meet available located stay live staying visiting be is am are was
    """
_WORD_LOCALS = frozenset(_WORD_LOCAL_TEXT.split())


def find_email_spans(text: str, lower: str | None = None) -> list[Span]:
    """E-mail addresses in ``text`` as ``(start, end, address)`` spans, lower case."""
    low = lower if lower is not None else lower_same_length(text)
    n_hints = low.count("@") + sum(low.count(f"at{c}") for c in " \t)]}>")
    if n_hints == 0:
        return []
    if n_hints > _MAX_HINTS:
        return _scan(low)  # many hints (a list of addresses, or junk): one regex pass
    spans: list[Span] = []
    done = 0
    for at in _hints(low):
        if at < done:
            continue
        local = _LOCAL_BEFORE_RE.search(low, max(done, at - 70), at)
        if local is None:
            continue
        match = EMAIL_RE.match(low, local.start())
        if match is None or (match.start("at") != at and not low[match.start("at") : at].isspace()):
            continue
        address = _address(match)
        if address is not None:
            spans.append(Span(match.start(), match.end(), address))
            done = match.end()
    return spans


_MAX_HINTS = 32


def _hints(low: str) -> list[int]:
    """Offsets of "@", of the space before a bare "at", and of bracketed "(at)" forms."""
    hints = _find_all(low, "@") + [p for p in _find_all(low, " at") if low[p + 3 : p + 4] in " \t"]
    hints += [m.start() for m in _BRACKET_AT_RE.finditer(low)]  # starts with a rare bracket
    return sorted(hints)


def _find_all(text: str, needle: str) -> list[int]:
    out: list[int] = []
    start = text.find(needle)
    while start != -1:
        out.append(start)
        start = text.find(needle, start + 1)
    return out


def _scan(low: str) -> list[Span]:
    spans: list[Span] = []
    pos = 0
    while (match := EMAIL_RE.search(low, pos)) is not None:
        address = _address(match)
        if address is None:
            # "email me @ rose@example.com": what looked like a domain may start the address.
            pos = match.start("domain")
            continue
        spans.append(Span(match.start(), match.end(), address))
        pos = match.end()
    return spans


def extract_emails(text: str) -> list[str]:
    """Sorted distinct e-mail addresses in ``text``, lower case."""
    return sorted_unique(span.value for span in find_email_spans(text))


def _address(match: re.Match[str]) -> str | None:
    local = match.group("local").strip(".")
    labels = DOT_RE.split(match.group("domain"))
    tld = labels[-1]
    if not local or not tld.isalpha() or not 2 <= len(tld) <= 24:
        return None
    if match.string[match.end() : match.end() + 1] == "@":
        return None  # the "domain" is the local part of the real address
    if any(not label or label.startswith("-") or label.endswith("-") for label in labels):
        return None
    at = match.group("at")
    bare_at = at.strip() == "at"
    if bare_at and (tld not in KNOWN_TLDS or local in _WORD_LOCALS or len(local) < 2):
        return None
    if at != "@" and local in _WORD_LOCALS:
        return None  # "email me @ ...", "text me [at] ..."
    return f"{local}@{'.'.join(labels)}"


__all__ = ["DOT_PATTERN", "DOT_RE", "EMAIL_RE", "extract_emails", "find_email_spans"]
