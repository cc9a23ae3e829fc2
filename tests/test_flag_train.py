"""Flag training on vectors: fusion beats single modalities, calibration, save -> load."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.flag_helpers import vector_data
from vendorlink.errors import InputError
from vendorlink.flag import FlagModel, FlagResult, FlagTrainConfig, fit_flag
from vendorlink.flag.train import save_result

FAST = {
    "fusion_dim": 32, "hidden": (32,), "epochs": 6, "batch_size": 64, "lr_head": 3e-3, "threads": 1
}  # fmt: skip


@pytest.fixture(scope="module")
def fused() -> FlagResult:
    return fit_flag(vector_data(700), FlagTrainConfig(patience=3, **FAST))


def test_fused_beats_single_modalities(fused: FlagResult) -> None:
    data = vector_data(700)
    text = fit_flag(data, FlagTrainConfig(modality="text", patience=3, **FAST))
    image = fit_flag(data, FlagTrainConfig(modality="image", patience=3, **FAST))
    f1 = {
        name: r.metrics["test"]["calibrated"]["f1_macro"]
        for name, r in (("fused", fused), ("text", text), ("image", image))
    }
    assert f1["fused"] > f1["text"] + 0.1 and f1["fused"] > f1["image"] + 0.1, f1
    assert fused.metrics["test"]["calibrated"]["roc_auc_macro"] > 0.9
    assert 1 <= fused.best_epoch <= fused.epochs_run
    assert len(fused.history) == fused.epochs_run


def test_losses_sampling_and_ablations_train() -> None:
    data = vector_data(300)
    for options in (
        {"loss": "focal"},
        {"loss": "asl", "pos_weight": False},
        {"weighted_sampling": True},
        {"fusion": "mean", "interactions": False},
    ):
        cfg = FlagTrainConfig(**{**FAST, "epochs": 2, **options})  # type: ignore[arg-type]
        result = fit_flag(data, cfg)
        assert result.metrics["val"]["calibrated"]["roc_auc_macro"] > 0.55, options


def test_save_load_reproduces_probabilities_and_thresholds(
    fused: FlagResult, tmp_path: Path
) -> None:
    data = vector_data(700)
    folder = save_result(fused, tmp_path / "model", FlagTrainConfig(**FAST))
    inference = json.loads((folder / "inference_config.json").read_text("utf-8"))
    assert inference["labels"] == ["t", "v", "both"]
    assert list(inference["thresholds"].values()) == fused.model.thresholds.tolist()
    loaded = FlagModel.load(folder)
    inputs = data.inputs(np.arange(len(data)))
    before = fused.model.probabilities(**inputs)
    after = loaded.probabilities(**inputs)
    assert np.array_equal(before, after)
    assert np.array_equal(loaded.thresholds, fused.model.thresholds)
    out = loaded.predict_vectors(**data.inputs(np.array([0])))[0]
    assert set(out) == {"predictions", "probabilities"}
    assert set(out["predictions"]) == {"t", "v", "both"}
    assert all(isinstance(v, bool) for v in out["predictions"].values())
    for label, p in out["probabilities"].items():
        assert out["predictions"][label] == (p >= inference["thresholds"][label])
    (folder / "inference_config.json").unlink()
    with pytest.raises(InputError, match="not a flag model folder"):
        FlagModel.load(folder)


def test_training_errors() -> None:
    data = vector_data(200)
    data.part[:] = "train"
    with pytest.raises(InputError, match="no validation ads"):
        fit_flag(data, FlagTrainConfig(**{**FAST, "epochs": 1}))
    with pytest.raises(InputError, match="epochs"):
        FlagTrainConfig(epochs=0)
