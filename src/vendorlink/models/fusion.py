"""Fusion of a text vector and an image vector, with modality-presence flags.

Every fusion module is called as ``fusion(t, v, has_text=None, has_image=None)`` with
``t`` and ``v`` of shape ``(N, dim)`` (already projected to the same width) and boolean
``(N,)`` presence flags (``None`` = present for every sample). A missing modality never
influences the output: its vector is masked out before use, so a text-only ad fuses to the
same vector whatever is in its (zero) image slot. A sample with neither modality is an
input error (``ValueError`` naming the rows). ``module.out_dim`` is the output width.

- :class:`MeanFusion` (the MATCHED benchmark): mean of the present vectors.
- :class:`SumFusion`: sum of the present vectors.
- :class:`ProductFusion`: element-wise product of the present vectors (a missing one acts
  as all-ones, so a single present modality passes through unchanged).
- :class:`ConcatFusion`: ``[t * has_text, v * has_image, flags]`` (zeros for a missing one).
- :class:`AttentionFusion`: a learned query attends over the two modality tokens, with the
  missing token masked out of the attention.
- :class:`GatedFusion`: a learned per-dimension gate ``g = sigmoid(W [t, v, flags] + b)``,
  ``g * t + (1 - g) * v``; ``g`` is forced to 1 (text only) or 0 (image only) when a
  modality is missing (the gated late fusion of the CLIP fusion model card).

Also :class:`InteractionFeatures` (``[fused, t, v, |t - v|, t * v]``), :class:`Projection`,
:func:`aggregate_images` / :class:`ImagePooling` (one vector per ad from its images) and the
:func:`make_fusion` factory.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

__all__ = [
    "FUSIONS",
    "AttentionFusion",
    "ConcatFusion",
    "Fusion",
    "GatedFusion",
    "ImagePooling",
    "InteractionFeatures",
    "MeanFusion",
    "ProductFusion",
    "Projection",
    "SumFusion",
    "aggregate_images",
    "fusion_has_weights",
    "make_fusion",
]

PoolMode = Literal["mean", "max", "attention"]


def presence_masks(
    t: Tensor, v: Tensor, has_text: Tensor | None, has_image: Tensor | None
) -> tuple[Tensor, Tensor]:
    """Validated ``(N, 1)`` float masks for text and image (1 = present)."""
    if t.dim() != 2 or t.shape != v.shape:
        raise ValueError(
            f"text and image vectors must both be (N, dim), got {tuple(t.shape)} "
            f"and {tuple(v.shape)}"
        )
    n = t.shape[0]
    flags = []
    for name, flag in (("has_text", has_text), ("has_image", has_image)):
        if flag is None:
            flag = torch.ones(n, dtype=torch.bool, device=t.device)
        if flag.shape != (n,):
            raise ValueError(f"{name} must be a ({n},) bool tensor, got {tuple(flag.shape)}")
        flags.append(flag.to(device=t.device, dtype=torch.bool))
    neither = ~(flags[0] | flags[1])
    if bool(neither.any()):
        rows = torch.nonzero(neither).flatten().tolist()[:10]
        raise ValueError(f"samples with neither text nor image cannot be fused (rows {rows})")
    return flags[0].to(t.dtype).unsqueeze(1), flags[1].to(t.dtype).unsqueeze(1)


class Fusion(nn.Module):
    """Base class: ``forward(t, v, has_text=None, has_image=None) -> (N, out_dim)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.out_dim = dim

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        raise NotImplementedError


class MeanFusion(Fusion):
    """Mean of the present modality vectors (``t`` alone, ``v`` alone, or ``(t + v) / 2``)."""

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        return (t * mt + v * mv) / (mt + mv)


class SumFusion(Fusion):
    """Sum of the present modality vectors."""

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        return t * mt + v * mv


class ProductFusion(Fusion):
    """Element-wise product of the present vectors; a missing modality counts as all-ones."""

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        return torch.where(mt.bool(), t, 1.0) * torch.where(mv.bool(), v, 1.0)


