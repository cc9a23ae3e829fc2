"""Why CE+SupCon trails CE out of distribution with mean fusion, and what does not fix it.

Usage::

    python benchmarks/supcon_ood_study.py --workspace MATCHED_WS            # every variant
    python benchmarks/supcon_ood_study.py --workspace MATCHED_WS --variants ce ce+supcon

Trains the default multimodal mean-fusion model (frozen regime, cached vectors, true
vendors, ``--epochs`` 40, patience 5, one ``--seed``) once per variant: plain CE, the
default CE+SupCon, and CE+SupCon with one change each (temperature, SupCon weight, batch
shape, modality dropout, dropout, width, SimCLR-style projection head, cosine classifier).
For each it reports R-Precision (mean over queries; queries = test ads, documents = train
ads of the same domain) in distribution and out of distribution (OOD), the OOD R-Precision
split by the query's vendor -- ``shared``: the vendor also has in-distribution training ads
the model was trained on; ``new``: it has none -- and the OOD validation R-Precision (val
ads as queries), the number one would select a variant by. The workspace is opened read-only;
its embedding cache must already hold the vectors (run ``benchmarks/identify_link.py`` or
``vendorlink embed`` first). Writes ``--out`` (JSON) and the same name with ``.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vendorlink.atomic import atomic_write_text
from vendorlink.data.workspace import Workspace
from vendorlink.train import AdTable, TrainConfig, build_ad_table, embed_table, evaluate_embeddings
from vendorlink.train.loop import fit

VARIANTS: dict[str, dict[str, Any]] = {
    "ce": {"loss": "ce"},
    "ce+supcon": {},
    "temperature 0.3": {"temperature": 0.3},
    "temperature 0.5": {"temperature": 0.5},
    "supcon weight 0.25": {"loss_weights": (1.0, 0.25)},
    "64 vendors x 2 ads": {"vendors_per_batch": 64, "ads_per_vendor": 2},
    "modality dropout 0.3": {"modality_dropout": 0.3},
    "dropout 0.3": {"dropout": 0.3},
    "width 512": {"dim": 512},
    "projection head 256": {"metric_projection": 256},
    "cosine classifier, ce": {"loss": "ce", "cosine_scale": 16.0},
    "cosine classifier, ce+supcon, head 256": {"cosine_scale": 16.0, "metric_projection": 256},
    "cosine classifier, supcon weight 0.1": {"cosine_scale": 16.0, "loss_weights": (1.0, 0.1)},
    "cosine classifier, supcon weight 0.25": {"cosine_scale": 16.0, "loss_weights": (1.0, 0.25)},
}


def r_precision(emb: np.ndarray, table: AdTable, queries: np.ndarray, docs: np.ndarray) -> float:
    report = evaluate_embeddings(emb, table, queries, docs)
    return float("nan") if report is None else float(report.metrics["r_precision"].query_mean)


def study(table: AdTable, name: str, epochs: int, seed: int) -> dict[str, Any]:
    options: dict[str, Any] = {"loss": "ce+supcon", **VARIANTS[name]}
    config = TrainConfig(
        name=name, modality="multimodal", fusion="mean", epochs=epochs, patience=5, seed=seed,
        tensorboard=False, **options,
    )  # fmt: skip
    result = fit(table, config)
    assert result.model is not None
    usable = table.usable("multimodal")
    emb = np.zeros((len(table), result.model.embedding_dim), dtype=np.float32)
    emb[usable] = embed_table(result.model, table.select(usable))
    trained_on = set(table.vendor[table.rows("train", "in")].astype(str))
    shared = np.array([str(v) in trained_on for v in table.vendor])
    queries, docs = table.rows("test", "out") & usable, table.rows("train", "out") & usable
    return {
        "variant": name,
        "config": VARIANTS[name],
        "best_epoch": result.best_epoch,
        "train_s": round(result.seconds, 1),
        "in_rp": r_precision(emb, table, table.rows("test", "in") & usable,
                             table.rows("train", "in") & usable),
        "ood_rp": r_precision(emb, table, queries, docs),
        "ood_shared_rp": r_precision(emb, table, queries & shared, docs),
        "ood_new_rp": r_precision(emb, table, queries & ~shared, docs),
        "ood_val_rp": r_precision(emb, table, table.rows("val", "out") & usable, docs),
        "ood_queries": {"shared": int((queries & shared).sum()),
                        "new": int((queries & ~shared).sum())},
    }  # fmt: skip


def markdown(rows: list[dict[str, Any]], seed: int) -> str:
    lines = [
        f"Multimodal mean fusion, true vendors, seed {seed}; R-Precision (mean over queries).",
        "",
        "| variant | R-P in | R-P OOD | OOD, shared vendors | OOD, new vendors | OOD val |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['in_rp']:.3f} | {r['ood_rp']:.3f} | "
            f"{r['ood_shared_rp']:.3f} | {r['ood_new_rp']:.3f} | {r['ood_val_rp']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, required=True)
    parser.add_argument("--labels", default="truth")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: default)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/supcon_ood_study.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    ws = Workspace.open(args.workspace)
    with ws.connect(read_only=True) as con:
        table = build_ad_table(ws, con=con, label_source=args.labels, backend="onnx",
                               progress=False)  # fmt: skip
    rows = []
    for name in args.variants:
        rows.append(study(table, name, args.epochs, args.seed))
        r = rows[-1]
        print(f"{name:40s} in {r['in_rp']:.4f}  ood {r['ood_rp']:.4f}  shared "
              f"{r['ood_shared_rp']:.4f}  new {r['ood_new_rp']:.4f}", flush=True)  # fmt: skip
    result = {
        "workspace": str(args.workspace),
        "labels": args.labels,
        "seed": args.seed,
        "epochs": args.epochs,
        "rows": rows,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out, json.dumps(result, indent=2))
    md = markdown(rows, args.seed)
    atomic_write_text(args.out.with_suffix(".md"), md)
    print("\n" + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
