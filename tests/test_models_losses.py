"""Losses: SupCon against pytorch-metric-learning and a naive loop, batch-hard triplet, NT-Xent."""

from __future__ import annotations

import math

import pytest
import pytorch_metric_learning.losses as pml_losses
import torch
import torch.nn.functional as F

from vendorlink.models.losses import (
    CrossEntropy,
    InfoNCE,
    NTXent,
    SupConLoss,
    TripletLoss,
    WeightedSum,
    make_loss,
)


def naive_supcon(z: torch.Tensor, y: torch.Tensor, tau: float) -> torch.Tensor:
    """Khosla et al. eq. 2, written as loops over anchors and positives."""
    z = F.normalize(z.double(), dim=1)
    terms = []
    for i in range(len(y)):
        positives = [p for p in range(len(y)) if p != i and y[p] == y[i]]
        if not positives:
            continue
        denom = sum(math.exp(float(z[i] @ z[a]) / tau) for a in range(len(y)) if a != i)
        inner = [math.log(math.exp(float(z[i] @ z[p]) / tau) / denom) for p in positives]
        terms.append(-sum(inner) / len(positives))
    return torch.tensor(sum(terms) / len(terms), dtype=torch.float64)


def naive_batch_hard(z: torch.Tensor, y: torch.Tensor, margin: float) -> torch.Tensor:
    z = F.normalize(z.double(), dim=1)
    terms = []
    for a in range(len(y)):
        pos = [float((z[a] - z[p]).norm()) for p in range(len(y)) if p != a and y[p] == y[a]]
        neg = [float((z[a] - z[n]).norm()) for n in range(len(y)) if y[n] != y[a]]
        if pos and neg:
            terms.append(max(0.0, max(pos) - min(neg) + margin))
    return torch.tensor(sum(terms) / len(terms), dtype=torch.float64)


LABEL_SETS = [
    [0, 0, 1, 1, 2, 2, 3, 3],
    [0, 0, 0, 1, 2, 3, 3, 4, 5, 5],  # labels 1, 2, 4 appear once: anchors left out
    [7, 7, 7, 7, 1, 1],
]


@pytest.mark.parametrize("labels", LABEL_SETS)
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_supcon_matches_pml_and_naive(labels: list[int], tau: float) -> None:
    gen = torch.Generator().manual_seed(len(labels))
    z = torch.randn(len(labels), 6, generator=gen)
    y = torch.tensor(labels)
    ours = SupConLoss(temperature=tau)(embeddings=z, labels=y)
    reference = pml_losses.SupConLoss(temperature=tau)(z, y)
    assert torch.allclose(ours, reference, atol=1e-5)
    assert torch.allclose(ours.double(), naive_supcon(z, y, tau), atol=1e-5)


def test_supcon_no_positive_pair_is_zero_with_gradient() -> None:
    z = torch.randn(4, 3, requires_grad=True)
    loss = SupConLoss()(embeddings=z, labels=torch.arange(4))
    assert loss.item() == 0.0
    loss.backward()
    assert z.grad is not None


def test_supcon_gradients_flow_and_finite() -> None:
    z = torch.randn(6, 4, requires_grad=True)
    SupConLoss()(embeddings=z, labels=torch.tensor([0, 0, 1, 1, 2, 3])).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


@pytest.mark.parametrize("labels", LABEL_SETS)
def test_triplet_batch_hard_matches_naive(labels: list[int]) -> None:
    gen = torch.Generator().manual_seed(3)
    z = torch.randn(len(labels), 5, generator=gen, requires_grad=True)
    y = torch.tensor(labels)
    ours = TripletLoss(margin=0.3)(embeddings=z, labels=y)
    assert torch.allclose(ours.double(), naive_batch_hard(z.detach(), y, 0.3), atol=1e-5)
    ours.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all()


def test_triplet_matches_pml_batch_hard_miner() -> None:
    from pytorch_metric_learning.miners import BatchHardMiner
    from pytorch_metric_learning.reducers import MeanReducer

    gen = torch.Generator().manual_seed(5)
    z = torch.randn(10, 5, generator=gen)
    y = torch.tensor(LABEL_SETS[1])
    pml = pml_losses.TripletMarginLoss(margin=0.3, reducer=MeanReducer())
    reference = pml(z, y, BatchHardMiner()(z, y))
    assert torch.allclose(TripletLoss(margin=0.3)(embeddings=z, labels=y), reference, atol=1e-5)


def test_ntxent_matches_pml_and_is_symmetric() -> None:
    gen = torch.Generator().manual_seed(1)
    a, b = torch.randn(5, 4, generator=gen), torch.randn(5, 4, generator=gen)
    loss = NTXent(temperature=0.2)
    ours = loss(pair=(a, b))
    assert torch.allclose(ours, loss(pair=(b, a)), atol=1e-6)
    labels = torch.cat([torch.arange(5), torch.arange(5)])
    reference = pml_losses.NTXentLoss(temperature=0.2)(torch.cat([a, b]), labels)
    assert torch.allclose(ours, reference, atol=1e-5)


