"""Ages, rates, heights, weights and measurements."""

from __future__ import annotations

import pytest

from vendorlink.extract.attributes import numeric_attributes, prepare


def numeric(text: str) -> dict[str, list]:
    return numeric_attributes(prepare(text))


@pytest.mark.parametrize(
    "text",
    [
        "23 yrs",
        "23yrs",
        "23 years old",
        "23 year old",
        "23-year-old",
        "23 yr old",
        "age 23",
        "Age: 23",
        "age - 23",
        "23yo",
        "23 y/o",
        "23 y.o.",
        "23 years young",
        "I'm 23",
        "i am 23 and ready",
        "I'm a 23 year old cutie",
        "\uff12\uff13 yrs",  # full-width digits
    ],
)
def test_ages(text: str) -> None:
    assert numeric(text)["ages"] == [23]


@pytest.mark.parametrize(
    "text",
    [
        "I'm 15 minutes away",
        "20 years experience",
        "I'm 5'6",
        "I'm 24/7 available",
        "I'm 100% real",
        "5 yrs",  # one digit is no adult's age
        "age is just a number",
        "150 hh",
    ],
)
def test_age_negatives(text: str) -> None:
    assert numeric(text)["ages"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150 hh / 250 h", [150, 250]),
        ("$150 hh $250 hr", [150, 250]),
        ("150 roses hh, 250 roses hr", [150, 250]),
        ("$200", [200]),
        ("$ 200.00", [200]),
        ("200$", [200]),
        ("200 roses", [200]),
        ("200 donation", [200]),
        ("250/h", [250]),
        ("250 per hour", [250]),
        ("hh 150 | h 250", [150, 250]),
        ("half hour $150, hour $250", [150, 250]),
        ("150/hh 250/hr", [150, 250]),
        ("100 qv / 150 hh / 250 h", [100, 150, 250]),
        ("150hh 250hr", [150, 250]),
        ("special $130 today", [130]),
        ("130 roses special", [130]),
        ("rates: 200 hh", [200]),
        ("400 2hrs", [400]),
        ("Age: 23 $350!!!", [350]),
    ],
)
def test_rates(text: str, expected: list[int]) -> None:
    assert numeric(text)["rates"] == expected


@pytest.mark.parametrize(
    "text",
    [
        "available 24 hrs",
        "available 24 hours a day",
        "incall 24/7",
        "100% real",
        "rates - 34-22-34",
        "rates: 126 pounds",
        "30 min",
        "23 yrs",
        "call 312-555-0123",
        "Stats: 40D-24-35 Donations",
    ],
)
def test_rate_negatives(text: str) -> None:
    assert numeric(text)["rates"] == []


@pytest.mark.parametrize(
    ("text", "cm"),
    [
        ("5'6\"", 168),
        ("5'6", 168),
        ("5’6”", 168),
        ("5 ft 6", 168),
        ("5ft6in", 168),
        ("5ft 6in", 168),
        ("5 foot 6", 168),
        ("5 feet 6 inches", 168),
        ("5 ft", 152),
        ("170cm", 170),
        ("170 cm", 170),
        ("1.70 m", 170),
        ("1,70m", 170),
        ("6'2", 188),
        ("4'10", 147),
    ],
)
def test_heights(text: str, cm: int) -> None:
    assert numeric(text)["heights_cm"] == [cm]


@pytest.mark.parametrize("text", ["5'", "5'13", "9'6", "17 cm", "1.7 miles", "5.6"])
def test_height_negatives(text: str) -> None:
    assert numeric(text)["heights_cm"] == []


@pytest.mark.parametrize(
    ("text", "kg"),
    [
        ("120 lbs", 54),
        ("120lbs", 54),
        ("120 lb", 54),
        ("120 pounds", 54),
        ("55kg", 55),
        ("55 kg", 55),
        ("55 kilos", 55),
        ("200 lbs", 91),
    ],
)
def test_weights(text: str, kg: int) -> None:
    assert numeric(text)["weights_kg"] == [kg]


@pytest.mark.parametrize("text", ["5 lbs", "1200 lbs", "12 kg", "120 pics"])
def test_weight_negatives(text: str) -> None:
    assert numeric(text)["weights_kg"] == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("36-24-36", "36-24-36"),
        ("34DD-26-36", "34DD-26-36"),
        ("34dd-26-36", "34DD-26-36"),
        ("36DD/24/36", "36DD-24-36"),
        ("36 - 24 - 36", "36-24-36"),
        ("32C-32-32", "32C-32-32"),
        ("Stats: 34H-26-36", "34H-26-36"),
    ],
)
def test_measurements(text: str, expected: str) -> None:
    assert numeric(text)["measurements"] == [expected]


@pytest.mark.parametrize(
    "text", ["12-25-23", "312-555-0123", "36-24/36", "1-36-24-36", "36-24-36-40", "99-24-36"]
)
def test_measurement_negatives(text: str) -> None:
    assert numeric(text)["measurements"] == []


def test_trap_line_reads_every_field() -> None:
    got = numeric("150hh 250h 23yo 5'6 120lbs 36-24-36")
    assert got == {
        "ages": [23],
        "rates": [150, 250],
        "heights_cm": [168],
        "weights_kg": [54],
        "measurements": ["36-24-36"],
    }
