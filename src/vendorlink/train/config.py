"""Options of a training run (:class:`TrainConfig`); see :mod:`vendorlink.train.loop`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from vendorlink.errors import InputError
from vendorlink.models.fusion import FUSIONS, fusion_has_weights
from vendorlink.models.multimodal import MODALITIES
from vendorlink.train.align import ALIGN_LOSSES
from vendorlink.train.features import REGIMES

__all__ = ["METRIC_LOSSES", "RESUMABLE_CHANGES", "TASKS", "TrainConfig"]

TASKS: tuple[str, ...] = ("identify", "verify", "align")
METRIC_LOSSES = ("supcon", "triplet")
METRIC_VIEWS = ("auto", "fused", "modalities", "both")


@dataclass
class TrainConfig:
    """Options of one training run; every CLI option maps to one field.

    Data: ``split_name``, ``label_source`` (default: the workspace's), ``train_domain``
    (``"in"``: train and validate on in-distribution ads only, so out-of-distribution ads
    stay unseen; ``None``: all domains), encoders (names or folders; their vectors are
    cached) and ``encoder_backend`` for computing vectors not cached yet; ``pair_mode``.
    Model: see :class:`ModelConfig`. Loss: ``loss`` as in ``make_loss`` (``"ce"``,
    ``"ce+supcon"``, ``"supcon"``, ...) with ``loss_weights``; a classification head is
    built when it has ``ce``. ``metric_projection``: width of a SimCLR-style head that the
    metric loss sees instead of the retrieval embedding (0: none). ``cosine_scale``: a
    cosine classifier with that scale instead of a linear one (0: linear). ``metric_views``:
    what the metric loss (SupCon, triplet) of a multimodal model sees -- ``"fused"``, the
    fused embedding (as in MATCHED); ``"modalities"``, the text and the image projection
    before fusion, each over the ads that have it, the loss averaged over the two;
    ``"both"``, all three; ``"auto"`` (default): ``"modalities"`` when a classifier trains
    too (identify, align), else ``"fused"``. On the fused vector SupCon also aligns each
    training vendor's text with its images, which does not carry over to new vendors (see
    ``docs/training.md``). ``modality_dropout``: in training, the chance that an ad with
    both text and images is shown with one of them only (each half the time; multimodal
    models). ``task``, ``regime``, ``finetune_layers``, ``align_*``: see the module
    docstring. Batches: ``vendors_per_batch`` x ``ads_per_vendor`` ads; one optimiser step
    every ``grad_accumulation`` batches; ``max_images`` images per ad when encoders
    fine-tune. ``patience = 0`` turns early stopping off (the best epoch is still the one kept).
    ``amp``: mixed precision on CUDA. ``resume``: continue from the last checkpoint.
    ``tensorboard``: also write TensorBoard logs.
    """

    name: str = "vendor-model"
    split_name: str = "default"
    label_source: str | None = None
    train_domain: str | None = "in"
    text_encoder: str = "minilm"
    image_encoder: str = "efficientnet-lite0"
    encoder_backend: str = "torch"
    modality: str = "multimodal"
    fusion: str = "mean"
    dim: int = 256
    embedding_dim: int | None = None
    metric_projection: int = 0
    cosine_scale: float = 0.0
    dropout: float = 0.1
    modality_dropout: float = 0.0
    metric_views: str = "auto"
    loss: str = "ce+supcon"
    loss_weights: tuple[float, ...] | None = None
    temperature: float = 0.1
    epochs: int = 30
    vendors_per_batch: int = 32
    ads_per_vendor: int = 4
    lr_projection: float = 1e-3
    lr_heads: float = 3e-3
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    grad_accumulation: int = 1
    grad_clip: float | None = 1.0
    patience: int = 5
    seed: int = 0
    device: str = "cpu"
    overwrite: bool = True
    task: str | None = None
    regime: str = "frozen"
    finetune_layers: int = 2
    lr_encoder: float = 2e-5
    max_images: int = 3
    pair_mode: bool = False
    align_loss: str = "itc"
    align_epochs: int = 3
    align_temperature: float = 0.07
    amp: bool = True
    resume: bool = False
    tensorboard: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")
        if self.grad_accumulation < 1:
            raise InputError(f"grad_accumulation must be at least 1, got {self.grad_accumulation}")
        if not 0 <= self.warmup_fraction < 1:
            raise InputError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.loss_weights is not None:
            self.loss_weights = tuple(float(w) for w in self.loss_weights)
        if not 0 <= self.modality_dropout < 1:
            raise InputError(f"modality_dropout must be in [0, 1), got {self.modality_dropout}")
        if self.modality not in MODALITIES:
            raise InputError(f"modality must be one of {MODALITIES}, got {self.modality!r}")
        if self.fusion.lower() not in FUSIONS:
            raise InputError(f"fusion must be one of {sorted(FUSIONS)}, got {self.fusion!r}")
        if self.regime not in REGIMES:
            raise InputError(f"regime must be one of {REGIMES}, got {self.regime!r}")
        if self.finetune_layers < 1:
            raise InputError(f"finetune_layers must be at least 1, got {self.finetune_layers}")
        if self.max_images < 1:
            raise InputError(f"max_images must be at least 1, got {self.max_images}")
        if self.align_loss not in ALIGN_LOSSES:
            raise InputError(f"align_loss must be one of {ALIGN_LOSSES}, got {self.align_loss!r}")
        names = self.loss_names
        task = self.resolved_task
        if any(n in ("infonce", "ntxent") for n in names):
            raise InputError(
                "pair losses (infonce, ntxent) are for alignment: use task='align' "
                "with align_loss='itc' or 'itc+itm'"
            )
        if task not in TASKS:
            raise InputError(f"task must be one of {TASKS}, got {self.task!r}")
        if task in ("identify", "align") and "ce" not in names:
            raise InputError(f"task {task!r} trains a classifier: its loss needs 'ce'")
        if task == "verify" and not set(names) <= set(METRIC_LOSSES):
            raise InputError(
                f"task 'verify' is metric learning only: loss from {METRIC_LOSSES}, "
                f"got {self.loss!r}"
            )
        if task == "align" and self.modality != "multimodal":
            raise InputError("task 'align' aligns text and images: it needs modality multimodal")
        if self.metric_views not in METRIC_VIEWS:
            raise InputError(
                f"metric_views must be one of {METRIC_VIEWS}, got {self.metric_views!r}"
            )
        views = self.resolved_metric_views
        if views != "fused" and self.metric_projection:
            raise InputError(
                f"metric_views {views!r} with metric_projection: the projection head sits on "
                "the fused vector; use metric_views='fused'"
            )
        # a fusion with weights of its own trains only through a loss on the fused vector
        if views == "modalities" and task == "verify" and fusion_has_weights(self.fusion):
            raise InputError(
                f"metric_views 'modalities' with task 'verify' leaves the {self.fusion} fusion "
                "untrained (no loss sees the fused vector); use 'fused' or 'both'"
            )

    @property
    def loss_names(self) -> list[str]:
        return [p.strip().lower() for p in self.loss.split("+") if p.strip()]

    @property
    def resolved_task(self) -> str:
        """``task``, or identify / verify from the loss when ``task`` is None."""
        if self.task is not None:
            return self.task
        return "identify" if "ce" in self.loss_names else "verify"

    @property
    def resolved_metric_views(self) -> str:
        """``metric_views`` with ``"auto"`` resolved; always ``"fused"`` for one modality."""
        if self.modality != "multimodal":
            return "fused"
        if self.metric_views != "auto":
            return self.metric_views
        if self.metric_projection or self.resolved_task == "verify":
            return "fused"
        return "modalities"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown train config keys {unknown}")
        return cls(**data)


# Fields that may change between an interrupted run and its resumption.
RESUMABLE_CHANGES = {"resume", "overwrite", "device", "epochs", "patience", "tensorboard"}
