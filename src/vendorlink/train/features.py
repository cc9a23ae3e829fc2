"""Where a training batch's encoder vectors come from, for the three training regimes.

Both sources turn row positions of an :class:`~vendorlink.train.data.AdTable` into the
inputs of a :class:`~vendorlink.models.multimodal.VendorModel` (``text``, ``image``,
``has_text``, ``has_image``):

- :class:`CachedFeatures` (regime ``"frozen"``): the cached vectors stored in the table;
  nothing upstream is trained.
- :class:`EncoderFeatures` (regimes ``"last"`` and ``"full"``): the raw masked text and image
  files of each row go through the torch encoder modules (``vendorlink.encoders``), with
  gradients, so the encoders train with the model. ``"last"`` unfreezes the last
  ``layers`` blocks of each encoder (the blocks of its longest ``ModuleList`` -- transformer
  layers, EfficientNet blocks -- plus the parameters registered after them, e.g. the final
  norm or conv head); ``"full"`` trains every encoder parameter. An ad's images are encoded
  separately and mean-pooled (:func:`~vendorlink.models.fusion.aggregate_images`), at most
  ``max_images`` of them (the first ones, in position order) per ad.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from vendorlink.encoders.base import Encoder
from vendorlink.errors import InputError
from vendorlink.models.fusion import aggregate_images
from vendorlink.train.data import AdTable

__all__ = [
    "REGIMES",
    "CachedFeatures",
    "EncoderFeatures",
    "layer_groups",
    "set_trainable_layers",
]

REGIMES: tuple[str, ...] = ("frozen", "last", "full")


class CachedFeatures:
    """Regime (a): batches are slices of the table's cached vectors (no parameters)."""

    trainable = False

    def __init__(self, table: AdTable, device: str = "cpu") -> None:
        self.table = table
        self.device = device
        self._inputs = table.tensors()

    def batch(self, rows: np.ndarray) -> dict[str, Tensor]:
        index = torch.from_numpy(np.asarray(rows, dtype=np.int64))
        return {k: v[index].to(self.device) for k, v in self._inputs.items()}

    def parameters(self) -> list[nn.Parameter]:
        return []

    def train(self, mode: bool = True) -> CachedFeatures:
        return self

    def eval(self) -> CachedFeatures:
        return self


def layer_groups(module: nn.Module) -> list[list[nn.Parameter]]:
    """The parameters of ``module`` cut into blocks, input side first.

    The blocks of the longest ``nn.ModuleList`` inside ``module`` are the layers; the
    parameters registered before that list form the first group (embeddings, stem) and
    those registered after it join the last layer (final norm, conv head). A module without
    a ``ModuleList`` is one group.
    """
    lists = [(name, m) for name, m in module.named_modules() if isinstance(m, nn.ModuleList)]
    params = list(module.named_parameters())
    if not lists:
        return [[p for _, p in params]]
    name, layers = max(lists, key=lambda item: len(item[1]))
    prefix = f"{name}."
    inside = {id(p) for p in layers.parameters()}
    before: list[nn.Parameter] = []
    after: list[nn.Parameter] = []
    seen_list = False
    for pname, p in params:
        if id(p) in inside or pname.startswith(prefix):
            seen_list = True
            continue
        (after if seen_list else before).append(p)
    groups = [before] + [list(layer.parameters()) for layer in layers]
    groups[-1] = groups[-1] + after
    return [g for g in groups if g]


def set_trainable_layers(module: nn.Module, layers: int | None) -> list[nn.Parameter]:
    """Freeze ``module`` except its last ``layers`` blocks (``None``: everything trains).

    Returns the trainable parameters.
    """
    groups = layer_groups(module)
    for p in module.parameters():
        p.requires_grad_(layers is None)
    if layers is not None:
        if layers < 1:
            raise InputError(f"the number of fine-tuned layers must be at least 1, got {layers}")
        for group in groups[-layers:]:
            for p in group:
                p.requires_grad_(True)
    return [p for p in module.parameters() if p.requires_grad]


