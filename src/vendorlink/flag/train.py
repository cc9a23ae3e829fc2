"""Training the flag model: multi-label loss, two learning rates, warm-up + cosine, early stopping.

Regime (default): **frozen encoders** -- the model trains on cached encoder vectors
(:class:`~vendorlink.flag.data.FlagData`), which is fast on a CPU. Option: **fine-tuning**
-- the text and image encoders' PyTorch modules run inside the loop on the ads' (masked)
texts and image files and are updated at ``lr_encoder``. Batches come from the shared
feature sources of :mod:`vendorlink.train.features` (``CachedFeatures`` /
``EncoderFeatures``), as in the vendor-model trainer.

The loop: AdamW with one learning rate for the encoders (fine-tuning only) and one for
projections + fusion + head (``lr_head``), linear warm-up over ``warmup_fraction`` of the
steps then cosine decay to zero (:func:`warmup_cosine`), gradient clipping, mini-batches
either shuffled or drawn with :func:`sample_weights` (``weighted_sampling``: ads with rare
labels drawn more often). After every epoch the validation macro ROC-AUC is computed; the
best epoch's weights are kept and training stops after ``patience`` epochs without
improvement. Then the per-label thresholds are calibrated on the validation split
(:func:`~vendorlink.flag.metrics.calibrate_thresholds`) and the test split is scored with
both the calibrated thresholds and 0.5. The same seed, data and config give the same model.
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vendorlink.errors import InputError
from vendorlink.flag.data import FlagData
from vendorlink.flag.metrics import calibrate_thresholds, macro_roc_auc, multilabel_metrics
from vendorlink.flag.model import FlagConfig, FlagNetwork
from vendorlink.flag.predictor import FlagModel
from vendorlink.models.multilabel_losses import make_multilabel_loss, positive_weights
from vendorlink.progress import progress_bar
from vendorlink.train.features import CachedFeatures, EncoderFeatures

__all__ = [
    "FlagResult",
    "FlagTrainConfig",
    "fit_flag",
    "sample_weights",
    "warmup_cosine",
]

Features = CachedFeatures | EncoderFeatures


@dataclass
class FlagTrainConfig:
    """Options of one flag training run (every CLI option maps to one field).

    Model: ``modality``, ``fusion`` (``gated``; ``mean`` = the no-gate ablation),
    ``interactions``, ``fusion_dim``, ``hidden``, ``dropout``. Loss: ``loss`` (``bce``,
    ``focal``, ``asl``) with per-label positive weights when ``pos_weight``; ``gamma``
    (focal), ``gamma_neg`` / ``clip`` (asl). Optimiser: ``lr_head``, ``lr_encoder``
    (fine-tuning), ``weight_decay``, ``warmup_fraction``, ``grad_clip``. Loop: ``epochs``,
    ``batch_size``, ``patience`` (0 = no early stopping), ``weighted_sampling``, ``seed``.
    """

    name: str = "flag"
    modality: str = "multimodal"
    fusion: str = "gated"
    interactions: bool = True
    fusion_dim: int = 512
    hidden: tuple[int, ...] = (512,)
    dropout: float = 0.1
    loss: str = "bce"
    pos_weight: bool = True
    gamma: float = 2.0
    gamma_neg: float = 4.0
    clip: float = 0.05
    lr_head: float = 1e-3
    lr_encoder: float = 1e-5
    weight_decay: float = 0.02
    warmup_fraction: float = 0.05
    grad_clip: float | None = 1.0
    epochs: int = 30
    batch_size: int = 256
    patience: int = 4
    weighted_sampling: bool = False
    seed: int = 0
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise InputError(f"batch_size must be at least 1, got {self.batch_size}")
        if not 0 <= self.warmup_fraction < 1:
            raise InputError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.lr_head <= 0 or self.lr_encoder <= 0:
            raise InputError("learning rates must be positive")
        self.hidden = tuple(int(h) for h in self.hidden)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlagTrainConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown flag train config keys {unknown}")
        return cls(**data)


@dataclass
class FlagResult:
    """A trained model, its epoch history and the validation / test metrics."""

    model: FlagModel
    best_epoch: int
    best_val_auc: float
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(repr=False)
    metrics: dict[str, Any] = field(default_factory=dict, repr=False)
    probabilities: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def summary(self) -> dict[str, Any]:
        test = self.metrics.get("test", {})
        return {
            "best_epoch": self.best_epoch,
            "best_val_roc_auc_macro": self.best_val_auc,
            "epochs_run": self.epochs_run,
            "seconds": round(self.seconds, 2),
            "test_f1_macro": test.get("calibrated", {}).get("f1_macro"),
            "test_f1_macro_at_0.5": test.get("at_0.5", {}).get("f1_macro"),
            "test_f1_micro": test.get("calibrated", {}).get("f1_micro"),
            "test_roc_auc_macro": test.get("calibrated", {}).get("roc_auc_macro"),
            "test_samples_per_s": test.get("samples_per_s"),
        }


def warmup_cosine(total_steps: int, warmup_fraction: float) -> Callable[[int], float]:
    """LR factor: linear warm-up over ``round(total * fraction)`` steps, then cosine to 0."""
    total_steps = max(1, total_steps)
    warmup = round(total_steps * warmup_fraction)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


def sample_weights(labels: np.ndarray, power: float = 0.5) -> np.ndarray:
    """Sampling weight per row: ``1 + sum over its positive labels of (neg/pos)^power``,
    normalised to sum to 1 (ads with rare labels are drawn more often; ads without any
    positive keep weight 1)."""
    y = np.asarray(labels, dtype=np.float64)
    ratio = positive_weights(y).astype(np.float64) ** power
    weights = 1.0 + y @ ratio
    return weights / weights.sum()


def _network_config(data: FlagData, config: FlagTrainConfig, specs: dict[str, str]) -> FlagConfig:
    table = data.table
    if config.modality != "image" and table.text.shape[1] == 0:
        raise InputError(f"a {config.modality} flag model needs text vectors (no text encoder)")
    if config.modality != "text" and table.image.shape[1] == 0:
        raise InputError(f"a {config.modality} flag model needs image vectors (no image encoder)")
    return FlagConfig(
        labels=list(data.names),
        modality=config.modality,  # type: ignore[arg-type]
        text_dim=max(table.text.shape[1], 1),
        image_dim=max(table.image.shape[1], 1),
        fusion_dim=config.fusion_dim,
        fusion=config.fusion,
        interactions=config.interactions,
        hidden=config.hidden,
        dropout=config.dropout,
        text_encoder=table.text_encoder,
        image_encoder=table.image_encoder,
        text_encoder_spec=specs.get("text", ""),
        image_encoder_spec=specs.get("image", ""),
        backend=specs.get("backend", "torch"),
    )


def _probabilities(
    network: FlagNetwork, features: Features, rows: np.ndarray, batch_size: int = 1024
) -> np.ndarray:
    network.eval()
    features.eval()
    parts = []
    with torch.no_grad():
        for lo in range(0, len(rows), batch_size):
            batch = features.batch(rows[lo : lo + batch_size])
            parts.append(torch.sigmoid(network(**batch)).numpy())
    if not parts:
        return np.zeros((0, len(network.config.labels)), dtype=np.float32)
    return np.concatenate(parts)


def fit_flag(
    data: FlagData,
    config: FlagTrainConfig | None = None,
    *,
    encoder_specs: dict[str, str] | None = None,
    features: Features | None = None,
    progress: bool = False,
) -> FlagResult:
    """Train, calibrate and evaluate a flag model on ``data`` (see the module docstring).

    ``config.threads`` sets torch's intra-op threads for the run (restored afterwards; one
    thread is often faster for this small network on a busy machine).

    ``features``: where batches come from -- the shared feature sources of
    :mod:`vendorlink.train.features`: :class:`CachedFeatures` over ``data.table`` (default,
    frozen encoders) or :class:`EncoderFeatures` (fine-tuning; its encoder parameters train
    at ``lr_encoder``).
    """
    config = config or FlagTrainConfig()
    previous = torch.get_num_threads()
    if config.threads:
        torch.set_num_threads(config.threads)
    try:
        return _fit(data, config, encoder_specs, features, progress)
    finally:
        torch.set_num_threads(previous)


def _fit(
    data: FlagData,
    config: FlagTrainConfig,
    encoder_specs: dict[str, str] | None,
    features: Features | None,
    progress: bool,
) -> FlagResult:
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    train_rows = data.rows("train", config.modality)
    val_rows = data.rows("val", config.modality)
    test_rows = data.rows("test", config.modality)
    if len(train_rows) == 0:
        raise InputError(f"no {config.modality}-usable training ads")
    if len(val_rows) == 0:
        raise InputError("no validation ads: the split has an empty val part")
    y_all = data.labels.astype(np.float32)
    empty = [n for n, c in zip(data.names, y_all[train_rows].sum(axis=0), strict=True) if c == 0]
    if len(empty) == len(data.names):
        raise InputError("no label has a positive training ad")

    network = FlagNetwork(_network_config(data, config, encoder_specs or {}))
    features = features if features is not None else CachedFeatures(data.table)
    unique: dict[int, torch.nn.Parameter] = {}
    for p in features.parameters():  # two towers of one CLIP model share parameters
        if p.requires_grad:
            unique[id(p)] = p
    encoder_params = list(unique.values())
    groups: list[dict[str, Any]] = [{"params": list(network.parameters()), "lr": config.lr_head}]
    if encoder_params:
        groups.append({"params": encoder_params, "lr": config.lr_encoder})
    optimiser = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(train_rows) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, warmup_cosine(steps_per_epoch * config.epochs, config.warmup_fraction)
    )
    y_train = y_all[train_rows]
    pos_weight = positive_weights(y_train) if config.pos_weight else None
    options: dict[str, Any] = {}
    if config.loss == "focal":
        options["gamma"] = config.gamma
    elif config.loss in ("asl", "asymmetric"):
        options.update(gamma_neg=config.gamma_neg, clip=config.clip)
    loss_fn = make_multilabel_loss(config.loss, pos_weight=pos_weight, **options)
    targets = torch.from_numpy(y_all)
    weights = sample_weights(y_train) if config.weighted_sampling else None

    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor], dict[str, torch.Tensor]] | None = None
    since_best = 0
    with progress_bar(f"train flag {config.name}", config.epochs, progress) as advance:
        for epoch in range(1, config.epochs + 1):
            tick = time.perf_counter()
            network.train()
            features.train()
            if weights is None:
                order = train_rows[rng.permutation(len(train_rows))]
            else:
                order = train_rows[rng.choice(len(train_rows), len(train_rows), p=weights)]
            total, seen = 0.0, 0
            for lo in range(0, len(order), config.batch_size):
                rows = order[lo : lo + config.batch_size]
                logits = network(**features.batch(rows))
                loss = loss_fn(logits=logits, labels=targets[torch.from_numpy(rows)])
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip:
                    params = [p for g in groups for p in g["params"]]
                    torch.nn.utils.clip_grad_norm_(params, config.grad_clip)
                optimiser.step()
                scheduler.step()
                total += float(loss.detach()) * len(rows)
                seen += len(rows)
            p_val = _probabilities(network, features, val_rows)
            auc = macro_roc_auc(y_all[val_rows], p_val)
            score = auc if not math.isnan(auc) else -total / max(seen, 1)
            history.append(
                {
                    "epoch": epoch,
                    "train_loss": total / max(seen, 1),
                    "val_roc_auc_macro": auc,
                    "lr_head": optimiser.param_groups[0]["lr"],
                    "seconds": time.perf_counter() - tick,
                }
            )
            advance(1)
            if best is None or score > best[0] + 1e-6:
                state = {k: v.detach().clone() for k, v in network.state_dict().items()}
                enc_state = (
                    {k: v.detach().clone() for k, v in features.state_dict().items()}
                    if features.trainable
                    else {}
                )
                best = (score, epoch, state, enc_state)
                since_best = 0
            else:
                since_best += 1
                if config.patience and since_best >= config.patience:
                    break
    assert best is not None
    network.load_state_dict(best[2])
    if features.trainable:
        features.load_state_dict(best[3])
    network.eval()
    features.eval()

    p_val = _probabilities(network, features, val_rows)
    thresholds = calibrate_thresholds(y_all[val_rows], p_val)
    model = FlagModel(network, thresholds)
    if features.trainable:  # the fine-tuned encoders encode new ads
        model.set_encoder("text", getattr(features, "text_encoder", None))
        model.set_encoder("image", getattr(features, "image_encoder", None))
    probs = {"val": p_val}
    metrics: dict[str, Any] = {
        "labels_without_train_positives": empty,
        "val": {"calibrated": multilabel_metrics(y_all[val_rows], p_val, thresholds, data.names)},
    }
    if len(test_rows):
        tick = time.perf_counter()
        p_test = _probabilities(network, features, test_rows)
        seconds = time.perf_counter() - tick
        probs["test"] = p_test
        metrics["test"] = {
            "calibrated": multilabel_metrics(y_all[test_rows], p_test, thresholds, data.names),
            "at_0.5": multilabel_metrics(y_all[test_rows], p_test, 0.5, data.names),
            # One pass over the test ads with this run's inputs (cached vectors, or the
            # encoders when fine-tuning); the benchmark reports medians of several runs.
            "samples_per_s": len(test_rows) / seconds if seconds > 0 else float("nan"),
        }
    metrics["counts"] = {
        "train": len(train_rows),
        "val": len(val_rows),
        "test": len(test_rows),
    }
    return FlagResult(
        model=model,
        best_epoch=best[1],
        best_val_auc=float(history[best[1] - 1]["val_roc_auc_macro"]),
        epochs_run=len(history),
        seconds=time.perf_counter() - started,
        history=history,
        metrics=metrics,
        probabilities=probs,
    )


def history_csv(history: Sequence[dict[str, float]]) -> str:
    """The epoch log as CSV text."""
    columns = list(dict.fromkeys(k for row in history for k in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()


def save_result(
    result: FlagResult,
    folder: str | Path,
    config: FlagTrainConfig,
    *,
    overwrite: bool = True,
    extra_files: dict[str, str] | None = None,
    extra_folders: dict[str, Path] | None = None,
) -> Path:
    """Save the model folder with its train config, epoch log and metrics."""
    from vendorlink.reports import json_ready

    files = {
        "train_config.json": json.dumps(config.to_dict(), indent=2),
        "log.csv": history_csv(result.history),
        "metrics.json": json.dumps(json_ready(result.metrics), indent=2),
        **(extra_files or {}),
    }
    return result.model.save(
        folder, overwrite=overwrite, extra_files=files, extra_folders=extra_folders
    )
