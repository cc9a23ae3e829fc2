"""Fusion modules: shapes, missing-modality behaviour, gradients; image pooling; heads."""

from __future__ import annotations

import pytest
import torch

from vendorlink.models import (
    FUSIONS,
    ClassificationHead,
    EmbeddingHead,
    ImagePooling,
    InteractionFeatures,
    Projection,
    aggregate_images,
    make_fusion,
)
from vendorlink.models.heads import CosineLinear

DIM = 8
NAMES = sorted(FUSIONS)


def inputs(n: int = 4) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(0)
    t = torch.randn(n, DIM, generator=gen)
    v = torch.randn(n, DIM, generator=gen)
    has_text = torch.tensor([True, True, False, True])[:n]
    has_image = torch.tensor([True, False, True, True])[:n]
    return t, v, has_text, has_image


@pytest.mark.parametrize("name", NAMES)
def test_shapes_and_gradients(name: str) -> None:
    torch.manual_seed(0)
    fusion = make_fusion(name, DIM)
    t, v, has_text, has_image = inputs()
    t.requires_grad_(True)
    v.requires_grad_(True)
    out = fusion(t, v, has_text, has_image)
    assert out.shape == (4, fusion.out_dim)
    assert torch.isfinite(out).all()
    # A random projection (a plain sum is constant after AttentionFusion's LayerNorm).
    (out * torch.randn(out.shape, generator=torch.Generator().manual_seed(1))).sum().backward()
    assert t.grad is not None and v.grad is not None
    # Missing vectors get no gradient: row 2 has no text, row 1 no image.
    assert t.grad[2].abs().sum() == 0 and v.grad[1].abs().sum() == 0
    assert t.grad[0].abs().sum() > 0 and v.grad[0].abs().sum() > 0
    for p in fusion.parameters():
        assert p.grad is not None


@pytest.mark.parametrize("name", NAMES)
def test_missing_modality_does_not_depend_on_its_slot(name: str) -> None:
    torch.manual_seed(0)
    fusion = make_fusion(name, DIM).eval()
    t, v, has_text, has_image = inputs()
    base = fusion(t, v, has_text, has_image)
    v2, t2 = v.clone(), t.clone()
    v2[1] = 100.0  # row 1 is text-only
    t2[2] = -7.0  # row 2 is image-only
    again = fusion(t2, v2, has_text, has_image)
    assert torch.allclose(base, again, atol=1e-6)
    # Defaults (flags None) mean both present.
    assert fusion(t, v).shape == base.shape


def test_single_modality_pass_through() -> None:
    t, v, has_text, has_image = inputs()
    for name in ("mean", "sum", "product", "gated"):
        out = make_fusion(name, DIM)(t, v, has_text, has_image)
        assert torch.allclose(out[1], t[1]) and torch.allclose(out[2], v[2]), name
    assert torch.allclose(make_fusion("mean", DIM)(t, v)[0], (t[0] + v[0]) / 2)


def test_neither_modality_is_an_error() -> None:
    t, v, _, _ = inputs()
    none = torch.zeros(4, dtype=torch.bool)
    with pytest.raises(ValueError, match="neither"):
        make_fusion("mean", DIM)(t, v, none, none)
    with pytest.raises(ValueError, match="unknown fusion"):
        make_fusion("qformer", DIM)


def test_interaction_features_and_projection() -> None:
    t, v, has_text, has_image = inputs()
    features = InteractionFeatures(make_fusion("gated", DIM))
    out = features(t, v, has_text, has_image)
    assert out.shape == (4, features.out_dim) == (4, 5 * DIM)
    row = out[0]
    assert torch.allclose(row[3 * DIM : 4 * DIM], (t[0] - v[0]).abs())
    assert torch.allclose(row[4 * DIM :], t[0] * v[0])
    assert torch.all(out[1, 2 * DIM : 3 * DIM] == 0)  # text-only: v slot zero
    proj = Projection(5 * DIM, 6, layer_norm=True, dropout=0.1)
    assert proj(out).shape == (4, 6)


def test_aggregate_images_modes() -> None:
    vectors = torch.tensor([[1.0, 0.0], [3.0, 2.0], [5.0, -1.0], [0.0, 4.0]])
    ad_index = torch.tensor([0, 0, 2, 2])
    mean, has = aggregate_images(vectors, ad_index, "mean", num_ads=4)
    assert has.tolist() == [True, False, True, False]
    assert torch.allclose(mean[0], torch.tensor([2.0, 1.0]))
    assert torch.all(mean[1] == 0) and torch.all(mean[3] == 0)
    maxed, _ = aggregate_images(vectors, ad_index, "max", num_ads=4)
    assert torch.allclose(maxed[2], torch.tensor([5.0, 4.0]))
    scores = torch.tensor([0.0, 0.0, 100.0, 0.0])
    att, _ = aggregate_images(vectors, ad_index, "attention", num_ads=4, scores=scores)
    assert torch.allclose(att[0], mean[0]) and torch.allclose(att[2], vectors[2], atol=1e-4)
    with pytest.raises(ValueError, match="scores"):
        aggregate_images(vectors, ad_index, "attention")
    pool = ImagePooling(2, "attention")
    x = vectors.clone().requires_grad_(True)
    out, _ = pool(x, ad_index, num_ads=3)
    out.sum().backward()
    assert out.shape == (3, 2) and x.grad is not None and pool.scorer.weight.grad is not None


def test_heads() -> None:
    x = torch.randn(3, DIM)
    assert ClassificationHead(DIM, 5, hidden_dims=(16,))(x).shape == (3, 5)
    z = EmbeddingHead(DIM, 4)(x)
    assert z.shape == (3, 4) and torch.allclose(z.norm(dim=1), torch.ones(3))


def test_cosine_classifier_depends_only_on_direction() -> None:
    torch.manual_seed(0)
    head = ClassificationHead(DIM, 5, cosine_scale=10.0)
    assert isinstance(head.net[-1], CosineLinear)
    x = torch.randn(3, DIM, requires_grad=True)
    logits = head(x)
    assert logits.shape == (3, 5) and float(logits.abs().max()) <= 10.0 + 1e-5
    torch.testing.assert_close(head(3.0 * x), logits)  # scale of the input does not matter
    logits.sum().backward()
    assert x.grad is not None and head.net[-1].weight.grad is not None
    with pytest.raises(ValueError, match="scale"):
        CosineLinear(DIM, 5, scale=0.0)
