"""The flag model report: summary metrics, the per-label table, thresholds and ROC curves.

Written with :func:`vendorlink.reports.write_report` into a folder: ``report.md``,
``report.html`` (charts embedded), ``metrics.json`` (every number) and ``roc_curves.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.flag.metrics import roc_curves
from vendorlink.reports import Section, pyplot, save_figure, write_report

__all__ = ["plot_roc_curves", "write_flag_report"]

SUMMARY_KEYS = ("f1_macro", "f1_micro", "precision_macro", "recall_macro", "roc_auc_macro")


def plot_roc_curves(
    y: np.ndarray, p: np.ndarray, names: Sequence[str], path: Path, title: str = "ROC curves"
) -> Path:
    """One ROC curve per label (with its AUC in the legend) in one PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 6))
    for name, (fpr, tpr, auc) in roc_curves(y, p, names).items():
        ax.plot(fpr, tpr, lw=1.2, label=f"{name} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="lower right", ncol=1 if len(names) <= 10 else 2)
    return save_figure(fig, path)


def write_flag_report(
    folder: str | Path,
    metrics: dict[str, Any],
    y_test: np.ndarray | None,
    p_test: np.ndarray | None,
    names: Sequence[str],
    title: str = "Flag model report",
    preamble: Sequence[str] = (),
    extra_sections: Sequence[Section] = (),
) -> dict[str, Path]:
    """Write the report of a trained model from the metrics of :func:`fit_flag`."""
    folder = Path(folder).resolve()  # absolute chart paths give correct relative links
    folder.mkdir(parents=True, exist_ok=True)
    sections: list[Section] = []
    split = "test" if "test" in metrics else "val"
    summary_rows = []
    for setting, values in metrics.get(split, {}).items():
        if not isinstance(values, dict):
            continue
        summary_rows.append({"thresholds": setting, **{k: values.get(k) for k in SUMMARY_KEYS}})
    per_label = metrics.get(split, {}).get("calibrated", {}).get("per_label", [])
    rate = metrics.get(split, {}).get("samples_per_s")
    throughput = (
        [f"Throughput (one scoring pass over the {split} ads): {rate:.0f} samples/s."]
        if isinstance(rate, (int, float)) and rate == rate
        else []
    )
    sections.append(
        Section(
            f"Metrics on the {split} split",
            paragraphs=[
                "F1 macro: unweighted mean of per-label F1; F1 micro: F1 of the counts pooled "
                "over labels; ROC-AUC macro: mean of per-label ROC-AUC over labels with both "
                "classes present. 'calibrated' uses the per-label thresholds chosen on the "
                "validation split (maximum F1 per label); 'at_0.5' uses 0.5 for every label.",
                *throughput,
            ],
            tables=[("Summary", summary_rows), ("Per label (calibrated thresholds)", per_label)],
        )
    )
    if y_test is not None and p_test is not None and len(y_test):
        chart = plot_roc_curves(y_test, p_test, names, folder / "roc_curves.png")
        sections.append(Section(f"ROC curves ({split})", charts=[chart]))
    sections.extend(extra_sections)
    return write_report(folder, title, sections, metrics, preamble=preamble)
