"""The machinery behind :func:`vendorlink.train.fit`: embedding helpers, the phases
(alignment, main task) with their optimiser and schedule, epochs, validation, checkpoint state.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from vendorlink.encoders.base import Encoder
from vendorlink.errors import InputError
from vendorlink.evaluate import RetrievalReport, evaluate_retrieval
from vendorlink.models.losses import make_loss
from vendorlink.models.multimodal import ModelConfig, VendorModel
from vendorlink.train.align import AlignmentObjective
from vendorlink.train.config import TrainConfig
from vendorlink.train.data import AdTable
from vendorlink.train.features import CachedFeatures, EncoderFeatures
from vendorlink.train.logs import save_checkpoint
from vendorlink.train.pairs import aggregate_by_ad, expand_pairs
from vendorlink.train.sampler import vendor_batches

__all__ = [
    "FeatureSource",
    "embed_rows",
    "embed_table",
    "evaluate_embeddings",
    "evaluate_model",
    "model_outputs",
    "predict_vendors",
]

FeatureSource = CachedFeatures | EncoderFeatures


# -- evaluation helpers --------------------------------------------------------------------
@torch.no_grad()
def embed_rows(
    model: VendorModel, source: FeatureSource, rows: np.ndarray, batch_size: int = 2048
) -> np.ndarray:
    """Embeddings of the sample ``rows`` of ``source`` (eval mode; train mode restored)."""
    was = model.training, getattr(source, "training", False)
    model.eval()
    source.eval()
    parts = [np.zeros((0, model.embedding_dim), dtype=np.float32)]
    try:
        for lo in range(0, len(rows), batch_size):
            with _autocast(model):
                out = model(**source.batch(rows[lo : lo + batch_size]))
            parts.append(out["embedding"].float().cpu().numpy())
    finally:
        model.train(was[0])
        source.train(was[1])
    return np.concatenate(parts)


def embed_table(model: VendorModel, table: AdTable, batch_size: int = 2048) -> np.ndarray:
    """Model embeddings of every row of ``table`` from its cached vectors.

    Rows it cannot embed must be removed. A model trained in pair mode embeds each
    (text, image) pair and averages per ad when the table has per-image vectors.
    """
    if model.config.extra.get("pair_mode") and table.image_vectors is not None:
        pairs, ad_row = expand_pairs(table)
        emb = embed_rows(model, CachedFeatures(pairs, _device(model)), np.arange(len(pairs)))
        return aggregate_by_ad(emb, ad_row, len(table))
    return model_outputs(model, table, batch_size=batch_size)["embedding"]


def model_outputs(
    model: VendorModel, table: AdTable, batch_size: int | None = None
) -> dict[str, np.ndarray]:
    """``model.embed`` over ``table``'s cached vectors, giving it only the modalities it uses.

    ``batch_size=None`` keeps ``VendorModel.embed``'s default.
    """
    mode = model.config.modality
    kwargs: dict[str, Any] = {} if batch_size is None else {"batch_size": batch_size}
    return model.embed(
        text=table.text if mode != "image" else None,
        image=table.image if mode != "text" else None,
        has_text=table.has_text if mode != "image" else None,
        has_image=table.has_image if mode != "text" else None,
        **kwargs,
    )


def drop_modalities(
    feed: dict[str, Tensor], p: float, generator: torch.Generator
) -> dict[str, Tensor]:
    """Modality dropout: each row with both text and image loses one of them (text or image,
    equally likely) with probability ``p``, by clearing its presence flag; ``feed`` is a
    model input dict (``has_text``, ``has_image``). Returns a new dict."""
    has_text, has_image = feed["has_text"], feed["has_image"]
    n = has_text.shape[0]
    both = has_text & has_image
    hit = (torch.rand(n, generator=generator) < p).to(both.device) & both
    text_goes = (torch.rand(n, generator=generator) < 0.5).to(both.device)
    return {
        **feed,
        "has_text": has_text & ~(hit & text_goes),
        "has_image": has_image & ~(hit & ~text_goes),
    }


def metric_views(
    out: dict[str, Tensor], feed: dict[str, Tensor], labels: Tensor, views: str
) -> list[tuple[Tensor, Tensor]] | None:
    """The ``(embeddings, labels)`` views the metric losses see (``TrainConfig.metric_views``,
    resolved): ``None`` for ``"fused"`` (the loss takes ``embeddings``); the text projection
    over the rows with text and the image projection over the rows with images for
    ``"modalities"``; those and the fused embedding for ``"both"``."""
    if views == "fused" or "text_view" not in out:
        return None
    has_text, has_image = feed["has_text"], feed["has_image"]
    out_views = [
        (out["text_view"][has_text], labels[has_text]),
        (out["image_view"][has_image], labels[has_image]),
    ]
    if views == "both":
        out_views.insert(0, (out.get("metric", out["embedding"]), labels))
    return out_views


def predict_vendors(model: VendorModel, outputs: dict[str, np.ndarray]) -> np.ndarray:
    """The vendor name of each row's highest classifier logit (``outputs`` of model_outputs)."""
    return np.array(model.vendors, dtype=object)[outputs["logits"].argmax(axis=1)]


