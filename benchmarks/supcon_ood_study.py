"""Where SupCon sits in a multimodal mean-fusion model, and what it does out of distribution.

Usage::

    python benchmarks/supcon_ood_study.py --workspace MATCHED_WS            # every variant
    python benchmarks/supcon_ood_study.py --workspace MATCHED_WS --variants ce ce+supcon

Trains the default multimodal mean-fusion model (frozen regime, cached vectors, true
vendors, ``--epochs`` 40, patience 5, one ``--seed``) once per variant: plain CE; the
default CE+SupCon (SupCon on the text and the image projection, ``metric_views`` auto =
``"modalities"``); SupCon on the fused vector as in MATCHED (``"fused"``) and on all three
(``"both"``); and fused-vector SupCon with one change each (temperature, SupCon weight, batch
shape, modality dropout, dropout, width, SimCLR-style projection head, cosine classifier).
For each it reports R-Precision (mean over queries; queries = test ads, documents = train
ads of the same domain) in distribution and out of distribution (OOD), the OOD R-Precision
split by the query's vendor -- ``shared``: the vendor also has in-distribution training ads
the model was trained on; ``new``: it has none -- and the OOD validation R-Precision (val
ads as queries), the number one would select a variant by. Two diagnostics over OOD ads with
both modalities: ``ood_both_rp``, the model's OOD R-Precision on those ads, and
``ood_no_cross_rp``, the same for the model's text and image projections concatenated (each
L2-normalised), i.e. the mean-fusion similarity without its text-of-one-ad x
image-of-the-other terms; ``same_ad_cosine``, the mean cosine between an
ad's own text and image projections. The workspace is opened read-only;
its embedding cache must already hold the vectors (run ``benchmarks/identify_link.py`` or
``vendorlink embed`` first). Writes ``--out`` (JSON), the same name with ``.md`` and a chart
with ``.png`` (OOD R-Precision on shared and new vendors per variant);
``--from-json`` redraws the table and chart from an earlier ``--out`` without training.
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

FUSED = {"metric_views": "fused"}
VARIANTS: dict[str, dict[str, Any]] = {
    "ce": {"loss": "ce"},
    "ce+supcon": {},
    "supcon on the fused vector": FUSED,
    "supcon on fused and modalities": {"metric_views": "both"},
    "fused, temperature 0.3": {**FUSED, "temperature": 0.3},
    "fused, temperature 0.5": {**FUSED, "temperature": 0.5},
    "fused, supcon weight 0.25": {**FUSED, "loss_weights": (1.0, 0.25)},
    "fused, 64 vendors x 2 ads": {**FUSED, "vendors_per_batch": 64, "ads_per_vendor": 2},
    "fused, modality dropout 0.3": {**FUSED, "modality_dropout": 0.3},
    "fused, dropout 0.3": {**FUSED, "dropout": 0.3},
    "fused, width 512": {**FUSED, "dim": 512},
    "fused, projection head 256": {"metric_projection": 256},
    "cosine classifier, ce": {"loss": "ce", "cosine_scale": 16.0},
    "cosine classifier, ce+supcon": {"cosine_scale": 16.0},
    "cosine classifier, fused, head 256": {"cosine_scale": 16.0, "metric_projection": 256},
    "cosine classifier, fused, supcon weight 0.1": {
        **FUSED,
        "cosine_scale": 16.0,
        "loss_weights": (1.0, 0.1),
    },
}


def r_precision(emb: np.ndarray, table: AdTable, queries: np.ndarray, docs: np.ndarray) -> float:
    report = evaluate_embeddings(emb, table, queries, docs)
    return float("nan") if report is None else float(report.metrics["r_precision"].query_mean)


def modality_diagnostics(
    model: Any, emb: np.ndarray, table: AdTable, queries: np.ndarray, docs: np.ndarray
) -> dict[str, float]:
    """OOD R-Precision over ads with both modalities, with and without the cross-modal
    terms, and the same-ad text-image cosine."""
    both = table.has_text & table.has_image
    with torch.no_grad():
        out = model.eval()(**table.tensors())
    text = torch.nn.functional.normalize(out["text_view"], dim=1)
    image = torch.nn.functional.normalize(out["image_view"], dim=1)
    joined = torch.cat([text, image], dim=1).numpy()
    mask = torch.from_numpy(both)
    return {
        "ood_both_rp": r_precision(emb, table, queries & both, docs & both),
        "ood_no_cross_rp": r_precision(joined, table, queries & both, docs & both),
        "same_ad_cosine": float((text[mask] * image[mask]).sum(dim=1).mean()),
    }


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
        **modality_diagnostics(result.model, emb, table, queries, docs),
    }  # fmt: skip


def markdown(rows: list[dict[str, Any]], seed: int) -> str:
    lines = [
        f"Multimodal mean fusion, true vendors, seed {seed}; R-Precision (mean over queries).",
        "",
        "| variant | R-P in | R-P OOD | OOD, shared vendors | OOD, new vendors | OOD val "
        "| OOD, text+image ads | same, no cross-modal terms | same-ad text-image cosine |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['in_rp']:.3f} | {r['ood_rp']:.3f} | "
            f"{r['ood_shared_rp']:.3f} | {r['ood_new_rp']:.3f} | {r['ood_val_rp']:.3f} | "
            f"{r['ood_both_rp']:.3f} | {r['ood_no_cross_rp']:.3f} | {r['same_ad_cosine']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Horizontal bars: OOD R-Precision on shared and on new vendors, one pair per variant."""
    from vendorlink.reports import pyplot, save_figure

    plt = pyplot()
    names = [r["variant"] for r in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(8, 0.42 * len(rows) + 1.4))
    ax.barh(y - 0.2, [r["ood_shared_rp"] for r in rows], 0.4, label="OOD, vendors seen in training")
    ax.barh(y + 0.2, [r["ood_new_rp"] for r in rows], 0.4, label="OOD, new vendors")
    ce = next((r for r in rows if r["variant"] == "ce"), None)
    if ce is not None:
        ax.axvline(ce["ood_new_rp"], color="grey", linestyle="--", linewidth=1,
                   label="CE, new vendors")  # fmt: skip
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    values = [v for r in rows for v in (r["ood_shared_rp"], r["ood_new_rp"])]
    ax.set_xlim(max(0.0, min(values) - 0.03), min(1.0, max(values) + 0.02))
    ax.set_xlabel("R-Precision (mean over queries)")
    ax.set_title("Mean fusion, out of distribution (ce+supcon: SupCon on each modality)",
                 fontsize=10)  # fmt: skip
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def write_outputs(result: dict[str, Any], out: Path) -> str:
    """``out`` (JSON), its ``.md`` table and ``.png`` chart; returns the table."""
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(result, indent=2))
    md = markdown(result["rows"], result["seed"])
    atomic_write_text(out.with_suffix(".md"), md)
    chart(result["rows"], out.with_suffix(".png"))
    return md


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workspace", type=Path, help="MATCHED-scale workspace (cached vectors)")
    parser.add_argument("--from-json", type=Path, help="redraw from an earlier --out, no training")
    parser.add_argument("--labels", default="truth")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: default)")
    parser.add_argument("--out", type=Path, default=Path("bench-out/supcon_ood_study.json"))
    args = parser.parse_args(argv)
    if args.from_json is not None:
        result = json.loads(args.from_json.read_text(encoding="utf-8"))
        print(write_outputs(result, args.out))
        return 0
    if args.workspace is None:
        parser.error("--workspace is required (or --from-json)")
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
    md = write_outputs(result, args.out)
    print("\n" + md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
