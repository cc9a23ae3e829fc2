"""Training logs and checkpoints in a run folder ``<models>/<name>.train/``.

- ``log.csv``: one row per epoch (rewritten atomically after every epoch, so it can be
  followed while training runs); ``align_log.csv`` for the alignment pre-training phase;
- ``tensorboard/``: the same numbers as TensorBoard scalars (``torch.utils.tensorboard``);
- ``checkpoint.pt``: everything needed to continue after the last finished epoch
  (model, encoders, optimiser, scheduler, gradient scaler, random states, history, best
  state so far); ``resume=True`` loads it. It is removed once the model folder is written.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vendorlink.atomic import atomic_write_text

__all__ = ["TrainLogger", "history_csv", "load_checkpoint", "save_checkpoint"]

CHECKPOINT = "checkpoint.pt"


def history_csv(history: list[dict[str, float]]) -> str:
    """Rows as CSV text (the union of their keys as columns, in first-seen order)."""
    columns: list[str] = []
    for row in history:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(history)
    return buffer.getvalue()


class TrainLogger:
    """Writes each epoch's row to ``<folder>/<name>.csv`` and TensorBoard (if ``folder``)."""

    def __init__(self, folder: Path | None, tensorboard: bool = True) -> None:
        self.folder = folder
        self._writer: Any = None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            if tensorboard:
                from torch.utils.tensorboard import SummaryWriter

                self._writer = SummaryWriter(log_dir=str(folder / "tensorboard"))

    def log(self, phase: str, history: list[dict[str, float]]) -> None:
        """Record the last row of ``history`` (phase ``"train"`` or ``"align"``)."""
        if self.folder is None or not history:
            return
        name = "log.csv" if phase == "train" else f"{phase}_log.csv"
        atomic_write_text(self.folder / name, history_csv(history))
        if self._writer is not None:
            row = history[-1]
            step = int(row.get("epoch", len(history)))
            for key, value in row.items():
                if key != "epoch" and isinstance(value, (int, float)) and np.isfinite(value):
                    self._writer.add_scalar(f"{phase}/{key}", float(value), step)
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def save_checkpoint(folder: Path | None, state: dict[str, Any]) -> None:
    """Write ``checkpoint.pt`` atomically (temporary file, then rename)."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{CHECKPOINT}.tmp"
    torch.save(state, tmp)
    tmp.replace(folder / CHECKPOINT)


def load_checkpoint(folder: Path | None) -> dict[str, Any] | None:
    """The saved checkpoint, or ``None`` when there is none."""
    if folder is None or not (folder / CHECKPOINT).is_file():
        return None
    return torch.load(folder / CHECKPOINT, map_location="cpu", weights_only=False)  # type: ignore[no-any-return]


def remove_checkpoint(folder: Path | None) -> None:
    if folder is not None:
        (folder / CHECKPOINT).unlink(missing_ok=True)