class EncoderFeatures(nn.Module):
    """Regimes (b) and (c): raw text and images through trainable torch encoder modules.

    ``table`` must carry ``texts`` (for a text encoder) and ``image_paths`` (for an image
    encoder): :func:`~vendorlink.train.data.build_ad_table` with ``raw=True``.
    """

    trainable = True

    def __init__(
        self,
        table: AdTable,
        text_encoder: Encoder | None,
        image_encoder: Encoder | None,
        *,
        regime: str = "last",
        layers: int = 2,
        max_images: int = 3,
        device: str = "cpu",
    ) -> None:
        super().__init__()
        if regime not in ("last", "full"):
            raise InputError(f"EncoderFeatures is for regimes 'last' and 'full', not {regime!r}")
        if text_encoder is not None and table.texts is None:
            raise InputError("fine-tuning the text encoder needs the ads' texts (raw=True)")
        if image_encoder is not None and table.image_paths is None:
            raise InputError("fine-tuning the image encoder needs the ads' image files (raw=True)")
        self.table = table
        self.text_encoder = text_encoder
        self.image_encoder = image_encoder
        self.max_images = max_images
        self.device = device
        self.text_module = text_encoder.torch_module().to(device) if text_encoder else None
        self.image_module = image_encoder.torch_module().to(device) if image_encoder else None
        n = None if regime == "full" else layers
        for module in (self.text_module, self.image_module):
            if module is not None:
                set_trainable_layers(module, n)

    def train(self, mode: bool = True) -> EncoderFeatures:
        """Train mode, except frozen batch-norm layers: their running statistics stay put."""
        super().train(mode)
        if mode:
            for module in self.modules():
                frozen = not any(p.requires_grad for p in module.parameters())
                if isinstance(module, nn.modules.batchnorm._BatchNorm) and frozen:
                    module.eval()
        return self

    def encoder_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def batch(self, rows: np.ndarray) -> dict[str, Tensor]:
        rows = np.asarray(rows, dtype=np.int64)
        t = self.table
        n = len(rows)
        has_text = torch.from_numpy(t.has_text[rows].copy())
        has_image = torch.from_numpy(t.has_image[rows].copy())
        text = torch.zeros(n, max(t.text.shape[1], 1))
        image = torch.zeros(n, max(t.image.shape[1], 1))
        out: dict[str, Tensor] = {}
        if self.text_module is not None and self.text_encoder is not None:
            assert t.texts is not None
            present = np.flatnonzero(t.has_text[rows])
            text = torch.zeros(n, self.text_encoder.dim, device=self.device)
            if len(present):
                feed = self.text_encoder.prepare([str(t.texts[rows[i]]) for i in present])  # type: ignore[attr-defined]
                vectors = self.text_module(**_tensors(feed, self.device))
                text = text.index_copy(0, torch.from_numpy(present).to(self.device), vectors)
        if self.image_module is not None and self.image_encoder is not None:
            assert t.image_paths is not None
            image = torch.zeros(n, self.image_encoder.dim, device=self.device)
            owners: list[int] = []
            paths: list[Any] = []
            for i, row in enumerate(rows):
                if t.has_image[row]:
                    for path in list(t.image_paths[row])[: self.max_images]:
                        owners.append(i)
                        paths.append(path)
            if paths:
                feed = self.image_encoder.prepare(paths)  # type: ignore[attr-defined]
                vectors = self.image_module(**_tensors(feed, self.device))
                owner = torch.tensor(owners, dtype=torch.long, device=self.device)
                image, _ = aggregate_images(vectors, owner, "mean", num_ads=n)
        out["text"] = text.to(self.device)
        out["image"] = image.to(self.device)
        out["has_text"] = has_text.to(self.device)
        out["has_image"] = has_image.to(self.device)
        return out


def _tensors(feed: dict[str, np.ndarray], device: str) -> dict[str, Tensor]:
    return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in feed.items()}


def batch_rows(n: int, batch_size: int) -> Sequence[np.ndarray]:
    """Consecutive row blocks ``[0, batch_size), [batch_size, 2 batch_size), ...``."""
    return [np.arange(lo, min(n, lo + batch_size)) for lo in range(0, n, batch_size)]
