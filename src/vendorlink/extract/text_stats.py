"""Surface statistics of an ad's text (style signals for linking ads to a writer).

- ``n_chars``: characters (code points).
- ``n_special_chars``: characters that are neither alphanumeric (``str.isalnum``) nor
  whitespace: punctuation, symbols, emoji (and the variation selector and keycap mark of
  an emoji); ``_`` counts as special.
- ``n_emoji``: emoji: code points of the emoji and pictograph blocks, plus one per keycap
  sequence ("5️⃣"); variation selectors and skin-tone modifiers do not count.
- ``n_tokens``: whitespace-separated tokens; ``n_unique_tokens``: distinct tokens, ignoring
  case.
- ``n_uppercase_ratio``: upper-case letters / letters; 0.0 for a text without letters.

The ASCII part of the text is counted with byte-level deletions, the few non-ASCII
characters (mostly emoji) one by one.
"""

from __future__ import annotations

import re
import string
from collections import Counter

TEXT_STAT_NAMES: tuple[str, ...] = (
    "n_chars",
    "n_special_chars",
    "n_emoji",
    "n_tokens",
    "n_unique_tokens",
    "n_uppercase_ratio",
)


def _delete_all_but(keep: str) -> bytes:
    kept = set(keep.encode("ascii"))
    return bytes(b for b in range(128) if b not in kept)


_KEEP_LETTERS = _delete_all_but(string.ascii_letters)
_KEEP_UPPER = _delete_all_but(string.ascii_uppercase)
_KEEP_SPECIAL = _delete_all_but(
    "".join(chr(c) for c in range(128) if not (chr(c).isalnum() or chr(c).isspace()))
)
_ASCII_RUNS_RE = re.compile(r"[\x00-\x7f]+")
_EMOJI_RANGES: tuple[tuple[int, int], ...] = (
    (0x1F000, 0x1F3FA),
    (0x1F400, 0x1FAFF),  # skips the skin-tone modifiers 1F3FB..1F3FF
    (0x2300, 0x23FF),
    (0x25A0, 0x25FF),
    (0x2600, 0x27BF),
    (0x2900, 0x297F),
    (0x2B00, 0x2BFF),
    (0x3030, 0x3030),
    (0x303D, 0x303D),
    (0x3297, 0x3297),
    (0x3299, 0x3299),
)


def is_emoji(char: str) -> bool:
    """Whether a single character lies in one of the emoji ranges counted by ``n_emoji``."""
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _EMOJI_RANGES)


def text_stats(text: str, lower: str | None = None) -> dict[str, int | float]:
    """The statistics of :data:`TEXT_STAT_NAMES` for ``text``."""
    low = lower if lower is not None else text.lower()
    tokens = low.split()
    ascii_bytes = text.encode("ascii", "ignore")
    n_letters = len(ascii_bytes.translate(None, _KEEP_LETTERS))
    n_upper = len(ascii_bytes.translate(None, _KEEP_UPPER))
    n_special = len(ascii_bytes.translate(None, _KEEP_SPECIAL))
    n_emoji = 0
    if len(ascii_bytes) != len(text):
        n_emoji = text.count("\u20e3")
        # Count each distinct non-ASCII character once (Counter counts in C).
        for char, count in Counter(_ASCII_RUNS_RE.sub("", text)).items():
            if char.isalpha():
                n_letters += count
                if char.isupper():
                    n_upper += count
            elif not (char.isalnum() or char.isspace()):
                n_special += count
                if is_emoji(char):
                    n_emoji += count
    return {
        "n_chars": len(text),
        "n_special_chars": n_special,
        "n_emoji": n_emoji,
        "n_tokens": len(tokens),
        "n_unique_tokens": len(set(tokens)),
        "n_uppercase_ratio": n_upper / n_letters if n_letters else 0.0,
    }


__all__ = ["TEXT_STAT_NAMES", "is_emoji", "text_stats"]
