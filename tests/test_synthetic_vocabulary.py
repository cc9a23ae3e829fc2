"""The generator's word pools never smuggle field values into an ad's text."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import geocoder

from vendorlink import lexicon
from vendorlink.data.synthetic import vocabulary
from vendorlink.data.synthetic.geography import (
    CITY_AREA_CODES,
    SPILL_AREA_CODES,
    fictional_e164,
)

_FREE_TEXT_POOLS = (
    vocabulary.STOCK_PHRASES,
    vocabulary.TITLE_PHRASES,
    vocabulary.SIGNATURE_OPENERS,
    vocabulary.SIGNATURE_ADJECTIVES,
    vocabulary.SIGNATURE_NOUNS,
    vocabulary.SIGNATURE_CLOSERS,
    vocabulary.GREETINGS,
    vocabulary.INTRO_TEMPLATES,
    vocabulary.DUO_INTRO_TEMPLATES,
    vocabulary.SIGNOFFS,
    vocabulary.CONTACT_LEADS,
    vocabulary.CITY_MENTIONS,
    vocabulary.RATE_LABELS,
    tuple(w for habit in vocabulary.SPELLING_HABITS.values() for w in habit.values()),
)

_FIELD_TABLES = (
    lexicon.ETHNICITY,
    lexicon.HAIR_COLOUR,
    lexicon.EYE_COLOUR,
    lexicon.SKIN_COLOUR,
    lexicon.RESTRICTIONS,
)
_PLATFORM_NAMES = {
    "instagram",
    "insta",
    "snapchat",
    "snap",
    "twitter",
    "kik",
    "telegram",
    "whatsapp",
    "onlyfans",
}


def _free_text() -> str:
    return "\n".join(p for pool in _FREE_TEXT_POOLS for p in pool).lower()


def test_pools_hold_no_field_variant() -> None:
    text = _free_text()
    for table in _FIELD_TABLES:
        for canonical, variants in table.items():
            for variant in (canonical, *variants):
                assert not re.search(rf"\b{re.escape(variant)}\b", text), variant
    for name in _PLATFORM_NAMES:
        assert not re.search(rf"\b{name}\b", text), name


def test_aliases_are_not_pool_words_or_field_values() -> None:
    words = set(re.findall(r"[a-z']+", _free_text()))
    values = {v for t in _FIELD_TABLES for k, vs in t.items() for v in (k, *vs)}
    cities = {c.lower() for c in CITY_AREA_CODES}
    assert len(set(vocabulary.ALIASES)) == len(vocabulary.ALIASES)
    for alias in vocabulary.ALIASES:
        assert alias == alias.title()
        assert alias.lower() not in words, alias
        assert alias.lower() not in values, alias
        assert alias.lower() not in cities, alias
        assert alias.lower() not in vocabulary.HANDLE_WORDS


def test_emoji_are_not_digits() -> None:
    for emoji in vocabulary.EMOJIS:
        assert not any(ch.isdigit() for ch in emoji)
        assert "\u20e3" not in emoji


def test_area_codes_are_real_us_codes_with_fictional_lines() -> None:
    city_codes = {c for codes in CITY_AREA_CODES.values() for c in codes}
    assert city_codes == {312, 773, 713, 832, 313, 214, 469, 415, 212, 646, 404, 678}
    assert not city_codes & set(SPILL_AREA_CODES)
    assert len(set(SPILL_AREA_CODES)) == len(SPILL_AREA_CODES)
    for code in sorted(city_codes) + list(SPILL_AREA_CODES):
        number = phonenumbers.parse(fictional_e164(code, 23))
        assert phonenumbers.region_code_for_number(number) == "US", code
        assert geocoder.description_for_number(number, "en") != "", code