def evaluate_embeddings(
    embeddings: np.ndarray, table: AdTable, queries: np.ndarray, documents: np.ndarray
) -> RetrievalReport | None:
    """Retrieval report of ``queries`` against ``documents`` (bool masks over ``table``).

    ``None`` when either side is empty.
    """
    if not queries.any() or not documents.any():
        return None
    return evaluate_retrieval(
        embeddings[queries],
        table.vendor[queries],
        embeddings[documents],
        table.vendor[documents],
    )


def evaluate_model(
    model: VendorModel, table: AdTable, queries: np.ndarray, documents: np.ndarray
) -> RetrievalReport | None:
    """Embed the query and document rows (bool masks) with ``model`` and evaluate retrieval.

    Rows the model cannot embed (e.g. image-only ads for a text model) must not be in the
    masks; ``None`` when either side is empty.
    """
    both = queries | documents
    if not queries.any() or not documents.any():
        return None
    sub = table.select(both)
    embeddings = embed_table(model, sub)
    return evaluate_embeddings(embeddings, sub, queries[both], documents[both])


def _device(model: nn.Module) -> str:
    return str(next(model.parameters()).device)


def _use_amp(device: str, amp: bool) -> bool:
    return amp and device.startswith("cuda") and torch.cuda.is_available()


def _autocast(model: nn.Module, amp: bool = True) -> contextlib.AbstractContextManager[Any]:
    device = _device(model)
    if _use_amp(device, amp):
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


