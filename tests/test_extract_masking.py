"""The masked text: placeholders for identifiers, N for every other digit."""

from __future__ import annotations

import re
from itertools import pairwise

from vendorlink.extract.masking import PLACEHOLDERS, identifier_spans, mask_text

AD = (
    "NEW IN TOWN Mia 23 yrs [SEP] Hi, I'm Mia, 5'6\", 120 lbs, 34DD-26-36.\n"
    "150 hh / 250 h. Call (312) 555-0123 or three one two 555 oh1two4 \u2b50\n"
    "Email: mia.sweet at example dot com ~ IG: @sweet.mia ~ www.example.com/mia\n"
    "Post ID: 12345678, posted 12/25/2015. \uff13\uff14 \u2460 5\ufe0f\u20e3 xoxo"
)


def test_placeholders_and_no_digits_left() -> None:
    masked = mask_text(AD)
    assert "Call <PHONE> or <PHONE> \u2b50" in masked
    assert "Email: <EMAIL> ~ IG: <HANDLE> ~ <LINK>" in masked
    assert "Post ID: <POSTID>, posted <DATE>." in masked
    assert "NN yrs" in masked and "N'N\", NNN lbs, NNDD-NN-NN" in masked
    assert not re.search(r"\d", masked)
    assert not any(c in masked for c in "\uff13\uff14\u2460")
    assert "N\ufe0f\u20e3" in masked  # keycap digit masked, its marks kept


def test_text_around_identifiers_is_kept() -> None:
    masked = mask_text(AD)

    # Removing placeholders and digits from both sides leaves the same words.
    def words(text: str) -> list[str]:
        text = re.sub("|".join(map(re.escape, PLACEHOLDERS)), " ", text)
        return re.findall(r"[A-Za-z]{4,}", text)

    kept = [w for w in words(masked) if w not in {"three", "mia", "sweet", "example"}]
    assert {"Call", "Email", "Post", "posted", "xoxo", "TOWN"} <= set(kept)
    assert masked.count("<PHONE>") == 2
    assert masked.startswith("NEW IN TOWN Mia NN yrs [SEP] Hi, I'm Mia,")


def test_raw_text_is_not_changed() -> None:
    text = str(AD)
    mask_text(text)
    assert text == AD


def test_masking_is_the_same_function_everywhere() -> None:
    # No train/inference switch: masking a text twice gives the same result, and masking is
    # idempotent on its own output.
    once = mask_text(AD)
    assert mask_text(AD) == once
    assert mask_text(once) == once


def test_spans_do_not_overlap_between_kinds() -> None:
    spans = identifier_spans(AD)
    flat = sorted((s.start, s.end) for kind in spans.values() for s in kind)
    for (_, end), (start, _) in pairwise(flat):
        assert end <= start


def test_dates_and_post_ids() -> None:
    assert mask_text("ad #123456 and #9876543") == "ad #<POSTID> and #<POSTID>"
    assert mask_text("on Jan 5th, 2016 or 2016-01-31") == "on <DATE> or <DATE>"
    assert mask_text("you may 2 hours") == "you may N hours"
    assert mask_text("36-24-36") == "NN-NN-NN"  # measurements are no date


def test_plain_text_unchanged() -> None:
    text = "Sweet and discreet, come see me tonight!"
    assert mask_text(text) == text
    assert mask_text("") == ""
