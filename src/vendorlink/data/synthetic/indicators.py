"""Per-ad indicator labels for multimodal multi-label classification ("flag").

Indicators are tasteful, non-explicit cues inspired by anti-trafficking triage. Each is
decided per ad with the seeded RNG (vendors have tendencies) and then *rendered* into the
modality that decides it, so a classifier has to read the text, look at the images, or both:

``movement`` (text)
    An explicit touring schedule ("on tour, leaving soon", "passing through your city").
    The stock vocabulary already puts "new in town" / "just visiting" in over half of all
    ads (as in real ad sites, where they are boilerplate), so those act as near misses.
``multiple_persons`` (either)
    The text mentions a companion ("ask about my friend") or an image shows two of the
    vendor's objects side by side on a light panel; either half alone makes it positive.
``third_party`` (text)
    Someone else books or speaks for the ad ("call my manager", "we arrange ...").
``restricted_clientele`` (text)
    The text carries a restriction phrase (the ``restrictions`` field of the truth).
``reused_image`` (image)
    The ad carries an image copied from another vendor, or an original that another vendor
    copied (derived from the image plan; nothing is drawn).
``logo`` (image)
    A small dark badge with a light diamond is drawn in the image centre-top.
``outdoor_scene`` (image)
    The image has a sky band, a sun and a green ground strip.
``promo`` (both)
    A price-tag sticker on an image AND a discount phrase in the text; each half also
    appears alone in other ads as a distractor.

Negatives carry near-miss phrases ("new pics", "in town all year", "I book myself") so no
single token decides a text label.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from .seeding import numpy_rng

INDICATORS: tuple[str, ...] = (
    "movement",
    "multiple_persons",
    "third_party",
    "restricted_clientele",
    "reused_image",
    "logo",
    "outdoor_scene",
    "promo",
)
MODALITIES: dict[str, str] = {
    "movement": "text",
    "multiple_persons": "either",
    "third_party": "text",
    "restricted_clientele": "text",
    "reused_image": "image",
    "logo": "image",
    "outdoor_scene": "image",
    "promo": "both",
}

# Bits of the per-file image marks (drawn by :mod:`.images`).
MARK_PAIR, MARK_LOGO, MARK_OUTDOOR, MARK_PRICE_TAG = 1, 2, 4, 8
# Bits of the per-ad text cues (inserted by :func:`cue_sentence`).
CUE_MOVEMENT, CUE_MULTIPLE, CUE_THIRD_PARTY, CUE_DISCOUNT = 1, 2, 4, 8
NEAR_MISS = 16  # a distractor sentence of a random kind

# Per-original-file rates of each image mark, and per-ad rates of each text cue.
_FILE_MARK_RATES = ((MARK_PAIR, 0.05), (MARK_LOGO, 0.07), (MARK_OUTDOOR, 0.08))
_PRICE_TAG_RATE = 0.09
_TEXT_CUE_RATES = ((CUE_MOVEMENT, 0.16), (CUE_MULTIPLE, 0.08), (CUE_THIRD_PARTY, 0.12))
_DISCOUNT_WITH_TAG = 0.6  # chance of the discount phrase when the ad's images carry a tag
_DISCOUNT_WITHOUT_TAG = 0.07  # distractor: the phrase alone
_NEAR_MISS_RATE = 0.3

# No digit words (they would look like phone digits to the extractor) and no restriction
# phrases of the lexicon.
_PHRASES: dict[int, tuple[str, ...]] = {
    CUE_MOVEMENT: (
        "on tour, leaving soon",
        "only here until the weekend, then moving on",
        "passing through your city",
        "touring the area, next stop announced soon",
        "last days here before I travel on",
        "visiting from out of state",
        "in your city for a short stay",
        "on the road, booking my next stop",
        "leaving soon, catch me while you can",
    ),
    CUE_MULTIPLE: (
        "ask about my friend",
        "my girlfriend can join",
        "bring a friend along, we are a pair",
        "duo available",
        "me and my bestie together",
        "double the company",
    ),
    CUE_THIRD_PARTY: (
        "call my manager",
        "my booker answers the phone",
        "we set up everything",
        "our agency handles the schedule",
        "text my assistant to arrange",
        "we will confirm your visit",
    ),
    CUE_DISCOUNT: (
        "special discount today",
        "ask about the special price",
        "sale this week",
        "reduced rate on request",
        "promo rate available",
    ),
}
_NEAR_MISSES: tuple[str, ...] = (
    "new pics",
    "new photos every week",
    "in town all year",
    "local and here to stay",
    "not visiting, I live here",
    "I book myself",
    "independent, no agency involved",
    "I am my own manager",
    "new in town",
    "just visiting",
    "independent, I answer my own phone",
    "just me, no friends",
    "my friends say I am sweet",
    "manage your expectations",
    "prices are fair",
    "best rate in the area",
    "always here",
    "travel stories welcome",
    "we can chat first",
)


@dataclass
class IndicatorPlan:
    """Per-file image marks and per-ad text cues, and the resulting per-ad labels."""

    file_marks: np.ndarray  # uint8 [n_files], MARK_* bits
    text_cues: np.ndarray  # uint8 [n_ads], CUE_* bits (+ NEAR_MISS)
    image_marks: np.ndarray  # uint8 [n_ads], OR of the ad's file marks
    reused: np.ndarray  # bool [n_ads]


def _vendor_tendency(rng: np.random.Generator, n_vendors: int) -> np.ndarray:
    """Per-vendor multipliers of the base rates (mean about 1, long right tail)."""
    return rng.lognormal(-0.18, 0.6, n_vendors)


def plan_indicators(
    seed: int,
    vendor: np.ndarray,
    dup_of: np.ndarray,
    empty_text: np.ndarray,
    n_vendors: int,
    image_offsets: np.ndarray | None,
    image_files: np.ndarray | None,
    file_style_vendor: np.ndarray | None,
    file_owner_vendor: np.ndarray | None,
    file_kind: np.ndarray | None,
    file_source: np.ndarray | None,
) -> IndicatorPlan:
    """Decide marks and cues (own RNG stream: the rest of the plan does not change)."""
    rng = numpy_rng(seed, "indicators")
    n_ads = int(vendor.size)
    has_dup = dup_of >= 0
    # --- image marks per file: originals draw, derived files inherit their source's ----
    if file_kind is not None and image_offsets is not None and image_files is not None:
        assert file_style_vendor is not None and file_source is not None
        assert file_owner_vendor is not None
        n_files = int(file_kind.size)
        marks = np.zeros(n_files, dtype=np.uint8)
        for bit, rate in (*_FILE_MARK_RATES, (MARK_PRICE_TAG, _PRICE_TAG_RATE)):
            tendency = _vendor_tendency(rng, n_vendors)
            p = np.clip(rate * tendency[file_style_vendor], 0.0, 0.8)
            marks |= np.where(rng.random(n_files) < p, bit, 0).astype(np.uint8)
        derived = file_source >= 0
        marks[derived] = marks[file_source[derived]]
        # Reused: a copy of another vendor's image, or an original someone else copied.
        copied = file_kind == 2
        was_copied = np.zeros(n_files, dtype=bool)
        was_copied[file_source[copied]] = True
        reused_file = copied | was_copied
        n_per_ad = np.diff(image_offsets)
        ad_of_slot = np.repeat(np.arange(n_ads), n_per_ad)
        image_marks = np.zeros(n_ads, dtype=np.uint8)
        np.bitwise_or.at(image_marks, ad_of_slot, marks[image_files])
        reused = np.zeros(n_ads, dtype=bool)
        np.logical_or.at(reused, ad_of_slot, reused_file[image_files])
    else:
        marks = np.zeros(0, dtype=np.uint8)
        image_marks = np.zeros(n_ads, dtype=np.uint8)
        reused = np.zeros(n_ads, dtype=bool)
    # --- text cues per ad ----------------------------------------------------------------
    cues = np.zeros(n_ads, dtype=np.uint8)
    for bit, rate in _TEXT_CUE_RATES:
        tendency = _vendor_tendency(rng, n_vendors)
        p = np.clip(rate * tendency[vendor], 0.0, 0.8)
        cues |= np.where(rng.random(n_ads) < p, bit, 0).astype(np.uint8)
    tagged = (image_marks & MARK_PRICE_TAG) > 0
    p_discount = np.where(tagged, _DISCOUNT_WITH_TAG, _DISCOUNT_WITHOUT_TAG)
    cues |= np.where(rng.random(n_ads) < p_discount, CUE_DISCOUNT, 0).astype(np.uint8)
    cues |= np.where(rng.random(n_ads) < _NEAR_MISS_RATE, NEAR_MISS, 0).astype(np.uint8)
    cues[has_dup] = cues[dup_of[has_dup]]
    cues[empty_text] = 0
    return IndicatorPlan(file_marks=marks, text_cues=cues, image_marks=image_marks, reused=reused)


def cue_sentence(cues: int, rng: random.Random) -> str:
    """The sentence carrying an ad's text cues (and a near miss), or ``""``."""
    parts: list[str] = []
    for bit in (CUE_MOVEMENT, CUE_MULTIPLE, CUE_THIRD_PARTY, CUE_DISCOUNT):
        if cues & bit:
            pool = _PHRASES[bit]
            parts.append(pool[int(rng.random() * len(pool))])
    if cues & NEAR_MISS:
        parts.insert(int(rng.random() * (len(parts) + 1)), rng.choice(_NEAR_MISSES))
    if not parts:
        return ""
    text = ", ".join(parts) if rng.random() < 0.5 else ". ".join(parts)
    if rng.random() < 0.5:
        text = text[:1].upper() + text[1:]
    return text + rng.choice(("!", ".", "", " :)"))


def ad_labels(
    ind: IndicatorPlan, start: int, stop: int, restricted: np.ndarray
) -> dict[str, np.ndarray]:
    """Boolean label columns, one per indicator, for ads ``start..stop``; ``restricted``
    says which of them carry a restriction phrase (from the rendered text's truth)."""
    cues, img = ind.text_cues[start:stop], ind.image_marks[start:stop]
    return {
        "movement": (cues & CUE_MOVEMENT) > 0,
        "multiple_persons": ((cues & CUE_MULTIPLE) > 0) | ((img & MARK_PAIR) > 0),
        "third_party": (cues & CUE_THIRD_PARTY) > 0,
        "restricted_clientele": restricted.astype(bool),
        "reused_image": ind.reused[start:stop].copy(),
        "logo": (img & MARK_LOGO) > 0,
        "outdoor_scene": (img & MARK_OUTDOOR) > 0,
        "promo": ((cues & CUE_DISCOUNT) > 0) & ((img & MARK_PRICE_TAG) > 0),
    }
