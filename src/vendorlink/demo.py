"""``vendorlink demo``: every stage, end to end, on a generated benchmark, with a summary.

The demo owns its folder: ``OUT/data`` (generated ads) and ``OUT/workspace``. Running it
again replaces both, but it refuses to touch a folder it did not create.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vendorlink.data.info import workspace_info
from vendorlink.data.ingest import IngestOptions, ingest
from vendorlink.data.splits import SplitOptions, make_split
from vendorlink.data.workspace import MARKER, Workspace
from vendorlink.errors import WorkspaceError
from vendorlink.extract.stage import run_extract
from vendorlink.labels.stage import compare_label_sources, label_by_identifiers, label_from_file
from vendorlink.resolve.stage import run_resolve

DEMO_MARKER = ".vendorlink-demo"


def run_demo(
    out: Path,
    *,
    preset: str = "small",
    seed: int = 0,
    progress: bool = True,
    console: Console | None = None,
    train_model: bool | None = None,
    encoders: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """Generate, ingest, extract, label, split and resolve; print and return a summary.

    ``train_model``: also train the default multimodal model (frozen encoders) and print its
    evaluation table (``None``: yes, except for the ``tiny`` preset, which tests use);
    ``encoders``: its (text, image) encoder names or folders (default MiniLM and
    EfficientNet-Lite0).
    """
    from vendorlink.data.synthetic import GeneratorConfig, generate

    console = console or Console()
    out = Path(out)
    _claim(out)
    data_dir, ws_dir = out / "data", out / "workspace"
    timings: dict[str, float] = {}

    def step(name: str) -> _Timer:
        console.rule(f"[bold]{name}")
        return _Timer(timings, name)

    with step("generate"):
        config = GeneratorConfig.from_preset(preset, seed=seed)
        generate(config, data_dir, progress=progress, overwrite=True)
    with step("ingest"):
        if (ws_dir / MARKER).exists():
            shutil.rmtree(ws_dir)
        ws = Workspace.init(ws_dir)
        ads_file = next(p for p in (data_dir / "ads.csv", data_dir / "ads.parquet") if p.exists())
        ingested = ingest(ws, ads_file, IngestOptions(progress=progress))
    with step("extract"):
        extracted = run_extract(ws, progress=progress)
    with step("label"):
        communities = label_by_identifiers(ws)
        label_from_file(ws, data_dir / "truth_ads.parquet", label_source="truth")
        noise = compare_label_sources(ws, "identifiers", "truth")
    with step("split"):
        split = make_split(ws, SplitOptions(in_domain="region=South"))
    with step("resolve"):
        resolved = run_resolve(ws, progress=progress)
    model_summary = None
    if train_model if train_model is not None else preset != "tiny":
        from vendorlink.evaluate.demo_model import demo_model_step

        with step("train + evaluate"):
            model_summary = demo_model_step(ws, encoders=encoders, progress=progress)
    flag_summary = None
    if model_summary is not None:  # embeddings are cached now, so the flag model is cheap
        from vendorlink.flag.demo import demo_flag_step

        with step("flag"):
            flag_summary = demo_flag_step(
                ws, data_dir / "truth_ads.parquet", encoders=encoders, progress=progress
            )

    summary = {
        "workspace": str(ws_dir),
        "ingest": ingested.as_dict(),
        "extract": extracted,
        "communities": communities,
        "label_noise": noise,
        "split": split.as_dict(),
        "resolve": resolved,
        "info": workspace_info(ws),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
    }
    _print_summary(console, summary)
    if model_summary is not None:
        from vendorlink.evaluate.demo_model import print_model_summary

        summary["model"] = model_summary
        print_model_summary(console, model_summary)
    if flag_summary is not None:
        from vendorlink.flag.demo import print_flag_summary

        summary["flag"] = flag_summary
        print_flag_summary(console, flag_summary)
    return summary


def _claim(out: Path) -> None:
    if out.exists() and any(out.iterdir()) and not (out / DEMO_MARKER).exists():
        raise WorkspaceError(f"{out} exists and was not made by `vendorlink demo`; choose --out")
    out.mkdir(parents=True, exist_ok=True)
    (out / DEMO_MARKER).write_text("made by vendorlink demo\n", encoding="utf-8")


class _Timer:
    def __init__(self, timings: dict[str, float], name: str) -> None:
        self.timings, self.name = timings, name

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.timings[self.name] = time.perf_counter() - self.start


def _print_summary(console: Console, s: dict[str, Any]) -> None:
    info = s["info"]
    table = Table(title="vendorlink demo — summary", show_header=False, title_justify="left")
    ads = info["ads"]
    table.add_row("workspace", s["workspace"])
    table.add_row(
        "ads",
        f"{ads['total']:,} ingested ({ads['text_and_image']:,} text+image, "
        f"{ads['text_only']:,} text only, {ads['image_only']:,} image only, "
        f"{ads['exact_duplicates']:,} exact duplicates)",
    )
    table.add_row("rejected rows", f"{s['ingest']['rejected']:,} {s['ingest']['reject_reasons']}")
    table.add_row(
        "images",
        f"{info['images']['references']:,} references, {info['images']['distinct']:,} distinct",
    )
    table.add_row("regions", ", ".join(f"{k} {v:,}" for k, v in info["regions"].items()))
    cover = s["extract"]["share_of_ads_with"]
    table.add_row(
        "fields found",
        ", ".join(f"{k} {v:.0%}" for k, v in cover.items() if k in ("phones", "emails", "ages",
                                                                    "rates", "names")),
    )  # fmt: skip
    c = s["communities"]
    table.add_row(
        "identifier communities",
        f"{c['n_communities']:,} communities over {c['n_labelled']:,} ads "
        f"({c['n_unlabelled']:,} ads without phone/email); giant: {len(c['giant'])}",
    )
    n = s["label_noise"]
    table.add_row(
        "label noise vs true vendors",
        f"{n.get('n_reference_labels', 0):,} true vendors; ARI {n.get('ari')}, "
        f"NMI {n.get('nmi')}; {n.get('merged_communities')} communities merge vendors, "
        f"{n.get('split_vendors')} vendors split",
    )
    for domain, parts in s["split"]["counts"].items():
        table.add_row(f"split ({domain}-domain)", ", ".join(f"{p} {k:,}" for p, k in parts.items()))
    table.add_row("vendors", ", ".join(f"{k} {v:,}" for k, v in s["split"]["vendors"].items()))
    table.add_row("vendor clusters", _resolve_line(s["resolve"]))
    table.add_row("time (s)", ", ".join(f"{k} {v}" for k, v in s["seconds"].items()))
    console.print(table)
    console.print(
        f"Next: [bold]vendorlink info -w {s['workspace']}[/bold] · "
        f"open {s['workspace']}/vendorlink.duckdb with DuckDB to browse the tables."
    )


def _resolve_line(r: dict[str, Any]) -> str:
    line = (
        f"{r['n_clusters']:,} clusters (largest {r['largest_cluster']}) from "
        f"{r['n_pairs']:,} scored pairs at threshold {r['threshold']:g}"
    )
    metrics = r.get("metrics")
    if metrics:
        ours = metrics["resolve"]["bcubed_f1"]
        base = metrics[f"{r['label_source']}_baseline"]["bcubed_f1"]
        line += f"; B-cubed F1 vs true vendors {ours:.3f} (identifier communities {base:.3f}"
        if "match_only" in metrics:
            line += f", match function alone {metrics['match_only']['bcubed_f1']:.3f}"
        line += ")"
    return line
