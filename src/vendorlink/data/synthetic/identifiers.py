"""Obfuscated renderings of phone numbers, emails, URLs and social handles.

Each renderer takes the canonical identifier and a ``random.Random`` and returns the text
written in the ad; the canonical value (the truth) is what was passed in. Phone styles are
listed in :data:`PHONE_STYLES`; every style's digits can be recovered by mapping digit
words (:data:`vendorlink.lexicon.DIGIT_WORDS`), look-alike letters
(:data:`~vendorlink.lexicon.LETTER_DIGITS`), keycap, full-width and circled digits back
to ASCII digits and dropping the separators.
"""

from __future__ import annotations

import random

from vendorlink import lexicon

PHONE_STYLES: tuple[str, ...] = (
    "paren",  # (312) 555-0123
    "dots",  # 312.555.0123
    "dashes",  # 312-555-0123
    "plain",  # 3125550123
    "intl",  # +1 312 555 0123
    "spaced",  # 3 1 2 5 5 5 0 1 2 3
    "words",  # three one two five five five zero one two three
    "mixed_words",  # 3one2 555 oh1two3
    "letters",  # 3l2 SSS OlZ3
    "keycaps",  # 3️⃣1️⃣2️⃣ ...
    "fullwidth",  # ３１２-５５５-０１２３
    "circled",  # ③①② ⑤⑤⑤ ⓪①②③
    "odd_separators",  # 312*555*0123, 312~555~0123, 312 / 555 / 0123
    "lines",  # 312\n555\n0123
    "combo",  # each group in its own style
)
PLAIN_STYLES: frozenset[str] = frozenset({"paren", "dots", "dashes", "plain", "intl"})

_DIGIT_LETTERS: dict[str, tuple[str, ...]] = {}
for _letter, _digit in lexicon.LETTER_DIGITS.items():
    _DIGIT_LETTERS.setdefault(_digit, ())
    _DIGIT_LETTERS[_digit] = (*_DIGIT_LETTERS[_digit], _letter)
_DIGIT_WORDS: dict[str, tuple[str, ...]] = {d: tuple(w) for d, w in lexicon.DIGIT_WORDS.items()}
_KEYCAP_BARE = "\u20e3"
_ODD_SEPARATORS: tuple[str, ...] = ("*", "~", "_", " / ", " * ", "..", " ~ ", "=")
_PLAIN_SEPARATORS: tuple[str, ...] = ("-", ".", " ")


def _groups(digits10: str) -> tuple[str, str, str]:
    return digits10[:3], digits10[3:6], digits10[6:]


def _word(rng: random.Random, digit: str, main_only: bool) -> str:
    words = _DIGIT_WORDS[digit]
    # Mostly the plain word; sometimes one of the deliberate misspellings.
    return words[0] if main_only or rng.random() < 0.7 else rng.choice(words)


def _encode_group(rng: random.Random, group: str, how: str) -> str:
    if how == "digits":
        return group
    if how == "spaced":
        return " ".join(group)
    if how == "words":
        upper = rng.random() < 0.15
        text = " ".join(_word(rng, d, main_only=False) for d in group)
        return text.upper() if upper else text
    if how == "mixed_words":
        # Digits and words run together ("3one2", "oh1two3"); a word is never next to a
        # word, so the digit sequence reads back unambiguously.
        parts: list[str] = []
        prev_word = False
        for d in group:
            if not prev_word and rng.random() < 0.55:
                parts.append(
                    _word(rng, d, main_only=True) if d != "0" else rng.choice(("oh", "zero"))
                )
                prev_word = True
            else:
                parts.append(d)
                prev_word = False
        return "".join(parts)
    if how == "letters":
        return "".join(rng.choice(_DIGIT_LETTERS[d]) if rng.random() < 0.65 else d for d in group)
    if how == "keycaps":
        bare = rng.random() < 0.2
        return "".join(f"{d}{_KEYCAP_BARE}" if bare else lexicon.KEYCAP_DIGITS[d] for d in group)
    if how == "fullwidth":
        return "".join(lexicon.FULLWIDTH_DIGITS[d] for d in group)
    if how == "circled":
        return "".join(lexicon.CIRCLED_DIGITS[d] for d in group)
    raise ValueError(f"unknown group encoding {how!r}")


