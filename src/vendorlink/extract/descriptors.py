"""Descriptive fields from the lexicon's vocabularies: ethnicity, hair, eye and skin colour,
restrictions.

Every function takes the lower-case text and the set of its words (see
:func:`words_of`), and returns canonical keys of :mod:`vendorlink.lexicon`.

- Hair, eye and skin colours need their noun next to them: "blonde hair", "blonde-haired",
  "blonde locks", "long blonde hair", "green eyes", "green-eyed", "caramel skin",
  "caramel complexion", or a label before them: "hair: blonde", "eyes - green",
  "skin tone: olive". "redhead", "blonde", "blond" and "brunette" stand on their own.
- Ethnicities stand on their own ("Latina", "half Korean half Italian", "ethnicity:
  white"), except where the word is a colour of hair, eyes or skin ("black hair",
  "eyes: black") or part of a phrase that is not about people ("nail polish").
- Restrictions are the lexicon's phrases ("no law enforcement", "no le", "screening
  required").

The set of words is checked first, so an ad that mentions no colour or ethnicity costs a
few set look-ups; the patterns only run where their words occur.
"""

from __future__ import annotations

import re

from vendorlink.lexicon import (
    ETHNICITY,
    EYE_COLOUR,
    HAIR_COLOUR,
    RESTRICTIONS,
    SKIN_COLOUR,
    variant_to_canonical,
)

ETHNICITY_BY_VARIANT = variant_to_canonical(ETHNICITY)
HAIR_BY_VARIANT = variant_to_canonical(HAIR_COLOUR)
EYE_BY_VARIANT = variant_to_canonical(EYE_COLOUR)
SKIN_BY_VARIANT = variant_to_canonical(SKIN_COLOUR)
RESTRICTION_BY_VARIANT = variant_to_canonical(RESTRICTIONS)

# Words that may stand between a colour and its noun ("long blonde hair", "blonde long hair").
_ADJECTIVES = (
    "long|short|curly|straight|wavy|silky|natural|naturally|thick|soft|smooth|beautiful|pretty"
    "|gorgeous|sexy|big|deep|piercing|bright|flawless|perfect|sparkling|shiny|shoulder|length"
    "|light|dark"
)
_HAIR_NOUN = r"(?:hair|haired|locks|mane)"
_EYE_NOUN = r"(?:eyes|eyed|eye)"
_SKIN_NOUN = r"(?:skin|skinned|complexion)"
_ANY_NOUN = rf"(?:{_HAIR_NOUN}|{_EYE_NOUN}|{_SKIN_NOUN})"
_LABEL_SEP = r"[ \t]*[:=\-–—|][ \t]*"
# Between a colour and its noun: a hyphen ("blonde-haired") or spaces, never " - " (which
# separates list items: "Latina - eyes: brown").
_JOIN = r"(?:-|[ \t]+)"
_BEFORE_NOUN = rf"{_JOIN}(?:(?:{_ADJECTIVES}){_JOIN}){{0,2}}"


def _alternation(variants: list[str]) -> str:
    ordered = sorted(set(variants), key=lambda v: (-len(v), v))
    return "|".join(re.escape(v).replace(r"\ ", r"[ \t-]+") for v in ordered)


class _ColourPatterns:
    """Patterns of one colour field. Every scanning pattern starts with a literal
    alternation (which the regex engine scans for quickly); the word boundary before the
    match is checked after.

    - ``noun``: the nouns ("hair", "haired", "locks");
    - ``before``: a colour just before a noun, searched in a short window ending at it
      ("long blonde |hair", "blonde-|haired");
    - ``label``: a label and the colour after it ("hair: blonde", "eyes - green").
    """

    def __init__(self, table: dict[str, str], noun: str, labels: str) -> None:
        variants = _alternation(list(table))
        self.table = table
        self.noun = re.compile(rf"{noun}(?![a-z])")
        self.before = re.compile(rf"(?<![a-z])(?P<v>{variants}){_BEFORE_NOUN}$")
        self.label = re.compile(
            rf"(?:{labels}){_LABEL_SEP}(?P<v>{variants})(?![a-z])(?!{_BEFORE_NOUN}{_ANY_NOUN})"
        )

    def values(self, lower: str) -> set[str]:
        out: set[str] = set()
        for m in self.noun.finditer(lower):
            if _word_start(lower, m.start()):
                hit = self.before.search(lower, max(0, m.start() - _WINDOW), m.start())
                if hit is not None:
                    out.add(self.table[_squash(hit.group("v"))])
        for m in self.label.finditer(lower):
            if _word_start(lower, m.start()):
                out.add(self.table[_squash(m.group("v"))])
        return out


_WINDOW = 48
HAIR = _ColourPatterns(HAIR_BY_VARIANT, r"(?:haired|hair|locks|mane)", r"hair(?:[ \t]*colou?r)?")
EYES = _ColourPatterns(EYE_BY_VARIANT, r"(?:eyes|eyed|eye)", r"eyes?(?:[ \t]*colou?r)?")
SKIN = _ColourPatterns(
    SKIN_BY_VARIANT,
    r"(?:skinned|skin|complexion)",
    r"skin(?:[ \t]*(?:tone|colou?r))?|complexion",
)
STANDALONE_HAIR: dict[str, str] = {
    "redhead": "red",
    "blonde": "blonde",
    "blond": "blonde",
    "brunette": "brunette",
}
_STANDALONE_HAIR_RE = re.compile(
    rf"(?P<v>{_alternation(list(STANDALONE_HAIR))})(?![a-z])(?!{_BEFORE_NOUN}{_ANY_NOUN})"
)

