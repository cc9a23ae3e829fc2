"""The flag step of ``vendorlink demo``: train the indicator model on the generated labels,
score the workspace, and print the test metrics (cheap once the embeddings are cached)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from vendorlink.data.workspace import Workspace

__all__ = ["demo_flag_step", "print_flag_summary"]

DEMO_FLAG_MODEL = "demo-indicators"


def demo_flag_step(
    workspace: Workspace,
    truth_ads: Path,
    *,
    encoders: tuple[str, str] | None = None,
    backend: str = "onnx",
    epochs: int = 20,
    progress: bool = False,
) -> dict[str, Any]:
    """Train on the ``ind_*`` columns of ``truth_ads``, score every ad; a summary dict."""
    from vendorlink.flag.labels import load_labels
    from vendorlink.flag.stage import score_flags, train_flag
    from vendorlink.flag.train import FlagTrainConfig

    text, image = encoders or ("minilm", "efficientnet-lite0")
    result, folder = train_flag(
        workspace, load_labels(truth_ads), FlagTrainConfig(name=DEMO_FLAG_MODEL, epochs=epochs),
        text_encoder=text, image_encoder=image, backend=backend, unknown="skip",
        progress=progress,
    )  # fmt: skip
    scored = score_flags(workspace, folder, progress=progress)
    test = result.metrics.get("test", {})
    return {
        "folder": str(folder),
        "report": str(folder / "report" / "report.html"),
        "scored_ads": scored["scored"],
        "flagged": scored["flagged"],
        "f1_macro": test.get("calibrated", {}).get("f1_macro"),
        "f1_macro_at_0.5": test.get("at_0.5", {}).get("f1_macro"),
        "f1_micro": test.get("calibrated", {}).get("f1_micro"),
        "roc_auc_macro": test.get("calibrated", {}).get("roc_auc_macro"),
        "per_label": test.get("calibrated", {}).get("per_label", []),
    }


def print_flag_summary(console: Console, summary: dict[str, Any]) -> None:
    """The per-label test table and the headline numbers."""
    table = Table(title="indicator flags (test split, calibrated thresholds)")
    for column in ("label", "precision", "recall", "f1", "support", "roc_auc", "flagged"):
        table.add_column(column, justify="left" if column == "label" else "right")
    for row in summary["per_label"]:
        table.add_row(
            row["label"], f"{row['precision']:.3f}", f"{row['recall']:.3f}", f"{row['f1']:.3f}",
            str(row["support"]), f"{row['roc_auc']:.3f}",
            str(summary["flagged"].get(row["label"], "")),
        )  # fmt: skip
    console.print(table)
    console.print(
        f"macro F1 {summary['f1_macro']:.3f} (0.5 thresholds: {summary['f1_macro_at_0.5']:.3f}), "
        f"micro F1 {summary['f1_micro']:.3f}, macro ROC-AUC {summary['roc_auc_macro']:.3f}; "
        f"{summary['scored_ads']} ads scored into the flags table; report {summary['report']}"
    )
