"""Extraction quality against the synthetic generator's per-ad truth (tiny preset)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import vendorlink.data.synthetic as synthetic
from vendorlink.extract import extract_batch
from vendorlink.lexicon import FIELD_NAMES


def field_scores(pred: pd.DataFrame, truth: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Micro precision and recall per field over (ad, value) pairs."""
    scores = {}
    for name in FIELD_NAMES:
        tp = fp = fn = 0
        for got, want in zip(pred[name], truth[name], strict=True):
            got_set, want_set = set(got), set(list(want))
            tp += len(got_set & want_set)
            fp += len(got_set - want_set)
            fn += len(want_set - got_set)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        scores[name] = (precision, recall)
    return scores


def test_fields_match_the_generator_truth(tmp_path: Path) -> None:
    config = synthetic.GeneratorConfig.from_preset(
        "tiny", text_only=True, output_format="parquet", seed=5
    )
    synthetic.generate(config, tmp_path / "gen")
    ads = pd.read_parquet(tmp_path / "gen" / "ads.parquet")
    truth = pd.read_parquet(tmp_path / "gen" / "truth_ads.parquet").set_index("ad_id")
    truth = truth.loc[ads["ID"]].reset_index()
    pred = extract_batch(ads["TEXT"].tolist())
    for name, (precision, recall) in field_scores(pred, truth).items():
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        assert f1 >= (0.97 if name == "phones" else 0.90), (name, precision, recall)
