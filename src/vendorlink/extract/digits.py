"""Obfuscated digits: the surface forms ads use to write a digit, and their values.

A *piece* is the smallest unit that stands for one digit: an ASCII digit, a keycap emoji
("5️⃣", with or without U+FE0F), a full-width or circled digit, a spelled-out digit word or
one of its misspellings (:data:`vendorlink.lexicon.DIGIT_WORDS`, case-insensitive), or a
letter used for a digit (:data:`vendorlink.lexicon.LETTER_DIGITS`, case-sensitive).

A *chunk* is a maximal stretch of pieces with nothing between them ("3one2", "OlZ3",
"fivefive", "312"). A chunk that contains a letter piece must not touch other letters or
digits ("Rose" is not a chunk, nor is "is" inside "this"); a chunk of real digits only may
("call3125550123"). Pieces are strong (real digits, unambiguous digit words such as
"three" or "f1ve") or weak (letters for digits and digit words that are also ordinary
words: "o", "oh", "won", "too", "for", "fore", "ate", "tree"). The phone finder asks for
enough strong pieces before it believes a run of weak ones.

Every pattern here is built once at import and uses possessive repetition over atomic
alternatives, so matching is linear in the input length.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from vendorlink.lexicon import (
    CIRCLED_DIGITS,
    DIGIT_WORDS,
    FULLWIDTH_DIGITS,
    LETTER_DIGITS,
)

# Digit words that are also ordinary English words (or letters); they only count as digits
# next to enough strong ones.
AMBIGUOUS_DIGIT_WORDS: frozenset[str] = frozenset(
    {"o", "oh", "won", "too", "for", "fore", "ate", "tree"}
)

DIGIT_WORD_VALUES: dict[str, str] = {
    variant.lower(): digit for digit, variants in DIGIT_WORDS.items() for variant in variants
}

SPECIAL_DIGIT_VALUES: dict[str, str] = {
    **{char: digit for digit, char in FULLWIDTH_DIGITS.items()},
    **{char: digit for digit, char in CIRCLED_DIGITS.items()},
}


def _case_class(char: str) -> str:
    if char.isalpha():
        return f"[{char.lower()}{char.upper()}]"
    return re.escape(char)


def _trie_pattern(words: list[str]) -> str:
    """A regex matching any of ``words`` (case-insensitively), as a trie, longest first.

    Explicit ``[tT]`` classes and shared prefixes make this several times faster than an
    ``(?i:...)`` alternation of the words, which matters because it is tried at every
    word start of every ad.
    """
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word.lower():
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [_case_class(c) + emit(sub) for c, sub in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


_KEYCAP = r"[0-9]\ufe0f?\u20e3"
_SPECIAL = "[" + "".join(sorted(SPECIAL_DIGIT_VALUES)) + "]"
_WORDS = _trie_pattern(list(DIGIT_WORD_VALUES))
_LEET = "[" + "".join(sorted(LETTER_DIGITS)) + "]"
_FIRST_CHARS = "[0-9A-Za-z" + "".join(sorted(SPECIAL_DIGIT_VALUES)) + "]"

# Order matters: keycaps before bare digits, digit words ("0ne") before bare digits, words
# before letters. Within the word trie, optional endings are greedy ("three" over "thre",
# "fore" over "for"); the atomic group then never revisits the choice.
PIECE_PATTERN = rf"(?>{_KEYCAP}|{_WORDS}|[0-9]|{_SPECIAL}|{_LEET})"
_STRONG_PIECE = rf"(?>{_KEYCAP}|[0-9]|{_SPECIAL})"

# A chunk: either pieces that do not touch letters or digits on either side, or strong
# digits only (which may touch letters: "call3125550123now"). The leading look-ahead lets
# the regex engine skip spaces and punctuation quickly.
# Letters that occur in no piece (no digit word has them, no letter stands for a digit): a
# word with one is no chunk, which a quick look-ahead tells before the pieces are tried.
NON_PIECE_LETTERS = "".join(
    c
    for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if c not in LETTER_DIGITS and not any(c.lower() in w for w in DIGIT_WORD_VALUES)
)
CHUNK_PATTERN = (
    rf"(?={_FIRST_CHARS})"
    rf"(?:(?<![A-Za-z0-9])(?![A-Za-z]*?[{NON_PIECE_LETTERS}]){PIECE_PATTERN}++(?![A-Za-z0-9])"
    rf"|(?<![0-9]){_STRONG_PIECE}++)"
)

PIECE_RE = re.compile(PIECE_PATTERN)
CHUNK_RE = re.compile(CHUNK_PATTERN)


class ChunkDigits(NamedTuple):
    """The digits a chunk stands for and how many of them came from strong pieces."""

    digits: str
    n_strong: int


def piece_value(piece: str) -> tuple[str, bool]:
    """Digit of one piece and whether the piece is strong; ``("", False)`` if not a piece."""
    first = piece[0]
    if len(piece) > 1 and piece[-1] == "\u20e3":
        return first, True
    if len(piece) == 1:
        if "0" <= first <= "9":
            return first, True
        if first in SPECIAL_DIGIT_VALUES:
            return SPECIAL_DIGIT_VALUES[first], True
    lower = piece.lower()
    word = DIGIT_WORD_VALUES.get(lower)
    if word is not None:
        return word, lower not in AMBIGUOUS_DIGIT_WORDS
    leet = LETTER_DIGITS.get(piece)
    if leet is not None:
        return leet, False
    return "", False


# Letters and special digits -> ASCII digits, for chunks with no digit word in them.
_CHAR_DIGITS = str.maketrans({**LETTER_DIGITS, **SPECIAL_DIGIT_VALUES})
_DELETE_LETTERS = str.maketrans(dict.fromkeys(LETTER_DIGITS, None))
# Digit words spelled with letters that are themselves letter-digits ("TOO", "Ate").
_LETTER_SPELLED_WORDS = tuple(
    w
    for w in DIGIT_WORD_VALUES
    if len(w) > 1 and all(c in LETTER_DIGITS or c.upper() in LETTER_DIGITS for c in w)
)


def chunk_digits(chunk: str) -> ChunkDigits:
    """Decode a chunk (as matched by :data:`CHUNK_RE`) into its digits."""
    if chunk.isascii() and chunk.isdigit():
        return ChunkDigits(chunk, len(chunk))
    if "\u20e3" not in chunk:
        translated = chunk.translate(_CHAR_DIGITS)
        if translated.isdigit() and translated.isascii():
            lower = chunk.lower()
            if not any(w in lower for w in _LETTER_SPELLED_WORDS):
                # Only letter-digits, digits and special digits: one piece per character.
                return ChunkDigits(translated, len(chunk.translate(_DELETE_LETTERS)))
    digits: list[str] = []
    n_strong = 0
    for match in PIECE_RE.finditer(chunk):
        digit, strong = piece_value(match.group())
        if digit:
            digits.append(digit)
            n_strong += strong
    return ChunkDigits("".join(digits), n_strong)


_SPECIAL_DIGIT_RE = re.compile("[\u20e3" + "".join(sorted(SPECIAL_DIGIT_VALUES)) + "]")


def has_special_digits(text: str) -> bool:
    """Whether ``text`` holds a full-width, circled or keycap digit."""
    return not text.isascii() and _SPECIAL_DIGIT_RE.search(text) is not None


def normalise_digits(text: str) -> str:
    """Map full-width, circled and keycap digits in ``text`` to ASCII digits (other text kept).

    Digit words and letters are left alone: whether they stand for digits depends on their
    neighbours, which is the phone finder's business.
    """
    if not has_special_digits(text):
        return text
    out = text.replace("\ufe0f\u20e3", "").replace("\u20e3", "")
    return _FULLWIDTH_CIRCLED_RE.sub(_special_digit, out)


_FULLWIDTH_CIRCLED_RE = re.compile("[" + "".join(sorted(SPECIAL_DIGIT_VALUES)) + "]")


def _special_digit(match: re.Match[str]) -> str:
    return SPECIAL_DIGIT_VALUES[match.group()]


__all__ = [
    "AMBIGUOUS_DIGIT_WORDS",
    "CHUNK_PATTERN",
    "CHUNK_RE",
    "DIGIT_WORD_VALUES",
    "PIECE_PATTERN",
    "PIECE_RE",
    "SPECIAL_DIGIT_VALUES",
    "ChunkDigits",
    "chunk_digits",
    "has_special_digits",
    "normalise_digits",
    "piece_value",
]
