"""Numeric attributes of the advertised person: ages, rates, heights, weights, measurements.

Every function takes the *prepared* text: lower case, with full-width, circled and keycap
digits turned into ASCII digits (see :func:`prepare`). Each value needs its unit or label
next to it ("23 yrs", "age: 23", "I'm 23", "150 hh", "$200", "hh 150", "5'6", "170cm",
"120 lbs", "34DD-26-36"), and must lie in a plausible range, so rates, ages and phone digits
do not get mixed up.

Conversions follow :mod:`vendorlink.lexicon`: heights ``round(inches * 2.54)`` cm, weights
``round(lbs * 0.45359237)`` kg.

Speed: one pass of :data:`NUMBER_RE` reads every value written number-first; it starts with
a bare ``[0-9]`` so the regex engine skips to the digits of the text. Label-first forms
("$200", "hh 150", "age: 23", "I'm 23") have patterns that start with a literal, and run only
when their label occurs.
"""

from __future__ import annotations

import re

from vendorlink.extract.digits import has_special_digits, normalise_digits
from vendorlink.extract.spans import lower_same_length

AGE_RANGE = range(13, 76)  # explicit ages under 18 are kept: they matter to analysts
RATE_RANGE = range(20, 10_001)
HEIGHT_CM_RANGE = range(130, 221)
WEIGHT_KG_RANGE = range(30, 205)
WEIGHT_LB_RANGE = range(66, 451)
BUST_RANGE = range(26, 61)
WAIST_RANGE = range(18, 51)
HIPS_RANGE = range(26, 65)

NUMERIC_FIELDS: tuple[str, ...] = ("ages", "rates", "heights_cm", "weights_kg", "measurements")

_RATE_UNIT = r"(?:hh|hhr|qv|qk|quickie|hrs?|hours?|h|half[ \t]*(?:an[ \t]*)?hour|overnight|ovn)"
_AVAILABILITY_UNITS = frozenset({"h", "hr", "hrs", "hour", "hours"})

# A number (not right after a digit, ".", "$", "/", ":", "'", "-") and what follows it.
NUMBER_RE = re.compile(
    r"[0-9](?<![0-9.$/:'’\-][0-9])(?P<rest>[0-9]{0,4})(?![0-9])"
    # quick test of the character after the number (and any spaces): a unit may follow
    r"(?=[ \t]*[-/$'’′.,a-z1-9])(?:"
    r"(?P<age>[ \t]?-?[ \t]?(?:yrs?|years?|yo|y/o|y\.o\.?)(?![a-z])"
    r"(?![ \t]*(?:of[ \t]+)?experience))"
    r"|(?P<meas>[ \t]*(?P<cup>[a-k]{1,3})?[ \t]*(?P<sep>[-/])[ \t]*(?P<waist>[0-9]{2})[ \t]*"
    r"(?P=sep)[ \t]*(?P<hips>[0-9]{2})(?![0-9/]|-[0-9]))"
    r"|(?P<rate>[ \t]*(?:\$(?![ \t]*[0-9])|usd|dollars?|bucks|roses?|donations?)(?![a-z]))"
    rf"|(?P<rate_unit>[ \t]*(?:/|per|an?|for)?[ \t]*(?:[1-9][ \t]*)?(?P<unit>{_RATE_UNIT})"
    r"(?![a-z]))"
    r"|(?P<feet>[ \t]*(?P<ft_unit>'|’|′|ft\.?|feet|foot)[ \t]*"
    r"(?:(?P<inch>[0-9]{1,2})[ \t]*(?:\"|”|″|''|’’|in\b\.?|inch(?:es)?)?)?(?![0-9]))"
    r"|(?P<cm>[ \t]*cm(?![a-z]))"
    r"|(?P<metre>[.,](?P<m_cm>[0-9]{2})[ \t]*m(?![a-z]))"
    r"|(?P<lb>[ \t]*(?:lbs?|pounds?)(?![a-z]))"
    r"|(?P<kg>[ \t]*(?:kgs?|kilos?|kilograms?)(?![a-z]))"
    r")"
)
DOLLAR_RE = re.compile(r"\$[ \t]*(?P<n>[0-9]{2,5})(?:\.[0-9]{2})?(?![0-9])")
# What may not follow the number of a labelled rate ("rates - 34-22-34", "rates: 126 pounds").
_LABELLED_STOP = (
    r"(?![0-9'’\"”/%]|[a-k]{0,3}[ \t]*[-/][ \t]*[0-9]"
    r"|[ \t]*(?:min|mins|minutes|yrs?|years?|yo|y/o|lbs?|pounds?|kgs?|kilos?|cm|ft|feet|foot)"
    r"(?![a-z]))"
)
_RATE_LABELS = (
    "hh",
    "hhr",
    "qv",
    "qk",
    "quickie",
    "hr",
    "hrs",
    "hour",
    "hours",
    "h",
    "half hour",
    "half an hour",
    "overnight",
    "ovn",
    "incall",
    "outcall",
    "special",
    "specials",
    "rate",
    "rates",
    "donation",
    "donations",
)
RATE_LABEL_RE = re.compile(
    "(?:"
    + "|".join(re.escape(w).replace(r"\ ", r"[ \t]*") for w in sorted(_RATE_LABELS, key=len)[::-1])
    + r")(?![a-z])[ \t]*[:=\-–@|]?[ \t]*\$?[ \t]*(?P<n>[0-9]{2,5})"
    + _LABELLED_STOP
)
_RATE_LABEL_WORDS = frozenset(w.split()[0] for w in _RATE_LABELS)
AGE_LABEL_RE = re.compile(r"age[ \t]*[:=\-–]?[ \t]*(?P<n>[0-9]{2})(?![0-9])")
AGE_IM_RE = re.compile(
    r"i(?:'m|’m|m|[ \t]+am)[ \t]+(?:only[ \t]+|just[ \t]+)?(?P<n>[0-9]{2})"
    r"(?![0-9'’\"”./:%$+]|[ \t]*(?:min|mins|hr|hrs|h|hh|hour|hours|dollars?|roses|\$|ft|feet"
    r"|foot|lbs?|kg|cm|inch|in\b|miles?|mi\b|blocks?|%))"
)


