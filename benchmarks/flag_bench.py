"""Flag benchmark: fused vs text-only vs image-only, ablations, calibration, CPU throughput.

Usage (timed numbers under the bench lock)::

    flock /tmp/vendorlink-bench.lock python benchmarks/flag_bench.py --dataset generated
    flock /tmp/vendorlink-bench.lock python benchmarks/flag_bench.py --dataset openclipart

or in two steps, the quality comparison (no timing that matters) first, then the timed
part, which reuses the saved fused model::

    python benchmarks/flag_bench.py --dataset generated --part quality
    flock /tmp/vendorlink-bench.lock python benchmarks/flag_bench.py --dataset generated \
        --part throughput

Data sets:

- ``generated``: the generator's 8 per-ad indicator labels (``ind_*`` of
  ``truth_ads.parquet``; decided by the text, the images, either or both). The workspace
  (``--workspace``, default ``/tmp/vl-flag/gen/workspace``) is built when missing: preset
  ``--preset`` (medium, 8,000 ads) generated into ``--data``, ingested and extracted.
- ``openclipart``: the 20 most frequent keywords (``KEYWORDS`` column of the Openclipart
  loader; not part of the text) as multi-label targets of title/description + drawing. The
  data folder (``--data``, default ``data/openclipart``: ``make realdata``) is ingested and
  extracted into ``--workspace`` when missing.

Embeddings (MiniLM text, EfficientNet-Lite0 images) are computed once with the ONNX
backend (same vectors and cache names as torch fp32) and cached in the workspace;
``--max-ads N`` keeps the first N labelled ads (by id) to bound that time.

One split (seeded 70/15/15 by content group) and seed for every variant: fused (gated
fusion + interaction features), text-only, image-only, no gate (mean fusion), no
interaction features, focal and asymmetric losses, weighted sampling. Each is scored on
the test split with the validation-calibrated thresholds and with 0.5.

Throughput (median of ``--repeats`` runs, this CPU): the frozen-encoder path (the flag
network on cached vectors, all test ads in batches of 4,096; plus ``score_flags`` over the
whole workspace, reading the cache and writing the flags table) and the PyTorch full model
(raw text and image files through the torch encoders and the network, ``predict()``,
``--full-ads`` ads).

Writes ``bench-out/flag/<dataset>/``: ``report.md``, ``report.html``, ``metrics.json``,
``roc_curves.png`` and the fused model folder ``model/``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.atomic import atomic_write_text
from vendorlink.data.workspace import Workspace
from vendorlink.encoders.base import available_cores
from vendorlink.flag import FlagModel, FlagTrainConfig, build_flag_data, fit_flag
from vendorlink.flag.data import FlagData
from vendorlink.flag.labels import LabelSet, keyword_labels, load_labels
from vendorlink.flag.metrics import multilabel_metrics
from vendorlink.flag.report import write_flag_report
from vendorlink.flag.stage import score_flags
from vendorlink.flag.train import save_result
from vendorlink.reports import Section, json_ready

# The comparison the flag issue asks for; EXTRA_VARIANTS run with --extra-variants.
VARIANTS: dict[str, dict[str, Any]] = {
    "fused (gated + interactions)": {},
    "text only": {"modality": "text"},
    "image only": {"modality": "image"},
    "no gate (mean fusion)": {"fusion": "mean"},
    "no interaction features": {"interactions": False},
}
EXTRA_VARIANTS: dict[str, dict[str, Any]] = {
    "fused, focal loss": {"loss": "focal"},
    "fused, asymmetric loss": {"loss": "asl", "pos_weight": False},
    "fused, weighted sampling": {"weighted_sampling": True},
}


def prepare_workspace(dataset: str, data: Path, workspace: Path, preset: str) -> Workspace:
    """Build (generate / ingest / extract) the workspace when it does not exist yet."""
    if (workspace / "workspace.json").exists():
        return Workspace.open(workspace)
    from vendorlink.data.ingest import IngestOptions, ingest
    from vendorlink.extract.stage import run_extract

    if dataset == "generated" and not (data / "ads.csv").exists():
        from vendorlink.data.synthetic import GeneratorConfig, generate

        generate(GeneratorConfig.from_preset(preset, seed=0), data, progress=True)
    if not (data / "ads.csv").exists():
        sys.exit(f"{data / 'ads.csv'} is missing: run `make realdata` (openclipart) first")
    ws = Workspace.init(workspace)
    ingest(ws, data / "ads.csv", IngestOptions(progress=True))
    run_extract(ws, progress=True)
    return ws


def labels_for(dataset: str, data: Path, top_k: int, max_ads: int | None) -> LabelSet:
    """The targets; with ``max_ads`` only the first ads (by id), to bound embedding time."""
    if dataset == "generated":
        labels = load_labels(data / "truth_ads.parquet")
    else:
        labels = keyword_labels(data / "ads.csv", top_k=top_k)
    if max_ads is not None:
        labels = labels.select(sorted(labels.ad_ids.tolist())[:max_ads])
    return labels


def test_metrics(model: FlagModel, data: FlagData) -> dict[str, Any]:
    """Metrics of ``model`` on two sets of test ads, calibrated and at 0.5:

    - ``all_test``: every test ad with a text or an image; an ad the model cannot score
      (no text for a text-only model, no image for an image-only one) gets probability 0
      for every label (it is flagged for nothing), as in deployment;
    - ``both_modalities``: the test ads with both a text and an image (every variant
      scores them from its own inputs).
    """
    t = data.table
    test = data.part == "test"
    out: dict[str, Any] = {}
    for name, mask in (
        ("all_test", test & t.usable("multimodal")),
        ("both_modalities", test & t.has_text & t.has_image),
    ):
        rows = np.flatnonzero(mask)
        scorable = t.usable(model.config.modality)[rows]
        probs = np.zeros((len(rows), len(data.names)), dtype=np.float32)
        if scorable.any():
            probs[scorable] = model.probabilities(**data.inputs(rows[scorable]))
        y = data.labels[rows]
        out[name] = {
            "calibrated": multilabel_metrics(y, probs, model.thresholds, data.names),
            "at_0.5": multilabel_metrics(y, probs, 0.5, data.names),
            "unscorable_ads": int((~scorable).sum()),
        }
    return out


def run_variants(data: FlagData, base: FlagTrainConfig, extra: bool) -> dict[str, Any]:
    results = {}
    for name, changes in {**VARIANTS, **(EXTRA_VARIANTS if extra else {})}.items():
        config = FlagTrainConfig.from_dict({**base.to_dict(), **changes})
        result = fit_flag(
            data, config, encoder_specs={"text": "minilm", "image": "efficientnet-lite0"}
        )
        test = test_metrics(result.model, data)
        results[name] = {
            "result": result, "config": config, "test": test,
        }  # fmt: skip
        for subset in ("all_test", "both_modalities"):
            m = test[subset]
            print(
                f"{name:30s} {subset:15s} F1 macro {m['calibrated']['f1_macro']:.4f} "
                f"(0.5: {m['at_0.5']['f1_macro']:.4f}) micro {m['calibrated']['f1_micro']:.4f} "
                f"AUC {m['calibrated']['roc_auc_macro']:.4f} epochs {result.epochs_run} "
                f"{result.seconds:.1f}s",
                flush=True,
            )
    return results


def median_rate(fn: Any, n_items: int, repeats: int) -> dict[str, float]:
    """Items per second of the median of ``repeats`` timed calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return {"items": n_items, "median_s": median, "items_per_s": n_items / median,
            "runs_s": times}  # fmt: skip


