"""extract_fields / extract_batch: every field, formats, statistics, and bounded time."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pandas as pd
import pytest

from vendorlink.extract import extract_batch, extract_fields, extract_frame
from vendorlink.extract.fields import FIELD_COLUMNS
from vendorlink.extract.text_stats import text_stats
from vendorlink.lexicon import (
    ETHNICITY,
    EYE_COLOUR,
    FIELD_NAMES,
    HAIR_COLOUR,
    RESTRICTIONS,
    SKIN_COLOUR,
)

AD = (
    "\U0001f48b NEW IN TOWN ~ Sweet Latina Mia \U0001f48b 312.555.0188 [SEP] Hey gentlemen! "
    "I'm Mia, 23 yrs, long blonde hair, green eyes and caramel skin. 5'6\" 120 lbs 34DD-26-36. "
    "Rates: 150 hh / 250 h, $400 overnight. No law enforcement, no rush! Screening required. "
    "Call or text (312) 555-0123 or 7 7 3 five five five zero one zero zero. "
    "Email: mia.sweet at example dot com | IG: @sweet.mia | www.example.com/mia/ xoxo Mia"
)


def test_every_field_of_a_full_ad() -> None:
    fields = extract_fields(AD)
    assert list(fields) == list(FIELD_COLUMNS)
    assert fields["phones"] == ["+13125550123", "+13125550188", "+17735550100"]
    assert fields["emails"] == ["mia.sweet@example.com"]
    assert fields["urls"] == ["example.com/mia"]
    assert fields["social_handles"] == ["instagram:sweet.mia"]
    assert fields["ages"] == [23]
    assert fields["rates"] == [150, 250, 400]
    assert fields["names"] == ["Mia"]
    assert fields["ethnicities"] == ["latina"]
    assert fields["hair_colours"] == ["blonde"]
    assert fields["eye_colours"] == ["green"]
    assert fields["skin_colours"] == ["caramel"]
    assert fields["heights_cm"] == [168]
    assert fields["weights_kg"] == [54]
    assert fields["measurements"] == ["34DD-26-36"]
    assert fields["restrictions"] == ["no law enforcement", "no rush", "screening required"]
    assert "<PHONE>" in fields["masked_text"] and "NN yrs" in fields["masked_text"]


def test_value_formats_follow_the_lexicon() -> None:
    fields = extract_fields(AD)
    for name in FIELD_NAMES:
        values = fields[name]
        assert isinstance(values, list)
        assert values == sorted(set(values)), name
    for name in ("ages", "rates", "heights_cm", "weights_kg"):
        assert all(type(v) is int for v in fields[name])
    vocab = {
        "ethnicities": ETHNICITY,
        "hair_colours": HAIR_COLOUR,
        "eye_colours": EYE_COLOUR,
        "skin_colours": SKIN_COLOUR,
        "restrictions": RESTRICTIONS,
    }
    for name, table in vocab.items():
        assert set(fields[name]) <= set(table)
    assert all(p.startswith("+") and p[1:].isdigit() for p in fields["phones"])
    assert all(e == e.lower() for e in fields["emails"] + fields["urls"])
    assert all(n == n.title() for n in fields["names"])


def test_phone_digits_are_no_rate_and_handles_no_hair() -> None:
    fields = extract_fields("weekend special 312.555.0177 | snap: blonde_babe")
    assert fields["phones"] == ["+13125550177"]
    assert fields["rates"] == []
    assert fields["hair_colours"] == []
    assert fields["social_handles"] == ["snapchat:blonde_babe"]


def test_empty_and_missing_text() -> None:
    for text in ("", None):
        fields = extract_fields(text)
        assert all(fields[name] == [] for name in FIELD_NAMES)
        assert fields["masked_text"] == ""
        assert fields["n_chars"] == 0 and fields["n_uppercase_ratio"] == 0.0
    with pytest.raises(TypeError):
        extract_fields(123)  # type: ignore[arg-type]


def test_text_stats() -> None:
    stats = text_stats(
        "Hi I'm MIA \U0001f48b\U0001f48b 5\ufe0f\u20e3 call_me! \u2728 \u00c9t\u00e9"
    )
    assert stats == {
        "n_chars": 32,
        "n_special_chars": 8,  # ' 💋 💋 FE0F 20E3 _ ! ✨
        "n_emoji": 4,  # 💋 💋 5️⃣ ✨
        "n_tokens": 8,
        "n_unique_tokens": 8,
        "n_uppercase_ratio": 6 / 16,
    }
    assert text_stats("a a A")["n_unique_tokens"] == 1


def test_batch_keeps_order_and_columns() -> None:
    texts = ["call 312-555-0123", None, "I'm Mia, 23 yrs", float("nan"), ""]
    frame = extract_batch(texts)  # type: ignore[arg-type]
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(FIELD_COLUMNS)
    assert len(frame) == len(texts)
    assert frame.at[0, "phones"] == ["+13125550123"]
    assert frame.at[1, "phones"] == []
    assert frame.at[2, "names"] == ["Mia"] and frame.at[2, "ages"] == [23]
    assert frame.at[3, "masked_text"] == ""
    rows = [extract_fields(t or "") for t in ["call 312-555-0123", "", "I'm Mia, 23 yrs"]]
    assert frame.at[2, "masked_text"] == rows[2]["masked_text"]


def test_extract_frame_for_map_batches() -> None:
    batch = pd.DataFrame({"ad_id": ["a", "b"], "text": ["I'm Mia", "call 312-555-0123"]})
    out = extract_frame(batch)
    assert list(out["ad_id"]) == ["a", "b"]
    assert out.at[0, "names"] == ["Mia"] and out.at[1, "phones"] == ["+13125550123"]
    assert extract_frame({"text": ["I'm Mia"]}).at[0, "names"] == ["Mia"]


ADVERSARIAL: dict[str, Callable[[], str]] = {
    "spaced digits": lambda: "1 " * 500_000,
    "digit soup": lambda: " ".join(random.Random(0).choices("0123456789", k=500_000)),
    "separators": lambda: "1-2." * 250_000,
    "keycaps": lambda: "3\ufe0f\u20e3 " * 250_000,
    "at dot": lambda: "at dot " * 142_857,
    "at signs": lambda: "@" * 1_000_000,
    "emoji": lambda: "\U0001f48b\U0001f525\U0001f60d " * 250_000,
    "heights": lambda: "5'6 " * 250_000,
    "one long word": lambda: "o" * 1_000_000,
}


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_inputs_take_bounded_time(name: str) -> None:
    """About 1 MB of digit soup, separators, "at dot", emoji: a generous 5 s bound (typical
    time on one core is well under a second)."""
    text = ADVERSARIAL[name]()
    assert len(text) >= 850_000
    started = time.process_time()
    fields = extract_fields(text)
    elapsed = time.process_time() - started
    assert elapsed < 5.0, f"{name}: {elapsed:.2f} s"
    assert set(fields) == set(FIELD_COLUMNS)
