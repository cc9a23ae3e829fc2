"""A tiny generator of ad-like records with known vendors, for tests, demos and benchmarks.

Fictional throughout: phone numbers are 555-01xx, emails are @example.com, words are made
up syllables. Each vendor has a home city, a phone (sometimes two), a writing style
(signature words, a name, a decoration), a few photos (64-bit hashes reused with small bit
flips), a rate and a posting period. Some ads omit the phone, and some are near-duplicate
reposts of an earlier ad of the same vendor. The ``vendor`` column is the truth.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_COMMON_WORDS = (
    "sweet new in town call me now available today tonight incall outcall friendly "
    "discreet fun relaxing best time visit upscale clean private come see real pics "
    "young sexy beautiful hot special only serious gentlemen text weekend"
)
_NAME_WORDS = (
    "rose lily ruby jade amber luna stella ivy daisy pearl violet hazel coral iris "
    "willow sky autumn star dawn fern"
)
COMMON = tuple(_COMMON_WORDS.split())
NAMES = tuple(_NAME_WORDS.split())
CITIES = (
    ("houston", "south"), ("dallas", "south"), ("chicago", "midwest"), ("denver", "west"),
    ("seattle", "west"), ("boston", "northeast"), ("miami", "south"), ("detroit", "midwest"),
)  # fmt: skip
DECOR = ("❤❤", "!!!", "***", "~~", "💋", "$$", ":)", "###")
SYLLABLES = ("ka", "zo", "mi", "tre", "lu", "vex", "qui", "dra", "pon", "sel", "yth", "orb")


def _word(rng: np.random.Generator) -> str:
    return "".join(rng.choice(SYLLABLES, size=3))


def toy_ads(
    n_vendors: int = 20,
    ads_per_vendor: tuple[int, int] = (3, 10),
    *,
    phone_rate: float = 0.8,
    repost_rate: float = 0.3,
    image_rate: float = 0.6,
    seed: int = 0,
) -> pd.DataFrame:
    """Ads as a DataFrame in the columns of :func:`vendorlink.resolve.settings.ads_settings`."""
    if n_vendors > 100:
        raise ValueError(
            "toy_ads has 100 fictional phone numbers (555-0100..0199): n_vendors <= 100"
        )
    rng = np.random.default_rng(seed)
    rows = []
    base_day = np.datetime64("2016-01-01")
    for v in range(n_vendors):
        phones = [f"+1312555{100 + v:04d}"]
        if rng.random() < 0.2:
            phones.append(f"+1713555{100 + (v + 37) % 100:04d}")
        city, region = CITIES[int(rng.integers(len(CITIES)))]
        signature = [_word(rng) for _ in range(4)]
        name = str(rng.choice(NAMES))
        decor = str(rng.choice(DECOR))
        photos = rng.integers(0, 2**63, size=3, dtype=np.int64).astype(np.uint64)
        rate = str(int(rng.choice([100, 150, 200, 250, 300])))
        ethnicity = ["latina"] if rng.random() < 0.5 else []
        restriction = ["no blacks"] if rng.random() < 0.2 else []
        start = int(rng.integers(0, 300))
        texts: list[str] = []
        for k in range(int(rng.integers(ads_per_vendor[0], ads_per_vendor[1] + 1))):
            if texts and rng.random() < repost_rate:  # near-duplicate repost
                words = str(rng.choice(texts)).split()
                words[int(rng.integers(len(words)))] = str(rng.choice(COMMON))
                text = " ".join(words)
            else:
                words = list(rng.choice(COMMON, size=int(rng.integers(8, 16))))
                words += list(rng.choice(signature, size=2, replace=False))
                words.insert(int(rng.integers(len(words))), name.capitalize())
                rng.shuffle(words)
                text = f"{decor} " + " ".join(words) + f" {decor}"
            texts.append(text)
            hashes = []
            if rng.random() < image_rate:
                for p in rng.choice(photos, size=int(rng.integers(1, 3)), replace=False):
                    flips = rng.choice(64, size=int(rng.integers(0, 4)), replace=False)
                    h = int(p)
                    for b in flips:
                        h ^= 1 << int(b)
                    hashes.append(f"{h:016x}")
            home = rng.random() < 0.9
            c, r = (city, region) if home else CITIES[int(rng.integers(len(CITIES)))]
            rows.append(
                {
                    "ad_id": f"v{v:03d}-{k:03d}",
                    "text": text,
                    "phones": [str(rng.choice(phones))] if rng.random() < phone_rate else [],
                    "emails": [f"{name}{v}@example.com"] if rng.random() < 0.1 else [],
                    "names": [name],
                    "ethnicities": ethnicity,
                    "rates": [rate] if rng.random() < 0.7 else [],
                    "restrictions": restriction,
                    "posted_at": base_day + np.timedelta64(start + int(rng.integers(0, 45)), "D"),
                    "city": c,
                    "region": r,
                    "image_hashes": hashes,
                    "vendor": f"vendor-{v:03d}",
                }
            )
    frame = pd.DataFrame(rows)
    frame["posted_at"] = pd.to_datetime(frame["posted_at"])
    return frame
