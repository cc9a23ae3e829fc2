"""MATCHED's CLIP-style alignment pre-training of the text and image sides (task ``align``).

Before a model is fine-tuned to identify vendors, its text side (text encoder when it
trains, then the text projection) and image side are aligned on ads that have both:

- **ITC** (image-text contrastive): :class:`~vendorlink.models.losses.InfoNCE` between the
  projected text and the projected (pooled) image of each ad, cosine similarity over a
  temperature, symmetric; other ads of the same vendor are removed from the negatives
  (they are not wrong matches).
- **ITM** (image-text matching, ``"itc+itm"``): a small head classifies a (text, image)
  pair as matching or not; each ad's true pair is a positive, and its in-batch hard
  negatives are the most similar image of another vendor for its text and the most
  similar text of another vendor for its image (binary cross-entropy).

The ITM head is used only here; the fine-tuning phase starts from the aligned projections.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from vendorlink.errors import InputError
from vendorlink.models.losses import InfoNCE
from vendorlink.models.multimodal import VendorModel

__all__ = ["ALIGN_LOSSES", "AlignmentObjective", "MatchingHead"]

ALIGN_LOSSES: tuple[str, ...] = ("itc", "itc+itm")


class MatchingHead(nn.Module):
    """ITM head: ``[t, v, t * v, |t - v|] -> MLP -> one logit`` (matching or not)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4 * dim, dim), nn.GELU(), nn.Linear(dim, 1))

    def forward(self, t: Tensor, v: Tensor) -> Tensor:
        return self.net(torch.cat([t, v, t * v, (t - v).abs()], dim=1)).squeeze(1)


class AlignmentObjective(nn.Module):
    """ITC (+ ITM) on the two projections of a multimodal :class:`VendorModel`."""

    def __init__(self, model: VendorModel, loss: str = "itc", temperature: float = 0.07) -> None:
        super().__init__()
        if loss not in ALIGN_LOSSES:
            raise InputError(f"unknown alignment loss {loss!r}; choose from {ALIGN_LOSSES}")
        if model.text_projection is None or model.image_projection is None:
            raise InputError("alignment pre-training needs a multimodal model")
        self.model = model
        self.itc = InfoNCE(temperature=temperature, mask_same_label=True)
        self.itm = MatchingHead(model.config.dim) if loss == "itc+itm" else None

    def forward(
        self, text: Tensor, image: Tensor, labels: Tensor
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``text`` / ``image``: encoder vectors of ads that have both; returns (total, parts)."""
        assert self.model.text_projection is not None and self.model.image_projection is not None
        t = self.model.text_projection(text)
        v = self.model.image_projection(image)
        itc = self.itc(pair=(t, v), labels=labels)
        parts = {"itc": itc.detach()}
        total = itc
        if self.itm is not None:
            itm = self._matching_loss(t, v, labels)
            parts["itm"] = itm.detach()
            total = total + itm
        return total, parts

    def _matching_loss(self, t: Tensor, v: Tensor, labels: Tensor) -> Tensor:
        assert self.itm is not None
        n = t.shape[0]
        with torch.no_grad():
            sim = F.normalize(t, dim=1) @ F.normalize(v, dim=1).T
            same = labels[:, None] == labels[None, :]
            sim = sim.masked_fill(same, float("-inf"))
            usable = torch.isfinite(sim).any(dim=1)  # an ad with a negative of another vendor
            hard_image = sim.argmax(dim=1)  # for each text, the closest foreign image
            hard_text = sim.argmax(dim=0)  # for each image, the closest foreign text
        tt = torch.cat([t, t[usable], t[hard_text[usable]]])
        vv = torch.cat([v, v[hard_image[usable]], v[usable]])
        target = torch.cat(
            [torch.ones(n, device=t.device), torch.zeros(2 * int(usable.sum()), device=t.device)]
        )
        return F.binary_cross_entropy_with_logits(self.itm(tt, vv), target)
