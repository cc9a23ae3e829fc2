"""Charts for every resolve step (PNG, matplotlib's Agg backend; no display needed).

- blocking: candidate pairs per rule (log scale) with pair completeness;
- sampling: Jaccard-of-unigrams histogram of the positive pool vs sampled positives;
- match function: ROC curve on a log FPR axis with TPR at FPR 1% / 0.1%; importances;
- threshold: components and largest component against the threshold (Nagpal Fig. 6);
- clusters: the cluster-size distribution.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from vendorlink.resolve.blocking import BlockingReport
    from vendorlink.resolve.clustering import Clusters
    from vendorlink.resolve.match import MatchEvaluation
    from vendorlink.resolve.pipeline import ResolveResult
    from vendorlink.resolve.threshold import HoldoutCurve, ThresholdChoice, ThresholdCurve
    from vendorlink.resolve.training_pairs import SamplingReport


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    _plt().close(fig)
    tmp.replace(path)
    return path


def blocking_chart(report: BlockingReport, path: Path) -> Path:
    plt = _plt()
    frame = report.to_frame()
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(frame) + 1.5))
    ax.barh(frame["rule"], np.maximum(frame["n_pairs"], 1), color="#4c72b0")
    ax.set_xscale("log")
    ax.set_xlim(0.8, max(int(frame["n_pairs"].max()), 1) * 30)  # room for the labels
    ax.invert_yaxis()
    ax.set_xlabel("candidate pairs")
    for i, row in frame.iterrows():
        pc = row["pair_completeness"]
        label = f" RR {row['reduction_ratio']:.4f}"
        if pc is not None and not pd.isna(pc):
            label += f", PC {pc:.3f}"
        ax.text(max(row["n_pairs"], 1), i, label, va="center", fontsize=8)
    ax.set_title(f"Blocking: {report.n_records} records, {report.n_possible:,} possible pairs")
    return _save(fig, path)


def sampling_chart(report: SamplingReport, path: Path) -> Path:
    plt = _plt()
    bins = np.asarray(report.bins)
    width = bins[1] - bins[0]
    pool = np.asarray(report.pool_counts) / max(report.n_pool, 1)
    samp = np.asarray(report.sampled_counts) / max(report.n_sampled, 1)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(
        bins[:-1],
        pool,
        width=width,
        align="edge",
        alpha=0.5,
        label=f"all positives ({report.n_pool})",
    )
    ax.bar(
        bins[:-1], samp, width=width, align="edge", alpha=0.5, label=f"sampled ({report.n_sampled})"
    )
    ax.axvline(report.near_duplicate_jaccard, color="k", ls="--", lw=1, label="near-duplicate cut")
    ax.set_xlabel("Jaccard similarity of unigrams")
    ax.set_ylabel("share of pairs")
    ax.set_title("Positive pairs: bias against near-duplicates (Nagpal §3.2)")
    ax.legend()
    return _save(fig, path)


def roc_chart(evaluation: MatchEvaluation, path: Path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    fpr = np.maximum(evaluation.fpr, 1e-5)
    ax.plot(fpr, evaluation.tpr, lw=2, label=f"AUC {evaluation.roc_auc:.4f}")
    for k, v in evaluation.tpr_at_fpr.items():
        ax.axvline(float(k), color="grey", ls=":", lw=1)
        ax.annotate(f"TPR {v:.3f} @ FPR {k}", (float(k), v), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(1e-4, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("false positive rate (log)")
    ax.set_ylabel("true positive rate")
    ax.set_title(f"Match function ROC ({evaluation.n_positive}+ / {evaluation.n_negative}-)")
    ax.legend(loc="lower right")
    return _save(fig, path)


def importance_chart(importances: pd.DataFrame, path: Path, top: int = 20) -> Path:
    plt = _plt()
    frame = importances.head(top)
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(frame) + 1.5))
    ax.barh(frame["feature"], frame["importance"], color="#55a868")
    ax.invert_yaxis()
    method = frame["method"].iloc[0] if len(frame) else ""
    ax.set_xlabel(f"importance ({method})")
    ax.set_title("Match function: feature importance")
    return _save(fig, path)


def threshold_chart(curve: ThresholdCurve, choice: ThresholdChoice | None, path: Path) -> Path:
    plt = _plt()
    has_f1 = curve.bcubed_f1 is not None
    fig, axes = plt.subplots(
        2 if has_f1 else 1, 1, figsize=(7, 6.5 if has_f1 else 4.5), sharex=True, squeeze=False,
        gridspec_kw={"height_ratios": [2, 1] if has_f1 else [1]},
    )  # fmt: skip
    ax = axes[0, 0]
    ax.plot(curve.thresholds, curve.n_components, color="#4c72b0")
    ax.set_ylabel("number of components", color="#4c72b0")
    ax2 = ax.twinx()
    ax2.plot(curve.thresholds, curve.largest_component, color="#c44e52")
    ax2.set_ylabel("largest component size (log)", color="#c44e52")
    ax2.set_yscale("log")
    title = f"Components against the match threshold ({curve.n_records} records)"
    if choice is not None:
        ax.axvline(choice.threshold, color="k", ls="--", lw=1)
        ax2.axhline(choice.bound, color="#c44e52", ls=":", lw=1)
        title += f"\nchosen {choice.threshold:g} ({choice.method}); bound {choice.bound}"
    ax.set_title(title)
    if has_f1:
        ax3 = axes[1, 0]
        ax3.plot(curve.thresholds, curve.bcubed_f1, color="#55a868", label="B-cubed F1")
        if curve.pairwise_f1 is not None:
            ax3.plot(curve.thresholds, curve.pairwise_f1, color="#8172b2", label="pairwise F1")
        if choice is not None:
            ax3.axvline(choice.threshold, color="k", ls="--", lw=1)
        ax3.set_ylim(0, 1.02)
        ax3.set_ylabel("F1")
        ax3.legend(loc="lower center", fontsize=8)
    axes[-1, 0].set_xlabel("match threshold")
    return _save(fig, path)


def holdout_chart(curve: HoldoutCurve, choice: ThresholdChoice, path: Path) -> Path:
    """B-cubed scores of the identifier-joined clusters with hidden identifiers (the
    label-free link threshold)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curve.thresholds, curve.bcubed_f1, color="#55a868", label="B-cubed F1")
    ax.plot(curve.thresholds, curve.bcubed_precision, color="#4c72b0", label="precision")
    ax.plot(curve.thresholds, curve.bcubed_recall, color="#c44e52", label="recall")
    ax.axvline(choice.threshold, color="k", ls="--", lw=1)
    ax.set_xlabel("link threshold")
    ax.set_ylabel("against identifier communities")
    ax.set_title(
        f"Link threshold: {curve.hide_fraction:.0%} of identifiers hidden; chosen "
        f"{choice.threshold:g}"
    )
    ax.legend(loc="lower left", fontsize=8)
    return _save(fig, path)


