"""Encoder throughput: torch vs ONNX Runtime fp32 vs ONNX Runtime int8, text and image.

Usage::

    python benchmarks/encoder_speed.py                     # 512 texts, 128 images, 3 runs
    python benchmarks/encoder_speed.py --texts 128 --images 32 --repeats 1   # quick look

Inputs are generated and seeded: ad-like texts of about 100 MiniLM tokens; images are
JPEG files on disk (decoding and preprocessing are part of the image timings, as in
``embed_images``), a quarter of them crops of scikit-learn's two sample photos and the
rest smooth synthetic 640x480 pictures (agreement is reported for each group).

For each encoder and backend the script loads the encoder, warms it up (the first ONNX
use exports / quantises the model into the ONNX cache; that one-off time is reported as
``prepare_s``), then encodes the whole set ``--repeats`` times; throughput is items per
second of the median run. Agreement with the torch vectors (cosine, mean and min over
items) is reported for every backend.

Prints a table and writes JSON (default ``bench-out/encoder_speed.json``).

The change in retrieval quality (R-Precision) each backend causes is measured on labelled
ads by ``benchmarks/onnx_quality.py`` (same backends, with throughput on those ads too).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from vendorlink.encoders import BACKENDS, Encoder, load_encoder
from vendorlink.encoders.base import available_cores

PHRASES = [
    "new in town", "call me now", "sweet and discreet", "available 24/7", "incall and outcall",
    "ask for Lily", "no rush", "real pics 100%", "specials all week", "text only please",
    "first time here", "upscale and classy", "just arrived", "visiting for a few days",
    "your satisfaction is my priority", "no blocked numbers", "serious gentlemen only",
    "let me make your day", "clean and friendly", "come see me tonight", "donations only",
    "near the airport", "downtown location", "private and safe", "the best in the city",
]  # fmt: skip
EMOJI = ["💋", "🌹", "🔥", "✨", "💕", "😘"]


def synthetic_texts(n: int, seed: int = 0, words: int = 70) -> list[str]:
    """``n`` ad-like texts of about ``words`` words (~100 word-piece tokens each)."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts: list[str] = []
        while sum(len(p.split()) for p in parts) < words:
            phrase = rng.choice(PHRASES)
            phrase = phrase.upper() if rng.random() < 0.15 else phrase
            parts.append(phrase + rng.choice(["!", "!!", ".", " ~", ",", " " + rng.choice(EMOJI)]))
        texts.append(" ".join(parts))
    return texts