def prepare(text: str, lower: str | None = None) -> str:
    """Lower-case ``text`` and write every special digit as an ASCII digit.

    ``lower``: ``text`` already in lower case (returned as it is when there is no special
    digit in the text).
    """
    if lower is not None and not has_special_digits(text):
        return lower
    return lower_same_length(normalise_digits(text))


def numeric_attributes(prepared: str, words: frozenset[str] | None = None) -> dict[str, list]:
    """Ages, rates, heights (cm), weights (kg) and measurements of a prepared text.

    ``words``: the words of the text (:func:`vendorlink.extract.descriptors.words_of`), to
    skip label patterns whose labels do not occur; ``None`` runs them all.
    """
    ages: set[int] = set()
    rates: set[int] = set()
    heights: set[int] = set()
    weights: set[int] = set()
    measurements: set[str] = set()
    for m in NUMBER_RE.finditer(prepared):
        n = int(prepared[m.start() : m.end("rest")])
        if m.group("age") is not None:
            if n in AGE_RANGE and m.end("rest") - m.start() == 2:
                ages.add(n)
        elif m.group("rate") is not None:
            if n in RATE_RANGE and m.end("rest") - m.start() >= 2:
                rates.add(n)
        elif m.group("rate_unit") is not None:
            if n == 24 and m.group("unit") in _AVAILABILITY_UNITS:
                continue  # "24 hrs", "24 hours": availability, not a price
            if n in RATE_RANGE and m.end("rest") - m.start() >= 2:
                rates.add(n)
        elif m.group("feet") is not None:
            cm = _feet_to_cm(n, m.group("inch"), m.group("ft_unit"))
            if cm is not None:
                heights.add(cm)
        elif m.group("cm") is not None:
            if n in HEIGHT_CM_RANGE:
                heights.add(n)
        elif m.group("metre") is not None:
            cm = n * 100 + int(m.group("m_cm"))
            if n in (1, 2) and cm in HEIGHT_CM_RANGE:
                heights.add(cm)
        elif m.group("lb") is not None:
            if n in WEIGHT_LB_RANGE:
                kg = round(n * 0.45359237)
                if kg in WEIGHT_KG_RANGE:
                    weights.add(kg)
        elif m.group("kg") is not None:
            if n in WEIGHT_KG_RANGE:
                weights.add(n)
        elif m.group("meas") is not None:
            waist, hips = int(m.group("waist")), int(m.group("hips"))
            if n in BUST_RANGE and waist in WAIST_RANGE and hips in HIPS_RANGE:
                measurements.add(f"{n}{(m.group('cup') or '').upper()}-{waist}-{hips}")
    if "$" in prepared:
        for m in DOLLAR_RE.finditer(prepared):
            n = int(m.group("n"))
            if n in RATE_RANGE:
                rates.add(n)
    if words is None:
        label_starts = [m.start() for m in RATE_LABEL_RE.finditer(prepared)]
    else:
        present = words & _RATE_LABEL_WORDS
        label_starts = [p for w in present for p in _word_starts(prepared, w)] if present else []
    for start in label_starts:
        if _word_start(prepared, start):
            m = RATE_LABEL_RE.match(prepared, start)
            if m is not None:
                n = int(m.group("n"))
                if n in RATE_RANGE:
                    rates.add(n)
    if words is None or "age" in words:
        for m in AGE_LABEL_RE.finditer(prepared):
            if _word_start(prepared, m.start()):
                n = int(m.group("n"))
                if n in AGE_RANGE:
                    ages.add(n)
    if words is None or "im" in words or "m" in words or "am" in words:
        for m in AGE_IM_RE.finditer(prepared):
            if _word_start(prepared, m.start()):
                n = int(m.group("n"))
                if n in AGE_RANGE:
                    ages.add(n)
    return {
        "ages": sorted(ages),
        "rates": sorted(rates),
        "heights_cm": sorted(heights),
        "weights_kg": sorted(weights),
        "measurements": sorted(measurements),
    }


