"""Phone numbers, however the ad writes them, normalised to E.164.

How a number is found:

1. :data:`RUN_RE` finds *runs*: chunks of (possibly obfuscated) digits (see
   :mod:`vendorlink.extract.digits`) separated by at most :data:`MAX_GAP` separator
   characters (spaces, line breaks, ``. - _ * ~ / | ( ) [ ]``, emoji, ...). Letters that do
   not stand for digits, and ``$ % # @ & ' "``, end a run.
2. Inside a run, windows of whole chunks holding exactly 10 digits (or 11 starting with a
   written ``1``) are candidates. A candidate is kept only if it is *shaped like a phone
   number*: wherever two multi-digit chunks meet, the boundary falls where phone numbers
   are grouped (3-3-4, 3-7, 6-4, 3-3-2-2, 1-3-3-4, ...). Single-digit chunks ("3 1 2",
   "three 1 two") join freely. This keeps "150/30 200/60" or "23 150 250 1000" from
   gluing into a number.
3. The number needs at least :data:`MIN_STRONG_DIGITS` strong digits (real digits or
   unambiguous digit words), so ordinary words made of digit-like letters ("Is", "so",
   "oil", "I") cannot make one up. A number written mostly in letters ("T7E ss5 OITA",
   "AiS.sss.0iGT") passes with fewer when it is grouped like a phone number, with no
   single-digit chunk, and holds a real digit or a chunk no word looks like ("SsS"). It
   must be a valid NANP number by the ``phonenumbers`` metadata (real area code and
   exchange; see :func:`is_valid_nanp`).
4. Runs longer than :data:`MAX_RUN_CHARS` are digit soup and yield nothing.
5. Numbers inside e-mail addresses, links and post ids are not reported (``exclude``).
6. After a ``+``, numbers of other countries (8 to 15 digits) are accepted when
   ``phonenumbers`` says they are valid.

Windows are taken greedily from the left; a kept window's chunks are not reused.
"""

from __future__ import annotations

import re
from bisect import bisect_right, insort
from itertools import accumulate, pairwise
from operator import add, itemgetter

import phonenumbers
from phonenumbers import NumberParseException

from vendorlink.extract.digits import CHUNK_PATTERN, chunk_digits
from vendorlink.extract.spans import Span, overlaps, sorted_unique

DEFAULT_REGION = "US"
MAX_GAP = 4
MIN_STRONG_DIGITS = 3
# A run longer than this (hundreds of digit chunks with no word between them) is digit soup,
# not text with a number in it; no number is reported from it.
MAX_RUN_CHARS = 1000
# Digit offsets (from the number's start) where two multi-digit chunks may meet.
_CUTS_10 = frozenset({3, 6, 8})
_CUTS_11 = frozenset({1, 4, 7, 9})
# Digit offsets of the groups' ends: a chunk written with letters must start and end on them.
_GROUPS_10 = frozenset({0, 3, 6, 10})
_GROUPS_11 = frozenset({0, 1, 4, 7, 11})
_ASCII_LETTER_RE = re.compile("[A-Za-z]")

# Separator characters: anything but letters, digits, keycap marks and ``$ % # @ & ' "``.
_SEP = r"(?:[^\w$%#@&'\"’”\ufe0f\u20e3]|_)"
_SEPS_SPLIT_RE = re.compile(rf"({_SEP}+)")
RUN_RE = re.compile(rf"{CHUNK_PATTERN}(?:{_SEP}{{1,{MAX_GAP}}}{CHUNK_PATTERN})*+")
_MIN_RUN_CHARS = 10
_SHORT_RUN_CHUNKS = 16
# Runs found after a separator character: a pattern that starts with a bare character class
# lets the regex engine skip over letters and digits quickly, so only word starts are tried.
_RUN_AFTER_SEPARATOR_RE = re.compile(rf"[^A-Za-z0-9]{RUN_RE.pattern}")
# A digit right after a letter ("call3125550123") can start a run that the pattern above
# cannot see; such digits are looked at one by one (see _runs).
_SPECIAL = "\uff10-\uff19\u2460-\u2468\u24ea"
_GLUED_DIGIT_RE = re.compile(rf"[0-9{_SPECIAL}](?<=[A-Za-z].)")


