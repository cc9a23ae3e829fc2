"""The evaluation report: ``report.md``, ``report.html`` (charts embedded) and ``metrics.json``.

:func:`write_evaluation_report` turns a :class:`~vendorlink.evaluate.model.ModelEvaluation`
into tables and charts (per-vendor F1 against training ads; R-Precision by region and view)
and writes them with :func:`vendorlink.reports.write_report`. :data:`DEFINITIONS` (every
metric) and :data:`METRIC_KEYS` (every key of ``metrics.json``) are printed in the report.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from vendorlink.reports import Section, pyplot, save_figure, write_report

__all__ = ["DEFINITIONS", "METRIC_KEYS", "evaluation_sections", "write_evaluation_report"]

DEFINITIONS: tuple[str, ...] = (
    "Documents = the train part of a region, queries = its test part; cosine similarity, "
    "exact search. For a query with vendor y, R = the number of documents of vendor y; "
    "queries with R = 0 (vendor unseen in the region's train part) are zero-shot queries: "
    "counted (n_zero_shot) and left out of every average.",
    "R-Precision@X (X = R): relevant documents among the top R, divided by R.",
    "MRR@10: 1 / rank of the first relevant document in a k = 10 search, 0 when none.",
    "Macro-F1@X (X = R): per vendor, P = sum tp / sum X and Rec = sum tp / sum R over its "
    "queries, F1 their harmonic mean; mean ± std over vendors. With X = R it equals the "
    "vendor mean of R-Precision.",
    "Every retrieval metric is given as mean ± std over queries (q) and over vendors (v: "
    "each vendor's mean over its queries first, so every vendor weighs the same); std is "
    "the population std.",
    "In-distribution = mean over in-domain regions; OOD average = mean over out-of-domain "
    "regions (never trained on); zero-shot average = mean over all regions of the frozen "
    "encoders' vectors without any training.",
    "Views: multimodal (text and images), text→text, image→image, text→image (query from its "
    "text, documents from their images; multimodal models only).",
    "Shared vendors have ads in both domains, unique vendors in one; face / no-face: the ad "
    "has an image with a detected face / has images, none with a face. Only queries are "
    "filtered; documents stay all train ads of the region.",
    "Identification (models with a classification head): in-domain test ads whose vendor is "
    "a training class. Accuracy; balanced accuracy = mean per-vendor recall; F1 macro = "
    "unweighted mean per-vendor F1; F1 weighted = weighted by support; F1 micro = F1 of "
    "pooled counts (= accuracy).",
)

METRIC_KEYS: tuple[str, ...] = (
    "model, modality, split_name, label_source, text_encoder, image_encoder: what was "
    "evaluated; regions.<region>.domain: in / out; counts.<region>: train, val, test ads "
    "and vendors.",
    "retrieval.<view>.regions.<region>: n_queries, n_documents, n_evaluated, n_zero_shot, "
    "n_vendors, n_zero_shot_vendors, cutoff, and for m in r_precision, map_at_r, mrr_at_10, "
    "f1_at_x: m_query_mean, m_query_std, m_vendor_mean, m_vendor_std; macro_f1_at_x, "
    "macro_f1_at_x_std (null: no query or no document).",
    "retrieval.<view>.in_distribution / ood_average / all_regions_average: "
    "r_precision_query_mean, r_precision_vendor_mean, mrr_at_10_query_mean, "
    "mrr_at_10_vendor_mean, macro_f1_at_x (means over regions), n_regions.",
    "retrieval.<view>.vendor_scope.<shared|unique>.<region> and "
    "retrieval.<view>.faces.<face|no_face>.<region>: the region keys, for those queries.",
    "zero_shot.<view>...: the same for the frozen encoders; zero_shot_average.<view> = "
    "zero_shot.<view>.all_regions_average.",
    "classification: n_samples, n_classes, accuracy, balanced_accuracy, f1_macro, "
    "f1_weighted, f1_micro, n_test_unknown_vendor, view; per_vendor (list): vendor, "
    "precision, recall, f1, support, train_ads.",
)


def _pm(row: dict[str, Any] | None, metric: str, over: str) -> str:
    if not row or not row.get("n_evaluated"):
        return ""
    mean, std = row.get(f"{metric}_{over}_mean"), row.get(f"{metric}_{over}_std")
    if mean is None or std is None:
        return ""
    return f"{mean:.4f} ± {std:.4f}"


def _region_rows(source: str, views: dict[str, Any], regions: dict[str, Any]) -> list[dict]:
    rows = []
    for view, entry in views.items():
        for region, row in entry["regions"].items():
            rows.append(
                {
                    "source": source,
                    "view": view,
                    "region": region,
                    "domain": regions[region]["domain"],
                    "queries": row["n_evaluated"] if row else 0,
                    "zero-shot q": row["n_zero_shot"] if row else 0,
                    "R-Prec (q)": _pm(row, "r_precision", "query"),
                    "R-Prec (v)": _pm(row, "r_precision", "vendor"),
                    "MRR@10 (q)": _pm(row, "mrr_at_10", "query"),
                    "MRR@10 (v)": _pm(row, "mrr_at_10", "vendor"),
                    "Macro-F1@X (v)": (
                        f"{row['macro_f1_at_x']:.4f} ± {row['macro_f1_at_x_std']:.4f}"
                        if row and row["n_evaluated"]
                        else ""
                    ),
                }
            )
    return rows


def _average_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for source, key in (("model", "retrieval"), ("zero-shot", "zero_shot")):
        for view, entry in metrics.get(key, {}).items():
            for label, avg in (
                ("in-distribution", entry["in_distribution"]),
                ("OOD average", entry["ood_average"]),
                ("all regions", entry["all_regions_average"]),
            ):
                if not avg["n_regions"]:
                    continue
                rows.append(
                    {
                        "source": source,
                        "view": view,
                        "average": label,
                        "regions": avg["n_regions"],
                        "R-Prec (q)": avg["r_precision_query_mean"],
                        "R-Prec (v)": avg["r_precision_vendor_mean"],
                        "MRR@10 (q)": avg["mrr_at_10_query_mean"],
                        "MRR@10 (v)": avg["mrr_at_10_vendor_mean"],
                        "Macro-F1@X": avg["macro_f1_at_x"],
                    }
                )
    return rows


def _breakdown_rows(metrics: dict[str, Any], group: str) -> list[dict[str, Any]]:
    rows = []
    for source, key in (("model", "retrieval"), ("zero-shot", "zero_shot")):
        for view, entry in metrics.get(key, {}).items():
            for value, by_region in entry.get(group, {}).items():
                for region, row in by_region.items():
                    if not row or not row["n_evaluated"]:
                        continue
                    rows.append(
                        {
                            "source": source,
                            "view": view,
                            group: value,
                            "region": region,
                            "queries": row["n_evaluated"],
                            "R-Prec (q)": _pm(row, "r_precision", "query"),
                            "MRR@10 (q)": _pm(row, "mrr_at_10", "query"),
                            "Macro-F1@X (v)": row["macro_f1_at_x"],
                        }
                    )
    return rows


def per_vendor_chart(rows: list[dict[str, Any]], path: Path) -> Path:
    """Per-vendor F1 (test) against the vendor's number of training ads (log x)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    x = np.array([max(r.get("train_ads", 0), 1) for r in rows], dtype=float)
    y = np.array([r["f1"] for r in rows], dtype=float)
    ax.scatter(x, y, s=12, alpha=0.6, color="#4c72b0")
    if len(x) >= 5:  # binned means show the trend
        edges = np.unique(np.quantile(x, np.linspace(0, 1, 6)))
        centres, means = [], []
        for lo, hi in itertools.pairwise(edges):
            sel = (x >= lo) & (x <= hi)
            if sel.any():
                centres.append(float(np.exp(np.log(x[sel]).mean())))
                means.append(float(y[sel].mean()))
        ax.plot(centres, means, color="#c44e52", marker="o", label="mean per quantile bin")
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("training ads of the vendor")
    ax.set_ylabel("F1 on test ads")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Per-vendor F1 against ad frequency")
    return save_figure(fig, path)