def cluster_size_chart(clusters: Clusters, path: Path) -> Path:
    plt = _plt()
    dist = clusters.size_distribution()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(dist["size"].astype(str), dist["n_clusters"], color="#8172b2")
    ax.set_yscale("log")
    ax.set_xlabel("cluster size")
    ax.set_ylabel("clusters")
    if len(dist) > 25:
        ax.set_xticks(ax.get_xticks()[:: max(1, len(dist) // 20)])
    ax.set_title(f"{clusters.n_clusters} clusters ({clusters.method}, t={clusters.threshold:g})")
    return _save(fig, path)


def write_charts(result: ResolveResult, folder: str | Path) -> list[Path]:
    """Every chart of a resolve run into ``folder``; returns the paths written."""
    folder = Path(folder)
    out = [blocking_chart(result.blocking_report, folder / "blocking.png")]
    if result.training is not None and result.training.report is not None:
        out.append(sampling_chart(result.training.report, folder / "sampling_jaccard.png"))
    if result.evaluation is not None:
        out.append(roc_chart(result.evaluation, folder / "roc.png"))
    if result.importances is not None:
        out.append(importance_chart(result.importances, folder / "feature_importance.png"))
    out.append(threshold_chart(result.curve, result.choice, folder / "threshold_curve.png"))
    out.append(cluster_size_chart(result.clusters, folder / "cluster_sizes.png"))
    return out