ETHNICITY_RE = re.compile(rf"(?P<v>{_alternation(list(ETHNICITY_BY_VARIANT))})(?![a-z])")
# What may not follow / precede an ethnicity word for it to describe a person.
_NOT_ETHNICITY_AFTER = re.compile(
    rf"{_BEFORE_NOUN}{_ANY_NOUN}(?![a-z])"
    r"|[ \t]+(?:lingerie|dress|dresses|outfit|heels|teeth|sheets|stockings|thong|bikini|wine"
    r"|food|cuisine|restaurant|massage[ \t]+oil)(?![a-z])"
)
_NOT_ETHNICITY_BEFORE = re.compile(
    rf"(?:{_HAIR_NOUN}|{_EYE_NOUN}|{_SKIN_NOUN}|hair[ \t]*colou?r|eyes?[ \t]*colou?r"
    rf"|skin[ \t]*(?:tone|colou?r)){_LABEL_SEP}(?:jet[ \t]+)?$|nail[ \t]+$|jet[ \t]+$"
)
_LOOKBACK = 24

RESTRICTION_RE = re.compile(rf"(?P<v>{_alternation(list(RESTRICTION_BY_VARIANT))})(?![a-z])")
_RESTRICTION_FIRST_WORDS = frozenset(v.split()[0] for v in RESTRICTION_BY_VARIANT)

# First words of the vocabularies, for the quick "is any of it here?" test.
_ETHNICITY_WORDS = frozenset(v.split()[0] for v in ETHNICITY_BY_VARIANT)
_HAIR_WORDS = frozenset({"hair", "haired", "locks", "mane", *STANDALONE_HAIR})
_EYE_WORDS = frozenset({"eyes", "eyed", "eye"})
_SKIN_WORDS = frozenset({"skin", "skinned", "complexion"})


_LETTERS_ONLY = bytes(c if 97 <= c <= 122 else 32 for c in range(256))


def words_of(lower: str) -> frozenset[str]:
    """The distinct words (runs of ``a-z``) of a lower-case text."""
    # Byte-level: every byte but a-z (including those of non-ASCII characters) to a space.
    return frozenset(lower.encode("utf-8").translate(_LETTERS_ONLY).decode("ascii").split())


def extract_hair_colours(lower: str, words: frozenset[str]) -> list[str]:
    """Hair colours (keys of :data:`vendorlink.lexicon.HAIR_COLOUR`)."""
    if words.isdisjoint(_HAIR_WORDS):
        return []
    out = HAIR.values(lower)
    if not words.isdisjoint(STANDALONE_HAIR):
        for m in _STANDALONE_HAIR_RE.finditer(lower):
            if _word_start(lower, m.start()):
                out.add(STANDALONE_HAIR[m.group("v")])
    return sorted(out)


def extract_eye_colours(lower: str, words: frozenset[str]) -> list[str]:
    """Eye colours (keys of :data:`vendorlink.lexicon.EYE_COLOUR`)."""
    if words.isdisjoint(_EYE_WORDS):
        return []
    return sorted(EYES.values(lower))


def extract_skin_colours(lower: str, words: frozenset[str]) -> list[str]:
    """Skin colours (keys of :data:`vendorlink.lexicon.SKIN_COLOUR`)."""
    if words.isdisjoint(_SKIN_WORDS):
        return []
    return sorted(SKIN.values(lower))


def extract_ethnicities(lower: str, words: frozenset[str]) -> list[str]:
    """Ethnicities (keys of :data:`vendorlink.lexicon.ETHNICITY`)."""
    present = words & _ETHNICITY_WORDS
    if not present:
        return []
    out: set[str] = set()
    for start in sorted(p for word in present for p in word_positions(lower, word)):
        m = ETHNICITY_RE.match(lower, start)
        if m is None:
            continue
        if _NOT_ETHNICITY_AFTER.match(lower, m.end()):
            continue
        before = lower[max(0, start - _LOOKBACK) : start]
        if _NOT_ETHNICITY_BEFORE.search(before):
            continue
        out.add(ETHNICITY_BY_VARIANT[_squash(m.group("v"))])
    return sorted(out)


def extract_restrictions(lower: str, words: frozenset[str]) -> list[str]:
    """Restrictions (keys of :data:`vendorlink.lexicon.RESTRICTIONS`)."""
    present = words & _RESTRICTION_FIRST_WORDS
    if not present:
        return []
    out: set[str] = set()
    for word in present:
        for start in word_positions(lower, word):
            m = RESTRICTION_RE.match(lower, start)
            if m is not None:
                out.add(RESTRICTION_BY_VARIANT[_squash(m.group("v"))])
    return sorted(out)


def word_positions(lower: str, word: str) -> list[int]:
    """Start offsets where ``word`` occurs in ``lower`` as a whole word (C-speed search)."""
    out: list[int] = []
    n = len(word)
    start = lower.find(word)
    while start != -1:
        end = start + n
        if (start == 0 or not lower[start - 1].isalpha()) and (
            end == len(lower) or not lower[end].isalpha()
        ):
            out.append(start)
        start = lower.find(word, end)
    return out


def _word_start(text: str, start: int) -> bool:
    return start == 0 or not text[start - 1].isalpha()


def _squash(variant: str) -> str:
    """A matched variant with its spaces / hyphens written as single spaces."""
    return " ".join(re.split(r"[ \t-]+", variant))


__all__ = [
    "extract_ethnicities",
    "extract_eye_colours",
    "extract_hair_colours",
    "extract_restrictions",
    "extract_skin_colours",
    "words_of",
]
