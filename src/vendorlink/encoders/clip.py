"""CLIP as a text encoder and an image encoder, from one local ``transformers`` CLIPModel folder.

The folder holds ``config.json`` (``model_type: clip``), the weights, a tokenizer and
optionally ``preprocessor_config.json`` (resize / crop / mean / std; without it the vision
config's ``image_size`` and CLIP's mean / std are used). Nothing is downloaded.

- :class:`ClipTextEncoder`: ``CLIPModel.get_text_features`` (the text tower's end-of-text
  token state through the text projection), L2-normalised; tokenisation, length-sorted
  batching and padding are those of :class:`~vendorlink.encoders.text.TextEncoder`.
- :class:`~vendorlink.encoders.image.ImageEncoder` with a CLIP vision backbone
  (``get_image_features``), L2-normalised, via :func:`load_clip_encoder`.

Both are ordinary :class:`~vendorlink.encoders.base.Encoder` s: their vectors go through the
embedding cache (names ``text:clip-<folder>@<sha>`` / ``image:clip-<folder>@<sha>``), and
their PyTorch modules can be fine-tuned.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from vendorlink.encoders.base import Backend, Encoder, EncoderError, fingerprint, hf_offline
from vendorlink.encoders.image import ImageEncoder, ImagePreprocess, _hf_preprocess
from vendorlink.encoders.text import TOKENIZER_FILES, TextEncoder, quiet_transformers

if TYPE_CHECKING:
    import torch

__all__ = ["ClipTextEncoder", "is_clip_folder", "load_clip_encoder"]

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_MODELS: dict[tuple[str, str], Any] = {}


def is_clip_folder(path: str | Path) -> bool:
    """True for a folder whose ``config.json`` says ``model_type: clip``."""
    config = Path(path).expanduser() / "config.json"
    if not config.is_file():
        return False
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("model_type") == "clip"
    except (OSError, json.JSONDecodeError):
        return False


def _weights(path: Path) -> list[Path]:
    files = [path / f for f in ("model.safetensors", "pytorch_model.bin") if (path / f).is_file()]
    files += sorted(path.glob("model-*.safetensors"))
    if not files:
        raise EncoderError(f"{path} has no weights (model.safetensors or pytorch_model.bin)")
    return files


def _clip_model(path: Path) -> Any:
    """The CLIPModel of ``path`` (loaded once per folder and fingerprint, in eval mode)."""
    key = (str(path.resolve()), fingerprint([path / "config.json", *_weights(path)])[:16])
    if key not in _MODELS:
        hf_offline()
        from transformers import CLIPModel

        try:
            with quiet_transformers():
                _MODELS[key] = CLIPModel.from_pretrained(str(path), local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load a CLIP model from {path}: {exc}") from exc
    return _MODELS[key]


def _features(out: Any) -> torch.Tensor:
    """``get_*_features`` returns a tensor (transformers 4) or an output whose
    ``pooler_output`` is the projected vector (transformers 5)."""
    return out if hasattr(out, "dim") else out.pooler_output


def _module_classes() -> tuple[type, type]:
    import torch
    from torch.nn import functional

    class ClipTextModule(torch.nn.Module):
        """CLIP text tower + projection -> optional L2 norm (for TextEncoder feeds)."""

        def __init__(self, model: Any, normalize: bool = True) -> None:
            super().__init__()
            self.model = model
            self.normalize = normalize

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            vec = _features(
                self.model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
            )
            return functional.normalize(vec, p=2.0, dim=-1) if self.normalize else vec

    class ClipVisionBackbone(torch.nn.Module):
        """CLIP vision tower + projection (the ImageEncoder adds the L2 norm)."""

        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            return _features(self.model.get_image_features(pixel_values=pixel_values))

    return ClipTextModule, ClipVisionBackbone


class ClipTextEncoder(TextEncoder):
    """The text tower of a local CLIP model (see the module docstring)."""

    modality = "text"

    def __init__(
        self,
        model_dir: str | Path,
        *,
        max_length: int = 77,
        normalize: bool = True,
        backend: Backend = "torch",
        device: str = "cpu",
        batch_size: int = 32,
        onnx_dir: str | Path | None = None,
        threads: int | None = None,
        int8_method: str | None = None,
    ) -> None:
        hf_offline()
        model_dir = Path(model_dir)
        if not is_clip_folder(model_dir):
            raise EncoderError(f"{model_dir} is not a CLIP model folder (model_type: clip)")
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        from transformers import AutoTokenizer

        try:
            with quiet_transformers():
                self.tokenizer = AutoTokenizer.from_pretrained(
                    str(model_dir), local_files_only=True
                )
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load a tokenizer from {model_dir}: {exc}") from exc
        text_config = config.get("text_config") or {}
        limits = [max_length, int(text_config.get("max_position_embeddings", 77))]
        if 0 < self.tokenizer.model_max_length < 1_000_000:
            limits.append(int(self.tokenizer.model_max_length))
        self.max_length = min(limits)
        if self.max_length < 2:
            raise EncoderError(f"max_length must be at least 2, got {self.max_length}")
        self.normalize = normalize
        self.model_dir = model_dir
        self.model_id = f"clip-{model_dir.name}"
        self.uses_token_types = False
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0
        files = [model_dir / "config.json", *_weights(model_dir)]
        files += [model_dir / f for f in TOKENIZER_FILES if (model_dir / f).is_file()]
        name = f"text:{self.model_id}@{fingerprint(files, root=model_dir)[:12]}"
        name += f":max_len={self.max_length}" + ("" if normalize else ":raw")
        dim = int(config.get("projection_dim") or 512)
        Encoder.__init__(
            self,
            base_name=name,
            dim=dim,
            backend=backend,
            device=device,
            batch_size=batch_size,
            onnx_dir=onnx_dir,
            threads=threads,
            int8_method="dynamic",
        )

    def torch_module(self) -> torch.nn.Module:
        if self._module is None:
            text_cls, _ = _module_classes()
            module = text_cls(_clip_model(self.model_dir), normalize=self.normalize)
            self._module = module.eval().to(self.device)
        return self._module

    def save(self, folder: str | Path) -> Path:
        """Write the whole (possibly fine-tuned) CLIP model and the tokenizer."""
        return _save_clip(self.torch_module().model, self.model_dir, folder, self.tokenizer)  # type: ignore[union-attr]


def _save_clip(model: Any, source: Path, folder: str | Path, tokenizer: Any = None) -> Path:
    import shutil

    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise EncoderError(f"{folder} exists and is not empty; choose a new folder")
    with quiet_transformers():
        model.save_pretrained(str(folder))
        if tokenizer is not None:
            tokenizer.save_pretrained(str(folder))
    for extra in ("preprocessor_config.json", *TOKENIZER_FILES):
        if (source / extra).is_file() and not (folder / extra).exists():
            shutil.copy2(source / extra, folder / extra)
    return folder


def _clip_preprocess(path: Path, config: dict[str, Any]) -> ImagePreprocess:
    vision = config.get("vision_config") or {}
    pre_path = path / "preprocessor_config.json"
    if pre_path.is_file():
        pre = json.loads(pre_path.read_text(encoding="utf-8"))
        pre.setdefault("image_mean", list(CLIP_MEAN))
        pre.setdefault("image_std", list(CLIP_STD))
        return _hf_preprocess(pre, vision)
    size = int(vision.get("image_size", 224))
    return ImagePreprocess(size, size, size, CLIP_MEAN, CLIP_STD)


def load_clip_encoder(
    path: str | Path,
    modality: Literal["text", "image"],
    *,
    normalize: bool = True,
    **options: Any,
) -> Encoder:
    """The text or image tower of the CLIP model folder ``path`` as an :class:`Encoder`."""
    path = Path(path).expanduser()
    if modality == "text":
        return ClipTextEncoder(path, normalize=normalize, **options)
    if modality != "image":
        raise EncoderError(f"unknown modality {modality!r}; use 'text' or 'image'")
    if not is_clip_folder(path):
        raise EncoderError(f"{path} is not a CLIP model folder (model_type: clip)")
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    files = [path / "config.json", *_weights(path)]
    if (path / "preprocessor_config.json").is_file():
        files.append(path / "preprocessor_config.json")
    _, vision_cls = _module_classes()
    options.setdefault("int8_method", "dynamic")
    encoder = ImageEncoder(
        model_id=f"clip-{path.name}",
        sha=fingerprint(files),
        dim=int(config.get("projection_dim") or 512),
        preprocess=_clip_preprocess(path, config),
        backbone_factory=lambda: vision_cls(_clip_model(path)),
        normalize=normalize,
        **options,
    )
    encoder.save = lambda folder: _save_clip(  # type: ignore[method-assign]
        encoder.torch_module().backbone.model,
        path,
        folder,  # type: ignore[union-attr]
    )
    return encoder