def render_phone(e164: str, style: str, rng: random.Random) -> str:
    """Write the US number ``e164`` ("+1NPANXXXXXX") in ``style``."""
    if not (e164.startswith("+1") and len(e164) == 12):
        raise ValueError(f"not a US E.164 number: {e164!r}")
    digits = e164[2:]
    a, b, c = _groups(digits)
    if style == "paren":
        return f"({a}) {b}-{c}" if rng.random() < 0.8 else f"({a}){b}-{c}"
    if style == "dots":
        return f"{a}.{b}.{c}"
    if style == "dashes":
        return f"{a}-{b}-{c}" if rng.random() < 0.85 else f"1-{a}-{b}-{c}"
    if style == "plain":
        return digits
    if style == "intl":
        return rng.choice((f"+1 {a} {b} {c}", f"+1-{a}-{b}-{c}", f"+1 ({a}) {b}-{c}"))
    if style == "spaced":
        return " ".join(digits)
    if style == "words":
        sep = rng.choice((" ", " ", "-"))
        return sep.join(_encode_group(rng, g, "words") for g in (a, b, c)).replace(" ", sep)
    if style in ("mixed_words", "letters"):
        sep = rng.choice((" ", "-", ".", " "))
        return sep.join(_encode_group(rng, g, style) for g in (a, b, c))
    if style in ("keycaps", "fullwidth", "circled"):
        sep = rng.choice(("", " ", "-")) if style != "keycaps" else rng.choice(("", " "))
        return sep.join(_encode_group(rng, g, style) for g in (a, b, c))
    if style == "odd_separators":
        sep = rng.choice(_ODD_SEPARATORS)
        return f"{a}{sep}{b}{sep}{c}"
    if style == "lines":
        return f"{a}\n{b}\n{c}"
    if style == "combo":
        hows = ("digits", "spaced", "words", "mixed_words", "letters", "keycaps", "fullwidth")
        chosen = [rng.choice(hows) for _ in range(3)]
        if len(set(chosen)) == 1:
            chosen[1] = "words" if chosen[0] != "words" else "digits"
        sep = rng.choice((" ", " - ", " ", "\n", " . "))
        return sep.join(_encode_group(rng, g, h) for g, h in zip((a, b, c), chosen, strict=True))
    raise ValueError(f"unknown phone style {style!r}")


# --- emails -----------------------------------------------------------------------------

EMAIL_STYLES: tuple[str, ...] = (
    "plain",
    "at_dot_words",
    "paren_at_dot",
    "bracket_at_dot",
    "spaced_symbols",
    "at_sign_dot_word",
    "caps_at_dot",
)


def render_email(address: str, style: str) -> str:
    """Write the lower-case ``address`` in an email ``style``."""
    local, _, domain = address.partition("@")
    name, _, tld = domain.rpartition(".")
    if style == "plain":
        return address
    if style == "at_dot_words":
        return f"{local} at {name} dot {tld}"
    if style == "paren_at_dot":
        return f"{local}(at){name}(dot){tld}"
    if style == "bracket_at_dot":
        return f"{local} [at] {name} [dot] {tld}"
    if style == "spaced_symbols":
        return f"{local} @ {name} . {tld}"
    if style == "at_sign_dot_word":
        return f"{local}@{name} dot {tld}"
    if style == "caps_at_dot":
        return f"{local} AT {name} DOT {tld}"
    raise ValueError(f"unknown email style {style!r}")


EMAIL_LEADS: tuple[str, ...] = ("email: ", "e-mail: ", "\u2709\ufe0f ", "mail me: ", "email me @ ")


# --- URLs -------------------------------------------------------------------------------

URL_STYLES: tuple[str, ...] = ("bare", "www", "http", "https_www_slash")


def canonical_url(host: str, path: str) -> str:
    """The lexicon's URL form: lower case, no scheme, no "www.", no trailing slash."""
    return f"{host}/{path}".lower().rstrip("/")


def render_url(host: str, path: str, style: str) -> str:
    if style == "bare":
        return f"{host}/{path}"
    if style == "www":
        return f"www.{host}/{path}"
    if style == "http":
        return f"http://{host}/{path}"
    if style == "https_www_slash":
        return f"https://www.{host}/{path}/"
    raise ValueError(f"unknown URL style {style!r}")


URL_LEADS: tuple[str, ...] = ("more pics: ", "website: ", "see me at ", "\U0001f517 ", "visit ")


# --- social handles ---------------------------------------------------------------------

# Platform key -> labels written before the handle (case as written).
SOCIAL_LABELS: dict[str, tuple[str, ...]] = {
    "instagram": ("IG", "ig", "Insta", "instagram"),
    "snapchat": ("snap", "SC", "Snapchat", "snapchat"),
    "twitter": ("twitter", "Twitter"),
    "kik": ("kik", "KIK"),
    "telegram": ("telegram", "TG"),
    "whatsapp": ("WhatsApp", "whatsapp"),
    "onlyfans": ("OF", "onlyfans"),
}
SOCIAL_PLATFORM_KEYS: tuple[str, ...] = tuple(SOCIAL_LABELS)
_SOCIAL_JOINS: tuple[str, ...] = (": @", ": ", " - ", " @", " \u27a1 ")


def render_social(platform: str, handle: str, label_index: int, join_index: int) -> str:
    """Write ``handle`` on ``platform`` ("IG: @sweet.mia"); truth is ``platform:handle``."""
    labels = SOCIAL_LABELS[platform]
    join = _SOCIAL_JOINS[join_index % len(_SOCIAL_JOINS)]
    return f"{labels[label_index % len(labels)]}{join}{handle}"
