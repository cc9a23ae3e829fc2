"""Multi-label losses: BCE with positive weights, focal and asymmetric losses."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vendorlink.models.multilabel_losses import (
    AsymmetricLoss,
    FocalLoss,
    MultiLabelBCE,
    make_multilabel_loss,
    positive_weights,
)


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(16, 4, generator=g)
    labels = (torch.rand(16, 4, generator=g) > 0.7).float()
    return logits, labels


def test_bce_matches_torch_with_pos_weight(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, labels = batch
    weight = torch.tensor([1.0, 2.0, 3.0, 0.5])
    expected = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight)
    assert torch.allclose(MultiLabelBCE(weight)(logits=logits, labels=labels), expected)


def test_focal_without_focusing_is_weighted_bce(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, labels = batch
    weight = np.array([1.0, 2.0, 3.0, 0.5], dtype=np.float32)
    focal = FocalLoss(gamma=0.0, pos_weight=weight)(logits=logits, labels=labels)
    bce = MultiLabelBCE(weight)(logits=logits, labels=labels)
    assert torch.allclose(focal, bce, atol=1e-6)
    # Focusing down-weights easy examples: the loss can only shrink.
    assert FocalLoss(gamma=2.0)(logits=logits, labels=labels) < MultiLabelBCE()(
        logits=logits, labels=labels
    )


def test_focal_matches_formula() -> None:
    logits = torch.tensor([[2.0, -1.0]])
    labels = torch.tensor([[1.0, 1.0]])
    p = torch.sigmoid(logits)
    expected = (-(0.25) * (1 - p) ** 2 * torch.log(p)).mean()
    got = FocalLoss(gamma=2.0, alpha=0.25)(logits=logits, labels=labels)
    assert torch.allclose(got, expected, atol=1e-6)


def test_asl_reduces_to_bce_and_discards_easy_negatives(
    batch: tuple[torch.Tensor, torch.Tensor],
) -> None:
    logits, labels = batch
    plain = AsymmetricLoss(gamma_pos=0, gamma_neg=0, clip=0)(logits=logits, labels=labels)
    assert torch.allclose(plain, MultiLabelBCE()(logits=logits, labels=labels), atol=1e-5)
    easy_negative = torch.tensor([[-6.0]])  # p = 0.0025 < clip
    assert float(AsymmetricLoss(clip=0.05)(logits=easy_negative, labels=torch.zeros(1, 1))) == 0


def test_losses_train_a_linear_model(batch: tuple[torch.Tensor, torch.Tensor]) -> None:
    logits, labels = batch
    for name in ("bce", "focal", "asl"):
        weights = torch.zeros(4, requires_grad=True)
        loss_fn = make_multilabel_loss(name)
        before = float(loss_fn(logits=logits * 0 + weights, labels=labels).detach())
        optimiser = torch.optim.SGD([weights], lr=1.0)
        for _ in range(20):
            optimiser.zero_grad()
            loss_fn(logits=logits * 0 + weights, labels=labels).backward()
            optimiser.step()
        assert float(loss_fn(logits=logits * 0 + weights, labels=labels).detach()) < before, name


def test_positive_weights_and_errors() -> None:
    y = np.array([[1, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 0]])
    w = positive_weights(y)
    assert w.tolist() == pytest.approx([3.0, 1.0, 1 / 3])
    with pytest.raises(ValueError, match="unknown multi-label loss"):
        make_multilabel_loss("hinge")
    with pytest.raises(ValueError, match="must both be"):
        MultiLabelBCE()(logits=torch.zeros(2, 3), labels=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="pos_weight has"):
        MultiLabelBCE(np.ones(2))(logits=torch.zeros(2, 3), labels=torch.zeros(2, 3))