def bench_images(n: int, folder: Path, seed: int = 0) -> tuple[list[Path], dict[str, slice]]:
    """``n`` images written as JPEG files: a quarter are crops of scikit-learn's two sample
    photos (natural images; seeded differently from the int8 calibration crops), the rest
    smooth synthetic 640x480 'photos'. Returns the paths and the slice of each group."""
    from sklearn.datasets import load_sample_image

    rng = np.random.default_rng(seed + 123)
    photos = [Image.fromarray(load_sample_image(f)) for f in ("china.jpg", "flower.jpg")]
    n_photo = n // 4
    paths = []
    for i in range(n_photo):
        photo = photos[i % 2]
        w, h = photo.size
        side = int(rng.integers(min(w, h) // 3, min(w, h)))
        left, top = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
        path = folder / f"photo{i:04d}.jpg"
        photo.crop((left, top, left + side, top + side)).save(path, quality=90)
        paths.append(path)
    yy, xx = np.mgrid[0:480, 0:640]
    for i in range(n - n_photo):
        colour = rng.integers(0, 255, 3)
        pixels = colour + xx[..., None] * rng.uniform(-0.3, 0.3, 3) + yy[..., None] * 0.1
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(12):
            x0, y0 = int(rng.integers(0, 560)), int(rng.integers(0, 400))
            box = (x0, y0, x0 + int(rng.integers(20, 200)), y0 + int(rng.integers(20, 200)))
            fill = tuple(int(c) for c in rng.integers(0, 255, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
        path = folder / f"synthetic{i:04d}.jpg"
        image.filter(ImageFilter.GaussianBlur(1.5)).save(path, quality=90)
        paths.append(path)
    return paths, {"photos": slice(0, n_photo), "synthetic": slice(n_photo, n)}


def bench_one(
    spec: str,
    backend: str,
    inputs: list[Any],
    *,
    repeats: int,
    batch_size: int,
    onnx_dir: Path | None,
    reference: np.ndarray | None,
    groups: dict[str, slice],
) -> tuple[dict[str, Any], np.ndarray]:
    start = time.perf_counter()
    encoder: Encoder = load_encoder(spec, backend=backend, onnx_dir=onnx_dir, batch_size=batch_size)  # type: ignore[arg-type]
    encoder.encode(inputs[:2])  # loads weights; exports / quantises on first ONNX use
    prepare = time.perf_counter() - start
    times = []
    vectors = np.empty(0)
    for _ in range(repeats):
        t0 = time.perf_counter()
        vectors = encoder.encode(inputs)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    row: dict[str, Any] = {
        "encoder": encoder.name,
        "modality": encoder.modality,
        "backend": backend,
        "items": len(inputs),
        "batch_size": batch_size,
        "prepare_s": round(prepare, 2),
        "run_s": [round(t, 3) for t in times],
        "median_s": round(median, 3),
        "items_per_s": round(len(inputs) / median, 1),
    }
    if reference is not None:
        cos = (vectors * reference).sum(1) / (
            np.linalg.norm(vectors, axis=1) * np.linalg.norm(reference, axis=1)
        )
        row["cosine_to_torch_mean"] = round(float(cos.mean()), 5)
        row["cosine_to_torch_min"] = round(float(cos.min()), 5)
        for group, part in groups.items():
            if len(cos[part]):
                row[f"cosine_to_torch_{group}"] = {
                    "mean": round(float(cos[part].mean()), 5),
                    "min": round(float(cos[part].min()), 5),
                }
    return row, vectors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=512)
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--text-encoder", default="minilm")
    parser.add_argument("--image-encoder", default="efficientnet-lite0")
    parser.add_argument("--text-batch-size", type=int, default=64)
    parser.add_argument("--image-batch-size", type=int, default=32)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--onnx-dir", type=Path, default=None, help="ONNX model cache folder")
    parser.add_argument("--out", type=Path, default=Path("bench-out/encoder_speed.json"))
    args = parser.parse_args(argv)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if backends and backends[0] != "torch":
        backends = ["torch", *[b for b in backends if b != "torch"]]  # reference first

    rows: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    texts = synthetic_texts(args.texts)
    with tempfile.TemporaryDirectory() as tmp:
        images, image_groups = bench_images(args.images, Path(tmp))
        jobs = [(args.text_encoder, texts, args.text_batch_size, {})]
        jobs.append((args.image_encoder, images, args.image_batch_size, image_groups))
        for spec, inputs, batch_size, groups in jobs:
            if not inputs:
                continue
            reference = None
            for backend in backends:
                row, vectors = bench_one(
                    spec,
                    backend,
                    inputs,
                    repeats=args.repeats,
                    batch_size=batch_size,
                    onnx_dir=args.onnx_dir,
                    reference=reference,
                    groups=groups,
                )
                if backend == "torch":
                    reference = vectors
                    row["cosine_to_torch_mean"] = row["cosine_to_torch_min"] = 1.0
                rows.append(row)
                print(f"  {spec:<20} {backend:<10} {row['items_per_s']:>8.1f} items/s", flush=True)

    text_encoder = load_encoder(args.text_encoder)
    tokens = [len(ids) for ids in text_encoder.tokenize(texts)]  # type: ignore[attr-defined]
    result = {
        "machine": {
            "cpu_cores": available_cores(),
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "torch": version("torch"),
            "onnxruntime": version("onnxruntime"),
            "transformers": version("transformers"),
            # Other processes on the machine skew timings: compare these with cpu_cores.
            "load_average_1min_before": round(load_before[0], 2),
            "load_average_1min_after": round(os.getloadavg()[0], 2),
        },
        "inputs": {
            "texts": len(texts),
            "mean_tokens": round(float(np.mean(tokens)), 1) if tokens else 0.0,
            "images": args.images,
            "image_kinds": "1/4 crops of sklearn sample photos, 3/4 synthetic 640x480 JPEG",
        },
        "repeats": args.repeats,
        "results": rows,
        "r_precision": "see benchmarks/onnx_quality.py (bench-out/onnx_quality.json)",
    }
    print()
    print(format_table(rows))
    machine = result["machine"]
    print(
        f"\n{machine['cpu_cores']} cores; 1-min load average {machine['load_average_1min_before']}"
        f" before, {machine['load_average_1min_after']} after (higher than the core count means"
        " other processes competed for the CPU)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\nwrote {args.out}")
    return 0


def format_table(rows: list[dict[str, Any]]) -> str:
    header = (
        f"{'modality':<8} {'backend':<10} {'items/s':>9} {'median s':>9} {'vs torch':>9} "
        f"{'cos mean':>8} {'cos min':>8} {'prepare s':>9}"
    )
    lines = [header, "-" * len(header)]
    base: dict[str, float] = {}
    for row in rows:
        if row["backend"] == "torch":
            base[row["modality"]] = row["items_per_s"]
        speedup = row["items_per_s"] / base.get(row["modality"], row["items_per_s"])
        lines.append(
            f"{row['modality']:<8} {row['backend']:<10} {row['items_per_s']:>9.1f} "
            f"{row['median_s']:>9.3f} {speedup:>8.2f}x {row['cosine_to_torch_mean']:>8.4f} "
            f"{row['cosine_to_torch_min']:>8.4f} "
            f"{row['prepare_s']:>9.2f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
