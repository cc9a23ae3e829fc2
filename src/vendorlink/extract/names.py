"""Names and aliases the ad gives for the advertised person, in title case.

A name is a capitalised word ("Mia" or "MIA") that is

- a common given name (:data:`~vendorlink.extract.gazetteer.FIRST_NAMES`), anywhere in
  the ad ("Mia ~ new in town", "... xoxo Mia"); or
- after a strong cue: "my name is", "name:", "ask for", "they call me", "xoxo", "kisses,",
  "love,", "hugs,", "~Mia~", "duo with": any capitalised word but the common words of
  :data:`~vendorlink.extract.gazetteer.NOT_NAMES` (so "my name is Candy" counts); or
- after a weak cue: "I'm", "it's", "this is", "meet", "call me", or before "here" ("Mia
  here"): a word that is neither a common word nor a word-like name ("I'm Available",
  "I'm Sunny" do not count); or
- paired with a name ("Mia & Zoe", "Mia and Zoe", "Mia + Zoe").

Words of the lexicon's vocabularies (colours, ethnicities, platforms) are not names after
weak cues. In an ad written in lower case, a lower-case word counts where a capitalised one
would, if it is a known given name ("i'm mia", "xoxo mia", "mia here", or "mia" alone on a
line as a signature); after a strong cue, a known word-like name too ("my name is candy").
"""

from __future__ import annotations

import re

from vendorlink.extract.digits import DIGIT_WORD_VALUES
from vendorlink.extract.gazetteer import FIRST_NAMES, NOT_NAMES, WORD_NAMES
from vendorlink.lexicon import (
    ETHNICITY,
    EYE_COLOUR,
    HAIR_COLOUR,
    LETTER_DIGITS,
    RESTRICTIONS,
    SKIN_COLOUR,
    SOCIAL_PLATFORMS,
)

_VOCABULARY_WORDS = frozenset(
    word
    for table in (ETHNICITY, HAIR_COLOUR, EYE_COLOUR, SKIN_COLOUR, RESTRICTIONS, SOCIAL_PLATFORMS)
    for key, variants in table.items()
    for phrase in (key, *variants)
    for word in phrase.split()
)
_FIRST_NAMES_LOWER = frozenset(n.lower() for n in FIRST_NAMES)
_WORD_NAMES_LOWER = frozenset(n.lower() for n in WORD_NAMES)

# A name as written: "Mia", "MIA" or (in an ad written in lower case) "mia".
_NAME = r"[A-Za-z][a-z]{1,14}|[A-Z]{2,15}"
NAME_TOKEN_RE = re.compile(rf"(?:{_NAME})(?![A-Za-z0-9@_'’])")
# Cues, matched on the lower-case text; the name is read from the original text after them.
# The pattern is a flat alternation whose branches start with letters, so the regex engine
# scans for their first letters quickly; the word boundary before a cue is checked after.
_STRONG_CUES = (
    r"my[ \t]+name[ \t]*(?:is|'s|’s|s)",
    r"names?[ \t]*[:=\-]",
    r"they[ \t]+call[ \t]+me+",
    r"ask[ \t]+(?:for|4)",
    r"xoxoxo[ \t]*,?",
    r"xoxo[ \t]*,?",
    r"xo[ \t]*,?",
    r"kisses[ \t]*,",
    r"love[ \t]*,",
    r"luv[ \t]*,",
    r"hugs[ \t]*,",
    r"with[ \t]+love[ \t]*,",
    r"yours[ \t]+truly[ \t]*,",
    r"cheers[ \t]*,",
    r"duo[ \t]+with",
)
_WEAK_CUES = (
    r"i'm",
    r"i’m",
    r"im",
    r"i[ \t]+am",
    r"it's",
    r"it’s",
    r"its",
    r"this[ \t]+is",
    r"meet",
    r"call[ \t]+me+",
)
CUE_RE = re.compile("(?:" + "|".join((*_STRONG_CUES, *_WEAK_CUES)) + r")[ \t]*[,:]?[ \t]*(?=[a-z])")
_STRONG_CUE_RE = re.compile("(?:" + "|".join(_STRONG_CUES) + ")")
TILDE_RE = re.compile(rf"~[ \t]?(?P<n>{_NAME})[ \t]?~")
HERE_RE = re.compile(r"here(?![a-z])")
# A name alone on its line or between sentence marks (a signature): "Mia", "~ mia !!",
# "... today. mia. no cops".
SEGMENT_RE = re.compile(rf"[\n.!?~|•*][ \t~*-]*(?P<n>{_NAME})[ \t]*[!.~*]*[ \t]*(?=[\n.!?~|•*]|$)")
# Two names joined by "&", "+" or "and"; starts with a bare capital so the engine scans fast.
# A name joined to a known one by "&", "+" or "and": after it, and (searched in a short
# window ending at it) before it.
_JOIN = r"[ \t]*(?:&|\+|and|AND|And)[ \t]*"
PAIR_AFTER_RE = re.compile(rf"{_JOIN}(?P<n>{_NAME})(?![A-Za-z])")
PAIR_BEFORE_RE = re.compile(rf"(?<![A-Za-z])(?P<n>{_NAME}){_JOIN}$")
# "Mia here" at the start of a line or sentence (not "New In Town Here").
_WORD_BEFORE_RE = re.compile(rf"(?:^|[^A-Za-z0-9 \t][ \t]*)(?P<n>{_NAME})[ \t]+$")