class ConcatFusion(Fusion):
    """``[t * has_text, v * has_image]`` plus the two flags when ``with_flags`` (default).

    Output width ``2 * dim (+ 2)``. The flags let a head tell "missing" from "zero".
    """

    def __init__(self, dim: int, with_flags: bool = True) -> None:
        super().__init__(dim)
        self.with_flags = with_flags
        self.out_dim = 2 * dim + (2 if with_flags else 0)

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        parts = [t * mt, v * mv]
        if self.with_flags:
            parts += [mt, mv]
        return torch.cat(parts, dim=1)


class AttentionFusion(Fusion):
    """A learned query attends over the modality tokens ``[t + e_text, v + e_image]``.

    Missing modality tokens are excluded with a key-padding mask, so a text-only sample's
    output is a function of ``t`` only. Multi-head attention (``num_heads`` must divide
    ``dim``), then a residual LayerNorm; output width ``dim``.
    """

    def __init__(self, dim: int, num_heads: int = 1, dropout: float = 0.0) -> None:
        super().__init__(dim)
        if dim % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide dim={dim}")
        self.query = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
        self.modality_embedding = nn.Parameter(torch.zeros(2, dim))
        self.attention = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        tokens = torch.stack([t * mt, v * mv], dim=1) + self.modality_embedding
        ignore = torch.cat([mt, mv], dim=1) == 0  # (N, 2), True = masked out
        query = self.query.expand(t.shape[0], -1, -1)
        pooled, _ = self.attention(query, tokens, tokens, key_padding_mask=ignore)
        pooled = pooled.squeeze(1)
        # Residual: the masked mean of the present tokens (independent of masked ones).
        mean = (t * mt + v * mv) / (mt + mv)
        return self.norm(mean + pooled)


class GatedFusion(Fusion):
    """Gated late fusion: ``g = sigmoid(W [t, v, has_text, has_image] + b)``, per dimension.

    ``fused = g * t + (1 - g) * v`` when both are present; ``g = 1`` (``t``) when the image
    is missing and ``g = 0`` (``v``) when the text is missing. Missing vectors are zeroed
    before the gate sees them. Output width ``dim``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__(dim)
        self.gate = nn.Linear(2 * dim + 2, dim)

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        t, v = t * mt, v * mv
        g = torch.sigmoid(self.gate(torch.cat([t, v, mt, mv], dim=1)))
        g = torch.where(mv.bool(), g, 1.0)  # image missing -> text only
        g = torch.where(mt.bool(), g, 0.0)  # text missing -> image only
        return g * t + (1.0 - g) * v


class InteractionFeatures(nn.Module):
    """``[fused, t, v, |t - v|, t * v]`` around a fusion module (missing vectors zeroed).

    Output width ``fusion.out_dim + 4 * dim``.
    """

    def __init__(self, fusion: Fusion) -> None:
        super().__init__()
        self.fusion = fusion
        self.out_dim = fusion.out_dim + 4 * fusion.dim

    def forward(
        self,
        t: Tensor,
        v: Tensor,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mt, mv = presence_masks(t, v, has_text, has_image)
        fused = self.fusion(t, v, has_text, has_image)
        t, v = t * mt, v * mv
        return torch.cat([fused, t, v, (t - v).abs(), t * v], dim=1)


class Projection(nn.Module):
    """``Linear(in_dim, out_dim)``, then optional ``LayerNorm`` and dropout."""

    def __init__(
        self, in_dim: int, out_dim: int, layer_norm: bool = True, dropout: float = 0.0
    ) -> None:
        super().__init__()
        self.in_dim, self.out_dim = in_dim, out_dim
        self.linear = nn.Linear(in_dim, out_dim)
        self.norm: nn.Module = nn.LayerNorm(out_dim) if layer_norm else nn.Identity()
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.norm(self.linear(x)))


def aggregate_images(
    vectors: Tensor,
    ad_index: Tensor,
    mode: PoolMode = "mean",
    num_ads: int | None = None,
    scores: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Pool the image vectors of each ad into one vector.

    ``vectors`` is ``(M, dim)``, ``ad_index`` ``(M,)`` int64 in ``[0, num_ads)`` (the ad each
    image belongs to). ``mode``: ``"mean"``, ``"max"`` (element-wise), or ``"attention"``
    (softmax of ``scores`` ``(M,)`` within each ad, then the weighted sum; see
    :class:`ImagePooling` for learned scores). Returns ``(pooled, has_image)``: ``(num_ads,
    dim)`` and ``(num_ads,)`` bool; an ad without images gets zeros and ``has_image=False``.
    """
    if vectors.dim() != 2 or ad_index.shape != (vectors.shape[0],):
        raise ValueError(
            f"vectors must be (M, dim) and ad_index (M,), got {tuple(vectors.shape)} "
            f"and {tuple(ad_index.shape)}"
        )
    ad_index = ad_index.long()
    if num_ads is None:
        num_ads = int(ad_index.max()) + 1 if ad_index.numel() else 0
    if ad_index.numel() and (int(ad_index.min()) < 0 or int(ad_index.max()) >= num_ads):
        raise ValueError(f"ad_index values must lie in [0, {num_ads})")
    dim = vectors.shape[1]
    counts = torch.zeros(num_ads, device=vectors.device, dtype=vectors.dtype)
    counts.index_add_(0, ad_index, torch.ones_like(ad_index, dtype=vectors.dtype))
    has_image = counts > 0
    out = torch.zeros(num_ads, dim, device=vectors.device, dtype=vectors.dtype)
    if mode == "mean":
        out = out.index_add(0, ad_index, vectors) / counts.clamp(min=1).unsqueeze(1)
    elif mode == "max":
        index = ad_index.unsqueeze(1).expand(-1, dim)
        out = out.scatter_reduce(0, index, vectors, reduce="amax", include_self=False)
    elif mode == "attention":
        if scores is None or scores.shape != ad_index.shape:
            raise ValueError("mode='attention' needs scores of shape (M,)")
        seg_max = torch.full((num_ads,), float("-inf"), device=scores.device, dtype=scores.dtype)
        seg_max = seg_max.scatter_reduce(0, ad_index, scores, reduce="amax", include_self=True)
        weights = torch.exp(scores - seg_max[ad_index].detach())
        denom = torch.zeros(num_ads, device=scores.device, dtype=scores.dtype)
        denom = denom.index_add(0, ad_index, weights)
        weights = weights / denom[ad_index]
        out = out.index_add(0, ad_index, vectors * weights.unsqueeze(1).to(vectors.dtype))
    else:
        raise ValueError(f"unknown pooling mode {mode!r}; choose mean, max or attention")
    return out, has_image


