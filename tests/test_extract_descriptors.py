"""Ethnicity, hair / eye / skin colour, restrictions and names."""

from __future__ import annotations

import pytest

from vendorlink.extract.descriptors import (
    extract_ethnicities,
    extract_eye_colours,
    extract_hair_colours,
    extract_restrictions,
    extract_skin_colours,
    words_of,
)
from vendorlink.extract.names import extract_names
from vendorlink.extract.spans import lower_same_length


def run(fn, text: str) -> list[str]:  # type: ignore[no-untyped-def]
    lower = lower_same_length(text)
    return fn(lower, words_of(lower))


def names(text: str) -> list[str]:
    lower = lower_same_length(text)
    return extract_names(text, lower, words_of(lower))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sweet Latina", ["latina"]),
        ("Colombian cutie", ["latina"]),
        ("Puerto Rican beauty", ["latina"]),
        ("African American girl", ["black"]),
        ("Black cutie", ["black"]),
        ("23 yrs, Black, blonde hair", ["black"]),
        ("ethnicity: white", ["white"]),
        ("half Korean half Italian", ["asian", "european"]),
        ("Chinese and White - eyes: blue", ["asian", "white"]),
        ("Middle Eastern cutie", ["middle eastern"]),
        ("exotic beauty", ["mixed"]),
        ("Polish girl", ["european"]),
        ("Desi girl", ["indian"]),
        ("BLACK - light complexion", ["black"]),
    ],
)
def test_ethnicities(text: str, expected: list[str]) -> None:
    assert run(extract_ethnicities, text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "black hair",
        "jet black hair",
        "hair: black, eyes: brown",
        "Hair: jet black / 5'6",
        "black eyes",
        "white lingerie",
        "nail polish",
        "dark skin",
    ],
)
def test_ethnicity_negatives(text: str) -> None:
    assert run(extract_ethnicities, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("long blonde hair", ["blonde"]),
        ("blonde long hair", ["blonde"]),
        ("blond-haired", ["blonde"]),
        ("golden locks", ["blonde"]),
        ("hair: blond", ["blonde"]),
        ("Hair - Brunette", ["brunette"]),
        ("brown hair", ["brunette"]),
        ("dark brown hair", ["brunette"]),
        ("jet black hair", ["black"]),
        ("hair: jet black", ["black"]),
        ("sexy redhead", ["red"]),
        ("auburn locks", ["red"]),
        ("red-haired", ["red"]),
        ("silver hair", ["grey"]),
        ("sexy blonde", ["blonde"]),
    ],
)
def test_hair(text: str, expected: list[str]) -> None:
    assert run(extract_hair_colours, text) == expected


@pytest.mark.parametrize(
    "text", ["chair", "hair: long", "blonde eyes", "eyes: brown - hair", "golden opportunity"]
)
def test_hair_negatives(text: str) -> None:
    assert run(extract_hair_colours, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("green eyes", ["green"]),
        ("blue-eyed", ["blue"]),
        ("eyes: hazel", ["hazel"]),
        ("Eyes - green", ["green"]),
        ("eye color: grey", ["grey"]),
        ("dark brown eyes", ["brown"]),
        ("dark eyes", ["black"]),
        ("big blue eyes and brown hair", ["blue"]),
    ],
)
def test_eyes(text: str, expected: list[str]) -> None:
    assert run(extract_eye_colours, text) == expected


@pytest.mark.parametrize(
    "text", ["hair: jet black - eyes: brown", "eyes - brown hair", "blue sky", "eye candy"]
)
def test_eye_negatives_and_noun_pairing(text: str) -> None:
    got = run(extract_eye_colours, text)
    if text.startswith("hair: jet black"):
        assert got == ["brown"]
    else:
        assert got == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("caramel skin", ["caramel"]),
        ("olive-skinned", ["olive"]),
        ("skin: tan", ["tan"]),
        ("skin tone - olive", ["olive"]),
        ("caramel complexion", ["caramel"]),
        ("light complexion", ["light"]),
        ("smooth mocha skin", ["chocolate"]),
    ],
)
def test_skin(text: str, expected: list[str]) -> None:
    assert run(extract_skin_colours, text) == expected


@pytest.mark.parametrize("text", ["tan lines", "caramel latte", "skin care"])
def test_skin_negatives(text: str) -> None:
    assert run(extract_skin_colours, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NO LAW ENFORCEMENT / no rush, no bbfs", ["no bareback", "no law enforcement", "no rush"]),
        ("no LE", ["no law enforcement"]),
        ("No cops | must screen", ["no law enforcement", "screening required"]),
        ("screening is required ~ gentlemen only", ["mature clients only", "screening required"]),
        ("no time wasters. no blocked calls", ["no blocked calls", "no games"]),
        ("outcall only", ["outcall only"]),
        ("No rushing", ["no rush"]),
    ],
)
def test_restrictions(text: str, expected: list[str]) -> None:
    assert run(extract_restrictions, text) == expected


@pytest.mark.parametrize("text", ["no left turn", "no lessons", "incall and outcall", "no way"])
def test_restriction_negatives(text: str) -> None:
    assert run(extract_restrictions, text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm Mia", ["Mia"]),
        ("Hi, i'm Zelda!", ["Zelda"]),
        ("my name is Candy", ["Candy"]),
        ("they call me Roxy", ["Roxy"]),
        ("ask for Nina", ["Nina"]),
        ("it's Bella", ["Bella"]),
        ("Luna here", ["Luna"]),
        ("meet Kayla", ["Kayla"]),
        ("call me Sasha", ["Sasha"]),
        ("this is Gina", ["Gina"]),
        ("Mia and Zoe together", ["Mia", "Zoe"]),
        ("duo with Lola & Roxy", ["Lola", "Roxy"]),
        ("xoxo Mia", ["Mia"]),
        ("Xoxo Roxy", ["Roxy"]),
        ("kisses, Mia", ["Mia"]),
        ("love, Mia", ["Mia"]),
        ("~Mia~", ["Mia"]),
        ("I'M MIA", ["Mia"]),
        ("MIA NEW IN TOWN", ["Mia"]),
        ("sexy Latina Mia ~ new in town", ["Mia"]),
        # ads written in lower case
        ("i'm mia", ["Mia"]),
        ("my name is rose", ["Rose"]),
        ("call meee camila!!", ["Camila"]),
        ("kisses, mia", ["Mia"]),
        ("[SEP] mia here", ["Mia"]),
        ("lena and ava together", ["Ava", "Lena"]),
        ("mariah + kiara~~~", ["Kiara", "Mariah"]),
        ("special $170 today. mia. no cops", ["Mia"]),
        ("see you soon\nmia", ["Mia"]),
    ],
)
def test_names(text: str, expected: list[str]) -> None:
    assert names(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I'm Available",
        "Call Me Now",
        "I am Sunny today",
        "I'm Latina",
        "Hugs",
        "i'm ready and waiting",
        "it's ok",
        "meet me tonight",
        "call meee anytime",
        "i'm sunny",  # a word-like name needs a strong cue when written in lower case
        "bella vista",  # a given name in lower case with no cue
        "linda and pretty",
        "sweet.mia@example.com",
        "IG: @Mia",
        "New In Town Here For A Limited Time",
        "With love -- Hello there",
        "call me: SIX FOUR SIX five",
        "Call Me - BEZ SsS O1EE",
        "~ MUAH ~",
    ],
)
def test_name_negatives(text: str) -> None:
    assert names(text) == []
