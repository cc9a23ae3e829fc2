"""Cluster analysis jobs on a workspace: profiles, classifier + rules, export (CLI bodies).

Each function opens the workspace read-only, works on the latest ``resolve_clusters`` and
returns a summary dict (what the CLI prints); files are written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from vendorlink.atomic import atomic_write_text
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.resolve.export import export_clusters
from vendorlink.resolve.profiles import cluster_profiles
from vendorlink.resolve.rules import cluster_classifier, learn_rules, pn_curve, read_cluster_labels


def _rows(frame: pd.DataFrame, n: int) -> list[dict[str, Any]]:
    out = frame.head(n).copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: "|".join(map(str, v)) if isinstance(v, (list,
                                    tuple)) or hasattr(v, "tolist") else v)  # fmt: skip
        elif out[col].dtype.kind == "f":
            out[col] = out[col].round(3)
    return json.loads(out.to_json(orient="records", date_format="iso"))


def profiles_command(
    workspace: Workspace, out: Path | None, min_size: int = 2, top: int = 10
) -> dict[str, Any]:
    """Cluster profiles; all of them to ``out`` (CSV), the ``top`` largest returned."""
    with workspace.connect(read_only=True) as con:
        profiles = cluster_profiles(con, min_size=min_size)
    result: dict[str, Any] = {"n_clusters": len(profiles)}
    if out is not None:
        table = profiles.copy()
        for col in ("cities", "regions"):
            table[col] = table[col].map(lambda v: "|".join(map(str, v)))
        atomic_write_text(Path(out), table.to_csv(index=False))
        result["csv"] = str(out)
    keep = ["cluster", "n_ads", "n_cities", "n_regions", "span_weeks", "n_phones", "n_names",
            "n_unique_images", "image_reuse_ratio"]  # fmt: skip
    result["largest"] = _rows(profiles[keep], top)
    return result


def _cluster_table(workspace: Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    with workspace.connect(read_only=True) as con:
        profiles = cluster_profiles(con)
        ad_clusters = con.execute("SELECT ad_id, cluster FROM resolve_clusters").df()
    return profiles, ad_clusters


def rules_command(
    workspace: Workspace, labels_file: Path, out: Path | None, min_support: int = 3
) -> dict[str, Any]:
    """Classifier and rules from the labels in ``labels_file``; tables to ``out``."""
    profiles, ad_clusters = _cluster_table(workspace)
    labels = read_cluster_labels(labels_file, ad_clusters)
    clf = cluster_classifier(profiles, labels)
    rules = learn_rules(profiles, labels, min_support=min_support)
    curve = pn_curve(profiles, labels, rules)
    result: dict[str, Any] = {
        "classifier": clf.to_dict(),
        "n_rules": len(rules),
        "top_rules": _rows(rules, 10),
        "pn_curve": _rows(curve, 20),
    }
    unlabelled = clf.probabilities[~clf.probabilities.index.isin(labels.index)]
    result["n_flagged_unlabelled"] = int((unlabelled >= 0.5).sum())
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "rules.csv", rules.to_csv(index=False))
        atomic_write_text(out / "pn_curve.csv", curve.to_csv(index=False))
        probs = clf.probabilities.rename("probability").reset_index()
        probs["label"] = probs["cluster"].map(labels)
        atomic_write_text(out / "cluster_probabilities.csv", probs.to_csv(index=False))
        _write_rules_report(out, result, curve)
        result["out"] = str(out)
    return result


def _write_rules_report(out: Path, result: dict[str, Any], curve: pd.DataFrame) -> None:
    from vendorlink.reports import Section, pyplot, save_figure, write_report

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(curve["negatives"], curve["positives"], marker="o")
    ax.set_xlabel("negative clusters covered")
    ax.set_ylabel("positive clusters covered")
    ax.set_title("PN curve (rules added by ratio)")
    chart = save_figure(fig, out / "pn_curve.png")
    clf = result["classifier"]
    write_report(
        out,
        "vendorlink cluster rules",
        [
            Section(
                "Classifier",
                [
                    f"Random forest on cluster profiles: {clf['n_labelled']} "
                    f"labelled clusters, {clf['n_positive']} positive, "
                    f"out-of-fold ROC AUC {clf['oof_roc_auc']}."
                ],
                [("Feature importance", clf["importances"])],
            ),
            Section("Rules", tables=[("Top rules by lift", result["top_rules"])]),
            Section("PN curve", tables=[("", result["pn_curve"])], charts=[chart]),
        ],
        result,
    )


def export_command(
    workspace: Workspace,
    out: Path,
    labels_file: Path | None = None,
    clusters: list[int] | None = None,
    min_probability: float = 0.5,
    top: int = 20,
) -> dict[str, Any]:
    """Export the given clusters, else those the classifier flags, else the ``top`` largest."""
    profiles, ad_clusters = _cluster_table(workspace)
    summary_path = workspace.artefacts / "resolve" / "summary.json"
    threshold = 0.5
    if summary_path.exists():
        threshold = float(json.loads(summary_path.read_text(encoding="utf-8"))["threshold"])
    chosen = profiles
    if clusters is not None:
        unknown = sorted(set(clusters) - set(profiles["cluster"].tolist()))
        if unknown:
            raise InputError(f"no such clusters: {unknown[:10]}")
        chosen = profiles[profiles["cluster"].isin(clusters)]
    elif labels_file is not None:
        labels = read_cluster_labels(labels_file, ad_clusters)
        clf = cluster_classifier(profiles, labels)
        prob = profiles["cluster"].map(clf.probabilities)
        chosen = profiles.assign(probability=prob.round(4), label=profiles["cluster"].map(labels))
        chosen = chosen[chosen["probability"] >= min_probability]
    else:
        chosen = profiles.head(top)
    with workspace.connect(read_only=True) as con:
        return export_clusters(con, chosen.reset_index(drop=True), out, threshold=threshold)
