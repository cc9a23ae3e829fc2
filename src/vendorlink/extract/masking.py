"""The masked text models see: identifiers replaced by placeholders, every digit by ``N``.

Following the MATCHED paper, personal identifiers are replaced by generalised forms:
phone numbers (every obfuscated form the phone finder reads) by ``<PHONE>``, e-mail
addresses by ``<EMAIL>``, links by ``<LINK>``, social handles by ``<HANDLE>`` (the platform
word stays: "IG: <HANDLE>"), post ids by ``<POSTID>`` (the label stays: "Post ID: <POSTID>")
and dates by ``<DATE>``. Then every remaining digit (ASCII, full-width, circled, keycap) is
written ``N``, so "23 yrs" becomes "NN yrs". All other text is kept as it is.

The same function serves training and inference (the published MATCHED code masked only
its training text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from vendorlink.extract.digits import SPECIAL_DIGIT_VALUES
from vendorlink.extract.emails import find_email_spans
from vendorlink.extract.phones import find_phone_spans
from vendorlink.extract.social import find_handle_spans
from vendorlink.extract.spans import Span, lower_same_length, overlaps
from vendorlink.extract.urls import find_url_spans

PHONE = "<PHONE>"
EMAIL = "<EMAIL>"
LINK = "<LINK>"
HANDLE = "<HANDLE>"
POSTID = "<POSTID>"
DATE = "<DATE>"
PLACEHOLDERS: tuple[str, ...] = (PHONE, EMAIL, LINK, HANDLE, POSTID, DATE)

# Label-first post ids; the pattern starts with its labels (a literal alternation, which the
# regex engine scans for quickly) and the word boundary before the label is checked after.
POST_ID_RE = re.compile(
    r"(?:posting|post|listing|reference|ref|ad)(?![a-z])[ \t]*(?:id|#|no\.?|num(?:ber)?)"
    r"[ \t]*[:#.=\-]?[ \t]*#?[ \t]*(?P<id>[0-9](?:[0-9-]{1,24}+)[0-9])(?![0-9])"
    r"|id[ \t]*[:#=][ \t]*#?[ \t]*(?P<id2>[0-9]{3,25}+)(?![0-9])"
)
HASH_ID_RE = re.compile(r"#[ \t]?(?P<id>[0-9]{5,25}+)(?![0-9])")
_POST_ID_WORDS = frozenset({"posting", "post", "listing", "reference", "ref", "ad", "id"})
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH_TEXT = """
    jan january feb february mar march apr april may jun june jul july aug august sept
    september oct october nov november dec december"""
_MONTH_WORDS = frozenset(_MONTH_TEXT.split())
# Numeric dates start with a bare digit class (fast to scan for); the character before the
# first digit is checked by the look-behind after it.
NUMERIC_DATE_RE = re.compile(
    r"[0-9](?<![0-9./-][0-9])(?P<a2>[0-9]?)(?P<s>[/.-])(?P<b>[0-9]{1,2})(?P=s)"
    r"(?P<y>[0-9]{4}|[0-9]{2})(?![0-9]|[./-][0-9])"
)
ISO_DATE_RE = re.compile(r"[12](?<![0-9][12])[0-9]{3}-[01]?[0-9]-[0-3]?[0-9](?![0-9])")
# Month-first ("jan 5th, 2016") and day-first ("5 march 2016"); the first starts with the
# month names, the second with a bare digit class, both quick to scan for.
MONTH_FIRST_DATE_RE = re.compile(
    rf"(?:{_MONTHS})\.?[ \t]+[0-3]?[0-9](?:st|nd|rd|th)?(?![0-9a-z])"
    r"(?:,?[ \t]+(?:19|20)[0-9]{2}(?![0-9]))?"
)
DAY_FIRST_DATE_RE = re.compile(
    rf"[0-9](?<![0-9][0-9])[0-9]?(?:st|nd|rd|th)?[ \t]+(?:of[ \t]+)?(?:{_MONTHS})(?![a-z])"
    r"(?:,?[ \t]+(?:19|20)[0-9]{2}(?![0-9]))?"
)
_LEADING_NUMBER_RE = re.compile(r"[0-9]+")
_DIGIT_RE = re.compile("[0-9" + "".join(sorted(SPECIAL_DIGIT_VALUES)) + r"]|\d")


def find_post_id_spans(lower: str, words: frozenset[str] | None = None) -> list[Span]:
    """Post ids ("Post ID: 12345678", "ad #123456", "#9876543"): the id digits only."""
    spans = []
    if words is None or not words.isdisjoint(_POST_ID_WORDS):
        for m in POST_ID_RE.finditer(lower):
            if m.start() > 0 and lower[m.start() - 1].isalpha():
                continue
            group = "id" if m.group("id") else "id2"
            spans.append(Span(m.start(group), m.end(group), m.group(group)))
    if "#" in lower:
        for m in HASH_ID_RE.finditer(lower):
            if m.start() > 0 and (lower[m.start() - 1].isalnum() or lower[m.start() - 1] in "&#"):
                continue
            if not any(s.start <= m.start("id") < s.end for s in spans):
                spans.append(Span(m.start("id"), m.end("id"), m.group("id")))
    spans.sort()
    return spans


def find_date_spans(
    lower: str, words: frozenset[str] | None = None, text: str | None = None
) -> list[Span]:
    """Dates ("12/25/2015", "2016-01-31", "Jan 5th, 2016", "5 March"), as written.

    ``text``: the original text, where given, so that "may" counts only as "May".
    """
    spans = []
    for m in NUMERIC_DATE_RE.finditer(lower):
        if _plausible_numeric_date(m):
            spans.append(Span(m.start(), m.end(), m.group()))
    if "-" in lower:
        for m in ISO_DATE_RE.finditer(lower):
            spans.append(Span(m.start(), m.end(), m.group()))
    # ("sep" is left out of the quick test: "[SEP]" joins title and description.)
    if words is None or not words.isdisjoint(_MONTH_WORDS) or "sep " in lower:
        for m in MONTH_FIRST_DATE_RE.finditer(lower):
            if m.start() > 0 and lower[m.start() - 1].isalpha():
                continue
            if text is not None and lower.startswith("may", m.start()) and text[m.start()] == "m":
                continue  # "you may 2 ..." is no date; "May 2" is
            spans.append(Span(m.start(), m.end(), m.group()))
        for m in DAY_FIRST_DATE_RE.finditer(lower):
            if int(_LEADING_NUMBER_RE.match(m.group()).group()) <= 31:  # type: ignore[union-attr]
                spans.append(Span(m.start(), m.end(), m.group()))
    if len(spans) > 1:
        spans = _drop_overlapping(sorted(spans))
    return spans


def _drop_overlapping(spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for span in spans:
        if out and span.start < out[-1].end:
            continue
        out.append(span)
    return out


def identifier_spans(
    text: str, lower: str | None = None, words: frozenset[str] | None = None
) -> dict[str, list[Span]]:
    """Every identifier span the masking replaces, by kind.

    E-mails come first; a handle never lies inside an e-mail; a link never inside an e-mail,
    nor a bare host on a labelled handle ("snap: amelia.sexy"); post ids never inside an
    e-mail or link; phones never inside any of these; dates never on anything else. A
    profile link ("instagram.com/mia") gives both a link and a handle.
    """
    low = lower if lower is not None else lower_same_length(text)
    emails = find_email_spans(text, low)
    handles = [
        s for s in find_handle_spans(text, low, words) if not overlaps(s.start, s.end, emails)
    ]
    labelled = [s for s in handles if not _inside_profile_link(low, s)]
    urls = [
        s
        for s in find_url_spans(text, low)
        if not overlaps(s.start, s.end, emails) and not overlaps(s.start, s.end, labelled)
    ]
    taken = emails + urls
    post_ids = [s for s in find_post_id_spans(low, words) if not overlaps(s.start, s.end, taken)]
    taken = taken + post_ids + handles
    phones = find_phone_spans(text, exclude=taken)
    taken = taken + phones
    dates = [s for s in find_date_spans(low, words, text) if not overlaps(s.start, s.end, taken)]
    return {
        "phones": phones,
        "emails": emails,
        "urls": urls,
        "social_handles": handles,
        "post_ids": post_ids,
        "dates": dates,
    }


def _inside_profile_link(lower: str, span: Span) -> bool:
    return span.start > 0 and lower[span.start - 1] == "/"


_PLACEHOLDER_OF = {
    "phones": PHONE,
    "emails": EMAIL,
    "urls": LINK,
    "social_handles": HANDLE,
    "post_ids": POSTID,
    "dates": DATE,
}


def mask_text(text: str) -> str:
    """``text`` with identifiers replaced by placeholders and every other digit by ``N``."""
    return mask_with_spans(text, identifier_spans(text))


def mask_with_spans(text: str, spans_by_kind: dict[str, list[Span]]) -> str:
    """Mask ``text`` given the spans of :func:`identifier_spans` (longest span first)."""
    replacements = sorted(
        (
            (span.start, -span.end, _PLACEHOLDER_OF[kind])
            for kind, spans in spans_by_kind.items()
            for span in spans
        )
    )
    replacements = [(start, -neg_end, placeholder) for start, neg_end, placeholder in replacements]
    return _digits_to_n(_replace(text, replacements))


def _replace(text: str, replacements: Iterable[tuple[int, int, str]]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end, placeholder in replacements:
        if start < pos:  # overlapping spans (a profile link and its handle): the first wins
            continue
        parts.append(text[pos:start])
        parts.append(placeholder)
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _digits_to_n(text: str) -> str:
    if text.isascii():
        return text.translate(_ASCII_DIGITS_TO_N)
    return _DIGIT_RE.sub("N", text)


_ASCII_DIGITS_TO_N = str.maketrans(dict.fromkeys("0123456789", "N"))


def _plausible_numeric_date(m: re.Match[str]) -> bool:
    a, b = int(m.string[m.start() : m.end("a2")]), int(m.group("b"))
    # month/day or day/month; with "." only when the year has four digits ("5.6.16" is not).
    if m.group("s") == "." and len(m.group("y")) != 4:
        return False
    return (1 <= a <= 12 and 1 <= b <= 31) or (1 <= b <= 12 and 1 <= a <= 31)


__all__ = [
    "DATE",
    "EMAIL",
    "HANDLE",
    "LINK",
    "PHONE",
    "PLACEHOLDERS",
    "POSTID",
    "find_date_spans",
    "find_post_id_spans",
    "identifier_spans",
    "mask_text",
    "mask_with_spans",
]
