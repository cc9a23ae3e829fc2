"""Multi-label objectives: one independent yes/no decision per label (sigmoid outputs).

Every loss is an ``nn.Module`` called as ``loss(logits=..., labels=...)`` with ``logits``
``(N, C)`` float and ``labels`` ``(N, C)`` in {0, 1} (any numeric dtype); it returns the mean
over the ``N * C`` terms (a scalar).

- :class:`MultiLabelBCE`: binary cross-entropy with logits; ``pos_weight`` ``(C,)``
  multiplies each label's positive term (``neg / pos`` of the training set balances a rare
  label, :func:`positive_weights`).
- :class:`FocalLoss` (Lin et al., 2017): ``-alpha_t (1 - p_t)^gamma log(p_t)``, which
  down-weights easy examples; ``alpha`` (weight of positives, ``None`` = no weighting) and
  ``pos_weight`` may be combined.
- :class:`AsymmetricLoss` (Ridnik et al., 2021, "ASL"): positives
  ``-(1 - p)^gamma_pos log(p)``; negatives use the shifted probability
  ``p_m = max(p - clip, 0)`` and ``-p_m^gamma_neg log(1 - p_m)``, so easy negatives (the
  bulk of a sparse multi-label set) are discounted more than positives and very easy ones
  (``p < clip``) are discarded.

:func:`make_multilabel_loss` builds one by name (``"bce"``, ``"focal"``, ``"asl"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "MULTILABEL_LOSSES",
    "AsymmetricLoss",
    "FocalLoss",
    "MultiLabelBCE",
    "MultiLabelLoss",
    "make_multilabel_loss",
    "positive_weights",
]


def positive_weights(labels: np.ndarray, max_weight: float = 50.0) -> np.ndarray:
    """Per-label ``negatives / positives`` of a ``(N, C)`` 0/1 matrix, clipped to
    ``[1 / max_weight, max_weight]``; a label without positives (or negatives) gets 1."""
    y = np.asarray(labels, dtype=np.float64)
    if y.ndim != 2:
        raise ValueError(f"labels must be (N, C), got shape {y.shape}")
    pos = y.sum(axis=0)
    neg = y.shape[0] - pos
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where((pos > 0) & (neg > 0), neg / np.maximum(pos, 1), 1.0)
    return np.clip(weight, 1.0 / max_weight, max_weight).astype(np.float32)


class MultiLabelLoss(nn.Module):
    """Base: checks shapes, holds the optional ``pos_weight`` buffer."""

    name = "multilabel"

    def __init__(self, pos_weight: Tensor | np.ndarray | None = None) -> None:
        super().__init__()
        weight = None if pos_weight is None else torch.as_tensor(pos_weight, dtype=torch.float32)
        if weight is not None and weight.dim() != 1:
            raise ValueError(f"pos_weight must be (C,), got shape {tuple(weight.shape)}")
        self.register_buffer("pos_weight", weight, persistent=False)

    def _check(self, logits: Tensor | None, labels: Tensor | None) -> tuple[Tensor, Tensor]:
        if logits is None or labels is None:
            raise ValueError(f"{type(self).__name__} needs logits= and labels=")
        if logits.dim() != 2 or logits.shape != labels.shape:
            raise ValueError(
                f"{type(self).__name__}: logits and labels must both be (N, C), "
                f"got {tuple(logits.shape)} and {tuple(labels.shape)}"
            )
        pw = self.pos_weight
        if pw is not None and pw.shape[0] != logits.shape[1]:
            raise ValueError(f"pos_weight has {pw.shape[0]} labels, logits {logits.shape[1]}")
        return logits, labels.to(logits.dtype)

    def _positive_scale(self, y: Tensor) -> Tensor:
        """1 for negatives, ``pos_weight`` for positives (1 everywhere without weights)."""
        if self.pos_weight is None:
            return torch.ones_like(y)
        return 1.0 + (self.pos_weight.to(y) - 1.0) * y


class MultiLabelBCE(MultiLabelLoss):
    """Binary cross-entropy with logits, optional per-label positive weights."""

    name = "bce"

    def forward(self, *, logits: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        logits, y = self._check(logits, labels)
        pw = None if self.pos_weight is None else self.pos_weight.to(logits)
        return F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw)


class FocalLoss(MultiLabelLoss):
    """Sigmoid focal loss ``-alpha_t (1 - p_t)^gamma log(p_t)`` (``gamma = 0``, no alpha:
    plain BCE)."""

    name = "focal"

    def __init__(
        self,
        gamma: float = 2.0,
        alpha: float | None = None,
        pos_weight: Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__(pos_weight)
        if gamma < 0:
            raise ValueError(f"gamma must be >= 0, got {gamma}")
        if alpha is not None and not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        self.gamma, self.alpha = float(gamma), alpha

    def forward(self, *, logits: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        logits, y = self._check(logits, labels)
        ce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")  # -log(p_t)
        p = torch.sigmoid(logits)
        p_t = p * y + (1 - p) * (1 - y)
        loss = ce * (1 - p_t).pow(self.gamma)
        if self.alpha is not None:
            loss = loss * (self.alpha * y + (1 - self.alpha) * (1 - y))
        return (loss * self._positive_scale(y)).mean()


class AsymmetricLoss(MultiLabelLoss):
    """ASL of Ridnik et al. (2021) with probability shifting ``clip`` on the negatives."""

    name = "asl"

    def __init__(
        self,
        gamma_pos: float = 0.0,
        gamma_neg: float = 4.0,
        clip: float = 0.05,
        eps: float = 1e-8,
        pos_weight: Tensor | np.ndarray | None = None,
    ) -> None:
        super().__init__(pos_weight)
        if gamma_pos < 0 or gamma_neg < 0:
            raise ValueError("gamma_pos and gamma_neg must be >= 0")
        if not 0 <= clip < 1:
            raise ValueError(f"clip must be in [0, 1), got {clip}")
        self.gamma_pos, self.gamma_neg = float(gamma_pos), float(gamma_neg)
        self.clip, self.eps = float(clip), float(eps)

    def forward(self, *, logits: Tensor | None = None, labels: Tensor | None = None) -> Tensor:
        logits, y = self._check(logits, labels)
        p = torch.sigmoid(logits)
        p_m = (p - self.clip).clamp(min=0) if self.clip > 0 else p
        loss_pos = y * (1 - p).pow(self.gamma_pos) * torch.log(p.clamp(min=self.eps))
        loss_neg = (1 - y) * p_m.pow(self.gamma_neg) * torch.log((1 - p_m).clamp(min=self.eps))
        return -((loss_pos + loss_neg) * self._positive_scale(y)).mean()


MULTILABEL_LOSSES: dict[str, type[MultiLabelLoss]] = {
    "bce": MultiLabelBCE,
    "focal": FocalLoss,
    "asl": AsymmetricLoss,
    "asymmetric": AsymmetricLoss,
}


def make_multilabel_loss(
    name: str, pos_weight: Tensor | np.ndarray | None = None, **options: Any
) -> MultiLabelLoss:
    """A multi-label loss by name (``bce``, ``focal``, ``asl``/``asymmetric``)."""
    try:
        cls = MULTILABEL_LOSSES[name.lower()]
    except KeyError:
        raise ValueError(
            f"unknown multi-label loss {name!r}; choose from {sorted(MULTILABEL_LOSSES)}"
        ) from None
    return cls(pos_weight=pos_weight, **options)  # type: ignore[call-arg]