def _shaped_pattern() -> str:
    """Ten digits as a phone writes them, over digits joined by "," (free) or "|" (rigid).

    A rigid boundary may only stand after the 3rd, 6th or 8th digit; a free one anywhere.
    Area code and exchange start with 2-9.
    """
    d, free, any_ = "[0-9]", ",?", "[,|]?"
    return (
        f"[2-9]{free}{d}{free}{d}{any_}[2-9]{free}{d}{free}{d}{any_}{d}{free}{d}{any_}{d}{free}{d}"
    )


_TEN = _shaped_pattern()
# Zero-width match at the start of every chunk that begins a phone-shaped window of whole
# chunks: ten digits, or a leading 1 and ten digits.
_SHAPED_RE = re.compile(rf"(?<![0-9])(?=(?:1[,|]?)?{_TEN}(?![0-9]))")
_PREFIX_CHARS = "+("


def _nanp_pattern() -> re.Pattern[str]:
    """Union of the number-type patterns of every NANP region in ``phonenumbers``' metadata.

    A 10-digit national number matches it exactly when ``phonenumbers.is_valid_number``
    accepts it with country code 1 (checked in the tests), at a twentieth of the cost.
    """
    types = (
        "fixed_line",
        "mobile",
        "toll_free",
        "premium_rate",
        "shared_cost",
        "personal_number",
        "voip",
        "pager",
        "uan",
        "voicemail",
    )
    patterns: list[str] = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None:
            continue
        for kind in types:
            desc = getattr(metadata, kind, None)
            if desc is not None and desc.national_number_pattern:
                patterns.append(desc.national_number_pattern)
    return re.compile("|".join(f"(?:{p})" for p in dict.fromkeys(patterns)))


_NANP_RE = _nanp_pattern()


def is_valid_nanp(national: str) -> bool:
    """Whether a 10-digit string is a valid NANP national number (area code + exchange)."""
    return _NANP_RE.fullmatch(national) is not None


def find_phone_spans(text: str, exclude: list[Span] | None = None) -> list[Span]:
    """Phone numbers in ``text`` as ``(start, end, e164)`` spans, in text order.

    ``exclude``: spans (emails, URLs, post ids) inside which no number is reported.
    A span includes a ``+`` or ``(`` just before the number, so masking leaves no stray
    ``(`` behind.
    """
    spans: list[Span] = []
    for start, end in _runs(text):
        if end - start < _MIN_RUN_CHARS or end - start > MAX_RUN_CHARS:
            continue
        for span in _numbers_in_run(text, start, end):
            if exclude and overlaps(span.start, span.end, exclude):
                continue
            spans.append(span)
    return spans


def _runs(text: str) -> list[tuple[int, int]]:
    """Spans of the runs of ``text`` that can hold a number: those :data:`RUN_RE` finds,
    less the runs shorter than ten characters.

    Every run but the first starts right after a separator character, or at a digit right
    after a letter ("call3125550123"). A pattern that begins with a separator character
    finds the first kind quickly. A digit after a letter that lies in no run found so far
    starts a run of its own; when that run is more than the digits themselves
    ("x3 / 1 2 ..."), the text is scanned again with the plain pattern.
    """
    shortest = _MIN_RUN_CHARS
    runs: list[tuple[int, int]] = []
    pos = 0
    first = RUN_RE.match(text)
    if first is not None:
        pos = first.end()
        if pos >= shortest:
            runs.append(first.span())
    runs += [
        (m.start() + 1, m.end())
        for m in _RUN_AFTER_SEPARATOR_RE.finditer(text, pos)
        if m.end() - m.start() > shortest
    ]
    for glued in _GLUED_DIGIT_RE.finditer(text, pos):
        at = glued.start()
        k = bisect_right(runs, (at, len(text)))
        if k and runs[k - 1][0] <= at < runs[k - 1][1]:
            continue
        run = RUN_RE.match(text, at)
        if run is None:
            continue
        digits = text[at : run.end()]
        if digits.isascii() and digits.isdigit():
            # Bare digits ("Lexi99", "5ft5in", "call3125550123"): no other run can start
            # inside them or right after them.
            if len(digits) >= shortest:
                insort(runs, run.span())
            continue
        return [m.span() for m in RUN_RE.finditer(text) if m.end() - m.start() >= shortest]
    return runs