def throughput(
    model: FlagModel, data: FlagData, ws: Workspace, full_ads: int, repeats: int
) -> dict[str, Any]:
    import torch

    rows = np.flatnonzero(data.table.usable("multimodal"))
    inputs = data.inputs(rows)
    by_threads = {}
    default_threads = torch.get_num_threads()
    for threads in sorted({1, default_threads}):
        torch.set_num_threads(threads)
        by_threads[threads] = median_rate(lambda: model.probabilities(**inputs), len(rows), repeats)
        print(f"cached vectors, {threads} thread(s): "
              f"{by_threads[threads]['items_per_s']:.0f} ads/s", flush=True)  # fmt: skip
    torch.set_num_threads(default_threads)
    best = max(by_threads, key=lambda t: by_threads[t]["items_per_s"])
    out: dict[str, Any] = {
        "repeats": repeats,
        "cached_vectors": {**by_threads[best], "threads": best},
        "cached_vectors_by_threads": by_threads,
    }
    scored = data.table.ad_ids.tolist()
    out["score_flags_from_cache"] = median_rate(
        lambda: score_flags(ws, model, name="bench", ad_ids=scored),
        len(scored),
        max(1, repeats // 2),
    )
    print(f"score_flags: {out['score_flags_from_cache']['items_per_s']:.0f} ads/s", flush=True)
    with ws.connect(read_only=True) as con:
        text_of = dict(con.execute("SELECT ad_id, text FROM ads").fetchall())
        files: dict[str, list[Path]] = {}
        for ad, root, path in con.execute(
            "SELECT ad_id, root, path FROM images ORDER BY ad_id, position"
        ).fetchall():
            files.setdefault(ad, []).append(Path(root) / path)
    ids = data.table.ad_ids[rows[:full_ads]].tolist()
    ads = [{"text": text_of.get(a) or None, "images": files.get(a, [])} for a in ids]
    ads = [{k: v for k, v in ad.items() if v} for ad in ads]
    full = FlagModel.load(model.folder) if model.folder else model  # fresh torch encoders
    full.config.backend = "torch"
    out["pytorch_full_model"] = median_rate(lambda: full.predict(ads), len(ads), 3)
    out["pytorch_full_model"]["images"] = sum(len(a.get("images", [])) for a in ads)
    print(f"full model: {out['pytorch_full_model']['items_per_s']:.1f} ads/s", flush=True)
    return out


def comparison_rows(results: dict[str, Any], subset: str) -> list[dict[str, Any]]:
    rows = []
    for name, r in results.items():
        cal, half = r["test"][subset]["calibrated"], r["test"][subset]["at_0.5"]
        rows.append(
            {
                "model": name,
                "f1_macro (calibrated)": cal["f1_macro"],
                "f1_macro (0.5)": half["f1_macro"],
                "f1_micro (calibrated)": cal["f1_micro"],
                "f1_micro (0.5)": half["f1_micro"],
                "roc_auc_macro": cal["roc_auc_macro"],
                "ads": cal["n_samples"],
                "unscorable": r["test"][subset]["unscorable_ads"],
                "best_epoch": r["result"].best_epoch,
                "train_s": r["result"].seconds,
            }
        )
    return rows


def fused_name() -> str:
    return next(iter(VARIANTS))


def quality(data: FlagData, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Train every variant; save the fused model; the numbers as a JSON-ready dict."""
    base = FlagTrainConfig(
        name=f"bench-{args.dataset}", epochs=args.epochs, patience=args.patience,
        seed=args.seed, threads=args.threads,
    )  # fmt: skip
    results = run_variants(data, base, args.extra_variants)
    fused = results[fused_name()]
    save_result(fused["result"], out / "model", fused["config"])
    done: dict[str, bool] = {}
    for subset in ("all_test", "both_modalities"):
        f1 = {name: r["test"][subset]["calibrated"]["f1_macro"] for name, r in results.items()}
        half = fused["test"][subset]["at_0.5"]["f1_macro"]
        done[f"{subset}: fused_beats_text_only"] = f1[fused_name()] > f1["text only"]
        done[f"{subset}: fused_beats_image_only"] = f1[fused_name()] > f1["image only"]
        done[f"{subset}: calibrated_beats_0.5"] = f1[fused_name()] > half
    return {
        "comparison": {s: comparison_rows(results, s) for s in ("all_test", "both_modalities")},
        "variants_test": {name: r["test"] for name, r in results.items()},
        "fused": fused["result"].metrics,
        "done_when": done,
    }


def write_bench_report(
    out: Path, data: FlagData, model: FlagModel, q: dict[str, Any], speed: dict[str, Any] | None
) -> None:
    """Report of whatever parts have been measured (quality.json / throughput.json)."""
    sections = [
        Section(
            "Variants",
            paragraphs=[
                "Same split, seed and data for every row. 'All test ads': every test ad with "
                "a text or an image; an ad a single-modality model cannot score gets no flags "
                "(probability 0). 'Both modalities': the test ads with a text and an image. "
                "'calibrated' uses per-label thresholds chosen on the validation split to "
                "maximise each label's F1."
            ],
            tables=[
                ("All test ads", q["comparison"]["all_test"]),
                ("Test ads with text and image", q["comparison"]["both_modalities"]),
            ],
        )
    ]
    done = dict(q["done_when"])
    if speed is not None:
        done["cached_throughput_ge_5000"] = speed["cached_vectors"]["items_per_s"] >= 5000
        rows = [
            {"path": "frozen encoders: flag network on cached vectors (batch 4096)",
             "ads_per_s": speed["cached_vectors"]["items_per_s"],
             "ads": speed["cached_vectors"]["items"]},
            {"path": "frozen encoders: score_flags (read cache, score, write table)",
             "ads_per_s": speed["score_flags_from_cache"]["items_per_s"],
             "ads": speed["score_flags_from_cache"]["items"]},
            {"path": "PyTorch full model: predict() on raw text + image files",
             "ads_per_s": speed["pytorch_full_model"]["items_per_s"],
             "ads": speed["pytorch_full_model"]["items"]},
        ]  # fmt: skip
        sections.append(
            Section(
                "Throughput on this CPU",
                paragraphs=[
                    f"Median of {speed['repeats']} runs (score_flags: "
                    f"{max(1, speed['repeats'] // 2)}, full model: 3); "
                    f"{available_cores()} cores; cached-vector path with "
                    f"{speed['cached_vectors']['threads']} torch thread(s)."
                ],
                tables=[("", rows)],
            )
        )
    sections.append(Section("Done-when checks", tables=[("", [done])]))
    rows_test = np.flatnonzero((data.part == "test") & data.table.usable("multimodal"))
    probs = model.probabilities(**data.inputs(rows_test))
    write_flag_report(
        out, {"test": q["fused"]["test"]}, data.labels[rows_test], probs, data.names,
        title=f"Flag benchmark: {out.name}",
        preamble=[f"{len(data.names)} labels: {', '.join(data.names)}. Counts: "
                  f"{json.dumps(data.stats['parts'])}."],
        extra_sections=sections,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", choices=("generated", "openclipart"), required=True)
    parser.add_argument(
        "--part", choices=("all", "quality", "throughput"), default="all",
        help="quality: train and compare the variants; throughput: time the saved fused "
        "model (run this part under the bench lock).",
    )  # fmt: skip
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--patience", type=int, default=4)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (training).")
    parser.add_argument(
        "--extra-variants", action="store_true",
        help="Also focal / asymmetric losses and weighted sampling.",
    )  # fmt: skip
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--full-ads", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-ads", type=int, default=None, help="Only the first N ads.")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    defaults = {
        "generated": (Path("/tmp/vl-flag/gen/data"), Path("/tmp/vl-flag/gen/workspace")),
        "openclipart": (Path("data/openclipart"), Path("/tmp/vl-flag/oc-ws")),
    }[args.dataset]
    data_dir, ws_dir = args.data or defaults[0], args.workspace or defaults[1]
    out = args.out or Path("bench-out/flag") / args.dataset

    ws = prepare_workspace(args.dataset, data_dir, ws_dir, args.preset)
    labels = labels_for(args.dataset, data_dir, args.top_k, args.max_ads)
    start = time.perf_counter()
    with ws.connect() as con:  # computes (ONNX fp32) and caches any vector not cached yet
        data = build_flag_data(ws, labels, con=con, backend="onnx", seed=args.seed,
                               unknown="skip", progress=True)  # fmt: skip
    print(json.dumps(data.stats, default=str), flush=True)
    common = {
        "dataset": args.dataset,
        "labels": data.names,
        "data": data.stats,
        "label_positives": dict(zip(data.names, data.labels.sum(axis=0).tolist(), strict=True)),
        "data_and_embeddings_s": time.perf_counter() - start,
        "machine": {"cpu_cores": available_cores(), "python": platform.python_version()},
    }
    if args.part in ("all", "quality"):
        q = {**common, **quality(data, args, out)}
        atomic_write_text(out / "quality.json", json.dumps(json_ready(q), indent=2))
    q = json.loads((out / "quality.json").read_text("utf-8"))
    model = FlagModel.load(out / "model")
    speed = None
    if args.part in ("all", "throughput"):
        speed = throughput(model, data, ws, args.full_ads, args.repeats)
        atomic_write_text(out / "throughput.json", json.dumps(json_ready(speed), indent=2))
    elif (out / "throughput.json").is_file():
        speed = json.loads((out / "throughput.json").read_text("utf-8"))
    write_bench_report(out, data, model, q, speed)
    print(json.dumps(q["done_when"]))
    if speed is not None:
        print(f"cached vectors: {speed['cached_vectors']['items_per_s']:.0f} ads/s")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
