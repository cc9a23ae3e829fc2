"""Training regime (a) on synthetic cached vectors: sampler, loss goes down, seeded, saved."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from vendorlink.errors import InputError
from vendorlink.models.multimodal import VendorModel
from vendorlink.train import AdTable, TrainConfig, copy_config, fit, vendor_batches


def separable_table(n_vendors: int = 6, per_vendor: int = 10, seed: int = 0) -> AdTable:
    """Each vendor has a text centre and an image centre; ads are noisy copies of them."""
    rng = np.random.default_rng(seed)
    text_c = rng.normal(size=(n_vendors, 16))
    image_c = rng.normal(size=(n_vendors, 24))
    vendor = np.repeat(np.arange(n_vendors), per_vendor)
    n = len(vendor)
    text = (text_c[vendor] + 0.8 * rng.normal(size=(n, 16))).astype(np.float32)
    image = (image_c[vendor] + 0.8 * rng.normal(size=(n, 24))).astype(np.float32)
    part = np.array([["train"] * 7 + ["val"] * 2 + ["test"]][0] * n_vendors, dtype=object)
    has_text = np.ones(n, dtype=bool)
    has_image = np.ones(n, dtype=bool)
    has_text[::9] = False  # a few image-only and text-only ads
    text[~has_text] = 0
    has_image[4::11] = False
    image[~has_image] = 0
    return AdTable(
        ad_ids=np.array([f"ad{i:03d}" for i in range(n)], dtype=object),
        vendor=np.array([f"v{v}" for v in vendor], dtype=object),
        part=part,
        domain=np.array(["in"] * n, dtype=object),
        text=text,
        image=image,
        has_text=has_text,
        has_image=has_image,
        text_encoder="text-enc",
        image_encoder="image-enc",
    )


CONFIG = TrainConfig(
    name="t",
    dim=16,
    epochs=6,
    vendors_per_batch=3,
    ads_per_vendor=4,
    patience=0,
    lr_projection=1e-2,
    lr_heads=1e-2,
    dropout=0.0,
)


def test_vendor_batches_cover_every_ad_once_with_positives() -> None:
    labels = np.repeat(np.arange(5), [7, 1, 4, 9, 3])
    batches = vendor_batches(labels, 2, 3, np.random.default_rng(0))
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(len(labels)))
    assert all(len(b) <= 2 * 3 + 2 for b in batches)
    with_positive = [b for b in batches if len(np.unique(labels[b])) < len(b)]
    assert len(with_positive) >= len(batches) - 1
    again = vendor_batches(labels, 2, 3, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))


def test_loss_decreases_and_the_model_separates_vendors(tmp_path: Path) -> None:
    table = separable_table()
    result = fit(table, CONFIG, folder=tmp_path / "m")
    losses = [row["train_loss"] for row in result.history]
    assert losses[-1] < losses[0] * 0.85
    assert min(losses[-2:]) < min(losses[:2])
    assert result.history[-1]["train_ce"] < 0.6 * result.history[0]["train_ce"]
    assert result.best_score > 0.8  # validation R-Precision on a separable set
    assert result.n_vendors == 6 and result.n_train == 42


def test_same_seed_same_weights_and_the_folder_loads(tmp_path: Path) -> None:
    table = separable_table()
    config = copy_config(CONFIG, epochs=2, grad_accumulation=2, fusion="gated")
    a = fit(table, config, folder=tmp_path / "a")
    b = fit(table, config, folder=tmp_path / "b")
    c = fit(table, copy_config(config, seed=1))
    assert a.model is not None and b.model is not None and c.model is not None
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    loaded = VendorModel.load(tmp_path / "a")
    assert all(torch.equal(sa[k], loaded.state_dict()[k]) for k in sa)
    assert loaded.vendors == [f"v{i}" for i in range(6)]
    with open(tmp_path / "a" / "log.csv", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["epoch"] for r in rows] == ["1", "2"]
    assert {"train_loss", "train_ce", "train_supcon", "val_r_precision"} <= set(rows[0])
    assert (tmp_path / "a" / "train_config.json").is_file()


@pytest.mark.parametrize("modality", ["text", "image"])
def test_single_modality_training_uses_only_ads_with_it(modality: str) -> None:
    table = separable_table()
    result = fit(table, copy_config(CONFIG, modality=modality, epochs=1, loss="supcon"))
    has = table.has_text if modality == "text" else table.has_image
    assert result.n_train == int((has & (table.part == "train")).sum())
    assert result.model is not None and result.model.classifier is None


def test_early_stopping_keeps_the_best_epoch() -> None:
    table = separable_table()
    result = fit(table, copy_config(CONFIG, epochs=12, patience=2, lr_heads=0.05))
    scores = [row["val_r_precision"] for row in result.history]
    assert result.best_score == max(scores)
    assert result.best_epoch == scores.index(max(scores)) + 1
    assert result.epochs_run <= result.best_epoch + 2


def test_bad_configs_are_refused() -> None:
    with pytest.raises(InputError, match="epochs"):
        TrainConfig(epochs=0)
    with pytest.raises(InputError, match="unknown train config keys"):
        TrainConfig.from_dict({"epochz": 3})
    table = separable_table()
    with pytest.raises(InputError, match="no labelled"):
        fit(table, copy_config(CONFIG, train_domain="out"))
