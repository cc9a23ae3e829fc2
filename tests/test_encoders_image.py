"""Image encoders: preprocessing, a tiny random ViT folder, and packaged EfficientNet-Lite0."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from vendorlink.encoders import EncoderError, load_encoder
from vendorlink.encoders.image import (
    ImageEncoder,
    ImagePreprocess,
    builtin_calibration_images,
    load_image,
)


def make_tiny_vit(folder: Path, seed: int = 0) -> Path:
    """A randomly initialised 1-layer ViT (32x32 input, hidden 32) + preprocessor config."""
    import torch
    from transformers import ViTConfig, ViTModel

    torch.manual_seed(seed)
    config = ViTConfig(
        image_size=32,
        patch_size=8,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
    )
    ViTModel(config).save_pretrained(str(folder))
    preprocessor = {
        "do_resize": True,
        "size": {"height": 32, "width": 32},
        "resample": 2,
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.5, 0.5, 0.5],
    }
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor), encoding="utf-8")
    return folder


def synthetic_photo(seed: int, size: tuple[int, int] = (300, 220)) -> Image.Image:
    """A smooth random 'photo': gradient background, a few shapes, blurred."""
    rng = np.random.default_rng(seed)
    w, h = size
    base = rng.integers(0, 255, 3)
    yy, xx = np.mgrid[0:h, 0:w]
    pixels = base + (xx[..., None] * rng.uniform(-0.4, 0.4, 3)) + (yy[..., None] * 0.2)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        box = (x0, y0, x0 + int(rng.integers(20, 120)), y0 + int(rng.integers(20, 120)))
        fill = tuple(int(c) for c in rng.integers(0, 255, 3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    return image.filter(ImageFilter.GaussianBlur(2))


@pytest.fixture(scope="session")
def tiny_vit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_vit(tmp_path_factory.mktemp("models") / "tiny-vit")


@pytest.fixture(scope="session")
def lite0() -> ImageEncoder:
    encoder = load_encoder("efficientnet-lite0")
    assert isinstance(encoder, ImageEncoder)
    return encoder


@pytest.fixture(scope="session")
def photos() -> list[Image.Image]:
    from sklearn.datasets import load_sample_image

    return [Image.fromarray(load_sample_image(n)) for n in ("china.jpg", "flower.jpg")]


def test_preprocess_resizes_crops_and_normalises() -> None:
    pre = ImagePreprocess(
        height=224, width=224, resize_shorter=256, mean=(0.5,) * 3, std=(0.5,) * 3
    )
    wide = Image.new("RGB", (640, 320), (255, 0, 0))
    out = pre(wide)
    assert out.shape == (3, 224, 224) and out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out[0], 1.0, atol=1e-6)  # red channel: (1 - .5) / .5
    np.testing.assert_allclose(out[1:], -1.0, atol=1e-6)
    tiny = ImagePreprocess(height=32, width=32, resize_shorter=None)(Image.new("RGB", (5, 900)))
    assert tiny.shape == (3, 32, 32)


def test_load_image_handles_modes_paths_bytes_and_errors(tmp_path: Path) -> None:
    rgba = Image.new("RGBA", (10, 10), (0, 0, 0, 0))  # fully transparent -> white
    assert load_image(rgba).getpixel((0, 0)) == (255, 255, 255)
    assert load_image(Image.new("L", (4, 4), 7)).mode == "RGB"
    path = tmp_path / "x.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(path)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, format="PNG")
    assert load_image(path).getpixel((1, 1)) == load_image(buffer.getvalue()).getpixel((1, 1))
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff not a jpeg")
    with pytest.raises(EncoderError, match=r"broken\.jpg"):
        load_image(broken)
    with pytest.raises(EncoderError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(EncoderError, match="give PIL images"):
        load_image(42)  # type: ignore[arg-type]


def test_hf_vision_folder(tiny_vit: Path, tmp_path: Path) -> None:
    encoder = load_encoder(tiny_vit)
    assert encoder.modality == "image" and encoder.dim == 32
    assert re.fullmatch(r"image:tiny-vit@[0-9a-f]{12}:size=32x32", encoder.name)
    images = [synthetic_photo(i) for i in range(5)]
    path = tmp_path / "p.png"
    images[0].save(path)
    vectors = encoder.encode(images)
    assert vectors.shape == (5, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(encoder.encode(images, batch_size=2), vectors, atol=1e-5)
    np.testing.assert_allclose(encoder.encode([path])[0], encoder.encode([Image.open(path)])[0])


def test_efficientnet_lite0_embeddings(lite0: ImageEncoder, photos: list[Image.Image]) -> None:
    assert re.fullmatch(r"image:efficientnet-lite0@[0-9a-f]{12}:size=224x224", lite0.name)
    assert lite0.dim == 1280
    china, flower = photos
    variants = [
        china,
        china.resize((china.width // 2, china.height // 2)).filter(ImageFilter.GaussianBlur(1)),
        flower,
    ]
    vectors = lite0.encode(variants)
    assert vectors.shape == (3, 1280) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    alone = lite0.encode(variants[2:])
    np.testing.assert_allclose(vectors[2:], alone, atol=1e-5)  # batch-independent
    np.testing.assert_array_equal(alone, lite0.encode(variants[2:]))  # deterministic
    sims = vectors @ vectors.T
    assert sims[0, 1] > 0.7 and sims[0, 1] > sims[0, 2] + 0.3


def test_efficientnet_preprocessing_matches_its_imagenet_training(
    lite0: ImageEncoder, photos: list[Image.Image]
) -> None:
    """The pooled features feed the packaged 1000-way head: ImageNet classes must come out."""
    import torch

    module = lite0.torch_module()
    with torch.inference_mode():
        pixels = torch.from_numpy(lite0.prepare(photos)["pixel_values"])
        logits = module.backbone.net._fc(module.backbone(pixels))  # type: ignore[union-attr]
    top = logits.argmax(dim=1).tolist()
    assert top == [698, 985]  # palace (china.jpg), daisy (flower.jpg)


def test_efficientnet_save_and_reload(
    lite0: ImageEncoder, photos: list[Image.Image], tmp_path: Path
) -> None:
    saved = lite0.save(tmp_path / "lite0-finetuned")
    again = load_encoder(saved)
    assert again.name.startswith("image:efficientnet-lite0@") and again.name != lite0.name
    np.testing.assert_allclose(again.encode(photos), lite0.encode(photos), atol=1e-6)


def test_options_show_in_name() -> None:
    imagenet = load_encoder("efficientnet-lite0", normalization="imagenet", image_size=192)
    assert imagenet.name.endswith(":size=192x192:norm=imagenet")
    default_int8 = load_encoder("efficientnet-lite0", backend="onnx-int8").name
    assert re.search(r":int8-static-f[0-9a-f]+@builtin$", default_int8)  # f: layers kept float
    all_int8 = load_encoder("efficientnet-lite0", backend="onnx-int8", int8_keep_float=())
    assert all_int8.name.endswith(":int8-static@builtin")
    assert load_encoder(
        "efficientnet-lite0", backend="onnx-int8", int8_method="dynamic"
    ).name.endswith(":size=224x224:int8")
    own = load_encoder(
        "efficientnet-lite0", backend="onnx-int8", calibration_images=[synthetic_photo(0)]
    )
    assert re.search(r":int8-static(-f[0-9a-f]+)?@[0-9a-f]{8}$", own.name)
    with pytest.raises(EncoderError, match="unknown normalization"):
        load_encoder("efficientnet-lite0", normalization="nope")


def test_builtin_calibration_set_is_seeded() -> None:
    a, b = builtin_calibration_images(n_crops=3), builtin_calibration_images(n_crops=3)
    assert len(a) == 8
    assert all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b, strict=True))
