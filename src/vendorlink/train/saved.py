"""Load a trained model folder with its fine-tuned encoders, and embed raw ads with it.

A folder written by :func:`~vendorlink.train.fit` holds the
:class:`~vendorlink.models.multimodal.VendorModel` (``config.json``, ``model.safetensors``,
``labels.json``) and, when encoders were fine-tuned (regimes ``"last"`` / ``"full"``), the
encoders in ``text_encoder/`` and ``image_encoder/`` (loadable with ``load_encoder``). A
frozen-regime model has no encoder folders: its inputs are the vectors of the encoders named
in its config (``config.text_encoder`` / ``config.image_encoder``), cached in the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vendorlink.encoders import Encoder, load_encoder
from vendorlink.models.multimodal import VendorModel
from vendorlink.train.data import AdTable
from vendorlink.train.features import EncoderFeatures

__all__ = ["TrainedModel", "load_trained"]

TEXT_FOLDER = "text_encoder"
IMAGE_FOLDER = "image_encoder"


@dataclass
class TrainedModel:
    """A vendor model and, for fine-tuned regimes, its own encoders."""

    model: VendorModel
    text_encoder: Encoder | None = None
    image_encoder: Encoder | None = None

    @property
    def fine_tuned(self) -> bool:
        return self.text_encoder is not None or self.image_encoder is not None

    def embed(self, table: AdTable, batch_size: int = 32) -> np.ndarray:
        """Embeddings of every row of ``table``.

        Fine-tuned models read the raw texts / image files (``build_ad_table(raw=True)``);
        frozen ones the cached vectors.
        """
        from vendorlink.train.loop import embed_rows, embed_table

        if not self.fine_tuned:
            return embed_table(self.model, table)
        source = EncoderFeatures(
            table,
            self.text_encoder if self.model.config.modality != "image" else None,
            self.image_encoder if self.model.config.modality != "text" else None,
            regime="full",
            device=str(next(self.model.parameters()).device),
        )
        return embed_rows(self.model, source, np.arange(len(table)), batch_size=batch_size)


def load_trained(folder: str | Path, device: str = "cpu") -> TrainedModel:
    """Load a model folder and the fine-tuned encoders saved in it (if any)."""
    folder = Path(folder)
    model = VendorModel.load(folder, device=device)
    text = image = None
    if (folder / TEXT_FOLDER).is_dir():
        text = load_encoder(str(folder / TEXT_FOLDER), modality="text", device=device)
    if (folder / IMAGE_FOLDER).is_dir():
        image = load_encoder(str(folder / IMAGE_FOLDER), modality="image", device=device)
    return TrainedModel(model, text, image)
