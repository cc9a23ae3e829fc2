"""Training regime (a): frozen encoders, cached embeddings, a small trainable model on top.

:func:`fit` trains a :class:`~vendorlink.models.multimodal.VendorModel` on an
:class:`~vendorlink.train.data.AdTable`; :func:`train_vendor_model` builds the table from a
workspace (recording a ``train`` run) and writes the model folder to
``WORKSPACE/artefacts/models/<name>``.

The loop: vendor-grouped batches (P vendors x K ads, :func:`vendor_batches`), AdamW with
one learning rate for the modality projections and another for fusion + heads, linear
warm-up then linear decay to zero over the planned steps, optional gradient accumulation,
and after every epoch a validation retrieval run (queries = ``val`` ads, documents =
``train`` ads, :func:`~vendorlink.evaluate.evaluate_retrieval`); the state with the best
validation R-Precision (mean over queries) is kept and training stops after ``patience``
epochs without improvement. When no validation query can be evaluated (no val ad has a
vendor among the train documents) the lowest training loss picks the epoch instead.
The same seed, data and config give the same weights.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.evaluate import RetrievalReport, evaluate_retrieval
from vendorlink.models.io import save_model
from vendorlink.models.losses import make_loss
from vendorlink.models.multimodal import ModelConfig, VendorModel
from vendorlink.progress import progress_bar
from vendorlink.train.data import AdTable, build_ad_table
from vendorlink.train.sampler import vendor_batches

__all__ = [
    "TrainConfig",
    "TrainResult",
    "copy_config",
    "embed_table",
    "evaluate_embeddings",
    "evaluate_model",
    "fit",
    "train_vendor_model",
]


@dataclass
class TrainConfig:
    """Options of one training run; every CLI option maps to one field.

    Data: ``split_name``, ``label_source`` (default: the workspace's), ``train_domain``
    (``"in"``: train and validate on in-distribution ads only, so out-of-distribution ads
    stay unseen; ``None``: all domains), encoders (names or folders; their vectors are
    cached) and ``encoder_backend`` for computing vectors not cached yet.
    Model: see :class:`ModelConfig`. Loss: ``loss`` as in ``make_loss`` (``"ce"``,
    ``"ce+supcon"``, ``"supcon"``, ...); a classification head is built when it has ``ce``.
    Batches: ``vendors_per_batch`` x ``ads_per_vendor`` ads; one optimiser step every
    ``grad_accumulation`` batches. ``patience = 0`` turns early stopping off (the best
    epoch is still the one kept).
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
    dropout: float = 0.1
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

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise InputError(f"epochs must be at least 1, got {self.epochs}")
        if self.grad_accumulation < 1:
            raise InputError(f"grad_accumulation must be at least 1, got {self.grad_accumulation}")
        if not 0 <= self.warmup_fraction < 1:
            raise InputError(f"warmup_fraction must be in [0, 1), got {self.warmup_fraction}")
        if self.loss_weights is not None:
            self.loss_weights = tuple(float(w) for w in self.loss_weights)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise InputError(f"unknown train config keys {unknown}")
        return cls(**data)


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


# -- evaluation helpers --------------------------------------------------------------------
def embed_table(model: VendorModel, table: AdTable, batch_size: int = 2048) -> np.ndarray:
    """Model embeddings of every row of ``table`` (rows it cannot embed must be removed)."""
    mode = model.config.modality
    return model.embed(
        text=table.text if mode != "image" else None,
        image=table.image if mode != "text" else None,
        has_text=table.has_text if mode != "image" else None,
        has_image=table.has_image if mode != "text" else None,
        batch_size=batch_size,
    )["embedding"]


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


# -- training ------------------------------------------------------------------------------
def _schedule(total_steps: int, warmup_fraction: float) -> Any:
    warmup = round(total_steps * warmup_fraction)

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def fit(
    table: AdTable,
    config: TrainConfig,
    folder: str | Path | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train on ``table`` (rows with ``part`` train / val) and save to ``folder`` if given."""
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    usable = table.usable(config.modality)
    train_mask = table.rows("train", config.train_domain) & usable
    val_mask = table.rows("val", config.train_domain) & usable
    if not train_mask.any():
        raise InputError(
            f"no labelled {config.modality}-usable train ads (split {config.split_name!r}, "
            f"domain {config.train_domain!r})"
        )
    train_vendors = sorted({str(v) for v in table.vendor[train_mask]})
    if len(train_vendors) < 2:
        raise InputError(f"training needs at least 2 vendors, got {len(train_vendors)}")
    class_of = {v: i for i, v in enumerate(train_vendors)}
    train_rows = np.flatnonzero(train_mask)
    labels = np.array([class_of[str(v)] for v in table.vendor[train_rows]], dtype=np.int64)

    loss_names = [p.strip().lower() for p in config.loss.split("+")]
    model_config = ModelConfig(
        modality=config.modality,  # type: ignore[arg-type]
        text_dim=max(table.text.shape[1], 1),
        image_dim=max(table.image.shape[1], 1),
        dim=config.dim,
        fusion=config.fusion,
        embedding_dim=config.embedding_dim,
        num_classes=len(train_vendors) if "ce" in loss_names else 0,
        dropout=config.dropout,
        text_encoder=table.text_encoder,
        image_encoder=table.image_encoder,
    )
    if config.modality != "image" and table.text.shape[1] == 0:
        raise InputError(f"a {config.modality} model needs text vectors; no text encoder given")
    if config.modality != "text" and table.image.shape[1] == 0:
        raise InputError(f"a {config.modality} model needs image vectors; no image encoder given")
    options: dict[str, Any] = {}
    if any(n in ("supcon", "infonce", "ntxent") for n in loss_names):
        options["temperature"] = config.temperature
    loss_fn = make_loss(config.loss, weights=config.loss_weights, **options)
    if any(n in ("infonce", "ntxent") for n in loss_names):
        raise InputError("pair losses (infonce, ntxent) need the alignment trainer, not fit()")

    model = VendorModel(model_config, vendors=train_vendors).to(config.device)
    optimiser = torch.optim.AdamW(
        [
            {"params": model.projection_parameters(), "lr": config.lr_projection},
            {"params": model.head_parameters(), "lr": config.lr_heads},
        ],
        weight_decay=config.weight_decay,
    )
    batch_size = config.vendors_per_batch * config.ads_per_vendor
    steps_per_epoch = math.ceil(math.ceil(len(train_rows) / batch_size) / config.grad_accumulation)
    total_steps = max(1, steps_per_epoch * config.epochs)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimiser, _schedule(total_steps, config.warmup_fraction)
    )
    inputs = table.tensors()
    targets = torch.from_numpy(labels)

    history: list[dict[str, float]] = []
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    since_best = 0
    with progress_bar(f"train {config.name}", config.epochs, progress) as advance:
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.perf_counter()
            model.train()
            batches = vendor_batches(labels, config.vendors_per_batch, config.ads_per_vendor, rng)
            totals: dict[str, float] = {}
            n_seen = 0
            optimiser.zero_grad(set_to_none=True)
            for i, batch in enumerate(batches):
                rows = torch.from_numpy(train_rows[batch])
                feed = {k: v[rows].to(config.device) for k, v in inputs.items()}
                out = model(**feed)
                y = targets[torch.from_numpy(batch)].to(config.device)
                total, parts = loss_fn(
                    embeddings=out["embedding"], logits=out.get("logits"), labels=y
                )
                (total / config.grad_accumulation).backward()
                last = i == len(batches) - 1
                if (i + 1) % config.grad_accumulation == 0 or last:
                    if config.grad_clip:
                        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                    optimiser.step()
                    scheduler.step()
                    optimiser.zero_grad(set_to_none=True)
                weight = len(batch)
                n_seen += weight
                totals["loss"] = totals.get("loss", 0.0) + float(total.detach()) * weight
                for name, value in parts.items():
                    totals[name] = totals.get(name, 0.0) + float(value) * weight
            row: dict[str, float] = {"epoch": epoch}
            row.update({f"train_{k}": v / max(n_seen, 1) for k, v in totals.items()})
            row["lr_projection"] = optimiser.param_groups[0]["lr"]
            row["lr_heads"] = optimiser.param_groups[1]["lr"]
            score = float("nan")
            if val_mask.any():
                report = evaluate_model(model, table, val_mask, train_mask)
                if report is not None and report.n_evaluated:
                    score = report.metrics["r_precision"].query_mean
                    row["val_r_precision"] = score
                    row["val_mrr_at_10"] = report.metrics["mrr_at_10"].query_mean
                    row["val_queries"] = report.n_evaluated
            selection = score if not math.isnan(score) else -row["train_loss"]
            row["seconds"] = time.perf_counter() - epoch_start
            history.append(row)
            advance(1)
            if best is None or selection > best[0] + 1e-9:
                state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                best = (selection, epoch, state)
                since_best = 0
            else:
                since_best += 1
                if config.patience and since_best >= config.patience:
                    break
    assert best is not None
    model.load_state_dict(best[2])
    model.eval()
    best_row = history[best[1] - 1]
    result = TrainResult(
        folder=Path(folder) if folder is not None else None,
        best_epoch=best[1],
        best_score=float(best_row.get("val_r_precision", float("nan"))),
        epochs_run=len(history),
        seconds=time.perf_counter() - started,
        history=history,
        n_train=int(train_mask.sum()),
        n_val=int(val_mask.sum()),
        n_vendors=len(train_vendors),
        model=model,
    )
    if folder is not None:
        save_model(
            model,
            folder,
            overwrite=config.overwrite,
            extra_files={
                "train_config.json": json.dumps(config.to_dict(), indent=2),
                "log.csv": _csv(history),
                "result.json": json.dumps(result.as_dict(), indent=2, default=str),
            },
        )
    return result


def _csv(history: list[dict[str, float]]) -> str:
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()


def train_vendor_model(
    workspace: Workspace,
    config: TrainConfig | None = None,
    progress: bool = False,
    table: AdTable | None = None,
) -> TrainResult:
    """Train on the workspace's split and save to ``artefacts/models/<config.name>``.

    Reads ads, labels, split and cached vectors inside a recorded ``train`` run (the
    encoders compute any vector not cached yet). ``table`` reuses an already built
    :class:`AdTable` (it must come from the same split and label source).
    """
    config = config or TrainConfig()
    folder = workspace.artefacts / "models" / config.name
    with workspace.run("train", config.to_dict()) as run:
        if table is None:
            table = build_ad_table(
                workspace,
                con=run.con,
                split_name=config.split_name,
                label_source=config.label_source,
                text_encoder=config.text_encoder if config.modality != "image" else None,
                image_encoder=config.image_encoder if config.modality != "text" else None,
                backend=config.encoder_backend,
                progress=progress,
                stats=run.stats,
            )
        result = fit(table, config, folder=folder, progress=progress)
        run.stats.update(result.as_dict())
    return result


def copy_config(config: TrainConfig, **changes: Any) -> TrainConfig:
    """A copy of ``config`` with ``changes`` applied (validated again)."""
    data = copy.deepcopy(config.to_dict())
    data.update(changes)
    return TrainConfig.from_dict(data)
