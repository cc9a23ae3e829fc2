"""Field-extraction benchmark: precision, recall and F1 per field, and throughput on one core.

Usage::

    python benchmarks/extraction.py --preset matched            # ~28.5k generated ads
    python benchmarks/extraction.py --preset small --repeats 1  # quick look

Ground truth is the generator's per-ad truth (``truth_ads.parquet``). For each field,
scores are micro-averaged over ads: precision = sum |pred ∩ truth| / sum |pred|, recall =
sum |pred ∩ truth| / sum |truth|, F1 their harmonic mean (values compared in the
canonical formats of ``vendorlink.lexicon``). Throughput is ads per second of
``extract_batch`` pinned to one CPU core, the median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from vendorlink.data.synthetic import GeneratorConfig, generate
from vendorlink.extract.fields import extract_batch
from vendorlink.lexicon import FIELD_NAMES


def score_fields(predicted: list[dict], truth: list[dict]) -> dict[str, dict[str, float]]:
    """Micro-averaged precision, recall and F1 of each field over all ads."""
    scores: dict[str, dict[str, float]] = {}
    for field in FIELD_NAMES:
        tp = n_pred = n_true = 0
        for pred_row, true_row in zip(predicted, truth, strict=True):
            pred = {str(v) for v in pred_row[field]}
            true = {str(v) for v in true_row[field]}
            tp += len(pred & true)
            n_pred += len(pred)
            n_true += len(true)
        if n_true == 0:
            continue  # the generator writes no such field
        precision = tp / n_pred if n_pred else 1.0
        recall = tp / n_true
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        scores[field] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": n_true,
        }
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="matched")
    parser.add_argument("--seed", type=int, default=1111)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, help="Reuse a generated folder instead.")
    parser.add_argument("--out", type=Path, default=Path("bench-out/extraction.json"))
    args = parser.parse_args(argv)

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    with tempfile.TemporaryDirectory() as tmp:
        data = args.data
        if data is None:
            data = Path(tmp) / "data"
            config = GeneratorConfig.from_preset(args.preset, seed=args.seed, text_only=True)
            generate(config, data, progress=False)
        ads_file = data / "ads.parquet" if (data / "ads.parquet").exists() else data / "ads.csv"
        if ads_file.suffix == ".parquet":
            ads = pq.read_table(ads_file, columns=["ID", "TEXT"]).to_pylist()
        else:
            import pandas as pd

            ads = pd.read_csv(ads_file, keep_default_na=False)[["ID", "TEXT"]].to_dict("records")
        truth_rows = pq.read_table(data / "truth_ads.parquet").to_pylist()
        truth_by_id = {row["ad_id"]: row for row in truth_rows}
        texts = [row["TEXT"] for row in ads]
        truth = [truth_by_id[row["ID"]] for row in ads]

        times = []
        frame = None
        for _ in range(args.repeats):
            start = time.perf_counter()
            frame = extract_batch(texts)
            times.append(time.perf_counter() - start)
        assert frame is not None
        predicted = frame.to_dict("records")
    seconds = statistics.median(times)
    result = {
        "preset": args.preset,
        "seed": args.seed,
        "n_ads": len(texts),
        "mean_chars_per_ad": round(sum(map(len, texts)) / max(len(texts), 1), 1),
        "seconds_median": round(seconds, 3),
        "ads_per_second_one_core": round(len(texts) / seconds, 1),
        "repeats": args.repeats,
        "fields": score_fields(predicted, truth),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"{'field':<16}{'precision':>10}{'recall':>10}{'F1':>8}{'support':>10}")
    for field, s in result["fields"].items():
        print(
            f"{field:<16}{s['precision']:>10.4f}{s['recall']:>10.4f}{s['f1']:>8.4f}{s['support']:>10}"
        )
    print(
        f"\n{result['n_ads']:,} ads, {result['ads_per_second_one_core']:,.0f} ads/s on one core "
        f"(median of {args.repeats}); written to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