def extract_ages(prepared: str) -> list[int]:
    """Ages in years ("23 yrs", "age: 23", "23yo", "I'm 23", "23 years young")."""
    return numeric_attributes(prepared)["ages"]


def extract_rates(prepared: str) -> list[int]:
    """Prices in dollars ("150 hh", "$200", "250/h", "200 roses", "hh 150", "$250 per hour")."""
    return numeric_attributes(prepared)["rates"]


def extract_heights_cm(prepared: str) -> list[int]:
    """Heights in cm (5'6" -> 168, "5 ft 6", "5ft6in", "170cm", "1.70 m")."""
    return numeric_attributes(prepared)["heights_cm"]


def extract_weights_kg(prepared: str) -> list[int]:
    """Weights in kg (120 lbs -> 54, "120lb", "120 pounds", "55kg")."""
    return numeric_attributes(prepared)["weights_kg"]


def extract_measurements(prepared: str) -> list[str]:
    """Body measurements as "36-24-36" / "34DD-26-36" (from "34dd/26/36", "36 - 24 - 36")."""
    return numeric_attributes(prepared)["measurements"]


def _feet_to_cm(feet: int, inch: str | None, unit: str) -> int | None:
    if not 4 <= feet <= 7:
        return None
    if inch is None:
        if unit in ("'", "’", "′"):
            return None  # "5'" alone is too loose; "5 ft" / "5 feet" is a height
        inches = 0
    else:
        inches = int(inch)
        if inches > 11:
            return None
    cm = round((feet * 12 + inches) * 2.54)
    return cm if cm in HEIGHT_CM_RANGE else None


def _word_starts(text: str, word: str) -> list[int]:
    """Offsets where ``word`` starts in ``text`` (C-speed search; boundaries checked later)."""
    out: list[int] = []
    start = text.find(word)
    while start != -1:
        out.append(start)
        start = text.find(word, start + 1)
    return out


def _word_start(text: str, start: int) -> bool:
    return start == 0 or not text[start - 1].isalpha()


__all__ = [
    "NUMERIC_FIELDS",
    "extract_ages",
    "extract_heights_cm",
    "extract_measurements",
    "extract_rates",
    "extract_weights_kg",
    "numeric_attributes",
    "prepare",
]
