"""A trained flag model with its label names and calibrated thresholds: save, load, predict.

Folder layout (written atomically)::

    MODEL/
      config.json             # FlagConfig (architecture, encoders)
      model.safetensors       # FlagNetwork weights
      inference_config.json   # label names, per-label thresholds, encoders, backend
      (train_config.json, log.csv, metrics.json, report.md/.html, roc_curves.png,
       text_encoder/ and image_encoder/ when the encoders were fine-tuned)

``inference_config.json``::

    {"labels": [...], "thresholds": {"movement": 0.41, ...}, "default_threshold": 0.5,
     "text_encoder": "minilm", "image_encoder": "efficientnet-lite0", "backend": "torch",
     "modality": "multimodal", "mask_text": true}

:meth:`FlagModel.predict` takes raw ads (text and/or images; text-only and image-only ads
work) and returns ``{"predictions": {label: bool}, "probabilities": {label: float}}`` per
ad; :meth:`FlagModel.predict_vectors` scores cached encoder vectors (the fast path).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vendorlink.atomic import staging_dir
from vendorlink.encoders import Encoder
from vendorlink.errors import InputError
from vendorlink.flag.encoders import resolve_flag_encoder
from vendorlink.flag.model import FlagConfig, FlagNetwork
from vendorlink.models.fusion import aggregate_images

__all__ = ["INFERENCE_FILE", "FlagModel", "Prediction"]

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
INFERENCE_FILE = "inference_config.json"

Prediction = dict[str, dict[str, Any]]
AdInput = Mapping[str, Any] | str


class FlagModel:
    """:class:`FlagNetwork` + label names + thresholds + the encoders that feed it."""

    def __init__(
        self,
        network: FlagNetwork,
        thresholds: Sequence[float] | np.ndarray | None = None,
        folder: Path | None = None,
    ) -> None:
        self.network = network.eval()
        self.config: FlagConfig = network.config
        n = len(self.config.labels)
        thr = np.full(n, 0.5) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        if thr.shape != (n,):
            raise InputError(f"{thr.shape[0]} thresholds for {n} labels")
        self.thresholds = thr
        self.folder = folder
        self._encoders: dict[str, Encoder | None] = {}

    @property
    def labels(self) -> list[str]:
        return list(self.config.labels)

    # -- encoders --------------------------------------------------------------------------
    def encoder(self, modality: str) -> Encoder | None:
        """The text or image encoder (loaded on first use; ``None`` if the model has none)."""
        if modality not in self._encoders:
            uses = self.config.uses_text if modality == "text" else self.config.uses_image
            spec = (
                self.config.text_encoder_spec
                if modality == "text"
                else (self.config.image_encoder_spec)
            )
            self._encoders[modality] = (
                resolve_flag_encoder(spec, modality, self.config.backend, base=self.folder)
                if uses
                else None
            )
        return self._encoders[modality]

    def set_encoder(self, modality: str, encoder: Encoder | None) -> None:
        """Use an already loaded encoder object (e.g. the one that computed the cache)."""
        self._encoders[modality] = encoder

    # -- scoring ---------------------------------------------------------------------------
    @torch.no_grad()
    def probabilities(
        self,
        text: np.ndarray | None = None,
        image: np.ndarray | None = None,
        has_text: np.ndarray | None = None,
        has_image: np.ndarray | None = None,
        batch_size: int = 4096,
    ) -> np.ndarray:
        """Sigmoid outputs ``(N, C)`` for cached encoder vectors (numpy in, numpy out)."""
        self.network.eval()
        ref = text if text is not None else image
        if ref is None:
            raise InputError("give text and/or image vectors")
        n = len(ref)
        out = np.zeros((n, len(self.labels)), dtype=np.float32)

        def piece(x: np.ndarray | None, lo: int, dtype: torch.dtype) -> torch.Tensor | None:
            if x is None:
                return None
            return torch.as_tensor(np.asarray(x[lo : lo + batch_size]), dtype=dtype)

        use_text = self.config.uses_text
        use_image = self.config.uses_image
        for lo in range(0, n, batch_size):
            logits = self.network(
                piece(text, lo, torch.float32) if use_text else None,
                piece(image, lo, torch.float32) if use_image else None,
                piece(has_text, lo, torch.bool) if use_text else None,
                piece(has_image, lo, torch.bool) if use_image else None,
            )
            out[lo : lo + len(logits)] = torch.sigmoid(logits).numpy()
        return out

    def decide(self, probabilities: np.ndarray) -> np.ndarray:
        """Boolean flags ``(N, C)``: probability >= that label's threshold."""
        return np.asarray(probabilities) >= self.thresholds[None, :]

    def as_dicts(self, probabilities: np.ndarray) -> list[Prediction]:
        """One ``{"predictions": ..., "probabilities": ...}`` dict per row."""
        flags = self.decide(probabilities)
        names = self.labels
        return [
            {
                "predictions": {n: bool(f) for n, f in zip(names, frow, strict=True)},
                "probabilities": {n: float(p) for n, p in zip(names, prow, strict=True)},
            }
            for prow, frow in zip(probabilities, flags, strict=True)
        ]

    def predict_vectors(
        self,
        text: np.ndarray | None = None,
        image: np.ndarray | None = None,
        has_text: np.ndarray | None = None,
        has_image: np.ndarray | None = None,
    ) -> list[Prediction]:
        """Predictions for cached encoder vectors, one dict per row."""
        return self.as_dicts(self.probabilities(text, image, has_text, has_image))

    def encode_ads(self, ads: Sequence[AdInput]) -> dict[str, np.ndarray]:
        """Encoder vectors and presence flags of raw ads (see :meth:`predict`)."""
        from vendorlink.extract.masking import mask_text

        texts: list[str | None] = []
        images: list[list[Any]] = []
        for i, ad in enumerate(ads):
            if isinstance(ad, str):
                ad = {"text": ad}
            if not isinstance(ad, Mapping):
                raise InputError(f"ad {i} must be a dict with text and/or images, or a string")
            unknown = set(ad) - {"text", "images", "image"}
            if unknown:
                raise InputError(f"ad {i} has unknown keys {sorted(unknown)}; use text, images")
            text = ad.get("text")
            if text is not None and not isinstance(text, str):
                raise InputError(f"ad {i}: text must be a string, got {type(text).__name__}")
            pics = ad.get("images", ad.get("image"))
            pics = [] if pics is None else list(pics) if isinstance(pics, (list, tuple)) else [pics]
            text = text if text and text.strip() else None
            if text is None and not pics:
                raise InputError(f"ad {i} has neither text nor an image")
            texts.append(text)
            images.append(pics)
        n = len(ads)
        cfg = self.config
        out: dict[str, np.ndarray] = {
            "text": np.zeros((n, cfg.text_dim), np.float32),
            "image": np.zeros((n, cfg.image_dim), np.float32),
            "has_text": np.array([t is not None for t in texts]),
            "has_image": np.array([bool(p) for p in images]),
        }
        if cfg.uses_text and out["has_text"].any():
            encoder = self.encoder("text")
            assert encoder is not None
            rows = np.flatnonzero(out["has_text"])
            prepared = [mask_text(texts[r]) if cfg.mask_text else texts[r] for r in rows]
            out["text"][rows] = encoder.encode(prepared)  # type: ignore[arg-type]
        if cfg.uses_image and out["has_image"].any():
            encoder = self.encoder("image")
            assert encoder is not None
            flat = [pic for pics in images for pic in pics]
            owner = torch.tensor([i for i, pics in enumerate(images) for _ in pics])
            vectors = torch.from_numpy(encoder.encode(flat))
            pooled, _ = aggregate_images(vectors, owner, "mean", num_ads=n)
            out["image"] = pooled.numpy().astype(np.float32)
        return out

    def predict(
        self,
        ads: AdInput | Sequence[AdInput] | None = None,
        *,
        text: str | None = None,
        images: Sequence[Any] | None = None,
    ) -> Prediction | list[Prediction]:
        """Flags for one ad or a batch of raw ads.

        An ad is ``{"text": str, "images": [path | bytes | PIL image, ...]}`` (either key
        may be missing: text-only and image-only ads work), or a plain string (text only);
        ``predict(text=..., images=...)`` is the one-ad shorthand. Texts are masked as in
        ``vendorlink extract`` before encoding (identifiers never reach the model), images
        are encoded and averaged per ad. One ad in, one dict out; a list in, a list out.
        """
        single = ads is None or isinstance(ads, (str, Mapping))
        if ads is None:
            ads = {"text": text, "images": list(images or [])}
        elif text is not None or images is not None:
            raise InputError("give either ads or text=/images=, not both")
        batch: list[AdInput] = [ads] if single else list(ads)  # type: ignore[list-item,arg-type]
        if self.config.modality == "text":
            missing = [i for i, a in enumerate(batch) if not _has_text(a)]
            if missing:
                raise InputError(f"this text-only model cannot score ads without text: {missing}")
        vectors = self.encode_ads(batch)
        if self.config.modality == "image" and not vectors["has_image"].all():
            rows = np.flatnonzero(~vectors["has_image"]).tolist()
            raise InputError(f"this image-only model cannot score ads without images: {rows}")
        result = self.predict_vectors(**vectors)
        return result[0] if single else result

    # -- save / load -----------------------------------------------------------------------
    def inference_config(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "labels": self.labels,
            "thresholds": {n: float(t) for n, t in zip(self.labels, self.thresholds, strict=True)},
            "default_threshold": 0.5,
            "modality": cfg.modality,
            "text_encoder": cfg.text_encoder_spec,
            "image_encoder": cfg.image_encoder_spec,
            "text_encoder_name": cfg.text_encoder,
            "image_encoder_name": cfg.image_encoder,
            "backend": cfg.backend,
            "mask_text": cfg.mask_text,
            "fusion_dim": cfg.fusion_dim,
        }

    def save(
        self,
        folder: str | Path,
        *,
        overwrite: bool = True,
        extra_files: Mapping[str, str] | None = None,
        extra_folders: Mapping[str, Path] | None = None,
    ) -> Path:
        """Write the model folder atomically (see the module docstring)."""
        from safetensors.torch import save_file

        folder = Path(folder)
        with staging_dir(folder, overwrite) as tmp:
            (tmp / CONFIG_FILE).write_text(self.config.to_json(), encoding="utf-8")
            state = {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
            save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
            text = json.dumps(self.inference_config(), indent=2, ensure_ascii=False)
            (tmp / INFERENCE_FILE).write_text(text, encoding="utf-8")
            for name, content in (extra_files or {}).items():
                (tmp / name).write_text(content, encoding="utf-8")
            for name, src in (extra_folders or {}).items():
                shutil.copytree(src, tmp / name)
        self.folder = folder
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> FlagModel:
        """Load a saved flag model (eval mode, CPU) with its thresholds and label names."""
        from safetensors.torch import load_file

        folder = Path(folder)
        missing = [
            n for n in (CONFIG_FILE, WEIGHTS_FILE, INFERENCE_FILE) if not (folder / n).is_file()
        ]
        if missing:
            raise InputError(f"{folder} is not a flag model folder (missing {missing})")
        config = FlagConfig.from_dict(json.loads((folder / CONFIG_FILE).read_text("utf-8")))
        inference = json.loads((folder / INFERENCE_FILE).read_text("utf-8"))
        if list(inference.get("labels", [])) != config.labels:
            raise InputError(f"{folder}: inference_config labels differ from config.json labels")
        network = FlagNetwork(config)
        network.load_state_dict(load_file(str(folder / WEIGHTS_FILE), device="cpu"), strict=True)
        default = float(inference.get("default_threshold", 0.5))
        thresholds = [float(inference["thresholds"].get(n, default)) for n in config.labels]
        return cls(network, thresholds, folder=folder)


def _has_text(ad: AdInput) -> bool:
    if isinstance(ad, str):
        return bool(ad.strip())
    text = ad.get("text") if isinstance(ad, Mapping) else None
    return isinstance(text, str) and bool(text.strip())