def region_chart(metrics: dict[str, Any], path: Path) -> Path:
    """R-Precision (mean over queries) by region, one bar per view (model and zero-shot)."""
    plt = pyplot()
    series: list[tuple[str, dict[str, Any]]] = []
    for source, key in (("", "retrieval"), ("zero-shot ", "zero_shot")):
        for view, entry in metrics.get(key, {}).items():
            series.append((f"{source}{view}", entry["regions"]))
    regions = list(metrics["regions"])
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(regions) + 3), 4))
    width = 0.8 / max(len(series), 1)
    for i, (label, by_region) in enumerate(series):
        values = [(by_region.get(r) or {}).get("r_precision_query_mean") or 0.0 for r in regions]
        ax.bar(np.arange(len(regions)) + i * width, values, width, label=label)
    ax.set_xticks(np.arange(len(regions)) + width * (len(series) - 1) / 2)
    ax.set_xticklabels([f"{r}\n({metrics['regions'][r]['domain']})" for r in regions])
    ax.set_ylabel("R-Precision (mean over queries)")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path)


def evaluation_sections(
    metrics: dict[str, Any], per_vendor: list[dict[str, Any]], folder: Path
) -> list[Section]:
    """Report sections (charts are written into ``folder``)."""
    sections = [Section("Averages", tables=[("", _average_rows(metrics))])]
    regions = metrics["regions"]
    rows = _region_rows("model", metrics.get("retrieval", {}), regions)
    rows += _region_rows("zero-shot", metrics.get("zero_shot", {}), regions)
    chart = region_chart(metrics, folder / "r_precision_by_region.png")
    sections.append(Section("Retrieval by region", tables=[("", rows)], charts=[chart]))
    for group, title in (("vendor_scope", "Shared vs unique vendors"), ("faces", "Faces")):
        sections.append(Section(title, tables=[("", _breakdown_rows(metrics, group))]))
    if "classification" in metrics:
        cls = metrics["classification"]
        section = Section(
            "Identification (closed set, in-distribution test ads)",
            tables=[("", [{k: v for k, v in cls.items()}])],
        )
        if per_vendor:
            section.charts.append(per_vendor_chart(per_vendor, folder / "per_vendor_f1.png"))
            section.tables.append(("Per vendor (first 30 by support)", per_vendor[:30]))
        sections.append(section)
    sections.append(Section("Definitions", paragraphs=list(DEFINITIONS)))
    sections.append(Section("Keys of metrics.json", paragraphs=list(METRIC_KEYS)))
    return sections


def write_evaluation_report(
    folder: str | Path, metrics: dict[str, Any], per_vendor: list[dict[str, Any]]
) -> dict[str, Path]:
    """Write the report, its charts and ``metrics.json`` (with ``per_vendor``) to ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sections = evaluation_sections(metrics, per_vendor, folder)
    data = dict(metrics)
    if "classification" in data:
        data["classification"] = {**data["classification"], "per_vendor": per_vendor}
    preamble = [
        f"Model: {metrics.get('model') or 'none (zero-shot encoders only)'}; split "
        f"{metrics['split_name']!r}; labels {metrics['label_source']!r}; encoders "
        f"{metrics['text_encoder'] or '-'} / {metrics['image_encoder'] or '-'}."
    ]
    return write_report(folder, "vendorlink evaluation", sections, data, preamble)
