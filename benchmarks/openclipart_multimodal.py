"""Openclipart creators: multimodal vs text-only vs image-only vendorlink models.

Usage::

    python benchmarks/openclipart_multimodal.py                    # data/openclipart
    python benchmarks/openclipart_multimodal.py --data /tmp/openclipart

Data: the ingest folder of ``vendorlink datasets openclipart --out DIR`` (``make realdata``
writes ``data/openclipart``): one drawing per row, vendor = creator, text = cleaned title
``[SEP]`` description (empty for some drawings), one 224x224 PNG rendering. Split 75/5/20
stratified by creator (seed 1111): documents = train part, queries = test part; the
validation part early-stops training.

Vectors: all-MiniLM-L6-v2 (text) and EfficientNet-Lite0 (image), ``--backend`` (default
``onnx``, fp32: the same vectors as torch to 1e-5 cosine), cached in ``bench-out/cache``.
Systems: zero-shot vectors (text, image, both concatenated as unit vectors) and vendorlink
models (regime a) text-only, image-only, multimodal with mean and gated fusion, each with CE
and CE+SupCon (``--metric-views``: where SupCon looks in the multimodal models,
``TrainConfig.metric_views``; default ``auto``); all seeded. A text-only model sees only
drawings with text; the multimodal model sees every drawing (gated fusion with presence
flags handles the empty texts); retrieval and identification are scored on all test drawings
the model can embed (the ``queries`` column) and, for a like-for-like comparison, on the
drawings that have both text and an image (``*_common`` keys; documents restricted the same
way).

Metrics: R-Precision (mean over queries), MRR@10, Macro-F1@X (pooled per creator, mean over
creators) with ``vendorlink.evaluate.evaluate_retrieval``; macro-F1 and accuracy of the
predicted creator (classification head). Writes ``bench-out/openclipart_multimodal.json``
and ``.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.atomic import atomic_write_text
from vendorlink.evaluate import classification_metrics, evaluate_retrieval

MODELS: list[tuple[str, str]] = [  # (modality, fusion)
    ("text", "mean"),
    ("image", "mean"),
    ("multimodal", "mean"),
    ("multimodal", "gated"),
]


def load(data_dir: Path, seed: int) -> dict[str, Any]:
    import pandas as pd
    from sklearn.model_selection import train_test_split

    ads = pd.read_csv(data_dir / "ads.csv", dtype=str, keep_default_na=False)
    labels = ads["VENDOR"].to_numpy(dtype=object)
    idx = np.arange(len(ads))
    train, test = train_test_split(idx, test_size=0.2, random_state=seed, stratify=labels)
    fit_rows, val = train_test_split(
        train, test_size=0.0625, random_state=seed, stratify=labels[train]
    )
    images = [
        str(data_dir / "images" / p.split("|")[0]) if p else "" for p in ads["IMAGES"].tolist()
    ]
    return {"texts": ads["TEXT"].tolist(), "images": images, "labels": labels,
            "train": train, "test": test, "fit": fit_rows, "val": val}  # fmt: skip


def vectors(spec: str, inputs: list[str], backend: str, cache: Path) -> np.ndarray:
    from vendorlink.encoders import load_encoder
    from vendorlink.progress import progress_bar

    digest = hashlib.sha1("\x00".join(inputs).encode("utf-8")).hexdigest()[:16]
    path = cache / f"openclipart_{spec}_{backend}_{digest}.npy"
    if path.is_file():
        return np.load(path)
    encoder = load_encoder(spec, backend=backend)  # type: ignore[arg-type]
    out = np.zeros((len(inputs), encoder.dim), dtype=np.float32)
    todo = [i for i, x in enumerate(inputs) if x.strip()]
    with progress_bar(f"{spec} ({backend})", len(todo)) as advance:
        for lo in range(0, len(todo), 512):
            rows = todo[lo : lo + 512]
            out[rows] = encoder.encode([inputs[i] for i in rows])
            advance(len(rows))
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


def scores(
    embeddings: np.ndarray,
    usable: np.ndarray,
    data: dict[str, Any],
    predicted: Any = None,
    common: np.ndarray | None = None,
) -> dict[str, Any]:
    """Retrieval (test vs train, rows the system can embed) and identification metrics;
    with ``common`` (a row mask inside ``usable``) also ``*_common`` on those rows only."""
    labels = data["labels"]
    pos = np.cumsum(usable) - 1  # row -> position in ``embeddings`` (rows of usable only)
    row: dict[str, Any] = {}
    for suffix, mask in (("", usable), ("_common", common)):
        if mask is None:
            continue
        test = np.intersect1d(data["test"], np.flatnonzero(mask))
        train = np.intersect1d(data["train"], np.flatnonzero(mask))
        report = evaluate_retrieval(
            embeddings[pos[test]], labels[test], embeddings[pos[train]], labels[train]
        )
        row[f"queries{suffix}"] = len(test)
        row[f"r_precision{suffix}"] = report.metrics["r_precision"].query_mean
        row[f"mrr_at_10{suffix}"] = report.metrics["mrr_at_10"].query_mean
        row[f"macro_f1_at_x{suffix}"] = report.macro_f1_at_x
        if predicted is not None:
            metrics = classification_metrics(labels[test], predicted[pos[test]])
            row[f"macro_f1{suffix}"] = metrics["f1_macro"]
            row[f"accuracy{suffix}"] = metrics["accuracy"]
    return row


def train(
    text: np.ndarray, image: np.ndarray, data: dict[str, Any], modality: str, fusion: str,
    loss: str, seed: int, epochs: int, metric_views: str = "auto",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:  # fmt: skip
    from vendorlink.train import AdTable, TrainConfig, fit, model_outputs, predict_vendors

    n = len(text)
    part = np.full(n, None, dtype=object)
    part[data["fit"]], part[data["val"]], part[data["test"]] = "train", "val", "test"
    table = AdTable(
        ad_ids=np.arange(n).astype(str).astype(object),
        vendor=data["labels"],
        part=part,
        domain=np.full(n, "in", dtype=object),
        text=text,
        image=image,
        has_text=np.linalg.norm(text, axis=1) > 0,
        has_image=np.linalg.norm(image, axis=1) > 0,
        text_encoder="minilm",
        image_encoder="efficientnet-lite0",
    )
    config = TrainConfig(
        name="openclipart", modality=modality, fusion=fusion, loss=loss, seed=seed,
        epochs=epochs, patience=6, vendors_per_batch=32, ads_per_vendor=4,
        metric_views=metric_views,
    )  # fmt: skip
    result = fit(table, config)
    model = result.model
    assert model is not None
    usable = table.usable(modality)
    sub = table.select(usable)
    out = model_outputs(model, sub)
    predicted = predict_vendors(model, out)
    return usable, out["embedding"], predicted, result.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("data/openclipart"))
    parser.add_argument("--backend", default="onnx")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--out", type=Path, default=Path("bench-out/openclipart_multimodal.json"))
    parser.add_argument("--cache", type=Path, default=Path("bench-out/cache"))
    parser.add_argument("--losses", default="ce,ce+supcon", help="comma-separated losses")
    parser.add_argument("--metric-views", default="auto", help="auto, fused, modalities, both")
    args = parser.parse_args(argv)
    if not (args.data / "ads.csv").is_file():
        raise SystemExit(f"{args.data}/ads.csv missing: run `make realdata` (or "
                         f"`vendorlink datasets openclipart --out {args.data}`)")  # fmt: skip
    started = time.perf_counter()
    data = load(args.data, args.seed)
    text = vectors("minilm", data["texts"], args.backend, args.cache)
    image = vectors("efficientnet-lite0", data["images"], args.backend, args.cache)
    has_text, has_image = np.linalg.norm(text, axis=1) > 0, np.linalg.norm(image, axis=1) > 0
    print(f"{len(text):,} drawings ({int(has_text.sum()):,} with text), "
          f"{len(set(data['labels']))} creators", flush=True)  # fmt: skip
    rows: dict[str, dict[str, Any]] = {}
    unit = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # noqa: E731
    both = has_text | has_image
    mixed = np.concatenate([unit(text), unit(image)], axis=1)
    for name, matrix, usable in (
        ("zero_shot_text", unit(text)[has_text], has_text),
        ("zero_shot_image", unit(image)[has_image], has_image),
        ("zero_shot_text+image", mixed[both], both),
    ):
        rows[name] = scores(matrix, usable, data, common=has_text & has_image)
    losses = [x.strip() for x in args.losses.split(",") if x.strip()]
    for modality, fusion in MODELS:
        for loss in losses:
            usable, embedding, predicted, seconds = train(
                text,
                image,
                data,
                modality,
                fusion,
                loss,
                args.seed,
                args.epochs,
                args.metric_views,
            )
            name = f"{modality}{'-' + fusion if modality == 'multimodal' else ''}_{loss}"
            rows[name] = scores(embedding, usable, data, predicted, common=has_text & has_image)
            rows[name]["train_seconds"] = round(seconds, 1)
            print(f"  {name:<28} R-Prec {rows[name]['r_precision']:.4f} macro-F1 "
                  f"{rows[name]['macro_f1']:.4f}", flush=True)  # fmt: skip
    result = {
        "data": {
            "drawings": len(text),
            "with_text": int(has_text.sum()),
            "creators": len(set(data["labels"])),
            "test": len(data["test"]),
        },
        "backend": args.backend,
        "metric_views": args.metric_views,
        "results": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    result["multimodal_beats_both"] = verdict(rows, losses)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2, default=float))
    md = markdown(result)
    atomic_write_text(args.out.with_suffix(".md"), md)
    print("\n" + md)
    return 0


def verdict(rows: dict[str, dict[str, Any]], losses: list[str]) -> dict[str, Any]:
    """For each loss: does the best multimodal model beat the best of each single modality
    on R-Precision and on macro-F1?"""
    out: dict[str, Any] = {}
    for loss in losses:
        multi = [v for k, v in rows.items() if k.startswith("multimodal") and k.endswith(
            "_" + loss)]  # fmt: skip
        for metric in ("r_precision", "macro_f1"):
            best = max(v[metric] for v in multi)
            singles = [rows[f"{m}_{loss}"][metric] for m in ("text", "image")]
            out[f"{loss}_{metric}"] = bool(best > max(singles))
    return out


def markdown(result: dict[str, Any]) -> str:
    d = result["data"]
    lines = [
        f"Openclipart: {d['drawings']:,} drawings ({d['with_text']:,} with text), "
        f"{d['creators']} creators; {d['test']:,} test drawings (75/5/20, seed 1111); "
        f"metric views {result.get('metric_views', 'auto')}.",
        "",
        "| system | queries | R-Precision | MRR@10 | Macro-F1@X | macro-F1 | accuracy "
        "| R-Prec (text+image drawings) | macro-F1 (text+image drawings) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in result["results"].items():
        keys = ("r_precision", "mrr_at_10", "macro_f1_at_x", "macro_f1", "accuracy",
                "r_precision_common", "macro_f1_common")  # fmt: skip
        cells = [row.get(k) for k in keys]
        lines.append(f"| {name} | {row['queries']} | " + " | ".join(
            "" if c is None else f"{c:.4f}" for c in cells) + " |")  # fmt: skip
    lines += ["", f"Multimodal beats both single modalities: {result['multimodal_beats_both']}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