# -- training ------------------------------------------------------------------------------
def _schedule(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    warmup = round(total_steps * warmup_fraction)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


@dataclass
class _Phase:
    """One optimisation phase (alignment or the main task): its optimiser and schedule."""

    name: str
    epochs: int
    step: Callable[[np.ndarray, Tensor], tuple[Tensor, dict[str, Tensor]]]
    rows: np.ndarray
    labels: np.ndarray
    parameters: list[nn.Parameter]
    optimiser: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    modules: list[nn.Module]


class _Trainer:
    """State of one :func:`fit` call (kept out of the public API)."""

    def __init__(
        self,
        table: AdTable,
        config: TrainConfig,
        text_encoder: Encoder | None,
        image_encoder: Encoder | None,
        log_dir: Path | None,
    ) -> None:
        self.config = config
        self.table = table
        self.log_dir = log_dir
        torch.manual_seed(config.seed)
        self.rng = np.random.default_rng(config.seed)
        self.task = config.resolved_task
        usable = table.usable(config.modality)
        self.train_mask = table.rows("train", config.train_domain) & usable
        self.val_mask = table.rows("val", config.train_domain) & usable
        if not self.train_mask.any():
            raise InputError(
                f"no labelled {config.modality}-usable train ads (split {config.split_name!r}, "
                f"domain {config.train_domain!r})"
            )
        self.vendors = sorted({str(v) for v in table.vendor[self.train_mask]})
        if len(self.vendors) < 2:
            raise InputError(f"training needs at least 2 vendors, got {len(self.vendors)}")
        if config.modality != "image" and table.text.shape[1] == 0:
            raise InputError(f"a {config.modality} model needs text vectors; no text encoder given")
        if config.modality != "text" and table.image.shape[1] == 0:
            raise InputError(
                f"a {config.modality} model needs image vectors; no image encoder given"
            )
        if config.pair_mode:
            self.samples, self.ad_row = expand_pairs(table)
        else:
            self.samples, self.ad_row = table, np.arange(len(table))
        sample_usable = self.samples.usable(config.modality)
        self.sample_train = np.flatnonzero(self.train_mask[self.ad_row] & sample_usable)
        class_of = {v: i for i, v in enumerate(self.vendors)}
        self.labels = np.array(
            [class_of[str(v)] for v in self.samples.vendor[self.sample_train]], dtype=np.int64
        )
        self.source = self._feature_source(text_encoder, image_encoder)
        self.model = self._build_model(text_encoder, image_encoder).to(config.device)
        options: dict[str, Any] = {}
        if "supcon" in config.loss_names:
            options["temperature"] = config.temperature
        self.loss_fn = make_loss(config.loss, weights=config.loss_weights, **options)
        self.amp = _use_amp(config.device, config.amp)

    # -- setup -------------------------------------------------------------------------------
    def _feature_source(
        self, text_encoder: Encoder | None, image_encoder: Encoder | None
    ) -> FeatureSource:
        config = self.config
        if config.regime == "frozen":
            return CachedFeatures(self.samples, config.device)
        text = text_encoder if config.modality != "image" else None
        image = image_encoder if config.modality != "text" else None
        if (config.modality != "image" and text is None) or (
            config.modality != "text" and image is None
        ):
            raise InputError(f"regime {config.regime!r} needs the encoder objects to fine-tune")
        return EncoderFeatures(
            self.samples,
            text,
            image,
            regime=config.regime,
            layers=config.finetune_layers,
            max_images=config.max_images,
            device=config.device,
        )

    def _build_model(self, text_encoder: Encoder | None, image_encoder: Encoder | None) -> Any:
        config, table = self.config, self.table
        text_dim = table.text.shape[1]
        image_dim = table.image.shape[1]
        if isinstance(self.source, EncoderFeatures):
            text_dim = text_encoder.dim if self.source.text_module is not None else text_dim  # type: ignore[union-attr]
            image_dim = image_encoder.dim if self.source.image_module is not None else image_dim  # type: ignore[union-attr]
        model_config = ModelConfig(
            modality=config.modality,  # type: ignore[arg-type]
            text_dim=max(text_dim, 1),
            image_dim=max(image_dim, 1),
            dim=config.dim,
            fusion=config.fusion,
            embedding_dim=config.embedding_dim,
            metric_projection=config.metric_projection,
            cosine_scale=config.cosine_scale,
            num_classes=len(self.vendors) if "ce" in config.loss_names else 0,
            dropout=config.dropout,
            text_encoder=table.text_encoder,
            image_encoder=table.image_encoder,
            extra={"task": self.task, "regime": config.regime, "pair_mode": config.pair_mode},
        )
        return VendorModel(model_config, vendors=self.vendors)

    def _phase(
        self,
        name: str,
        epochs: int,
        step: Callable[[np.ndarray, Tensor], tuple[Tensor, dict[str, Tensor]]],
        rows: np.ndarray,
        labels: np.ndarray,
        groups: list[tuple[str, list[nn.Parameter], float]],
        modules: list[nn.Module],
    ) -> _Phase:
        config = self.config
        param_groups = [
            {"params": params, "lr": lr, "name": group} for group, params, lr in groups if params
        ]
        optimiser = torch.optim.AdamW(param_groups, weight_decay=config.weight_decay)
        batch_size = config.vendors_per_batch * config.ads_per_vendor
        n_batches = math.ceil(len(rows) / batch_size)
        steps_per_epoch = math.ceil(n_batches / config.grad_accumulation)
        total = max(1, steps_per_epoch * epochs)
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, _schedule(total, config.warmup_fraction)
        )
        scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        parameters = [p for g in param_groups for p in g["params"]]
        return _Phase(
            name, epochs, step, rows, labels, parameters, optimiser, scheduler, scaler, modules
        )

    def _encoder_parameters(self) -> list[nn.Parameter]:
        if isinstance(self.source, EncoderFeatures):
            return self.source.encoder_parameters()
        return []

    # -- phases ------------------------------------------------------------------------------
    def main_phase(self) -> _Phase:
        model, config = self.model, self.config

        drop = config.modality_dropout if config.modality == "multimodal" else 0.0
        views = config.resolved_metric_views
        generator = torch.Generator().manual_seed(config.seed)

        def step(rows: np.ndarray, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
            feed = self.source.batch(rows)
            if drop and model.training:
                feed = drop_modalities(feed, drop, generator)
            out = model(**feed)
            metric = out.get("metric", out["embedding"])
            return self.loss_fn(
                embeddings=metric,
                logits=out.get("logits"),
                labels=y,
                views=metric_views(out, feed, y, views),
            )

        return self._phase(
            "train",
            config.epochs,
            step,
            self.sample_train,
            self.labels,
            [
                ("encoder", self._encoder_parameters(), config.lr_encoder),
                ("projection", model.projection_parameters(), config.lr_projection),
                ("heads", model.head_parameters(), config.lr_heads),
            ],
            [model, self.source] if isinstance(self.source, nn.Module) else [model],
        )

    def align_phase(self) -> tuple[_Phase, AlignmentObjective]:
        config = self.config
        objective = AlignmentObjective(
            self.model, config.align_loss, temperature=config.align_temperature
        ).to(config.device)
        both = self.samples.has_text[self.sample_train] & self.samples.has_image[self.sample_train]
        if both.sum() < 2:
            raise InputError("alignment pre-training needs train ads with both text and images")

        def step(rows: np.ndarray, y: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
            feed = self.source.batch(rows)
            return objective(feed["text"], feed["image"], y)  # type: ignore[no-any-return]

        itm = list(objective.itm.parameters()) if objective.itm is not None else []
        phase = self._phase(
            "align",
            config.align_epochs,
            step,
            self.sample_train[both],
            self.labels[both],
            [
                ("encoder", self._encoder_parameters(), config.lr_encoder),
                ("projection", self.model.projection_parameters(), config.lr_projection),
                ("heads", itm, config.lr_heads),
            ],
            [objective, self.source] if isinstance(self.source, nn.Module) else [objective],
        )
        return phase, objective

    def run_epoch(self, phase: _Phase) -> dict[str, float]:
        config = self.config
        for module in phase.modules:
            module.train()
        batches = vendor_batches(
            phase.labels, config.vendors_per_batch, config.ads_per_vendor, self.rng
        )
        totals: dict[str, float] = {}
        n_seen = 0
        phase.optimiser.zero_grad(set_to_none=True)
        for i, batch in enumerate(batches):
            y = torch.from_numpy(phase.labels[batch]).to(config.device)
            with _autocast(self.model, config.amp):
                total, parts = phase.step(phase.rows[batch], y)
            phase.scaler.scale(total / config.grad_accumulation).backward()
            if (i + 1) % config.grad_accumulation == 0 or i == len(batches) - 1:
                if config.grad_clip:
                    phase.scaler.unscale_(phase.optimiser)
                    torch.nn.utils.clip_grad_norm_(phase.parameters, config.grad_clip)
                phase.scaler.step(phase.optimiser)
                phase.scaler.update()
                phase.scheduler.step()
                phase.optimiser.zero_grad(set_to_none=True)
            weight = len(batch)
            n_seen += weight
            totals["loss"] = totals.get("loss", 0.0) + float(total.detach()) * weight
            for name, value in parts.items():
                totals[name] = totals.get(name, 0.0) + float(value) * weight
        row = {f"train_{k}": v / max(n_seen, 1) for k, v in totals.items()}
        for group in phase.optimiser.param_groups:
            row[f"lr_{group['name']}"] = group["lr"]
        return row

    def validate(self) -> dict[str, float]:
        """Validation retrieval metrics (empty when no validation query can be evaluated)."""
        if not self.val_mask.any():
            return {}
        need = self.val_mask | self.train_mask
        usable = self.samples.usable(self.config.modality)
        rows = np.flatnonzero(need[self.ad_row] & usable)
        batch = 2048 if isinstance(self.source, CachedFeatures) else 32
        emb = embed_rows(self.model, self.source, rows, batch_size=batch)
        if self.config.pair_mode:
            ads = aggregate_by_ad(emb, self.ad_row[rows], len(self.table))
        else:
            ads = np.zeros((len(self.table), emb.shape[1]), dtype=np.float32)
            ads[rows] = emb
        report = evaluate_embeddings(ads, self.table, self.val_mask, self.train_mask)
        if report is None or not report.n_evaluated:
            return {}
        return {
            "val_r_precision": report.metrics["r_precision"].query_mean,
            "val_mrr_at_10": report.metrics["mrr_at_10"].query_mean,
            "val_macro_f1_at_x": report.macro_f1_at_x,
            "val_queries": report.n_evaluated,
        }

    # -- state -------------------------------------------------------------------------------
    def trainable_state(self) -> dict[str, dict[str, Tensor]]:
        state = {"model": _clone(self.model.state_dict())}
        if isinstance(self.source, EncoderFeatures):
            state["features"] = _clone(self.source.state_dict())
        return state

    def load_trainable_state(self, state: dict[str, dict[str, Tensor]]) -> None:
        self.model.load_state_dict(state["model"])
        if isinstance(self.source, EncoderFeatures) and "features" in state:
            self.source.load_state_dict(state["features"])

    def checkpoint(self, phase: _Phase, extra: dict[str, Any]) -> None:
        save_checkpoint(
            self.log_dir,
            {
                "phase": phase.name,
                "config": self.config.to_dict(),
                "state": self.trainable_state(),
                "optimiser": phase.optimiser.state_dict(),
                "scheduler": phase.scheduler.state_dict(),
                "scaler": phase.scaler.state_dict(),
                "numpy_rng": self.rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                **extra,
            },
        )

    def restore(self, phase: _Phase, saved: dict[str, Any]) -> None:
        self.load_trainable_state(saved["state"])
        phase.optimiser.load_state_dict(saved["optimiser"])
        phase.scheduler.load_state_dict(saved["scheduler"])
        phase.scaler.load_state_dict(saved["scaler"])
        self.rng.bit_generator.state = saved["numpy_rng"]
        torch.set_rng_state(saved["torch_rng"])


def _clone(state: dict[str, Tensor]) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in state.items()}