class ImagePooling(nn.Module):
    """:func:`aggregate_images` as a module; ``"attention"`` learns ``score = w . x + b``."""

    def __init__(self, dim: int, mode: PoolMode = "mean") -> None:
        super().__init__()
        self.mode = mode
        self.scorer = nn.Linear(dim, 1) if mode == "attention" else None

    def forward(
        self, vectors: Tensor, ad_index: Tensor, num_ads: int | None = None
    ) -> tuple[Tensor, Tensor]:
        scores = self.scorer(vectors).squeeze(1) if self.scorer is not None else None
        return aggregate_images(vectors, ad_index, self.mode, num_ads=num_ads, scores=scores)


FUSIONS: dict[str, type[Fusion]] = {
    "mean": MeanFusion,
    "sum": SumFusion,
    "add": SumFusion,
    "product": ProductFusion,
    "multiply": ProductFusion,
    "concat": ConcatFusion,
    "attention": AttentionFusion,
    "gated": GatedFusion,
}


def fusion_has_weights(name: str) -> bool:
    """Whether the fusion module ``name`` has trainable weights of its own."""
    return any(True for _ in make_fusion(name, 2).parameters())


def make_fusion(name: str, dim: int, **options: object) -> Fusion:
    """Build a fusion module by name (``mean``, ``sum``/``add``, ``product``/``multiply``,
    ``concat``, ``attention``, ``gated``); ``options`` go to its constructor."""
    try:
        cls = FUSIONS[name.lower()]
    except KeyError:
        raise ValueError(f"unknown fusion {name!r}; choose from {sorted(FUSIONS)}") from None
    return cls(dim, **options)  # type: ignore[arg-type]
