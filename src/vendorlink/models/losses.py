"""Training objectives as ``nn.Module`` s with one keyword-only call signature.

Every loss is called the same way and takes only the inputs it needs::

    loss(embeddings=None, logits=None, labels=None, pair=None) -> Tensor  # a scalar

- ``embeddings``: ``(N, D)`` float, one vector per sample (metric-learning losses);
- ``logits``: ``(N, C)`` float, class scores (cross-entropy);
- ``labels``: ``(N,)`` int64 vendor ids;
- ``pair``: ``(a, b)``, two ``(N, D)`` views where row ``i`` of ``a`` matches row ``i`` of
  ``b`` (e.g. the text and the image of ad ``i``) for the contrastive alignment losses.

As in pytorch-metric-learning, a loss is separate from how pairs are chosen: the batch-hard
choice of :class:`TripletLoss` is its only built-in mining. :class:`WeightedSum` combines
losses (``CE + SupCon`` as in MATCHED) and returns the total and the unweighted parts; given
``views`` (several embeddings of the batch, e.g. one per modality), it averages each
embedding loss over them.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "LOSSES",
    "CrossEntropy",
    "InfoNCE",
    "NTXent",
    "PairLoss",
    "SupConLoss",
    "TripletLoss",
    "VendorLoss",
    "WeightedSum",
    "make_loss",
]


def _positive_temperature(temperature: float) -> float:
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return temperature


def _require(name: str, value: object, loss: str) -> None:
    if value is None:
        raise ValueError(f"{loss} needs `{name}=`; it was not given")


def _check_embeddings_labels(embeddings: Tensor, labels: Tensor, loss: str) -> None:
    if embeddings.dim() != 2:
        raise ValueError(f"{loss}: embeddings must be (N, D), got {tuple(embeddings.shape)}")
    if labels.dim() != 1 or labels.shape[0] != embeddings.shape[0]:
        raise ValueError(
            f"{loss}: labels must be (N,) with N={embeddings.shape[0]}, got {tuple(labels.shape)}"
        )


def _zero(reference: Tensor) -> Tensor:
    """A zero loss that stays connected to the graph (so ``backward()`` still works)."""
    return reference.sum() * 0.0


class VendorLoss(nn.Module):
    """Base class: a loss with the shared keyword-only signature and a short ``name``."""

    name: ClassVar[str] = "loss"
    #: True for losses computed on ``embeddings`` (the ones :class:`WeightedSum` applies to
    #: each view).
    uses_embeddings: ClassVar[bool] = False

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        raise NotImplementedError


class CrossEntropy(VendorLoss):
    """Softmax cross-entropy over vendor logits (``torch.nn.functional.cross_entropy``).

    Mean over the batch; optional label smoothing and per-class weights.
    """

    name = "ce"

    def __init__(self, label_smoothing: float = 0.0, weight: Tensor | None = None) -> None:
        super().__init__()
        self.label_smoothing = label_smoothing
        self.register_buffer("weight", weight if weight is None else weight.float())

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        _require("logits", logits, "CrossEntropy")
        _require("labels", labels, "CrossEntropy")
        assert logits is not None and labels is not None
        return F.cross_entropy(
            logits, labels.long(), weight=self.weight, label_smoothing=self.label_smoothing
        )


class SupConLoss(VendorLoss):
    """Supervised contrastive loss of Khosla et al. (2020), eq. 2 (``L_out``).

    Embeddings are L2-normalised inside. With ``s_ij = z_i . z_j / temperature``, for every
    anchor ``i`` with positives ``P(i) = {p != i : y_p = y_i}`` (non-empty)::

        l_i = -1/|P(i)| * sum_{p in P(i)} log( exp(s_ip) / sum_{a != i} exp(s_ia) )

    and the loss is the mean of ``l_i`` over anchors with at least one positive. Anchors
    whose label occurs once in the batch are left out (not given a ``log(eps)`` term);
    a batch with no positive pair gives a zero loss connected to the graph.
    """

    name = "supcon"
    uses_embeddings = True

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = _positive_temperature(temperature)

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        _require("embeddings", embeddings, "SupConLoss")
        _require("labels", labels, "SupConLoss")
        assert embeddings is not None and labels is not None
        _check_embeddings_labels(embeddings, labels, "SupConLoss")
        n = embeddings.shape[0]
        z = F.normalize(embeddings, dim=1)
        sim = z @ z.T / self.temperature
        self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
        sim = sim.masked_fill(self_mask, float("-inf"))
        log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
        positives = (labels[:, None] == labels[None, :]) & ~self_mask
        n_pos = positives.sum(dim=1)
        valid = n_pos > 0
        if not bool(valid.any()):
            return _zero(embeddings)
        pos_log_prob = log_prob.masked_fill(~positives, 0.0).sum(dim=1)
        return -(pos_log_prob[valid] / n_pos[valid]).mean()


class TripletLoss(VendorLoss):
    """Batch-hard triplet loss (Hermans et al., 2017) on L2-normalised embeddings.

    For each anchor with at least one positive and one negative in the batch:
    ``relu(max_p d(a, p) - min_n d(a, n) + margin)`` with ``d`` the Euclidean distance
    between normalised embeddings (``sqrt(2 - 2 cos)``); the loss is the mean over those
    anchors (zero terms included). No valid anchor gives a zero loss connected to the graph.
    """

    name = "triplet"
    uses_embeddings = True

    def __init__(self, margin: float = 0.2) -> None:
        super().__init__()
        self.margin = margin

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        _require("embeddings", embeddings, "TripletLoss")
        _require("labels", labels, "TripletLoss")
        assert embeddings is not None and labels is not None
        _check_embeddings_labels(embeddings, labels, "TripletLoss")
        n = embeddings.shape[0]
        z = F.normalize(embeddings, dim=1)
        # Clamp before sqrt: its gradient at 0 is infinite (0 * inf = nan in masked entries).
        dist = torch.sqrt(torch.clamp(2.0 - 2.0 * (z @ z.T), min=1e-12))
        self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
        same = labels[:, None] == labels[None, :]
        positives = same & ~self_mask
        negatives = ~same
        valid = positives.any(dim=1) & negatives.any(dim=1)
        if not bool(valid.any()):
            return _zero(embeddings)
        hardest_pos = dist.masked_fill(~positives, float("-inf")).max(dim=1).values
        hardest_neg = dist.masked_fill(~negatives, float("inf")).min(dim=1).values
        return F.relu(hardest_pos[valid] - hardest_neg[valid] + self.margin).mean()


class PairLoss(VendorLoss):
    """Base for losses over two aligned views ``pair=(a, b)`` (row i of a matches row i of b)."""

    def _views(self, pair: tuple[Tensor, Tensor] | None) -> tuple[Tensor, Tensor]:
        _require("pair", pair, type(self).__name__)
        assert pair is not None
        a, b = pair
        if a.dim() != 2 or a.shape != b.shape:
            raise ValueError(
                f"{type(self).__name__}: pair views must both be (N, D), "
                f"got {tuple(a.shape)} and {tuple(b.shape)}"
            )
        return F.normalize(a, dim=1), F.normalize(b, dim=1)


class InfoNCE(PairLoss):
    """CLIP-style InfoNCE between two views, cosine similarity over ``temperature``.

    ``logits = a @ b.T / temperature``; the loss is cross-entropy with the diagonal as
    targets, averaged with the b->a direction when ``symmetric`` (the default). Only
    cross-view negatives are used (compare :class:`NTXent`). With
    ``mask_same_label=True`` and ``labels`` given, off-diagonal pairs of the same vendor
    are removed from the negatives (they are not wrong matches, only other ads of it).
    """

    name = "infonce"

    def __init__(
        self, temperature: float = 0.07, symmetric: bool = True, mask_same_label: bool = False
    ) -> None:
        super().__init__()
        self.temperature = _positive_temperature(temperature)
        self.symmetric = symmetric
        self.mask_same_label = mask_same_label

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        a, b = self._views(pair)
        sim = a @ b.T / self.temperature
        targets = torch.arange(a.shape[0], device=a.device)
        if self.mask_same_label and labels is not None:
            same = labels[:, None] == labels[None, :]
            same.fill_diagonal_(False)
            sim = sim.masked_fill(same, float("-inf"))
        loss = F.cross_entropy(sim, targets)
        if self.symmetric:
            loss = 0.5 * (loss + F.cross_entropy(sim.T, targets))
        return loss


class NTXent(PairLoss):
    """NT-Xent of SimCLR (Chen et al., 2020) over the 2N samples of two views.

    ``z = [a; b]`` (normalised), ``s = z @ z.T / temperature``; for each of the 2N samples
    the positive is its counterpart in the other view and the negatives are the other
    2N - 2 samples of both views. Mean over the 2N anchors, so symmetric by construction.
    """

    name = "ntxent"

    def __init__(self, temperature: float = 0.1) -> None:
        super().__init__()
        self.temperature = _positive_temperature(temperature)

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
    ) -> Tensor:
        a, b = self._views(pair)
        n = a.shape[0]
        z = torch.cat([a, b], dim=0)
        sim = z @ z.T / self.temperature
        sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
        targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
        return F.cross_entropy(sim, targets)


class WeightedSum(nn.Module):
    """A weighted sum of losses, e.g. ``WeightedSum([(CrossEntropy(), 1.0), (SupConLoss(), 1.0)])``.

    Called with the shared signature; returns ``(total, parts)`` where ``total`` is
    ``sum(weight * loss)`` and ``parts`` maps each loss's name (``"ce"``, ``"supcon"``;
    ``"supcon_2"`` for a repeated name) to its unweighted value, detached, for logging.

    ``views``: ``[(embeddings, labels), ...]``, several embeddings of (rows of) the batch --
    e.g. the text and the image projection of a multimodal model, each over the ads that
    have that modality. When given, every loss that uses embeddings (SupCon, triplet) is the
    mean of its value on each view with at least two rows (zero when none has) and
    ``embeddings`` is not used; the other losses (cross-entropy on ``logits``) are computed
    once as usual.
    """

    def __init__(self, terms: Sequence[tuple[VendorLoss, float]]) -> None:
        super().__init__()
        if not terms:
            raise ValueError("WeightedSum needs at least one (loss, weight) term")
        self.losses = nn.ModuleList([loss for loss, _ in terms])
        self.weights = [float(weight) for _, weight in terms]
        names: list[str] = []
        for loss, _ in terms:
            base = getattr(loss, "name", type(loss).__name__.lower())
            name, i = base, 1
            while name in names:
                i += 1
                name = f"{base}_{i}"
            names.append(name)
        self.names = names

    def forward(
        self,
        *,
        embeddings: Tensor | None = None,
        logits: Tensor | None = None,
        labels: Tensor | None = None,
        pair: tuple[Tensor, Tensor] | None = None,
        views: Sequence[tuple[Tensor, Tensor]] | None = None,
    ) -> tuple[Tensor, dict[str, Tensor]]:
        total: Tensor | None = None
        parts: dict[str, Tensor] = {}
        usable: list[tuple[Tensor, Tensor]] = []
        if views is not None:
            if not views:
                raise ValueError("views must hold at least one (embeddings, labels) pair")
            usable = [(z, y) for z, y in views if z.shape[0] >= 2]
        for name, loss, weight in zip(self.names, self.losses, self.weights, strict=True):
            if views is not None and loss.uses_embeddings:
                values = [loss(embeddings=z, labels=y) for z, y in usable]
                value = torch.stack(values).mean() if values else _zero(views[0][0])
            else:
                value = loss(embeddings=embeddings, logits=logits, labels=labels, pair=pair)
            parts[name] = value.detach()
            total = weight * value if total is None else total + weight * value
        assert total is not None
        return total, parts


LOSSES: dict[str, type[VendorLoss]] = {
    "ce": CrossEntropy,
    "supcon": SupConLoss,
    "triplet": TripletLoss,
    "infonce": InfoNCE,
    "ntxent": NTXent,
}


def make_loss(spec: str, weights: Sequence[float] | None = None, **options: object) -> WeightedSum:
    """Build a :class:`WeightedSum` from ``"ce"``, ``"ce+supcon"``, ``"ce+triplet"``, ...

    ``weights`` default to 1.0 each; ``options`` are passed to the loss classes that accept
    them (``temperature=`` to SupCon/InfoNCE/NTXent, ``margin=`` to Triplet).
    """
    names = [part.strip().lower() for part in spec.split("+") if part.strip()]
    unknown = [name for name in names if name not in LOSSES]
    if not names or unknown:
        raise ValueError(f"unknown loss {unknown or spec!r}; choose from {sorted(LOSSES)}")
    weights = list(weights) if weights is not None else [1.0] * len(names)
    if len(weights) != len(names):
        raise ValueError(f"{len(names)} losses in {spec!r} but {len(weights)} weights")
    accepted_by = {name: set(inspect.signature(LOSSES[name].__init__).parameters) for name in names}
    unused = set(options) - set().union(*accepted_by.values())
    if unused:
        raise ValueError(f"options {sorted(unused)} are not accepted by any loss in {spec!r}")
    terms: list[tuple[VendorLoss, float]] = []
    for name, weight in zip(names, weights, strict=True):
        cls = LOSSES[name]
        accepted = accepted_by[name]
        kwargs = {key: value for key, value in options.items() if key in accepted}
        terms.append((cls(**kwargs), weight))  # type: ignore[arg-type]
    return WeightedSum(terms)