@pytest.mark.parametrize("loss", [NTXent(temperature=0.01), InfoNCE(temperature=0.01)])
def test_pair_losses_near_zero_for_aligned_pairs(loss: torch.nn.Module) -> None:
    a = torch.eye(4, 8)  # orthogonal rows
    assert loss(pair=(a, a.clone() * 3.0)).item() < 1e-6  # scale-free (normalised inside)
    assert loss(pair=(a, a.flip(0))).item() > 1.0


def test_infonce_symmetric_and_matches_clip_formula() -> None:
    gen = torch.Generator().manual_seed(2)
    a, b = torch.randn(6, 4, generator=gen), torch.randn(6, 4, generator=gen)
    loss = InfoNCE(temperature=0.1)
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / 0.1
    target = torch.arange(6)
    expected = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
    assert torch.allclose(loss(pair=(a, b)), expected, atol=1e-6)
    assert torch.allclose(loss(pair=(a, b)), loss(pair=(b, a)), atol=1e-6)
    a.requires_grad_(True)
    loss(pair=(a, b)).backward()
    assert a.grad is not None and a.grad.abs().sum() > 0


def test_weighted_sum_total_and_parts() -> None:
    z = torch.randn(6, 4, requires_grad=True)
    logits = torch.randn(6, 3, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    combined = WeightedSum([(CrossEntropy(), 1.0), (SupConLoss(), 0.5), (SupConLoss(0.5), 2.0)])
    total, parts = combined(embeddings=z, logits=logits, labels=y)
    assert set(parts) == {"ce", "supcon", "supcon_2"}
    expected = parts["ce"] + 0.5 * parts["supcon"] + 2.0 * parts["supcon_2"]
    assert torch.allclose(total, expected)
    total.backward()
    assert z.grad is not None and logits.grad is not None


def test_weighted_sum_averages_embedding_losses_over_views() -> None:
    gen = torch.Generator().manual_seed(3)
    text = torch.randn(6, 4, generator=gen, requires_grad=True)
    image = torch.randn(5, 4, generator=gen, requires_grad=True)
    logits = torch.randn(6, 3, generator=gen, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    y_image = torch.tensor([0, 0, 1, 2, 2])
    combined = WeightedSum([(CrossEntropy(), 1.0), (SupConLoss(), 0.5), (TripletLoss(), 1.0)])
    views = [(text, y), (image, y_image), (torch.randn(1, 4), torch.tensor([0]))]
    total, parts = combined(embeddings=None, logits=logits, labels=y, views=views)
    supcon = (
        SupConLoss()(embeddings=text, labels=y) + SupConLoss()(embeddings=image, labels=y_image)
    ) / 2
    triplet = (
        TripletLoss()(embeddings=text, labels=y) + TripletLoss()(embeddings=image, labels=y_image)
    ) / 2
    assert torch.allclose(parts["supcon"], supcon)  # the one-row view is left out
    assert torch.allclose(parts["triplet"], triplet)
    assert torch.allclose(parts["ce"], CrossEntropy()(logits=logits, labels=y))  # once, on logits
    assert torch.allclose(total, parts["ce"] + 0.5 * supcon + triplet)
    total.backward()
    assert text.grad is not None and image.grad is not None and text.grad.abs().sum() > 0
    tiny = [(torch.randn(1, 4, requires_grad=True), torch.tensor([0]))]
    alone, _ = WeightedSum([(SupConLoss(), 1.0)])(views=tiny)
    assert float(alone) == 0.0 and alone.requires_grad  # no usable view: zero, still a graph
    with pytest.raises(ValueError, match="at least one"):
        combined(logits=logits, labels=y, views=[])


def test_make_loss_and_missing_inputs() -> None:
    loss = make_loss("ce+triplet", weights=[1.0, 0.2], margin=0.5)
    assert loss.names == ["ce", "triplet"]
    assert loss.losses[1].margin == 0.5
    with pytest.raises(ValueError, match="not accepted"):
        make_loss("ce+supcon", temprature=0.1)
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("ce+arcface")
    with pytest.raises(ValueError, match="logits"):
        CrossEntropy()(labels=torch.tensor([0]))
    with pytest.raises(ValueError, match="labels must be"):
        SupConLoss()(embeddings=torch.randn(3, 2), labels=torch.tensor([0, 1]))


def test_infonce_masks_same_vendor_negatives() -> None:
    gen = torch.Generator().manual_seed(4)
    a, b = torch.randn(4, 3, generator=gen), torch.randn(4, 3, generator=gen)
    labels = torch.tensor([0, 0, 1, 2])
    masked = InfoNCE(temperature=0.5, symmetric=False, mask_same_label=True)
    logits = F.normalize(a, dim=1) @ F.normalize(b, dim=1).T / 0.5
    logits[0, 1] = logits[1, 0] = float("-inf")
    expected = F.cross_entropy(logits, torch.arange(4))
    assert torch.allclose(masked(pair=(a, b), labels=labels), expected, atol=1e-6)
    assert torch.allclose(masked(pair=(a, b)), InfoNCE(0.5, symmetric=False)(pair=(a, b)))