def extract_names(text: str, lower: str, words: frozenset[str]) -> list[str]:
    """Names in ``text`` (``lower``: its lower-case form, ``words``: the words of ``lower``)."""
    names: set[str] = set()
    # Given names anywhere, written with a capital.
    for word in words & _FIRST_NAMES_LOWER:
        if _capitalised_occurrence(text, lower, word):
            names.add(word.title())
    # Names after cues.
    for m in CUE_RE.finditer(lower):
        if m.start() > 0 and lower[m.start() - 1].isalpha():
            continue
        token = NAME_TOKEN_RE.match(text, m.end())
        if token is None:
            continue
        name = token.group()
        strong = _STRONG_CUE_RE.match(lower, m.start()) is not None
        if _acceptable(name, strong=strong):
            names.add(_title(name))
    # "~Mia~".
    if "~" in text:
        for m in TILDE_RE.finditer(text):
            if _acceptable(m.group("n"), strong=False):
                names.add(_title(m.group("n")))
    # "Mia here".
    if "here" in words:
        for m in HERE_RE.finditer(lower):
            if m.start() > 0 and lower[m.start() - 1].isalpha():
                continue
            before = _WORD_BEFORE_RE.search(text, max(0, m.start() - 24), m.start())
            if before is not None:
                name = before.group("n")
                if _acceptable(name, strong=False):
                    names.add(_title(name))
    # A given name alone on a line or between sentence marks.
    for m in SEGMENT_RE.finditer("\n" + text):
        if m.group("n").lower() in _FIRST_NAMES_LOWER:
            names.add(_title(m.group("n")))
    # Two given names joined ("mia & zoe", "lena and ava together").
    if "&" in text or "+" in text or "and" in words:
        for join in _joins(lower):
            a = _LAST_WORD_RE.search(lower, max(0, join.start() - 16), join.start())
            b = _FIRST_WORD_RE.match(lower, join.end())
            if a and b and a.group() in _FIRST_NAMES_LOWER and b.group() in _FIRST_NAMES_LOWER:
                names.add(_title(a.group()))
                names.add(_title(b.group()))
    # "Mia & Zoe": both names once either is one.
    if names and ("&" in text or "+" in text or "and" in words):
        for known in list(names):
            for start in _occurrences(lower, known.lower()):
                end = start + len(known)
                after = PAIR_AFTER_RE.match(text, end)
                before = PAIR_BEFORE_RE.search(text, max(0, start - 24), start)
                for m in (after, before):
                    if m is not None and _acceptable(m.group("n"), strong=False):
                        names.add(_title(m.group("n")))
    return sorted(names)


def _acceptable(name: str, strong: bool) -> bool:
    lower = name.lower()
    if name[0].islower():
        # A lower-case word is a name only if it is a known one: a given name, or after a
        # strong cue a word-like name ("my name is candy").
        if lower in NOT_NAMES or lower in DIGIT_WORD_VALUES:
            return False
        return lower in _FIRST_NAMES_LOWER or (strong and lower in _WORD_NAMES_LOWER)
    if lower in _FIRST_NAMES_LOWER:
        return True
    if len(lower) < 2 or lower in NOT_NAMES or lower in DIGIT_WORD_VALUES:
        return False
    if all(c in LETTER_DIGITS for c in name):
        return False  # "BEZ", "SSS": digits written as letters
    if strong:
        return True
    return (
        len(lower) >= 3
        and not name.isupper()  # after a weak cue, an all-caps word is shouting, not a name
        and lower not in _WORD_NAMES_LOWER
        and lower not in _VOCABULARY_WORDS
    )


_JOIN_RE = re.compile(r"[ \t]*(?:&|\+|\band\b)[ \t]*")
_LAST_WORD_RE = re.compile(r"(?<![a-z])[a-z]{2,15}$")
_FIRST_WORD_RE = re.compile(r"[a-z]{2,15}(?![a-z])")


def _joins(lower: str) -> list[re.Match[str]]:
    """The "&", "+" and "and" joins of ``lower``, each with the spaces around it."""
    return [
        m
        for pos in sorted(_find_all(lower, "&") + _find_all(lower, "+") + _find_all(lower, " and"))
        if (m := _JOIN_RE.match(lower, _space_start(lower, pos))) is not None
    ]


def _space_start(lower: str, pos: int) -> int:
    while pos > 0 and lower[pos - 1] in " \t":
        pos -= 1
    return pos


def _find_all(text: str, needle: str) -> list[int]:
    out: list[int] = []
    start = text.find(needle)
    while start != -1:
        out.append(start)
        start = text.find(needle, start + 1)
    return out


def _occurrences(lower: str, word: str) -> list[int]:
    """Offsets of ``word`` in ``lower`` as a whole word."""
    out: list[int] = []
    start = lower.find(word)
    while start != -1:
        end = start + len(word)
        if (start == 0 or not lower[start - 1].isalpha()) and (
            end == len(lower) or not lower[end].isalpha()
        ):
            out.append(start)
        start = lower.find(word, end)
    return out


def _capitalised_occurrence(text: str, lower: str, word: str) -> bool:
    """Whether ``word`` occurs in ``text`` as a whole word starting with a capital."""
    start = lower.find(word)
    n = len(word)
    while start != -1:
        end = start + n
        if (
            text[start].isupper()
            and (start == 0 or (not lower[start - 1].isalnum() and lower[start - 1] not in "@._/"))
            and (end == len(lower) or (not lower[end].isalnum() and lower[end] != "@"))
        ):
            return True
        start = lower.find(word, end)
    return False


def _title(name: str) -> str:
    return name[:1].upper() + name[1:].lower()


__all__ = ["extract_names"]
