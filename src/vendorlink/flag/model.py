"""The flag network: projections -> gated fusion -> interactions -> MLP, one logit per label.

::

    text vector ──► Projection(text_dim -> 512) ─┐
                                                 ├─► GatedFusion (presence flags) ─┐
    image vector ─► Projection(image_dim -> 512) ┘                                 │
                 [fused, t, v, |t - v|, t * v]  ◄── InteractionFeatures ◄──────────┘
                                   └─► ClassificationHead (MLP) ─► C logits (sigmoid)

The pieces are the shared modules of :mod:`vendorlink.models` (the same ones the vendor
model uses). Inputs are encoder outputs: one text vector and one pooled image vector per ad
with boolean presence flags; a text-only or image-only ad fuses to its one present vector.
Ablations: ``fusion="mean"`` (no gate) and ``interactions=False`` (the fused vector alone);
``modality="text"`` / ``"image"`` builds a single-modality model (projection -> MLP).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

import torch
from torch import Tensor, nn

from vendorlink.errors import InputError
from vendorlink.models.fusion import InteractionFeatures, Projection, make_fusion
from vendorlink.models.heads import ClassificationHead

__all__ = ["FLAG_MODALITIES", "FlagConfig", "FlagNetwork"]

FlagModality = Literal["text", "image", "multimodal"]
FLAG_MODALITIES = ("text", "image", "multimodal")


@dataclass
class FlagConfig:
    """Architecture and provenance of a flag model (saved in ``config.json``).

    ``labels``: the label names, one output each. ``text_encoder`` / ``image_encoder``: the
    encoder names whose vectors the model takes (cache keys); ``text_encoder_spec`` /
    ``image_encoder_spec``: what :func:`~vendorlink.encoders.load_encoder` loads to encode
    new ads (a registered name or a folder); ``backend``: the encoder backend.
    """

    labels: list[str]
    modality: FlagModality = "multimodal"
    text_dim: int = 384
    image_dim: int = 1280
    fusion_dim: int = 512
    fusion: str = "gated"
    interactions: bool = True
    hidden: tuple[int, ...] = (512,)
    dropout: float = 0.1
    layer_norm: bool = True
    text_encoder: str = ""
    image_encoder: str = ""
    text_encoder_spec: str = ""
    image_encoder_spec: str = ""
    backend: str = "torch"
    mask_text: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.labels = [str(n) for n in self.labels]
        if not self.labels:
            raise InputError("a flag model needs at least one label")
        if len(set(self.labels)) != len(self.labels):
            raise InputError(f"label names repeat: {self.labels}")
        if self.modality not in FLAG_MODALITIES:
            raise InputError(f"modality must be one of {FLAG_MODALITIES}, got {self.modality!r}")
        for name in ("text_dim", "image_dim", "fusion_dim"):
            if int(getattr(self, name)) < 1:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        self.hidden = tuple(int(h) for h in self.hidden)

    @property
    def uses_text(self) -> bool:
        return self.modality in ("text", "multimodal")

    @property
    def uses_image(self) -> bool:
        return self.modality in ("image", "multimodal")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlagConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown flag config keys {unknown}")
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


class FlagNetwork(nn.Module):
    """``forward(text, image, has_text, has_image) -> (N, C)`` logits (see module docstring)."""

    def __init__(self, config: FlagConfig) -> None:
        super().__init__()
        self.config = config
        d = config.fusion_dim
        self.text_projection: Projection | None = None
        self.image_projection: Projection | None = None
        if config.uses_text:
            self.text_projection = Projection(config.text_dim, d, config.layer_norm, config.dropout)
        if config.uses_image:
            self.image_projection = Projection(
                config.image_dim, d, config.layer_norm, config.dropout
            )
        self.features: nn.Module | None = None
        width = d
        if config.modality == "multimodal":
            fusion = make_fusion(config.fusion, d)
            self.features = InteractionFeatures(fusion) if config.interactions else fusion
            width = self.features.out_dim  # type: ignore[assignment]
        self.head = ClassificationHead(width, len(config.labels), config.hidden, config.dropout)

    def forward(
        self,
        text: Tensor | None = None,
        image: Tensor | None = None,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> Tensor:
        mode = self.config.modality
        if mode == "text":
            _require(text, has_text, "text")
            assert self.text_projection is not None and text is not None
            return self.head(self.text_projection(text))
        if mode == "image":
            _require(image, has_image, "image")
            assert self.image_projection is not None and image is not None
            return self.head(self.image_projection(image))
        assert self.text_projection is not None and self.image_projection is not None
        assert self.features is not None
        reference = text if text is not None else image
        if reference is None:
            raise InputError("a multimodal flag model needs text, image or both")
        n = reference.shape[0]
        if text is None:
            text = reference.new_zeros(n, self.config.text_dim)
            has_text = torch.zeros(n, dtype=torch.bool, device=reference.device)
        if image is None:
            image = reference.new_zeros(n, self.config.image_dim)
            has_image = torch.zeros(n, dtype=torch.bool, device=reference.device)
        t, v = self.text_projection(text), self.image_projection(image)
        return self.head(self.features(t, v, has_text, has_image))


def _require(x: Tensor | None, flags: Tensor | None, name: str) -> None:
    if x is None:
        raise InputError(f"a {name}-only flag model needs {name} vectors")
    if flags is not None and not bool(flags.all()):
        rows = torch.nonzero(~flags.bool()).flatten().tolist()[:10]
        raise InputError(f"a {name}-only flag model cannot score ads without {name} (rows {rows})")
