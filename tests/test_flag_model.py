"""Flag network, metrics and calibration (no workspace, no encoders)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vendorlink.errors import InputError
from vendorlink.flag.metrics import calibrate_thresholds, macro_roc_auc, multilabel_metrics
from vendorlink.flag.model import FlagConfig, FlagNetwork
from vendorlink.flag.train import sample_weights, warmup_cosine
from vendorlink.models.fusion import GatedFusion, InteractionFeatures


def _config(**kw: object) -> FlagConfig:
    base = {"labels": ["a", "b", "c"], "text_dim": 6, "image_dim": 10, "fusion_dim": 8,
            "hidden": (16,), "dropout": 0.0}  # fmt: skip
    return FlagConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_network_uses_shared_fusion_modules_and_widths() -> None:
    net = FlagNetwork(_config())
    assert isinstance(net.features, InteractionFeatures)
    assert isinstance(net.features.fusion, GatedFusion)
    assert net.head.in_dim == 8 + 4 * 8
    assert FlagNetwork(_config(interactions=False)).head.in_dim == 8
    assert FlagNetwork(_config(modality="text")).image_projection is None
    out = net(torch.randn(5, 6), torch.randn(5, 10))
    assert out.shape == (5, 3)
    assert FlagNetwork(_config(labels=["only"]))(torch.randn(2, 6), torch.randn(2, 10)).shape == (
        2,
        1,
    )


def test_missing_modality_never_influences_the_output() -> None:
    net = FlagNetwork(_config()).eval()
    text = torch.randn(4, 6)
    image = torch.randn(4, 10)
    no_image = torch.zeros(4, dtype=torch.bool)
    yes = torch.ones(4, dtype=torch.bool)
    a = net(text, image, yes, no_image)
    b = net(text, image * 100, yes, no_image)
    c = net(text, None)  # text-only call
    assert torch.allclose(a, b) and torch.allclose(a, c)
    d = net(None, image)  # image-only call
    e = net(text * 7, image, torch.zeros(4, dtype=torch.bool), yes)
    assert torch.allclose(d, e)
    with pytest.raises(ValueError, match="neither"):
        net(text, image, torch.zeros(4, dtype=torch.bool), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(InputError, match="without text"):
        FlagNetwork(_config(modality="text"))(text, None, torch.tensor([1, 0, 1, 1]).bool())


def test_config_validation_and_roundtrip() -> None:
    cfg = _config(hidden=(4, 2))
    assert FlagConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(InputError, match="at least one label"):
        FlagConfig(labels=[])
    with pytest.raises(InputError, match="repeat"):
        FlagConfig(labels=["a", "a"])
    with pytest.raises(InputError, match="modality"):
        FlagConfig(labels=["a"], modality="audio")  # type: ignore[arg-type]


def test_metrics_match_definitions() -> None:
    from sklearn.metrics import f1_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = (rng.random((200, 3)) < 0.3).astype(int)
    p = np.clip(y * 0.4 + rng.random((200, 3)) * 0.6, 0, 1)
    m = multilabel_metrics(y, p, 0.5, ["x", "y", "z"])
    pred = (p >= 0.5).astype(int)
    assert m["f1_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert m["f1_micro"] == pytest.approx(f1_score(y, pred, average="micro"))
    aucs = [roc_auc_score(y[:, j], p[:, j]) for j in range(3)]
    assert m["roc_auc_macro"] == pytest.approx(np.mean(aucs))
    assert [r["support"] for r in m["per_label"]] == y.sum(axis=0).tolist()
    y[:, 2] = 0  # one class only: skipped in the AUC mean
    assert macro_roc_auc(y, p) == pytest.approx(np.mean(aucs[:2]))
    assert multilabel_metrics(y, p)["labels_without_auc"] == 1


def test_calibrated_thresholds_maximise_f1() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((300, 2)) < 0.2).astype(int)
    p = np.clip(0.15 + 0.2 * y + rng.normal(0, 0.08, (300, 2)), 0, 1)  # all below 0.5
    thr = calibrate_thresholds(y, p)
    tuned = multilabel_metrics(y, p, thr)["f1_macro"]
    assert tuned > multilabel_metrics(y, p, 0.5)["f1_macro"]

    def f1(j: int, t: float) -> float:
        pred = p[:, j] >= t
        tp = float((pred & (y[:, j] == 1)).sum())
        return 2 * tp / (pred.sum() + y[:, j].sum())

    for j in range(2):  # no threshold on a fine grid does better
        assert f1(j, thr[j]) >= max(f1(j, t) for t in np.linspace(0, 1, 401)) - 1e-12
        assert f1(j, thr[j]) == pytest.approx(
            multilabel_metrics(y[:, [j]], p[:, [j]], thr[j])["f1_macro"]
        )
    assert calibrate_thresholds(np.zeros((5, 1)), np.full((5, 1), 0.3)).tolist() == [0.5]


def test_schedule_and_sampling_weights() -> None:
    f = warmup_cosine(100, 0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(55) == pytest.approx(0.5)
    assert f(100) == pytest.approx(0.0, abs=1e-9)
    y = np.array([[1, 0], [0, 0], [0, 0], [0, 0], [0, 1], [0, 1]])
    w = sample_weights(y)
    assert w.sum() == pytest.approx(1.0)
    assert w[0] > w[4] > w[1]  # the rarest label's ad is drawn most often
