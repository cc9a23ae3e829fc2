"""Output heads on top of a fused ad vector.

- :class:`ClassificationHead`: an MLP giving vendor logits (identify: closed-set, CE loss),
  with a plain or a cosine last layer (:class:`CosineLinear`).
- :class:`EmbeddingHead`: a projection to the metric space, L2-normalised (link: retrieval,
  SupCon / triplet losses, FAISS inner-product search).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["ClassificationHead", "CosineLinear", "EmbeddingHead"]


class CosineLinear(nn.Module):
    """Cosine classifier layer (NormFace): ``scale * normalize(x) @ normalize(W).T``, no bias.

    The logits depend only on the direction of ``x``, as cosine retrieval does.
    """

    def __init__(self, in_dim: int, num_classes: int, scale: float) -> None:
        super().__init__()
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.weight = nn.Parameter(torch.empty(num_classes, in_dim))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)  # as nn.Linear
        self.scale = float(scale)

    def forward(self, x: Tensor) -> Tensor:
        return self.scale * F.normalize(x, dim=-1) @ F.normalize(self.weight, dim=-1).T


class ClassificationHead(nn.Module):
    """``in_dim -> [Linear, GELU, Dropout] x hidden layers -> Linear(num_classes)`` logits.

    ``hidden_dims=()`` gives a single linear layer. ``cosine_scale > 0`` makes the last
    layer a :class:`CosineLinear` with that scale.
    """

    def __init__(
        self,
        in_dim: int,
        num_classes: int,
        hidden_dims: tuple[int, ...] = (),
        dropout: float = 0.1,
        cosine_scale: float = 0.0,
    ) -> None:
        super().__init__()
        if num_classes < 1:  # 1: a single sigmoid output (one-label multi-label heads)
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        layers: list[nn.Module] = []
        width = in_dim
        for hidden in hidden_dims:
            layers += [nn.Linear(width, hidden), nn.GELU(), nn.Dropout(dropout)]
            width = hidden
        if cosine_scale > 0:
            layers.append(CosineLinear(width, num_classes, cosine_scale))
        else:
            layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)
        self.in_dim, self.num_classes = in_dim, num_classes

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class EmbeddingHead(nn.Module):
    """``Linear(in_dim, out_dim)`` (identity when ``out_dim`` is None), then L2 normalisation."""

    def __init__(self, in_dim: int, out_dim: int | None = None, normalise: bool = True) -> None:
        super().__init__()
        self.out_dim = out_dim or in_dim
        self.proj: nn.Module = nn.Linear(in_dim, out_dim) if out_dim else nn.Identity()
        self.normalise = normalise

    def forward(self, x: Tensor) -> Tensor:
        x = self.proj(x)
        return F.normalize(x, dim=-1) if self.normalise else x
