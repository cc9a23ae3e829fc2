"""Per-(text, image)-pair mode: the split is made by ad before expansion, ad-level evaluation,
and resumable training (checkpoint every epoch, ``resume=True``)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_train_loop import CONFIG, separable_table
from vendorlink.errors import InputError
from vendorlink.models.multimodal import VendorModel
from vendorlink.train import (
    AdTable,
    aggregate_by_ad,
    copy_config,
    embed_table,
    expand_pairs,
    fit,
)
from vendorlink.train import trainer as train_trainer


def table_with_images(seed: int = 0) -> AdTable:
    """The separable table, with 0-3 images per ad (the image vector is their mean)."""
    table = separable_table(seed=seed)
    rng = np.random.default_rng(seed)
    vectors, owner = [], []
    for row in range(len(table)):
        if not table.has_image[row]:
            continue
        k = int(rng.integers(1, 4))
        noise = 0.3 * rng.normal(size=(k, table.image.shape[1]))
        vectors.append(table.image[row] + noise)
        owner += [row] * k
        table.image[row] = vectors[-1].mean(axis=0)
    table.image_vectors = np.concatenate(vectors).astype(np.float32)
    table.image_owner = np.asarray(owner, dtype=np.int64)
    return table


def test_pairs_inherit_their_ads_part_split_by_ad_before_expansion() -> None:
    table = table_with_images()
    pairs, ad_row = expand_pairs(table)
    counts = np.bincount(table.image_owner, minlength=len(table))
    assert len(pairs) == int(np.maximum(counts, 1).sum())
    assert np.array_equal(pairs.ad_ids, table.ad_ids[ad_row])
    for part in ("train", "val", "test"):  # every pair of an ad is in its ad's part
        ids = set(pairs.ad_ids[pairs.part == part])
        assert ids == set(table.ad_ids[table.part == part])
    train_ids = set(pairs.ad_ids[pairs.part == "train"])
    assert not train_ids & set(pairs.ad_ids[pairs.part != "train"])
    # each pair holds its own image's vector, the ad's text; text-only ads stay one sample
    for i in np.flatnonzero(pairs.has_image)[:20]:
        row = ad_row[i]
        own = table.image_vectors[table.image_owner == row]
        assert any(np.allclose(pairs.image[i], v) for v in own)
        assert np.array_equal(pairs.text[i], table.text[row])
    text_only = np.flatnonzero(~table.has_image)
    assert all((ad_row == r).sum() == 1 for r in text_only)


def test_aggregate_by_ad_is_the_normalised_mean() -> None:
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [3.0, 4.0]], dtype=np.float32)
    out = aggregate_by_ad(emb, np.array([0, 0, 2]), 3)
    np.testing.assert_allclose(out[0], [2**-0.5, 2**-0.5], atol=1e-6)
    np.testing.assert_allclose(out[1], [0.0, 0.0])
    np.testing.assert_allclose(out[2], [0.6, 0.8], atol=1e-6)


def test_pair_mode_trains_and_evaluates_per_ad(tmp_path: Path) -> None:
    table = table_with_images()
    config = copy_config(CONFIG, pair_mode=True, epochs=4, tensorboard=False)
    result = fit(table, config, folder=tmp_path / "m")
    assert result.stats["n_train_pairs"] > result.n_train  # more pairs than train ads
    assert result.n_val == int((table.part == "val").sum())  # validation counted per ad
    assert result.best_score > 0.7
    loaded = VendorModel.load(tmp_path / "m")
    assert loaded.config.extra["pair_mode"] is True
    assert result.model is not None
    np.testing.assert_array_equal(embed_table(result.model, table), embed_table(loaded, table))
    no_images = separable_table()
    with pytest.raises(InputError, match="keep_images"):
        fit(no_images, config)


def test_resume_continues_to_the_same_weights(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = separable_table()
    config = copy_config(CONFIG, epochs=4, dropout=0.1, tensorboard=True)
    straight = fit(table, config, folder=tmp_path / "straight")

    real = train_trainer.save_checkpoint
    calls: list[int] = []

    def crash_after_two(folder: Path | None, state: dict[str, object]) -> None:
        real(folder, state)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train_trainer, "save_checkpoint", crash_after_two)
    with pytest.raises(KeyboardInterrupt):
        fit(table, config, folder=tmp_path / "resumed")
    log_dir = tmp_path / "resumed.train"
    assert (log_dir / "checkpoint.pt").is_file() and not (tmp_path / "resumed").exists()
    monkeypatch.setattr(train_trainer, "save_checkpoint", real)
    with pytest.raises(InputError, match="different settings"):
        fit(table, copy_config(config, resume=True, lr_heads=0.5), folder=tmp_path / "resumed")
    resumed = fit(table, copy_config(config, resume=True), folder=tmp_path / "resumed")
    assert resumed.model is not None and straight.model is not None
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3, 4]
    with open(tmp_path / "resumed" / "log.csv", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 4
    assert any((log_dir / "tensorboard").iterdir())
    assert not (log_dir / "checkpoint.pt").exists()
