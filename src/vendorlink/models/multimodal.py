"""The trainable vendor model: per-modality projections, fusion, embedding and vendor heads.

::

    text vector (384) ──► Projection ──┐
                                       ├─► fusion ──► EmbeddingHead  (L2-normalised; link)
    image vector (1280) ─► Projection ─┘          └─► ClassificationHead (vendor logits; identify)

Inputs are *encoder outputs* (cached embeddings from frozen encoders), one text vector and
one pooled image vector per ad, with boolean presence flags. ``modality`` chooses what the
model looks at:

- ``"text"``: only the text projection; every sample must have text;
- ``"image"``: only the image projection; every sample must have an image;
- ``"multimodal"``: both projections and the fusion module; a sample may lack either
  modality (never both), and the missing one never influences its output.

A model saves to a folder (``config.json`` + ``model.safetensors`` + ``labels.json`` with the
vendor of each class index) and loads back with one call: ``VendorModel.load(folder)``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vendorlink.models.fusion import Projection, make_fusion
from vendorlink.models.heads import ClassificationHead, EmbeddingHead

__all__ = ["MODALITIES", "ModelConfig", "VendorModel"]

ModelModality = Literal["text", "image", "multimodal"]
MODALITIES: tuple[str, ...] = ("text", "image", "multimodal")

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
LABELS_FILE = "labels.json"


@dataclass
class ModelConfig:
    """Architecture of a :class:`VendorModel` (data: saved as ``config.json``).

    ``num_classes = 0`` builds no classification head (embedding only). ``embedding_dim =
    None`` keeps the fused width. ``text_encoder`` / ``image_encoder`` record the names of
    the encoders whose vectors the model takes (provenance; checked by the caller).
    ``metric_projection > 0`` adds a SimCLR-style projection head (``Linear, GELU, Linear``
    of that width) whose L2-normalised output, ``"metric"``, is what the metric losses
    (SupCon, triplet) see during training; retrieval still uses ``"embedding"``.
    """

    modality: ModelModality = "multimodal"
    text_dim: int = 384
    image_dim: int = 1280
    dim: int = 256
    fusion: str = "mean"
    embedding_dim: int | None = None
    num_classes: int = 0
    classifier_hidden: tuple[int, ...] = ()
    dropout: float = 0.1
    layer_norm: bool = True
    text_encoder: str = ""
    image_encoder: str = ""
    metric_projection: int = 0
    cosine_scale: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        for name in ("text_dim", "image_dim", "dim"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_classes == 1 or self.num_classes < 0:
            raise ValueError(f"num_classes must be 0 (no head) or >= 2, got {self.num_classes}")
        self.classifier_hidden = tuple(int(h) for h in self.classifier_hidden)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["classifier_hidden"] = list(self.classifier_hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys {unknown}")
        data = dict(data)
        if "classifier_hidden" in data:
            data["classifier_hidden"] = tuple(data["classifier_hidden"])
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> ModelConfig:
        return cls.from_dict(json.loads(text))


class VendorModel(nn.Module):
    """Projections -> fusion -> embedding head (+ vendor classification head).

    ``forward(text=None, image=None, has_text=None, has_image=None)`` returns a dict with
    ``"embedding"`` ``(N, embedding_dim)`` L2-normalised, ``"fused"`` (before the heads) and,
    when the model has a classification head, ``"logits"`` ``(N, num_classes)``, with a
    metric projection ``"metric"`` (the metric losses' view), and for a multimodal model
    ``"text_view"`` / ``"image_view"``, the modality projections before fusion (what the
    metric losses see with ``TrainConfig(metric_views="modalities")``).
    ``vendors`` is the vendor label of each class index (``labels.json``).
    """

    def __init__(self, config: ModelConfig, vendors: list[str] | None = None) -> None:
        super().__init__()
        self.config = config
        self.vendors: list[str] = list(vendors or [])
        if config.num_classes and self.vendors and len(self.vendors) != config.num_classes:
            raise ValueError(
                f"{len(self.vendors)} vendor labels for a head of {config.num_classes} classes"
            )
        d = config.dim
        self.text_projection: Projection | None = None
        self.image_projection: Projection | None = None
        if config.modality in ("text", "multimodal"):
            self.text_projection = Projection(config.text_dim, d, config.layer_norm, config.dropout)
        if config.modality in ("image", "multimodal"):
            self.image_projection = Projection(
                config.image_dim, d, config.layer_norm, config.dropout
            )
        self.fusion: nn.Module | None = None
        width = d
        if config.modality == "multimodal":
            fusion = make_fusion(config.fusion, d)
            self.fusion = fusion
            width = fusion.out_dim
        self.embedding_head = EmbeddingHead(width, config.embedding_dim)
        self.metric_head: nn.Module | None = None
        if config.metric_projection:
            hidden = config.metric_projection
            self.metric_head = nn.Sequential(
                nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, hidden)
            )
        self.classifier: ClassificationHead | None = None
        if config.num_classes:
            self.classifier = ClassificationHead(
                width,
                config.num_classes,
                config.classifier_hidden,
                config.dropout,
                cosine_scale=config.cosine_scale,
            )

    @property
    def embedding_dim(self) -> int:
        return self.embedding_head.out_dim

    def projection_parameters(self) -> list[nn.Parameter]:
        """Parameters of the modality projections (the "encoder side" learning rate)."""
        out: list[nn.Parameter] = []
        for module in (self.text_projection, self.image_projection):
            if module is not None:
                out += list(module.parameters())
        return out

    def head_parameters(self) -> list[nn.Parameter]:
        """Parameters of the fusion module and the heads."""
        projection = {id(p) for p in self.projection_parameters()}
        return [p for p in self.parameters() if id(p) not in projection]

    def forward(
        self,
        text: Tensor | None = None,
        image: Tensor | None = None,
        has_text: Tensor | None = None,
        has_image: Tensor | None = None,
    ) -> dict[str, Tensor]:
        fused, views = self._fuse(text, image, has_text, has_image)
        out = {"fused": fused, "embedding": self.embedding_head(fused), **views}
        if self.metric_head is not None:
            out["metric"] = F.normalize(self.metric_head(fused), dim=-1)
        if self.classifier is not None:
            out["logits"] = self.classifier(fused)
        return out

    def _fuse(
        self,
        text: Tensor | None,
        image: Tensor | None,
        has_text: Tensor | None,
        has_image: Tensor | None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """The fused vector and, for a multimodal model, the modality projections it fused
        (``"text_view"``, ``"image_view"``; every row, whether the modality is present or
        not)."""
        mode = self.config.modality
        if mode == "text":
            _require_all(text, has_text, "text")
            assert self.text_projection is not None and text is not None
            return self.text_projection(text), {}
        if mode == "image":
            _require_all(image, has_image, "image")
            assert self.image_projection is not None and image is not None
            return self.image_projection(image), {}
        assert self.text_projection is not None and self.image_projection is not None
        assert self.fusion is not None
        if text is None and image is None:
            raise ValueError("a multimodal model needs text, image or both")
        n = (text if text is not None else image).shape[0]  # type: ignore[union-attr]
        reference = text if text is not None else image
        assert reference is not None
        if text is None:
            text = reference.new_zeros(n, self.config.text_dim)
            has_text = torch.zeros(n, dtype=torch.bool, device=reference.device)
        if image is None:
            image = reference.new_zeros(n, self.config.image_dim)
            has_image = torch.zeros(n, dtype=torch.bool, device=reference.device)
        t = self.text_projection(text)
        v = self.image_projection(image)
        return self.fusion(t, v, has_text, has_image), {"text_view": t, "image_view": v}

    # -- inference -------------------------------------------------------------------------
    @torch.no_grad()
    def embed(
        self,
        text: np.ndarray | None = None,
        image: np.ndarray | None = None,
        has_text: np.ndarray | None = None,
        has_image: np.ndarray | None = None,
        batch_size: int = 1024,
    ) -> dict[str, np.ndarray]:
        """Numpy in, numpy out, in eval mode: ``{"embedding": ..., "logits": ...}``."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        n = len(text) if text is not None else len(image) if image is not None else 0
        parts: dict[str, list[np.ndarray]] = {}

        def piece(x: np.ndarray | None, lo: int, dtype: torch.dtype) -> Tensor | None:
            if x is None:
                return None
            return torch.as_tensor(np.asarray(x[lo : lo + batch_size]), dtype=dtype).to(device)

        try:
            for lo in range(0, n, batch_size):
                out = self(
                    piece(text, lo, torch.float32),
                    piece(image, lo, torch.float32),
                    piece(has_text, lo, torch.bool),
                    piece(has_image, lo, torch.bool),
                )
                for key in ("embedding", "logits"):
                    if key in out:
                        parts.setdefault(key, []).append(out[key].float().cpu().numpy())
        finally:
            self.train(was_training)
        if not parts:
            return {"embedding": np.zeros((0, self.embedding_dim), dtype=np.float32)}
        return {key: np.concatenate(value) for key, value in parts.items()}

    # -- save / load -----------------------------------------------------------------------
    def save(self, folder: str | Path, overwrite: bool = True) -> Path:
        """Write ``config.json``, ``model.safetensors`` and ``labels.json`` (atomically)."""
        from vendorlink.models.io import save_model

        return save_model(self, folder, overwrite=overwrite)

    @classmethod
    def load(cls, folder: str | Path, device: str = "cpu") -> VendorModel:
        """Load a saved model folder on ``device``, in eval mode."""
        from vendorlink.models.io import load_model

        return load_model(folder, device=device)


def _require_all(x: Tensor | None, flags: Tensor | None, name: str) -> None:
    if x is None:
        raise ValueError(f"a {name}-only model needs `{name}=` vectors")
    if flags is not None and not bool(flags.all()):
        rows = torch.nonzero(~flags.bool()).flatten().tolist()[:10]
        raise ValueError(f"a {name}-only model cannot embed samples without {name} (rows {rows})")
