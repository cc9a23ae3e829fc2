"""Training: three regimes, three tasks, one loop.

:func:`fit` trains a :class:`~vendorlink.models.multimodal.VendorModel` on an
:class:`~vendorlink.train.data.AdTable`; :func:`train_vendor_model` builds the table from a
workspace, trains, writes the model folder ``WORKSPACE/artefacts/models/<name>`` and records
a ``train`` run (the workspace database is read first and closed while training runs, so a
long training never holds a transaction open).

**Regimes** (``regime``): ``"frozen"`` (a) -- frozen encoders, their cached vectors, a
trainable projection / fusion / head on top: the fast CPU default; ``"last"`` (b) -- the
last ``finetune_layers`` blocks of each encoder train too, on the raw masked text and image
files; ``"full"`` (c) -- every encoder weight trains (meant for a GPU). Encoders get their
own learning rate (``lr_encoder``), the modality projections ``lr_projection``, fusion and
heads ``lr_heads``.

**Tasks** (``task``): ``"identify"`` -- a vendor classifier, loss ``ce``, ``ce+supcon``
(default) or ``ce+triplet``; ``"verify"`` -- metric learning only, ``supcon`` or ``triplet``
(no classification head); ``"align"`` -- MATCHED's CLIP-style alignment pre-training of the
text and image sides (``align_loss`` ``"itc"`` or ``"itc+itm"``, ``align_epochs`` epochs,
:mod:`vendorlink.train.align`) followed by fine-tuning for identify. ``task=None`` means
identify when the loss has ``ce``, else verify.

**The loop**: vendor-grouped batches (P vendors x K ads, :func:`vendor_batches`), AdamW,
linear warm-up then linear decay to zero over the planned steps, optional gradient
accumulation and clipping, mixed precision (float16 autocast and a gradient scaler) when the
device is CUDA and ``amp`` is on (nothing changes on a CPU). After every epoch a validation
retrieval run (queries = ``val`` ads, documents = ``train`` ads,
:func:`~vendorlink.evaluate.evaluate_retrieval`); the state with the best validation
R-Precision (mean over queries) is kept, and training stops after ``patience`` epochs
without improvement. When no validation query can be evaluated the lowest training loss
picks the epoch. Each epoch is logged to ``log.csv`` and TensorBoard and checkpointed in
``<models>/<name>.train/`` (:mod:`vendorlink.train.logs`); ``resume=True`` continues from the
last checkpoint. The same seed, data and config give the same weights, resumed or not.

``pair_mode=True`` trains on one sample per (text, image) pair of each ad
(:mod:`vendorlink.train.pairs`; the split is by ad) and evaluates on the mean of each ad's
pair embeddings.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendorlink.data.workspace import Workspace
from vendorlink.encoders.base import Encoder
from vendorlink.errors import InputError
from vendorlink.models.io import save_model
from vendorlink.models.multimodal import VendorModel
from vendorlink.progress import progress_bar
from vendorlink.train.config import RESUMABLE_CHANGES, TASKS, TrainConfig
from vendorlink.train.data import AdTable, build_ad_table, resolve_encoder
from vendorlink.train.features import EncoderFeatures
from vendorlink.train.logs import TrainLogger, history_csv, load_checkpoint, remove_checkpoint
from vendorlink.train.trainer import (
    _clone,
    _Trainer,
    embed_rows,
    embed_table,
    evaluate_embeddings,
    evaluate_model,
)

__all__ = [
    "TASKS",
    "TrainConfig",
    "TrainResult",
    "copy_config",
    "embed_rows",
    "embed_table",
    "evaluate_embeddings",
    "evaluate_model",
    "fit",
    "train_vendor_model",
]


@dataclass
class TrainResult:
    """What a training run produced: the model folder, the chosen epoch, the history."""

    folder: Path | None
    best_epoch: int
    best_score: float
    epochs_run: int
    seconds: float
    history: list[dict[str, float]] = field(repr=False)
    n_train: int = 0
    n_val: int = 0
    n_vendors: int = 0
    model: VendorModel | None = field(default=None, repr=False)
    stats: dict[str, Any] = field(default_factory=dict, repr=False)

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("model", "history")}
        out["folder"] = str(self.folder) if self.folder is not None else None
        return out


def _check_resumable(saved: dict[str, Any], config: TrainConfig) -> None:
    now = config.to_dict()
    before = saved.get("config", {})
    changed = sorted(
        k for k in now if k not in RESUMABLE_CHANGES and _norm(before.get(k)) != _norm(now[k])
    )
    if changed:
        raise InputError(
            f"cannot resume: the checkpoint was made with different settings ({changed}); "
            "train under a new name or without resume"
        )


def _norm(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def fit(
    table: AdTable,
    config: TrainConfig,
    folder: str | Path | None = None,
    progress: bool = False,
    *,
    text_encoder: Encoder | None = None,
    image_encoder: Encoder | None = None,
    log_dir: str | Path | None = None,
) -> TrainResult:
    """Train on ``table`` (rows with ``part`` train / val) and save to ``folder`` if given.

    ``text_encoder`` / ``image_encoder``: the encoder objects to fine-tune (regimes
    ``"last"`` / ``"full"``; the table must come from ``build_ad_table(..., raw=True)``).
    ``log_dir``: logs and checkpoints (default ``<folder>.train`` next to ``folder``; none
    when neither is given).
    """
    started = time.perf_counter()
    if log_dir is None and folder is not None:
        log_dir = Path(folder).with_name(Path(folder).name + ".train")
    log_path = Path(log_dir) if log_dir is not None else None
    trainer = _Trainer(table, config, text_encoder, image_encoder, log_path)
    saved = load_checkpoint(log_path) if config.resume else None
    if saved is not None:
        _check_resumable(saved, config)
    logger = TrainLogger(log_path, tensorboard=config.tensorboard)
    stats: dict[str, Any] = {"task": trainer.task, "regime": config.regime}
    try:
        if trainer.task == "align":
            stats["align_history"] = _run_alignment(trainer, saved, logger, progress)
            if saved is not None and saved["phase"] == "align":
                saved = None  # the main phase starts fresh after a resumed alignment
        history, best = _run_main(trainer, saved, logger, progress, stats.get("align_history", []))
    finally:
        logger.close()
    model = trainer.model
    trainer.load_trainable_state(best["state"])
    model.eval()
    best_row = history[best["epoch"] - 1]
    result = TrainResult(
        folder=Path(folder) if folder is not None else None,
        best_epoch=best["epoch"],
        best_score=float(best_row.get("val_r_precision", float("nan"))),
        epochs_run=len(history),
        seconds=time.perf_counter() - started,
        history=history,
        n_train=int(
            len(trainer.sample_train) if not config.pair_mode else trainer.train_mask.sum()
        ),
        n_val=int(trainer.val_mask.sum()),
        n_vendors=len(trainer.vendors),
        model=model,
        stats=stats,
    )
    if config.pair_mode:
        stats["n_train_pairs"] = len(trainer.sample_train)
    if folder is not None:
        _save(trainer, result, Path(folder))
        remove_checkpoint(log_path)
    return result


def _run_alignment(
    trainer: _Trainer, saved: dict[str, Any] | None, logger: TrainLogger, progress: bool
) -> list[dict[str, float]]:
    phase, objective = trainer.align_phase()
    history: list[dict[str, float]] = []
    start = 1
    if saved is not None:
        if saved["phase"] == "train":
            return list(saved.get("align_history", []))
        trainer.restore(phase, saved)
        if objective.itm is not None and "itm" in saved:
            objective.itm.load_state_dict(saved["itm"])
        history = list(saved["history"])
        start = saved["epoch"] + 1
    with progress_bar(f"align {trainer.config.name}", phase.epochs, progress) as advance:
        advance(start - 1)
        for epoch in range(start, phase.epochs + 1):
            t0 = time.perf_counter()
            row: dict[str, float] = {"epoch": epoch, **trainer.run_epoch(phase)}
            row["seconds"] = time.perf_counter() - t0
            history.append(row)
            logger.log("align", history)
            extra: dict[str, Any] = {"epoch": epoch, "history": history}
            if objective.itm is not None:
                extra["itm"] = _clone(objective.itm.state_dict())
            trainer.checkpoint(phase, extra)
            advance(1)
    return history


def _run_main(
    trainer: _Trainer,
    saved: dict[str, Any] | None,
    logger: TrainLogger,
    progress: bool,
    align_history: list[dict[str, float]],
) -> tuple[list[dict[str, float]], dict[str, Any]]:
    config = trainer.config
    phase = trainer.main_phase()
    history: list[dict[str, float]] = []
    best: dict[str, Any] | None = None
    since_best = 0
    start = 1
    if saved is not None and saved["phase"] == "train":
        trainer.restore(phase, saved)
        history = list(saved["history"])
        best = saved["best"]
        since_best = int(saved["since_best"])
        start = saved["epoch"] + 1
        if config.patience and since_best >= config.patience:
            start = config.epochs + 1  # it had already stopped early
    with progress_bar(f"train {config.name}", config.epochs, progress) as advance:
        advance(start - 1)
        for epoch in range(start, config.epochs + 1):
            t0 = time.perf_counter()
            row: dict[str, float] = {"epoch": epoch, **trainer.run_epoch(phase)}
            row.update(trainer.validate())
            score = row.get("val_r_precision", float("nan"))
            selection = score if not math.isnan(score) else -row["train_loss"]
            row["seconds"] = time.perf_counter() - t0
            history.append(row)
            logger.log("train", history)
            if best is None or selection > best["selection"] + 1e-9:
                best = {"selection": selection, "epoch": epoch, "state": trainer.trainable_state()}
                since_best = 0
            else:
                since_best += 1
            trainer.checkpoint(
                phase,
                {
                    "epoch": epoch,
                    "history": history,
                    "best": best,
                    "since_best": since_best,
                    "align_history": align_history,
                },
            )
            advance(1)
            if config.patience and since_best >= config.patience:
                break
    assert best is not None
    return history, best


def _save(trainer: _Trainer, result: TrainResult, folder: Path) -> None:
    config = trainer.config
    extra_files = {
        "train_config.json": json.dumps(config.to_dict(), indent=2),
        "log.csv": history_csv(result.history),
        "result.json": json.dumps(result.as_dict(), indent=2, default=str),
    }
    if result.stats.get("align_history"):
        extra_files["align_log.csv"] = history_csv(result.stats["align_history"])
    writers: dict[str, Callable[[Path], Any]] = {}
    source = trainer.source
    if isinstance(source, EncoderFeatures):
        if source.text_encoder is not None:
            writers["text_encoder"] = source.text_encoder.save  # type: ignore[attr-defined]
        if source.image_encoder is not None:
            writers["image_encoder"] = source.image_encoder.save  # type: ignore[attr-defined]
    save_model(
        trainer.model, folder, overwrite=config.overwrite, extra_files=extra_files, writers=writers
    )


def train_vendor_model(
    workspace: Workspace,
    config: TrainConfig | None = None,
    progress: bool = False,
    table: AdTable | None = None,
) -> TrainResult:
    """Train on the workspace's split and save to ``artefacts/models/<config.name>``.

    Reads ads, labels, split and cached vectors (the encoders compute any vector not
    cached yet) and closes the database; trains; then records a ``train`` run with the
    table and result statistics. ``table`` reuses an already built :class:`AdTable` (it
    must come from the same split and label source; with ``raw=True`` for the fine-tuning
    regimes and ``keep_images=True`` for the pair mode).
    """
    config = config or TrainConfig()
    folder = workspace.artefacts / "models" / config.name
    if config.regime != "frozen" and config.encoder_backend != "torch":
        raise InputError("fine-tuning regimes need encoder_backend 'torch'")
    text_enc = image_enc = None
    if table is None or config.regime != "frozen":  # a given table already has the vectors
        if config.modality != "image":
            text_enc = resolve_encoder(config.text_encoder, config.encoder_backend)
        if config.modality != "text":
            image_enc = resolve_encoder(config.image_encoder, config.encoder_backend)
    stats: dict[str, Any] = {}
    if table is None:
        with workspace.connect() as con:
            table = build_ad_table(
                workspace,
                con=con,
                split_name=config.split_name,
                label_source=config.label_source,
                text_encoder=text_enc,
                image_encoder=image_enc,
                backend=config.encoder_backend,
                progress=progress,
                stats=stats,
                raw=config.regime != "frozen",
                keep_images=config.pair_mode,
            )
    result = fit(
        table,
        config,
        folder=folder,
        progress=progress,
        text_encoder=text_enc,
        image_encoder=image_enc,
    )
    with workspace.run("train", config.to_dict()) as run:
        run.stats.update(stats)
        run.stats.update(result.as_dict())
    return result


def copy_config(config: TrainConfig, **changes: Any) -> TrainConfig:
    """A copy of ``config`` with ``changes`` applied (validated again)."""
    data = copy.deepcopy(config.to_dict())
    data.update(changes)
    return TrainConfig.from_dict(data)
