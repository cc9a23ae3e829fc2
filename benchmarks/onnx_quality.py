"""PyTorch vs ONNX Runtime fp32 vs int8: throughput AND the change in R-Precision each causes.

Usage (timed: run it under the bench lock)::

    flock /tmp/vendorlink-bench.lock python benchmarks/onnx_quality.py
    python benchmarks/onnx_quality.py --workspace /tmp/demo1/workspace --ads 800 --repeats 3

Data: labelled ads of a workspace (default ``/tmp/demo1/workspace``, a ``vendorlink demo
--preset small`` workspace; read-only, nothing is cached there): ads with masked text
(``fields.masked_text``), a truth label (``--label-source``) and at least one image, from
vendors with at least 4 such ads; whole vendors drawn with the seed until ``--ads`` ads.
Each ad gives its masked text and its first image (a JPEG file: decoding and
preprocessing are timed).
Split 75/25 stratified by vendor (seed 1111): documents = train part, queries = test part.

For each encoder and backend (``torch``, ``onnx``, ``onnx-int8``; for images also
``onnx-int8-all``, the ablation with every layer int8, i.e. ``int8_keep_float=()``): load,
warm up (the first ONNX use exports / quantises; ``prepare_s``), encode the first
``--time-items`` inputs
``--repeats`` times (throughput = items per second of the median run), then every input
once for the quality numbers. Then R-Precision (mean over queries; and
MRR@10), with ``vendorlink.evaluate.evaluate_retrieval``:

- ``zero_shot``: the encoder's vectors as they are;
- ``trained``: vendorlink models of that modality (regime a, CE+SupCon) trained on the
  **torch** vectors of the train part (``--head-seeds`` of them, seeds ``--seed``,
  ``--seed``+1, ...), then applied to each backend's vectors: the deployment case (model
  trained on cached torch vectors, inference on ONNX / int8). The R-Precision is the mean
  over the heads; ``delta_r_precision_trained_per_head`` shows the spread.
- ``trained_own``: a model trained (seed ``--seed``) on the backend's **own** vectors and
  applied to them: the end-to-end case of a user who caches and trains on int8 vectors.

``delta_*`` = backend minus torch (for ``trained_own``: minus the torch head of seed
``--seed``). Writes ``bench-out/onnx_quality.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.encoders import load_encoder
from vendorlink.encoders.base import available_cores
from vendorlink.evaluate import evaluate_retrieval

# label -> (backend, extra load_encoder options); torch first: it is the reference.
BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "torch": ("torch", {}),
    "onnx": ("onnx", {}),
    "onnx-int8": ("onnx-int8", {}),
}
IMAGE_ABLATIONS = {"onnx-int8-all": ("onnx-int8", {"int8_keep_float": ()})}


def load_ads(workspace: Path, label_source: str, n_ads: int, seed: int) -> dict[str, Any]:
    import duckdb
    from sklearn.model_selection import train_test_split

    con = duckdb.connect(str(workspace / "vendorlink.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT a.ad_id, f.masked_text, l.vendor, any_value(i.root || '/' || i.path "
        "ORDER BY i.position) FROM ads a JOIN fields f USING (ad_id) "
        "JOIN labels l ON l.ad_id = a.ad_id AND l.label_source = ? "
        "JOIN images i ON i.ad_id = a.ad_id WHERE a.has_text GROUP BY ALL ORDER BY a.ad_id",
        [label_source],
    ).fetchall()
    con.close()
    vendors = np.array([r[2] for r in rows], dtype=object)
    names, counts = np.unique(vendors, return_counts=True)
    keep = np.isin(vendors, names[counts >= 4])
    rows = [r for r, k in zip(rows, keep, strict=True) if k]
    rng = np.random.default_rng(seed)
    chosen: set[str] = set()
    total = 0
    names, counts = np.unique(vendors[keep], return_counts=True)
    by_vendor = {str(v): int(c) for v, c in zip(names, counts, strict=True)}
    for vendor in rng.permutation(sorted(by_vendor)):  # whole vendors until n_ads
        if total >= n_ads:
            break
        chosen.add(vendor)
        total += by_vendor[vendor]
    rows = [r for r in rows if r[2] in chosen]
    labels = np.array([r[2] for r in rows], dtype=object)
    idx = np.arange(len(rows))
    train, test = train_test_split(idx, test_size=0.25, random_state=seed, stratify=labels)
    return {
        "texts": [r[1] or "" for r in rows],
        "images": [r[3] for r in rows],
        "labels": labels,
        "train": np.sort(train),
        "test": np.sort(test),
    }


def time_backend(
    spec: str,
    label: str,
    inputs: list[Any],
    repeats: int,
    batch_size: int,
    time_items: int,
) -> tuple[dict[str, Any], np.ndarray]:
    """Encode every input once (for R-Precision); time ``repeats`` runs over the first
    ``time_items`` inputs (median). ``label``: a key of ``BACKENDS`` or ``IMAGE_ABLATIONS``."""
    backend, extra = {**BACKENDS, **IMAGE_ABLATIONS}[label]
    start = time.perf_counter()
    options = {"backend": backend, "batch_size": batch_size, **extra}
    encoder = load_encoder(spec, **options)
    encoder.encode(inputs[:2])
    prepare = time.perf_counter() - start
    timed = inputs[:time_items]
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        encoder.encode(timed)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    vectors = encoder.encode(inputs)
    return {
        "encoder": encoder.name,
        "backend": label,
        "timed_items": len(timed),
        "prepare_s": round(prepare, 2),
        "run_s": [round(t, 3) for t in times],
        "items_per_s": round(len(timed) / median, 1),
    }, vectors


def retrieval(vectors: np.ndarray, data: dict[str, Any]) -> dict[str, float]:
    train, test, labels = data["train"], data["test"], data["labels"]
    report = evaluate_retrieval(vectors[test], labels[test], vectors[train], labels[train])
    return {
        "r_precision": report.metrics["r_precision"].query_mean,
        "mrr_at_10": report.metrics["mrr_at_10"].query_mean,
        "n_queries": report.n_evaluated,
    }


def train_head(modality: str, vectors: np.ndarray, data: dict[str, Any], seed: int) -> Any:
    """A vendorlink model of ``modality`` trained on ``vectors`` of the train part."""
    from sklearn.model_selection import train_test_split

    from vendorlink.train import AdTable, TrainConfig, fit

    n = len(vectors)
    part = np.full(n, "test", dtype=object)
    fit_rows, val_rows = train_test_split(data["train"], test_size=0.1, random_state=seed)
    part[fit_rows], part[val_rows] = "train", "val"
    empty = np.zeros((n, 0), dtype=np.float32)
    table = AdTable(
        ad_ids=np.arange(n).astype(str).astype(object),
        vendor=data["labels"],
        part=part,
        domain=np.full(n, "in", dtype=object),
        text=vectors if modality == "text" else empty,
        image=vectors if modality == "image" else empty,
        has_text=np.full(n, modality == "text"),
        has_image=np.full(n, modality == "image"),
    )
    config = TrainConfig(modality=modality, loss="ce+supcon", epochs=30, seed=seed,
                         vendors_per_batch=16, ads_per_vendor=4)  # fmt: skip
    model = fit(table, config).model
    assert model is not None
    return model


def apply_head(model: Any, modality: str, vectors: np.ndarray) -> np.ndarray:
    flags = np.ones(len(vectors), dtype=bool)
    if modality == "text":
        return model.embed(text=vectors, has_text=flags)["embedding"]
    return model.embed(image=vectors, has_image=flags)["embedding"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, default=Path("/tmp/demo1/workspace"))
    parser.add_argument("--label-source", default="truth")
    parser.add_argument("--ads", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-items", type=int, default=128, help="inputs per timed run")
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--text-encoder", default="minilm")
    parser.add_argument("--image-encoder", default="efficientnet-lite0")
    parser.add_argument("--modalities", default="text,image", help="comma-separated")
    parser.add_argument("--head-seeds", type=int, default=1, help="heads on torch vectors")
    parser.add_argument("--out", type=Path, default=Path("bench-out/onnx_quality.json"))
    args = parser.parse_args(argv)
    data = load_ads(args.workspace, args.label_source, args.ads, args.seed)
    print(f"{len(data['labels'])} ads, {len(set(data['labels']))} vendors; "
          f"{len(data['test'])} queries", flush=True)  # fmt: skip
    load_before = os.getloadavg()[0]
    rows: list[dict[str, Any]] = []
    jobs = [("text", args.text_encoder, data["texts"], 64), ("image", args.image_encoder,
            data["images"], 32)]  # fmt: skip
    modalities = {m.strip() for m in args.modalities.split(",")}
    for modality, spec, inputs, batch_size in jobs:
        if modality not in modalities:
            continue
        labels = [*BACKENDS, *(IMAGE_ABLATIONS if modality == "image" else {})]
        for label in labels:
            row, vectors = time_backend(
                spec, label, inputs, args.repeats, batch_size, args.time_items
            )
            if label == "torch":  # the heads are trained on torch vectors
                heads = [train_head(modality, vectors, data, args.seed + k)
                         for k in range(args.head_seeds)]  # fmt: skip
            rows.append(quality_row(row, modality, vectors, heads, data, args.seed, rows))
            print(f"  {modality:<6} {label:<13} {row['items_per_s']:>7.1f}/s "
                  f"x{row['speedup_vs_torch']:<5} R-Prec zero-shot "
                  f"{row['zero_shot']['r_precision']:.4f} trained "
                  f"{row['trained']['r_precision']:.4f} own "
                  f"{row['trained_own']['r_precision']:.4f}", flush=True)  # fmt: skip
    result = {
        "machine": {
            "cpu_cores": available_cores(),
            "load_average_1min_before": load_before,
            "load_average_1min_after": os.getloadavg()[0],
        },
        "data": {
            "workspace": str(args.workspace),
            "ads": len(data["labels"]),
            "vendors": len(set(data["labels"])),
            "queries": len(data["test"]),
        },
        "repeats": args.repeats,
        "head_seeds": [args.seed + k for k in range(args.head_seeds)],
        "results": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=float), encoding="utf-8")
    md = markdown(result)
    args.out.with_suffix(".md").write_text(md, encoding="utf-8")
    print("\n" + md)
    return 0


def quality_row(
    row: dict[str, Any],
    modality: str,
    vectors: np.ndarray,
    heads: list[Any],
    data: dict[str, Any],
    seed: int,
    previous: list[dict[str, Any]],
) -> dict[str, Any]:
    """Add R-Precision (zero-shot, torch-trained heads, own head) and deltas to ``row``;
    the reference is the torch row of ``modality`` in ``previous`` (or ``row`` itself)."""
    per_head = [retrieval(apply_head(h, modality, vectors), data) for h in heads]
    row["modality"] = modality
    row["zero_shot"] = retrieval(vectors, data)
    row["trained_per_head"] = per_head
    row["trained"] = {k: float(np.mean([r[k] for r in per_head])) for k in per_head[0]}
    if row["backend"] == "torch":
        row["trained_own"] = per_head[0]  # the seed-``seed`` head was trained on these
    else:
        own = train_head(modality, vectors, data, seed)
        row["trained_own"] = retrieval(apply_head(own, modality, vectors), data)
    base = next((r for r in previous if r["modality"] == modality and r["backend"] == "torch"),
                row)  # fmt: skip
    row["speedup_vs_torch"] = round(row["items_per_s"] / base["items_per_s"], 2)
    for kind in ("zero_shot", "trained"):
        row[f"delta_r_precision_{kind}"] = round(
            row[kind]["r_precision"] - base[kind]["r_precision"], 4
        )
    row["delta_r_precision_trained_per_head"] = [
        round(r["r_precision"] - b["r_precision"], 4)
        for r, b in zip(per_head, base["trained_per_head"], strict=True)
    ]
    row["delta_r_precision_trained_own"] = round(
        row["trained_own"]["r_precision"] - base["trained_per_head"][0]["r_precision"], 4
    )
    return row


def markdown(result: dict[str, Any]) -> str:
    d, m = result["data"], result["machine"]
    lines = [
        f"{d['ads']} ads, {d['vendors']} vendors, {d['queries']} queries; {m['cpu_cores']} "
        f"cores, 1-min load {m['load_average_1min_before']:.2f} before / "
        f"{m['load_average_1min_after']:.2f} after; median of {result['repeats']} runs; "
        f"heads trained on torch vectors with seeds {result['head_seeds']}.",
        "",
        "| modality | backend | items/s | vs torch | R-Prec zero-shot | Δ | R-Prec trained "
        "(torch head, mean) | Δ mean [min, max] | Δ head trained on own vectors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["results"]:
        spread = r["delta_r_precision_trained_per_head"]
        lines.append(
            f"| {r['modality']} | {r['backend']} | {r['items_per_s']:.1f} | "
            f"{r['speedup_vs_torch']:.2f}x | {r['zero_shot']['r_precision']:.4f} | "
            f"{r['delta_r_precision_zero_shot']:+.4f} | {r['trained']['r_precision']:.4f} | "
            f"{r['delta_r_precision_trained']:+.4f} [{min(spread):+.4f}, {max(spread):+.4f}] | "
            f"{r['delta_r_precision_trained_own']:+.4f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
