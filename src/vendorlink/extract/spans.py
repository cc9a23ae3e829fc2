"""Character spans of things found in a text, and small helpers shared by the extractors."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple


class Span(NamedTuple):
    """A found item: ``text[start:end]`` normalises to ``value``."""

    start: int
    end: int
    value: str


def overlaps(start: int, end: int, spans: Iterable[tuple[int, int, str]]) -> bool:
    """Whether ``[start, end)`` overlaps any of ``spans``."""
    return any(s < end and start < e for s, e, _ in spans)


def sorted_unique(values: Iterable[str]) -> list[str]:
    """Sorted list of distinct values."""
    return sorted(set(values))


def lower_same_length(text: str) -> str:
    """``text`` in lower case, with every character kept at its offset.

    ``str.lower`` can lengthen a few characters ("İ" becomes two); those keep their case
    here, so spans found in the lower-case text index the original text.
    """
    lower = text.lower()
    if len(lower) == len(text):
        return lower
    return "".join(c if len(lc := c.lower()) != 1 else lc for c in text)
