"""Obfuscated identifiers of the synthetic generator read back to their truth."""

from __future__ import annotations

import random
import re

import pytest

from vendorlink import lexicon
from vendorlink.data.synthetic import fields, identifiers
from vendorlink.data.synthetic.geography import fictional_e164

# --- a simple reference de-obfuscator (independent of the generator's code) ---------------

_WORDS = sorted(
    ((w, d) for d, ws in lexicon.DIGIT_WORDS.items() for w in ws), key=lambda x: -len(x[0])
)
_SINGLE: dict[str, str] = {**{str(d): str(d) for d in range(10)}, **lexicon.LETTER_DIGITS}
for _table in (lexicon.FULLWIDTH_DIGITS, lexicon.CIRCLED_DIGITS):
    _SINGLE.update({v: k for k, v in _table.items()})
_KEYCAP = re.compile(r"([0-9])\ufe0f?\u20e3")
_UNIT = re.compile(
    "|".join(f"(?i:{re.escape(w)})" for w, _ in _WORDS)
    + "|"
    + "|".join(re.escape(c) for c in sorted(_SINGLE, key=len, reverse=True))
)
_WORD_DIGIT = {w: d for w, d in _WORDS}
_SEPARATORS = re.compile(r"[\s\-.*~_/()+=]+")


def _token_digits(token: str) -> str | None:
    token = _KEYCAP.sub(r"\1", token)
    if not token or not re.fullmatch(f"(?:{_UNIT.pattern})+", token):
        return None
    out = []
    for unit in _UNIT.findall(token):
        out.append(_WORD_DIGIT.get(unit.lower()) or _SINGLE[unit])
    return "".join(out)


def digit_runs(text: str) -> list[str]:
    """Digits of maximal runs of digit-like tokens (separators between them dropped)."""
    runs, current = [], []
    for token in _SEPARATORS.split(text):
        if not token:
            continue
        digits = _token_digits(token)
        if digits is None:
            if current:
                runs.append("".join(current))
            current = []
        else:
            current.append(digits)
    if current:
        runs.append("".join(current))
    return runs


def phone_in_text(e164: str, text: str) -> bool:
    national = e164[2:]
    return any(national in run for run in digit_runs(text))


def normalise_email_text(text: str) -> str:
    low = text.lower()
    low = re.sub(r"\s*(\(at\)|\[at\]|\bat\b|@)\s*", "@", low)
    low = re.sub(r"\s*(\(dot\)|\[dot\]|\bdot\b)\s*", ".", low)
    return re.sub(r"\s+\.\s+", ".", low)


# --- tests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", identifiers.PHONE_STYLES)
def test_every_phone_style_reads_back(style: str) -> None:
    rng = random.Random(7)
    for k in range(60):
        e164 = fictional_e164(rng.choice((312, 773, 713, 832, 313, 214, 469, 415, 212, 646)), k)
        text = identifiers.render_phone(e164, style, rng)
        assert phone_in_text(e164, f"call: {text}\n"), (style, e164, text)


def test_phone_styles_really_obfuscate() -> None:
    rng = random.Random(1)
    e164 = "+13125550123"
    assert identifiers.render_phone(e164, "dots", rng) == "312.555.0123"
    assert identifiers.render_phone(e164, "lines", rng) == "312\n555\n0123"
    words = identifiers.render_phone(e164, "words", rng).lower()
    assert not any(
        ch.isdigit()
        for ch in words.replace("zer0", "")
        .replace("0ne", "")
        .replace("tw0", "")
        .replace("f0ur", "")
        .replace("f1ve", "")
        .replace("s1x", "")
        .replace("sev3n", "")
        .replace("e1ght", "")
        .replace("n1ne", "")
    )
    keycaps = identifiers.render_phone(e164, "keycaps", rng)
    assert "\u20e3" in keycaps
    circled = identifiers.render_phone(e164, "circled", rng)
    assert not any(c in "0123456789" for c in circled)


def test_render_phone_rejects_non_us_numbers() -> None:
    with pytest.raises(ValueError):
        identifiers.render_phone("+4420555012", "plain", random.Random(0))


@pytest.mark.parametrize("style", identifiers.EMAIL_STYLES)
def test_every_email_style_reads_back(style: str) -> None:
    address = "mia.sweet23@example.org"
    text = identifiers.render_email(address, style)
    assert address in normalise_email_text(f"email: {text}\n")


@pytest.mark.parametrize("style", identifiers.URL_STYLES)
def test_urls_have_a_canonical_form(style: str) -> None:
    text = identifiers.render_url("example.net", "mia23", style)
    canonical = identifiers.canonical_url("example.net", "mia23")
    assert canonical == "example.net/mia23"
    stripped = re.sub(r"^(https?://)?(www\.)?", "", text).rstrip("/").lower()
    assert stripped == canonical


def test_social_labels_are_lexicon_platforms() -> None:
    table = lexicon.variant_to_canonical(lexicon.SOCIAL_PLATFORMS)
    for platform, labels in identifiers.SOCIAL_LABELS.items():
        assert platform in lexicon.SOCIAL_PLATFORMS
        for label in labels:
            assert table[label.lower()] == platform
    text = identifiers.render_social("instagram", "sweet.mia", 0, 0)
    assert text == "IG: @sweet.mia"


def test_field_renderers_match_lexicon_formats() -> None:
    assert fields.height_text(66, 0) == ("5'6\"", 168)
    assert fields.height_text(66, 5) == ("168cm", 168)
    assert fields.weight_text(120, 0) == ("120 lbs", 54)
    assert fields.weight_text(120, 4) == ("54kg", 54)
    assert fields.measurements_text(34, 5, 26, 36, 1) == ("34dd-26-36", "34DD-26-36")
    assert fields.rates_text(100, 150, 250, 0) == ("150 hh / 250 h", [150, 250])
    for key in fields.HAIR_KEYS:
        for variant in fields.variants(lexicon.HAIR_COLOUR, key):
            assert lexicon.variant_to_canonical(lexicon.HAIR_COLOUR)[variant] == key
    assert "no bareback" not in fields.RESTRICTION_KEYS
    assert "mulatto" not in fields.variants(lexicon.ETHNICITY, "mixed")