def extract_phones(text: str) -> list[str]:
    """Sorted distinct E.164 numbers in ``text``."""
    return sorted_unique(span.value for span in find_phone_spans(text))


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of one plainly written number, or ``None`` if it is not a valid number."""
    try:
        number = phonenumbers.parse(raw, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _numbers_in_run(text: str, start: int, end: int) -> list[Span]:
    """Numbers in one run of chunks ``text[start:end]``.

    Per-chunk work is done by C-level calls (split, map, accumulate, one regex pass);
    Python-level work happens only per candidate window, so long runs of digit soup stay
    cheap.
    """
    # Inside a run, chunks are exactly the stretches between separators.
    parts = _SEPS_SPLIT_RE.split(text[start:end])
    chunks = parts[0::2]
    joined = "".join(chunks)
    if joined.isascii() and joined.isdigit():
        whole = _whole_run_number(text, start, end, chunks, joined)
        if whole is not None:
            return [whole]
        digits = joined
        digit_parts = chunks
        sizes = list(map(len, chunks))
        strong = sizes
    else:
        decoded_by_chunk = dict.fromkeys(chunks)
        for chunk in decoded_by_chunk:
            decoded_by_chunk[chunk] = chunk_digits(chunk)
        decoded = list(map(decoded_by_chunk.__getitem__, chunks))
        digit_parts = list(map(itemgetter(0), decoded))
        digits = "".join(digit_parts)
        sizes = list(map(len, digit_parts))
        strong = list(map(itemgetter(1), decoded))
    n = len(chunks)
    if len(digits) < 10:
        return []
    cum = list(accumulate(sizes, initial=0))
    chunk_at_digit = dict(zip(cum, range(n + 1), strict=True))  # cum strictly increases
    strong_cum = list(accumulate(strong, initial=0))

    # Chunks where a number can start. A short run is simply tried at every chunk. In a long
    # one the digits are written out with "," between chunks where a single-digit chunk is
    # involved (a free boundary) and "|" between two multi-digit chunks (a boundary that
    # must fall on a phone group break); one regex pass over that string finds every
    # chunk-aligned, phone-shaped window, so digit soup costs little Python work.
    if n <= _SHORT_RUN_CHUNKS:
        starts: list[int] = list(range(n))
    else:
        bounds = ["," if a == 1 or b == 1 else "|" for a, b in pairwise(sizes)]
        bounds.append("")
        marked = "".join([p for pair in zip(digit_parts, bounds, strict=True) for p in pair])
        chunk_at_mark = dict(zip(map(add, cum, range(n)), range(n), strict=False))
        starts = [chunk_at_mark[m.start()] for m in _SHAPED_RE.finditer(marked)]
    plus_starts: set[int] = set()
    if "+" in text[max(0, start - 3) : end]:
        char_at = list(accumulate(map(len, parts), initial=start))
        plus_starts = {k for k in range(n) if _has_plus(text, char_at[2 * k])}
        starts = sorted(set(starts) | plus_starts)
    if not starts:
        return []

    hits: list[tuple[int, int, str]] = []  # first chunk, chunk after the last, E.164
    valid: dict[str, bool] = {}
    next_free = 0
    for i in starts:
        if i < next_free:
            continue
        c0 = cum[i]
        if i in plus_starts and digits[c0] != "1":
            found = _international_at(digits, cum, strong_cum, i, n)
            if found is not None:
                hits.append((i, found[1], found[0]))
                next_free = found[1]
            continue
        for total in (10, 11):
            if total == 11 and (digits[c0] != "1" or strong[i] == 0):
                # An 11th digit must be a leading "1" written as a digit: in
                # "I 312 555 0123" the number is the ten digits after the word "I".
                continue
            stop = chunk_at_digit.get(c0 + total)
            if stop is None:
                continue
            national = digits[c0 + total - 10 : c0 + total]
            ok = valid.get(national)
            if ok is None:
                ok = valid[national] = is_valid_nanp(national)
            if not ok:
                continue
            n_strong = strong_cum[stop] - strong_cum[i]
            if n_strong < MIN_STRONG_DIGITS and not _letter_number(
                chunks, sizes, i, stop, n_strong
            ):
                continue
            if not _phone_shaped(chunks, sizes, cum, i, stop, total):
                continue
            hits.append((i, stop, "+1" + national))
            next_free = stop
            break
    if not hits:
        return []
    char_at = list(accumulate(map(len, parts), initial=start))
    return [_span(text, char_at[2 * i], char_at[2 * stop - 1], e164) for i, stop, e164 in hits]


_ODD_CASE_RE = re.compile(r"[a-z].*[A-Z]|[A-Za-z].*[0-9]|[0-9].*[A-Za-z]")


def _letter_number(chunks: list[str], sizes: list[int], i: int, stop: int, n_strong: int) -> bool:
    """Whether a window with few strong digits is still a number written with letters.

    It must be grouped like a phone number with no single-digit chunk ("T7E ss5 OITA",
    "AiS.sss.0iGT"), and hold a real digit or a chunk no word looks like (digits among
    letters, or a capital after a small letter: "SsS", "oiOZ").
    """
    if any(sizes[k] < 2 for k in range(i, stop)):
        return False
    return n_strong > 0 or any(_ODD_CASE_RE.search(chunks[k]) for k in range(i, stop))


def _whole_run_number(
    text: str, start: int, end: int, chunks: list[str], digits: str
) -> Span | None:
    """The common case: a run of plain digit groups that is one number ("(312) 555-0123")."""
    total = len(digits)
    if len(chunks) > 4 or not (total == 10 or (total == 11 and digits[0] == "1")):
        return None
    cuts = _CUTS_10 if total == 10 else _CUTS_11
    offset = 0
    for left, right in pairwise(chunks):
        offset += len(left)
        if len(left) > 1 and len(right) > 1 and offset not in cuts:
            return None
    national = digits[-10:]
    if not is_valid_nanp(national):
        return None
    return _span(text, start, end, "+1" + national)


def _phone_shaped(
    chunks: list[str], sizes: list[int], cum: list[int], i: int, stop: int, total: int
) -> bool:
    """Whether the window of chunks ``i``..``stop - 1`` is grouped like a phone number.

    Wherever two multi-digit chunks meet, the boundary must fall on a group break (after
    digit 3, 6 or 8 of ten). A multi-digit chunk with letters in it ("3one2", "SSS",
    "OlZ3") must moreover be whole groups ("STATS: 36-26-34" reads 5-7-4-7-5-3-6-2-6-3-4,
    but "STATS" straddles a group break: no number).
    """
    cuts, groups = (_CUTS_10, _GROUPS_10) if total == 10 else (_CUTS_11, _GROUPS_11)
    c0 = cum[i]
    for k in range(i, stop):
        if sizes[k] < 2:
            continue
        if k + 1 < stop and sizes[k + 1] > 1 and cum[k + 1] - c0 not in cuts:
            return False
        if (cum[k] - c0 not in groups or cum[k + 1] - c0 not in groups) and _has_letter(chunks[k]):
            return False
    return True


def _has_letter(chunk: str) -> bool:
    return not chunk.isdigit() and _ASCII_LETTER_RE.search(chunk) is not None


def _international_at(
    digits: str, cum: list[int], strong_cum: list[int], i: int, n: int
) -> tuple[str, int] | None:
    """The longest valid non-NANP number of 8 to 15 digits starting at chunk ``i``."""
    best: tuple[str, int] | None = None
    c0 = cum[i]
    for stop in range(i + 1, n + 1):
        total = cum[stop] - c0
        if total > 15:
            break
        if total < 8 or strong_cum[stop] - strong_cum[i] < MIN_STRONG_DIGITS:
            continue
        e164 = _international(digits[c0 : c0 + total])
        if e164 is not None:
            best = (e164, stop)
    return best


def _international(digits: str) -> str | None:
    try:
        number = phonenumbers.parse("+" + digits, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _has_plus(text: str, start: int) -> bool:
    """Whether a ``+`` stands just before ``start`` (up to two spaces between)."""
    k = start - 1
    while k >= 0 and k >= start - 3 and text[k] == " ":
        k -= 1
    return k >= 0 and text[k] == "+"


def _span(text: str, start: int, end: int, e164: str) -> Span:
    # Take in a "+" or "(" just before the number ("+1 312...", "(312) 555-0123").
    k = start
    for _ in range(3):
        if k > 0 and text[k - 1] in _PREFIX_CHARS:
            k -= 1
        elif k > 1 and text[k - 1] == " " and text[k - 2] in _PREFIX_CHARS:
            k -= 2
        else:
            break
    return Span(k, end, e164)


__all__ = [
    "DEFAULT_REGION",
    "RUN_RE",
    "extract_phones",
    "find_phone_spans",
    "is_valid_nanp",
    "normalise_phone",
]
