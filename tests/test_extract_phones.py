"""Phone numbers: plain and obfuscated forms, false-positive traps, spans."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from vendorlink.extract.phones import (
    RUN_RE,
    _runs,
    extract_phones,
    find_phone_spans,
    is_valid_nanp,
    normalise_phone,
)

E164 = "+13125550123"

PLAIN_FORMS = [
    "(312) 555-0123",
    "(312)555-0123",
    "312.555.0123",
    "312-555-0123",
    "3125550123",
    "+1 312 555 0123",
    "+1-312-555-0123",
    "+1 (312) 555-0123",
    "1-312-555-0123",
    "13125550123",
]

OBFUSCATED_FORMS = [
    # spaced digits
    "3 1 2 5 5 5 0 1 2 3",
    # digit words and misspellings
    "three one two five five five zero one two three",
    "THREE ONE TWO FIVE FIVE FIVE ZERO ONE TWO THREE",
    "three-one-two-five-five-five-zero-one-two-three",
    "thre won too fiv f1ve five zer0 0ne tw0 tree",
    "tree won too fiv fiv fiv oh won too three",
    # mixed digits and words
    "3one2 555 oh1two3",
    "three 1 two 555 0123",
    "thre 1 too 5 5 5 zer0 won tw0 tree",
    "call 312 555 oh 123 now",
    # letters for digits
    "3l2 SSS OlZ3",
    "3l2.SsS.Ol23",
    # keycaps, with and without U+FE0F
    "3\ufe0f\u20e31\ufe0f\u20e32\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e35\ufe0f\u20e3"
    "0\ufe0f\u20e31\ufe0f\u20e32\ufe0f\u20e33\ufe0f\u20e3",
    "3\u20e31\u20e32\u20e3 5\u20e35\u20e35\u20e3 0\u20e31\u20e32\u20e33\u20e3",
    # full-width and circled digits
    "\uff13\uff11\uff12-\uff15\uff15\uff15-\uff10\uff11\uff12\uff13",
    "\u2462\u2460\u2461 \u2464\u2464\u2464 \u24ea\u2460\u2461\u2462",
    # odd separators
    "312*555*0123",
    "312~555~0123",
    "312_555_0123",
    "312 / 555 / 0123",
    "312|555|0123",
    "312..555..0123",
    "312 * 555 * 0123",
    "312=555=0123",
    "312\U0001f48b555\U0001f48b0123",
    # split over lines
    "312\n555\n0123",
    "312\r\n555\r\n0123",
    # combinations: each group in its own style
    "three one two - 5 5 5 - \uff10\uff11\uff12\uff13",
    "3 1 2\n5\u20e35\u20e35\u20e3\n0l23",
    "3one2 . SSS . zero one two three",
    # numbers glued to words
    "call3125550123now",
    "txt:3125550123",
]


@pytest.mark.parametrize("text", PLAIN_FORMS + OBFUSCATED_FORMS)
def test_every_form_is_read(text: str) -> None:
    assert extract_phones(text) == [E164]
    assert extract_phones(f"Hi gentlemen, call me at {text} ask for Mia xoxo") == [E164]


@pytest.mark.parametrize(
    "text",
    [
        "150hh 250h 23yo 5'6 120lbs 36-24-36",
        "150 hh 250 h 23 yrs",
        "Rates 150/30 200/60 300/90 400/120",
        "$250 $300 $1500",
        "36-24-36 5'6 120 lbs age 23",
        "12/25/2015 10:30 pm",
        "2016-01-31 23:59:59",
        "Is so oil I go",
        "fivefivefive",
        "SO IS OIL, GO",
        "1111111111",
        "0123456789",
        "3125550123456789",  # too long: not a number
        "available 24/7 100% real",
        "one two three four five",
        # capitalised words whose letters all stand for digits, next to numbers
        "Black - ht: 5'8 - STATS: 36-26-34",
        "BEST SEATS 150 HH / 250 H",
        "EAST SIDE: 36-24-36 5'6 GOES 120",
    ],
)
def test_false_positive_traps(text: str) -> None:
    assert extract_phones(text) == []


def test_rate_and_age_are_not_glued() -> None:
    assert extract_phones("150 hh 250 h 23 yrs 312-555-0123") == [E164]
    assert extract_phones("23 yrs 150 312.555.0123 250") == [E164]


def test_word_around_number_is_not_taken() -> None:
    # "I" reads as 1 and "A" as 4, but the number is the ten digits between them.
    spans = find_phone_spans("I 312 555 0123 I am")
    assert spans == [(2, 14, E164)]
    assert extract_phones("A 312-555-0123") == [E164]


def test_several_numbers_and_duplicates() -> None:
    text = "312-555-0199 or 773.555.0100 | (312) 555-0199\nalt: seven seven three 555 0100"
    assert extract_phones(text) == ["+13125550199", "+17735550100"]


def test_spans_cover_the_number_with_prefix() -> None:
    text = "Call (312) 555-0123 or +1 773 555 0100!"
    spans = find_phone_spans(text)
    assert [text[s.start : s.end] for s in spans] == ["(312) 555-0123", "+1 773 555 0100"]
    assert [s.value for s in spans] == [E164, "+17735550100"]


def test_exclude_spans() -> None:
    text = "Post ID: 3125550123"
    assert extract_phones(text) == [E164]
    assert find_phone_spans(text, exclude=[(9, 19, "post id")]) == []


def test_invalid_area_codes_are_rejected() -> None:
    assert extract_phones("999-555-0123") == []  # not an assigned area code
    assert extract_phones("212-055-0123") == []  # exchange cannot start with 0


def test_international_after_plus() -> None:
    assert extract_phones("+44 20 7946 0123") == ["+442079460123"]
    assert extract_phones("44 20 7946 0123") == []


def test_letters_need_a_number_like_grouping() -> None:
    # Mostly letters, but grouped 3-3-4 with a real digit or odd casing: a number.
    assert extract_phones("T7E ss5 OITA") == ["+17735550174"]
    assert extract_phones("AiS.sss.0iGT") == ["+14155550167"]
    # Ordinary capitalised words never make one.
    assert extract_phones("BIG SEE GOES SO IS") == []


def test_normalise_phone() -> None:
    assert normalise_phone("(312) 555-0123") == E164
    assert normalise_phone("not a number") is None
    assert normalise_phone("123") is None


def test_nanp_pattern_agrees_with_phonenumbers() -> None:
    rng = random.Random(7)
    for _ in range(3000):
        national = str(rng.randint(2_000_000_000, 9_999_999_999))
        number = phonenumbers.PhoneNumber(country_code=1, national_number=int(national))
        assert is_valid_nanp(national) == phonenumbers.is_valid_number(number), national


def test_quick_run_finder_agrees_with_run_regex() -> None:
    rng = random.Random(3)
    pieces = ["312", "555", "0123", "one", "oh", "SSS", "Mia", "call", "x3", "3", "\u20e3"]
    pieces += ["3\ufe0f\u20e3", "\uff13\uff11", "\u2460", "Ol2", "A", "I", "five", "\u00e93"]
    pieces += ["lexi99", "5ft5in", "call3125550123", "x3125550123y"]
    seps = [" ", "-", "\n", ". ", "", "~", " / ", "  ", "\u2605", "\ufe0f", "$", "#", "@"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) + rng.choice(seps) for _ in range(rng.randint(1, 20)))
        full = [m.span() for m in RUN_RE.finditer(text) if m.end() - m.start() >= 10]
        assert _runs(text) == full, text


def test_digit_soup_yields_nothing() -> None:
    assert extract_phones("3 1 2 5 5 5 0 1 2 3 " * 200) == []
