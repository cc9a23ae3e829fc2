"""Per-ad indicator labels: rates, which modality decides them, determinism."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from vendorlink.data.synthetic import GeneratorConfig, generate
from vendorlink.data.synthetic.config import GENERATOR_VERSION
from vendorlink.data.synthetic.images import render_original
from vendorlink.data.synthetic.indicators import (
    _PHRASES,
    CUE_DISCOUNT,
    INDICATORS,
    MARK_LOGO,
    MARK_OUTDOOR,
    MARK_PAIR,
    MARK_PRICE_TAG,
    MODALITIES,
    cue_sentence,
)
from vendorlink.data.synthetic.plan import build_plan
from vendorlink.data.synthetic.tables import vendor_image_style
from vendorlink.data.synthetic.vendors import VendorTable
from vendorlink.data.synthetic.writer import ads_indicator_column

# What a naive analyst would grep for (deliberately not the generator's phrase lists).
KEYWORDS = {
    "movement": ("tour", "leaving", "moving on", "next stop", "passing", "out of state", "travel"),
    "third_party": ("manager", "booker", "agency", "assistant", "we "),
    "multiple_persons": ("friend", "duo", "pair", "together", "bestie"),
}
ALL_PHRASES = tuple(p for pool in _PHRASES.values() for p in pool)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    out = tmp_path_factory.mktemp("indicators") / "small"
    config = GeneratorConfig.from_preset("small", seed=1, indicator_columns=True)
    result = generate(config, out)
    ads = pd.read_csv(result.ads_path, keep_default_na=False)
    truth = pq.read_table(result.truth_ads_path).to_pandas()
    manifest = json.loads(result.manifest_path.read_text())
    return ads, truth, manifest


def _balanced_accuracy(pred: np.ndarray, label: np.ndarray) -> float:
    pred, label = np.asarray(pred, dtype=bool), np.asarray(label, dtype=bool)
    tpr = (pred & label).sum() / max(label.sum(), 1)
    tnr = (~pred & ~label).sum() / max((~label).sum(), 1)
    return float((tpr + tnr) / 2)


def _contains_any(texts: pd.Series, words: tuple[str, ...]) -> np.ndarray:
    low = texts.str.lower()
    return np.column_stack([low.str.contains(w, regex=False) for w in words]).any(axis=1)


def test_columns_manifest_and_rates(small: tuple[pd.DataFrame, pd.DataFrame, dict]) -> None:
    ads, truth, manifest = small
    assert manifest["generator_version"] == GENERATOR_VERSION
    info = manifest["indicators"]
    assert info["names"] == list(INDICATORS)
    assert info["modality"] == MODALITIES
    assert set(MODALITIES.values()) <= {"text", "image", "both", "either"}
    for name in INDICATORS:
        column = truth[f"ind_{name}"]
        assert column.dtype == bool
        rate = float(column.mean())
        assert 0.05 <= rate <= 0.35, (name, rate)
        assert info["positives"][name] == int(column.sum())
        assert info["positive_rates"][name] == pytest.approx(rate, abs=1e-4)
        assert (ads[ads_indicator_column(name)] == column.astype(int)).all()
        listed = truth["indicators"].map(lambda xs, n=name: n in list(xs))
        assert (listed == column).all()
    # Exact duplicates carry their root's labels (same text, same images).
    dup = truth["is_exact_duplicate_of"].notna()
    roots = truth.set_index("ad_id").loc[truth.loc[dup, "is_exact_duplicate_of"]]
    for name in INDICATORS:
        assert (truth.loc[dup, f"ind_{name}"].to_numpy() == roots[f"ind_{name}"].to_numpy()).all()


def test_vendors_have_tendencies(small: tuple[pd.DataFrame, pd.DataFrame, dict]) -> None:
    _, truth, _ = small
    big = truth.groupby("vendor_id").filter(lambda g: len(g) >= 10)
    for name in ("movement", "third_party", "logo"):
        per_vendor = big.groupby("vendor_id")[f"ind_{name}"].mean()
        assert per_vendor.std() > 0.08, name  # more spread than per-ad coin flips alone


def test_text_indicators_show_in_text_but_not_trivially(
    small: tuple[pd.DataFrame, pd.DataFrame, dict],
) -> None:
    ads, truth, _ = small
    for name, words in KEYWORDS.items():
        label = truth[f"ind_{name}"].to_numpy()
        if MODALITIES[name] == "either":  # only the text half can be read from the text
            label = label & _contains_any(ads["TEXT"], _PHRASES[2])
        bacc = _balanced_accuracy(_contains_any(ads["TEXT"], words), label)
        assert 0.75 < bacc < 0.98, (name, bacc)
    # Restricted clientele: the lexicon's restriction phrases.
    restricted = truth["restrictions"].map(len) > 0
    assert (restricted == truth["ind_restricted_clientele"]).all()


def test_image_indicators_are_invisible_in_text(
    small: tuple[pd.DataFrame, pd.DataFrame, dict],
) -> None:
    ads, truth, _ = small
    any_phrase = _contains_any(ads["TEXT"], ALL_PHRASES)
    for name in ("logo", "outdoor_scene", "reused_image"):
        label = truth[f"ind_{name}"].to_numpy()
        for words in (*KEYWORDS.values(), ALL_PHRASES):
            bacc = _balanced_accuracy(_contains_any(ads["TEXT"], words), label)
            assert abs(bacc - 0.5) < 0.06, (name, bacc)
        assert abs(_balanced_accuracy(any_phrase, label) - 0.5) < 0.06


def test_promo_needs_both_halves(tmp_path: Path) -> None:
    config = GeneratorConfig.from_preset("small", seed=1)
    plan, _ = build_plan(config)
    ind = plan.indicators
    assert ind is not None
    discount = (ind.text_cues & CUE_DISCOUNT) > 0
    tag = (ind.image_marks & MARK_PRICE_TAG) > 0
    promo = discount & tag
    assert 0.05 <= promo.mean() <= 0.35
    # Each half alone appears in negatives, often enough to mislead a one-modality model.
    assert (discount & ~tag).sum() >= 0.2 * promo.sum()
    assert (tag & ~discount).sum() >= 0.2 * promo.sum()
    # Derived image files (near duplicates, copies) keep their source's marks.
    files = plan.files
    assert files is not None
    derived = files.source >= 0
    assert (ind.file_marks[derived] == ind.file_marks[files.source[derived]]).all()


def test_marks_are_drawn_and_sentences_vary() -> None:
    table = VendorTable.draw(0, 4, np.full(4, 3, dtype=np.int64))
    style = vendor_image_style(table.genomes[0].tolist(), 128)
    plain = np.asarray(render_original(style, 7))
    for mark in (MARK_PAIR, MARK_LOGO, MARK_OUTDOOR, MARK_PRICE_TAG):
        marked = np.asarray(render_original(style, 7, mark))
        assert (np.abs(marked.astype(int) - plain.astype(int)).sum(axis=2) > 30).mean() > 0.01
    rng = random.Random(0)
    sentences = {cue_sentence(CUE_DISCOUNT, rng) for _ in range(200)}
    assert len(sentences) >= 10


def test_indicators_are_deterministic_and_text_only_has_no_image_labels(tmp_path: Path) -> None:
    config = GeneratorConfig.from_preset("tiny", seed=5)
    a, _ = build_plan(config)
    b, _ = build_plan(config)
    assert a.indicators is not None and b.indicators is not None
    assert np.array_equal(a.indicators.text_cues, b.indicators.text_cues)
    assert np.array_equal(a.indicators.file_marks, b.indicators.file_marks)
    out = generate(config.replace(text_only=True, n_ads=400, n_vendors=50), tmp_path / "t")
    truth = pq.read_table(out.truth_ads_path).to_pandas()
    for name, modality in MODALITIES.items():
        if modality in ("image", "both"):
            assert not truth[f"ind_{name}"].any(), name
    assert truth["ind_movement"].any()
