"""Identify and link on a generated benchmark: zero-shot encoders vs trained vendor models.

Usage::

    python benchmarks/identify_link.py                                   # small demo (generated)
    python benchmarks/identify_link.py --workspace /tmp/demo-matched/workspace --epochs 20

The workspace is *copied* into ``--work`` (default ``/tmp/vendorlink-bench/<name>``) and
only the copy is used; an existing copy is reused, so the embedding cache (MiniLM on masked
text, EfficientNet-Lite0 on images, ``--backend onnx`` by default) is computed once. Then,
for each label source (``truth`` = the generator's vendors, ``identifiers`` = phone/email
communities), it trains regime (a) models (frozen encoders, cached vectors) on the
in-distribution train part, text-only / image-only / multimodal (mean and gated fusion),
with CE and CE+SupCon, early-stopped on validation R-Precision, and evaluates:

- retrieval, queries = test ads, documents = train ads of the same domain, against the
  same label source: ``in`` (in-distribution) and ``ood`` (out-of-distribution regions,
  never seen in training): R-Precision (mean over queries), MRR@10 (mean over queries, from
  a k=10 search), Macro-F1@X (X = R; per vendor pooled, averaged over vendors);
- identification (models with a CE head), in-distribution test ads whose vendor is a
  training class: accuracy, and macro-F1 averaged over the vendors present in those test
  ads (a prediction of any other training vendor counts as a miss).

``--seeds 0,1,2`` trains every model once per seed and adds a table of mean ± std over the
seeds (population std). ``--cosine-scale`` / ``--metric-projection`` override those
``TrainConfig`` fields for every model. ``--threads N`` sets torch's CPU threads (0: torch's
default; on a busy 2-core machine 1 thread trains faster than 2). ``--pairs`` adds the
per-(text, image)-pair mode of MATCHED (multimodal-mean CE+SupCon on one sample per pair,
split by ad, ad embeddings = mean of the pair embeddings).

Each model is evaluated on the ads it can see (a text model skips image-only ads); ``nq``
is the number of evaluated queries. Zero-shot baselines use the raw encoder vectors.
Results print as a table and are written to ``--out`` (JSON and Markdown).
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from vendorlink.data.workspace import Workspace
from vendorlink.evaluate import classification_metrics
from vendorlink.train import (
    AdTable,
    TrainConfig,
    build_ad_table,
    embed_table,
    evaluate_embeddings,
    model_outputs,
    predict_vendors,
    train_vendor_model,
)

MODELS: list[tuple[str, str, str]] = [  # (modality, fusion, loss)
    ("text", "mean", "ce"),
    ("text", "mean", "ce+supcon"),
    ("image", "mean", "ce"),
    ("image", "mean", "ce+supcon"),
    ("multimodal", "mean", "ce"),
    ("multimodal", "mean", "ce+supcon"),
    ("multimodal", "gated", "ce"),
    ("multimodal", "gated", "ce+supcon"),
]


def prepare_workspace(args: argparse.Namespace) -> Workspace:
    if args.workspace is not None:
        source = Path(args.workspace)
        target = args.work / source.parent.name / "workspace"
        if not (target / "workspace.json").exists() or args.fresh:
            shutil.rmtree(target, ignore_errors=True)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(source, target)
        return Workspace.open(target)
    from vendorlink.demo import run_demo

    out = args.work / f"demo-{args.preset}-{args.seed}"
    if not (out / "workspace" / "workspace.json").exists() or args.fresh:
        run_demo(
            out,
            preset=args.preset,
            seed=args.seed,
            progress=False,
            console=Console(file=io.StringIO()),
        )
    return Workspace.open(out / "workspace")


def retrieval_rows(
    embeddings: np.ndarray, table: AdTable, usable: np.ndarray
) -> dict[str, float | int]:
    """In-domain and OOD retrieval metrics (test queries vs train documents)."""
    out: dict[str, float | int] = {}
    for domain, tag in (("in", "in"), ("out", "ood")):
        queries = table.rows("test", domain) & usable
        documents = table.rows("train", domain) & usable
        report = evaluate_embeddings(embeddings, table, queries, documents)
        if report is None or not report.n_evaluated:
            continue
        out[f"{tag}_nq"] = report.n_evaluated
        out[f"{tag}_rp"] = report.metrics["r_precision"].query_mean
        out[f"{tag}_mrr10"] = report.metrics["mrr_at_10"].query_mean
        out[f"{tag}_mf1x"] = report.macro_f1_at_x
    return out


def identification(model: Any, table: AdTable, usable: np.ndarray) -> dict[str, float]:
    if model.classifier is None:
        return {}
    known = set(model.vendors)
    rows = table.rows("test", "in") & usable & np.array([v in known for v in table.vendor])
    if not rows.any():
        return {}
    sub = table.select(rows)
    predicted = predict_vendors(model, model_outputs(model, sub))
    present = sorted({str(v) for v in sub.vendor})  # macro-F1 over the test vendors
    metrics = classification_metrics(sub.vendor, predicted, labels=present)
    return {"id_acc": metrics["accuracy"], "id_f1": metrics["f1_macro"]}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, help="an existing workspace to copy")
    parser.add_argument("--preset", default="small", help="generator preset when no workspace")
    parser.add_argument("--seed", type=int, default=0, help="generator and training seed")
    parser.add_argument(
        "--seeds", default="", help="comma list of training seeds (default: --seed)"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/vendorlink-bench"))
    parser.add_argument("--fresh", action="store_true", help="recopy / regenerate the workspace")
    parser.add_argument("--backend", default="onnx", help="encoder backend for new vectors")
    parser.add_argument("--label-sources", default="truth,identifiers")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument(
        "--cosine-scale", type=float, default=None, help="cosine classifier scale (0: linear)"
    )
    parser.add_argument(
        "--metric-projection", type=int, default=None, help="SupCon projection head width"
    )
    parser.add_argument("--only", default="", help="comma list of model tags to run")
    parser.add_argument("--pairs", action="store_true", help="add the per-pair mode model")
    parser.add_argument("--out", type=Path, default=Path("bench-out/identify_link"))
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()] or [args.seed]
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    workspace = prepare_workspace(args)
    console = Console()
    console.print(f"workspace: {workspace.path}")
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()
    for label_source in [s.strip() for s in args.label_sources.split(",") if s.strip()]:
        t0 = time.perf_counter()
        with workspace.connect(read_only=True) as con:
            table = build_ad_table(
                workspace,
                con=con,
                label_source=label_source,
                backend=args.backend,
                progress=True,
                keep_images=args.pairs,
            )
        console.print(
            f"[{label_source}] table: {len(table)} ads, {int(table.has_text.sum())} with text, "
            f"{int(table.has_image.sum())} with images ({time.perf_counter() - t0:.1f}s)"
        )
        baselines = (
            ("zero-shot MiniLM", "text", table.text, table.has_text),
            ("zero-shot EfficientNet", "image", table.image, table.has_image),
        )
        for tag, modality, vectors, usable in baselines:
            row = {"labels": label_source, "model": tag, "modality": modality, "train_s": 0.0}
            row.update(retrieval_rows(vectors, table, usable))
            rows.append(row)
            console.print(row)
        models = [(m, f, loss, False) for m, f, loss in MODELS]
        if args.pairs:
            models.append(("multimodal", "mean", "ce+supcon", True))
        for spec in models:
            if args.only and model_tag(spec) not in args.only.split(","):
                continue
            for seed in seeds:
                row = train_and_evaluate(workspace, table, args, label_source, spec, seed)
                rows.append(row)
                console.print(row)
    total = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    summary = {"workspace": str(workspace.path), "args": vars(args), "seconds": total, "rows": rows}
    if len(seeds) > 1:
        summary["mean_std"] = aggregate(rows)
    args.out.with_suffix(".json").write_text(json.dumps(summary, indent=2, default=str))
    markdown = to_markdown(rows)
    if len(seeds) > 1:
        markdown += f"\nMean ± std over seeds {seeds}:\n\n" + to_markdown(summary["mean_std"])
    args.out.with_suffix(".md").write_text(markdown, encoding="utf-8")
    console.print(markdown)
    console.print(f"total {total:.0f}s; written {args.out}.json / .md")
    return summary


def train_and_evaluate(
    workspace: Workspace,
    table: AdTable,
    args: argparse.Namespace,
    label_source: str,
    spec: tuple[str, str, str, bool],
    seed: int,
) -> dict[str, Any]:
    """Train one benchmark model (``spec`` = modality, fusion, loss, pair mode) with ``seed``
    and return its row of metrics."""
    modality, fusion, loss, pairs = spec
    tag = model_tag(spec)
    config = TrainConfig(
        name=f"bench-{label_source}-{tag.replace(' ', '-').replace('+', '_')}",
        label_source=label_source,
        modality=modality,
        fusion=fusion,
        loss=loss,
        epochs=args.epochs,
        patience=args.patience,
        dim=args.dim,
        seed=seed,
        encoder_backend=args.backend,
        pair_mode=pairs,
        **{
            field: value
            for field, value in (
                ("cosine_scale", args.cosine_scale),
                ("metric_projection", args.metric_projection),
            )
            if value is not None  # None: TrainConfig's default
        },
    )
    result = train_vendor_model(workspace, config, table=table)
    model = result.model
    assert model is not None
    usable = table.usable(modality)
    embeddings = np.zeros((len(table), model.embedding_dim), dtype=np.float32)
    embeddings[usable] = embed_table(model, table.select(usable))
    row = {
        "labels": label_source,
        "model": tag,
        "seed": seed,
        "modality": modality,
        "train_s": result.seconds,
        "epochs": result.epochs_run,
        "best_epoch": result.best_epoch,
        "val_rp": result.best_score,
    }
    row.update(retrieval_rows(embeddings, table, usable))
    row.update(identification(model, table, usable))
    return row


def model_tag(spec: tuple[str, str, str, bool]) -> str:
    """``"multimodal-mean ce+supcon"``, ``"text ce"``, ... (``" pairs"`` for the pair mode)."""
    modality, fusion, loss, pairs = spec
    tag = f"{modality}{'-' + fusion if modality == 'multimodal' else ''} {loss}"
    return tag + (" pairs" if pairs else "")


def aggregate(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (labels, model): each numeric column as ``"mean ± std"`` over its seeds.

    Rows without a seed (the zero-shot baselines) are kept as they are.
    """
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    out: list[dict[str, Any]] = []
    for row in rows:
        if "seed" in row:
            groups.setdefault((row["labels"], row["model"]), []).append(row)
        else:
            out.append(row)
    for (labels, model), members in groups.items():
        agg: dict[str, Any] = {"labels": labels, "model": f"{model} (n={len(members)})"}
        for key, _, fmt in COLUMNS:
            values = [m[key] for m in members if isinstance(m.get(key), int | float)]
            if key in ("labels", "model", "seed") or not values:
                continue
            mean, std = float(np.mean(values)), float(np.std(values))
            agg[key] = f"{fmt.format(mean)} ± {fmt.format(std)}" if "f" in fmt else f"{mean:.0f}"
        out.append(agg)
    return out


COLUMNS = [
    ("labels", "labels", "{}"),
    ("model", "model", "{}"),
    ("seed", "seed", "{}"),
    ("in_nq", "in nq", "{}"),
    ("in_rp", "in R-P", "{:.3f}"),
    ("in_mrr10", "in MRR@10", "{:.3f}"),
    ("in_mf1x", "in MF1@X", "{:.3f}"),
    ("ood_nq", "ood nq", "{}"),
    ("ood_rp", "ood R-P", "{:.3f}"),
    ("ood_mrr10", "ood MRR@10", "{:.3f}"),
    ("ood_mf1x", "ood MF1@X", "{:.3f}"),
    ("id_acc", "id acc", "{:.3f}"),
    ("id_f1", "id F1", "{:.3f}"),
    ("best_epoch", "epoch", "{}"),
    ("train_s", "train s", "{:.1f}"),
]


def to_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = [
            (row[key] if isinstance(row[key], str) else fmt.format(row[key])) if key in row else ""
            for key, _, fmt in COLUMNS
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
