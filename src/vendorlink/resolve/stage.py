"""The resolve stage on a workspace: ads -> scored pairs -> vendor clusters, with a report.

:func:`run_resolve` reads the ads of a workspace (:func:`~vendorlink.resolve.records.ads_frame`:
masked text, extracted fields, image hashes), runs a :class:`~vendorlink.resolve.pipeline.
Resolver` (blocking, match function trained from phone-community proxy labels, scoring,
threshold, clustering) and writes, in one workspace run:

- ``resolve_pairs(run_id, left_ad, right_ad, score)``: every scored pair;
- ``resolve_clusters(run_id, ad_id, cluster)``: the cluster of every ad;
- ``artefacts/resolve/``: ``summary.json``, ``report.md``, ``report.html``, the charts
  and the threshold curve.

Both tables hold the latest run only. With ``identifier_links`` (the default) the final
clusters join the match-function clusters with the identifier communities (ads sharing a
phone or email, label source ``identifiers``): shared identifiers are the strongest
evidence an analyst has, and the match function only has to add the links they miss. One
false match edge now merges two whole communities, so the match edges are held to a
``link_threshold`` chosen label-free (unless given): the threshold whose joined clusters
best rebuild the identifier communities when 30% of the ads with an identifier have it
hidden (:func:`~vendorlink.resolve.threshold.identifier_holdout_curve`; the true vendors
are never used). When a truth label source exists
(``truth`` on generated data), the summary scores the final clusters (``resolve``), the
match-function clusters alone (``match_only``) and, as the baseline, the identifier
communities (``identifiers_baseline``; ads without one are singletons).
:func:`recluster` re-clusters the stored pairs at another threshold or method without
re-scoring.
"""

from __future__ import annotations

import copy
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from vendorlink.atomic import atomic_write_text
from vendorlink.data.store import insert_arrow, scalar
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError, StageOrderError
from vendorlink.resolve.blocking import blocking_report
from vendorlink.resolve.clustering import Clusters, ScoredPairs
from vendorlink.resolve.embeddings import add_cached_embeddings
from vendorlink.resolve.identifiers import (
    join_with_identifiers,
    link_with_identifiers,
    merge_labelings,
)
from vendorlink.resolve.incremental import MODEL_DIR
from vendorlink.resolve.metrics import cluster_metrics
from vendorlink.resolve.pipeline import Resolver, ResolveResult, _json_default
from vendorlink.resolve.records import RecordTable, ads_frame
from vendorlink.resolve.settings import (
    CLUSTERING_METHODS,
    ClusteringSettings,
    ResolveSettings,
    ads_settings,
)

REPORT_DIR = "resolve"
METRIC_KEYS = (
    "bcubed_precision", "bcubed_recall", "bcubed_f1",
    "pairwise_precision", "pairwise_recall", "pairwise_f1", "ari", "nmi",
)  # fmt: skip


def _labels_by_ad(con: Any, label_source: str | None) -> dict[str, str]:
    if not label_source:
        return {}
    rows = con.execute(
        "SELECT ad_id, vendor FROM labels WHERE label_source = ?", [label_source]
    ).fetchall()
    return dict(rows)


def baseline_labels(ids: np.ndarray, labels: dict[str, str]) -> np.ndarray:
    """Cluster labels from a label source; ads without a label are singletons."""
    return np.array(
        [f"c:{labels[a]}" if a in labels else f"s:{a}" for a in ids.tolist()], dtype=object
    )


def _link_identifiers(
    clusters: Clusters,
    baseline: dict[str, str],
    threshold: float,
    scored: ScoredPairs,
    cs: ClusteringSettings,
) -> Clusters:
    """The clusters joined with the identifier communities of ``baseline``.

    Connected components with ``cs.link_min_support`` > 1 are rebuilt from ``scored`` so that
    one weak match edge cannot bridge two communities
    (:func:`~vendorlink.resolve.clustering.supported_components`); other methods' clusters
    are merged with the communities as they are."""
    if clusters.method == "connected_components" and cs.link_min_support > 1:
        comps = identifier_community_codes(clusters.ids, baseline)
        labels = link_with_identifiers(
            scored, comps, threshold, min_support=cs.link_min_support,
            strong_margin=cs.link_strong_margin,
        )  # fmt: skip
        return Clusters(labels, clusters.ids, threshold, "supported_components+identifiers")
    labels = merge_labelings(clusters.labels, baseline_labels(clusters.ids, baseline))
    return Clusters(labels, clusters.ids, threshold, f"{clusters.method}+identifiers")


def _truth_array(ids: np.ndarray, truth: dict[str, str]) -> np.ndarray:
    return np.array([truth.get(a) for a in ids.tolist()], dtype=object)


def _round(metrics: dict[str, float]) -> dict[str, float]:
    return {k: round(float(metrics[k]), 4) for k in METRIC_KEYS if k in metrics}


def _evaluate(
    ids: np.ndarray,
    clusters: Clusters,
    truth: dict[str, str],
    baseline: dict[str, str],
    baseline_name: str,
    match_only: Clusters | None = None,
) -> dict[str, dict[str, float]] | None:
    """Metrics of the clusters and of the baseline communities against the true vendors."""
    if not truth:
        return None
    true = _truth_array(ids, truth)
    out = {"resolve": _round(cluster_metrics(true, clusters.labels))}
    if match_only is not None:
        out["match_only"] = _round(cluster_metrics(true, match_only.labels))
    out[f"{baseline_name}_baseline"] = _round(cluster_metrics(true, baseline_labels(ids, baseline)))
    return out


def _effective_settings(
    settings: ResolveSettings | None, threshold: float | None, method: str | None
) -> ResolveSettings:
    settings = copy.deepcopy(settings) if settings is not None else ads_settings()
    if threshold is not None:
        if not 0.0 <= threshold <= 1.0:
            raise InputError(f"threshold must be between 0 and 1, got {threshold}")
        settings.threshold.method = "fixed"
        settings.threshold.value = float(threshold)
    if method is not None:
        if method not in CLUSTERING_METHODS:
            raise InputError(f"clustering method {method!r} is not one of {CLUSTERING_METHODS}")
        settings.clustering.method = method
    return settings.validate()


def run_resolve(
    workspace: Workspace,
    settings: ResolveSettings | None = None,
    *,
    label_source: str = "identifiers",
    truth_source: str | None = "truth",
    threshold: float | None = None,
    method: str | None = None,
    identifier_links: bool = True,
    link_threshold: float | None = None,
    charts: bool = True,
    progress: bool = False,
    embeddings: bool = True,
    workers: int = 1,
) -> dict[str, Any]:
    """Resolve the ads of ``workspace`` into vendor clusters; returns the run summary.

    With ``embeddings`` and no ``settings``, cached link embeddings of the workspace (text
    and image vectors, :mod:`vendorlink.resolve.embeddings`) become kNN blocking and cosine
    features; without a cache the run uses text, fields and image hashes only.

    ``settings`` defaults to :func:`~vendorlink.resolve.settings.ads_settings`; a given
    ``threshold`` fixes the match threshold and ``method`` the clustering method.
    ``label_source`` is the baseline compared against (identifier communities) and
    ``truth_source`` the true vendors for metrics (skipped when that source is empty).
    The match function never sees either: it is trained from shared phones, which are
    not one of its features. ``identifier_links`` joins the clusters with the identifier
    communities, the match edges then taken at ``link_threshold`` (given, else chosen
    label-free: module doc). ``workers`` processes tokenise and compute pair features.
    """
    default_settings = settings is None
    settings = _effective_settings(settings, threshold, method)
    say = (lambda m: print(f"resolve: {m}", flush=True)) if progress else None
    params = {
        "label_source": label_source,
        "truth_source": truth_source,
        "threshold": threshold,
        "method": settings.clustering.method,
        "identifier_links": identifier_links,
        "link_threshold": link_threshold,
        "settings": settings.to_dict(),
    }
    report_dir = workspace.artefacts / REPORT_DIR
    staging = workspace.artefacts / f".{REPORT_DIR}.tmp"
    t_start = time.perf_counter()
    with workspace.run("resolve", params) as run:
        n_ads = int(scalar(run.con, "SELECT count(*) FROM ads"))
        n_fields = int(scalar(run.con, "SELECT count(*) FROM fields"))
        if n_ads == 0:
            raise StageOrderError("the workspace has no ads; run `vendorlink ingest` first")
        if n_fields < n_ads:
            raise StageOrderError(
                f"{n_ads - n_fields} ads have no extracted fields; run `vendorlink extract` first"
            )
        frame = ads_frame(run.con)
        added: list[str] = []
        if embeddings:
            added = add_cached_embeddings(workspace, run.con, frame)
            if default_settings and added:
                settings = _effective_settings(
                    ads_settings(embedding_fields=added), threshold, method
                )
        truth = _labels_by_ad(run.con, truth_source)
        baseline = _labels_by_ad(run.con, label_source)
        if not baseline and label_source:
            raise StageOrderError(
                f"no labels from source {label_source!r}; run `vendorlink label` first"
            )
        settings.workers = max(1, int(workers))
        resolver = Resolver(settings, progress=say)
        records = resolver.records(frame)
        result = resolver.run(records)
        final = result.clusters
        link_choice, holdout = None, None
        if identifier_links:
            t_link = _link_threshold(link_threshold, threshold)
            if t_link is None:  # label-free: held-out identifier communities
                comps = identifier_community_codes(records.ids, baseline)
                _, link_choice, holdout = join_with_identifiers(
                    result.scored, comps, hide_fraction=settings.threshold.holdout_fraction,
                    seed=settings.seed, min_support=settings.clustering.link_min_support,
                    strong_margin=settings.clustering.link_strong_margin,
                )  # fmt: skip
                t_link = link_choice.threshold
            final = _link_identifiers(
                result.clusters_at(t_link, n_passes=settings.clustering.n_passes,
                                   unscored_penalty=settings.clustering.unscored_penalty,
                                   seed=settings.seed),
                baseline, t_link, result.scored, settings.clustering,
            )  # fmt: skip
        _write_tables(run.con, run.run_id, result.scored, final)
        summary = _summary(result, records, final, truth, baseline, label_source, truth_source)
        if link_choice is not None:
            summary["link_threshold_method"] = link_choice.method
            summary["link_threshold_reason"] = link_choice.reason
        summary["run_id"] = run.run_id
        summary["embeddings"] = [f for f in added if f in {s.name for s in settings.fields}]
        summary["report"] = str(report_dir)
        summary["timings"]["total"] = round(time.perf_counter() - t_start, 2)
        if staging.exists():
            shutil.rmtree(staging)
        result.write(staging, charts=charts)
        resolver.save(staging / MODEL_DIR)  # for incremental linking of new ads
        if holdout is not None and link_choice is not None:
            holdout.to_frame().to_csv(staging / "link_threshold_curve.csv", index=False)
            if charts:
                from vendorlink.resolve.charts import holdout_chart

                holdout_chart(holdout, link_choice, staging / "link_threshold_curve.png")
        write_report(staging, summary)
        run.stats.update(
            {k: summary[k] for k in ("n_ads", "n_pairs", "n_clusters", "largest_cluster")}
        )
        if summary.get("metrics"):
            run.stats["bcubed_f1"] = summary["metrics"]["resolve"]["bcubed_f1"]
    if report_dir.exists():
        shutil.rmtree(report_dir)
    staging.replace(report_dir)
    return summary


def _link_threshold(link: float | None, fixed: float | None) -> float | None:
    """The given link threshold, else the fixed match threshold, else ``None`` (choose)."""
    if link is not None:
        if not 0.0 <= link <= 1.0:
            raise InputError(f"link threshold must be between 0 and 1, got {link}")
        return float(link)
    return None if fixed is None else float(fixed)


def identifier_community_codes(ids: np.ndarray, baseline: dict[str, str]) -> np.ndarray:
    """Community code per ad from a label source (``-1``: the ad has no identifier)."""
    labels = pd.Series([baseline.get(a) for a in ids.tolist()], dtype=object)
    codes, _ = pd.factorize(labels, use_na_sentinel=True)
    return codes.astype(np.int64)


def _write_tables(con: Any, run_id: str, scored: ScoredPairs, clusters: Clusters) -> None:
    con.execute("DELETE FROM resolve_pairs")
    con.execute("DELETE FROM resolve_clusters")
    ids = scored.ids.astype(str)
    insert_arrow(
        con,
        "resolve_pairs",
        pa.table(
            {
                "run_id": pa.array([run_id] * len(scored), pa.string()),
                "left_ad": pa.array(ids[scored.left].tolist(), pa.string()),
                "right_ad": pa.array(ids[scored.right].tolist(), pa.string()),
                "score": pa.array(scored.scores.astype(np.float32)),
            }
        ),
    )
    _write_clusters(con, run_id, clusters)


def _write_clusters(con: Any, run_id: str, clusters: Clusters) -> None:
    con.execute("DELETE FROM resolve_clusters")
    insert_arrow(
        con,
        "resolve_clusters",
        pa.table(
            {
                "run_id": pa.array([run_id] * len(clusters.ids), pa.string()),
                "ad_id": pa.array(clusters.ids.astype(str).tolist(), pa.string()),
                "cluster": pa.array(clusters.labels.astype(np.int32)),
            }
        ),
    )


def _summary(
    result: ResolveResult,
    records: RecordTable,
    final: Clusters,
    truth: dict[str, str],
    baseline: dict[str, str],
    label_source: str,
    truth_source: str | None,
) -> dict[str, Any]:
    base = result.summary()
    out: dict[str, Any] = {
        "n_ads": len(records),
        "n_pairs": len(result.scored),
        "n_candidate_pairs": len(result.candidates),
        "threshold": round(final.threshold, 4),
        "match_threshold": round(result.clusters.threshold, 4),
        "threshold_method": result.choice.method,
        "threshold_reason": result.choice.reason,
        "method": final.method,
        "identifier_links": final is not result.clusters,
        "n_clusters": final.n_clusters,
        "largest_cluster": final.largest,
        "label_source": label_source,
        "truth_source": truth_source if truth else None,
    }
    if result.evaluation is not None:
        ev = result.evaluation.to_dict()
        out["match_function"] = {
            k: round(v, 4) if isinstance(v, float) else v
            for k, v in ev.items()
            if not isinstance(v, (list, dict))
        }
    match_only = result.clusters if final is not result.clusters else None
    metrics = _evaluate(records.ids, final, truth, baseline, label_source, match_only)
    if metrics is not None:
        out["metrics"] = metrics
        labelled = copy.copy(records)
        labelled.labels = _truth_array(records.ids, truth)
        rows = result.blocking_report.rows
        report = blocking_report(
            labelled, result.candidates, False, [r.seconds for r in rows[:-1]], rows[-1].seconds
        )
        out["blocking"] = [_clean(r) for r in report.to_frame().to_dict(orient="records")]
    else:
        out["blocking"] = [_clean(r) for r in result.blocking_report.to_frame().to_dict("records")]
    if result.importances is not None:
        top = result.importances.head(10)
        out["feature_importance"] = [_clean(r) for r in top.to_dict(orient="records")]
    out["timings"] = {k: round(v, 2) for k, v in base.get("timings", {}).items()}
    return out


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if isinstance(v, np.generic):
            v = v.item()
        if isinstance(v, float):
            v = None if np.isnan(v) else round(v, 4)
        out[k] = v
    return out


def recluster(
    workspace: Workspace,
    threshold: float,
    method: str = "connected_components",
    *,
    label_source: str = "identifiers",
    truth_source: str | None = "truth",
    identifier_links: bool = True,
    write: bool = True,
) -> dict[str, Any]:
    """Cluster the stored ``resolve_pairs`` at ``threshold`` by ``method`` (no re-scoring).

    ``identifier_links`` joins the clusters with the identifier communities. Correlation
    clustering here sees only the stored pairs (no new pairs are scored). The clustering
    settings (correlation passes and penalty, identifier-link support) and the seed are those
    of the last resolve run (``artefacts/resolve/model/settings.yaml``; the defaults when a
    workspace has none). With ``write`` the clusters replace ``resolve_clusters``; returns
    cluster counts and, when a truth source exists, the metrics against it (and the
    baseline's).
    """
    if method not in CLUSTERING_METHODS:
        raise InputError(f"clustering method {method!r} is not one of {CLUSTERING_METHODS}")
    if not 0.0 <= threshold <= 1.0:
        raise InputError(f"threshold must be between 0 and 1, got {threshold}")
    params = {"recluster": True, "threshold": threshold, "method": method,
              "identifier_links": identifier_links}  # fmt: skip
    saved = saved_resolve_settings(workspace)
    cs = saved.clustering
    with workspace.run("resolve", params) as run:
        scored = load_scored_pairs(run.con)
        clusters = match_only = scored.clusters(
            threshold, method, n_passes=cs.n_passes, unscored_penalty=cs.unscored_penalty,
            seed=saved.seed,
        )  # fmt: skip
        truth = _labels_by_ad(run.con, truth_source)
        baseline = _labels_by_ad(run.con, label_source)
        if identifier_links:
            clusters = _link_identifiers(clusters, baseline, threshold, scored, cs)
        if write:
            _write_clusters(run.con, run.run_id, clusters)
        out: dict[str, Any] = {
            "run_id": run.run_id,
            "n_ads": len(scored.ids),
            "n_pairs": len(scored),
            "threshold": threshold,
            "method": clusters.method,
            "identifier_links": identifier_links,
            "n_clusters": clusters.n_clusters,
            "largest_cluster": clusters.largest,
        }
        metrics = _evaluate(
            scored.ids, clusters, truth, baseline, label_source,
            match_only if identifier_links else None,
        )  # fmt: skip
        if metrics is not None:
            out["metrics"] = metrics
        run.stats.update({k: out[k] for k in ("n_clusters", "largest_cluster")})
    return out


def saved_resolve_settings(workspace: Workspace) -> ResolveSettings:
    """The settings of ``workspace``'s last resolve run (the defaults when it has none)."""
    path = workspace.artefacts / REPORT_DIR / MODEL_DIR / "settings.yaml"
    return ResolveSettings.from_yaml(path) if path.exists() else ResolveSettings()


def load_scored_pairs(con: Any) -> ScoredPairs:
    """The stored ``resolve_pairs`` as :class:`ScoredPairs` over all ads (sorted by id)."""
    if not scalar(con, "SELECT count(*) FROM resolve_clusters"):
        raise StageOrderError("no resolve results in this workspace; run `vendorlink resolve`")
    ids = np.array(
        [r[0] for r in con.execute("SELECT ad_id FROM ads ORDER BY ad_id").fetchall()],
        dtype=object,
    )
    pairs = con.execute(
        "SELECT left_ad, right_ad, score FROM resolve_pairs ORDER BY left_ad, right_ad"
    ).df()
    pos = pd.Series(np.arange(len(ids), dtype=np.int64), index=ids)
    left = pos.reindex(pairs["left_ad"]).to_numpy()
    right = pos.reindex(pairs["right_ad"]).to_numpy()
    keep = ~(np.isnan(left) | np.isnan(right)) if left.dtype.kind == "f" else slice(None)
    return ScoredPairs(
        np.asarray(left[keep], dtype=np.int64),
        np.asarray(right[keep], dtype=np.int64),
        pairs["score"].to_numpy(dtype=np.float32)[keep],
        ids,
    )


# ---- report ---------------------------------------------------------------------------------
CHART_TITLES = (
    ("blocking.png", "Candidate pairs per blocking rule"),
    ("sampling_jaccard.png", "Training pairs: text overlap of sampled positives"),
    ("roc.png", "Match function ROC on held-out phone communities"),
    ("feature_importance.png", "Feature importance"),
    ("threshold_curve.png", "Components against the threshold"),
    ("link_threshold_curve.png", "Link threshold (held-out identifiers, label-free)"),
    ("cluster_sizes.png", "Cluster sizes"),
)


def _sections(summary: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    overview_keys = (
        "n_ads", "n_candidate_pairs", "n_pairs", "embeddings", "threshold", "match_threshold",
        "threshold_method", "threshold_reason", "link_threshold_method", "link_threshold_reason",
        "method", "identifier_links", "n_clusters", "largest_cluster", "label_source",
        "truth_source",
    )  # fmt: skip
    out = [("Overview", [{"item": k, "value": summary.get(k)} for k in overview_keys])]
    if summary.get("metrics"):
        out.append(
            (
                "Clusters against the true vendors",
                [{"clustering": name, **m} for name, m in summary["metrics"].items()],
            )
        )
    if summary.get("match_function"):
        out.append(
            (
                "Match function (held-out proxy pairs)",
                [{"metric": k, "value": v} for k, v in summary["match_function"].items()],
            )
        )
    out.append(("Blocking", summary.get("blocking", [])))
    if summary.get("feature_importance"):
        out.append(("Top features", summary["feature_importance"]))
    out.append(("Timings (s)", [{"step": k, "seconds": v} for k, v in summary["timings"].items()]))
    return out


def write_report(folder: str | Path, summary: dict[str, Any]) -> Path:
    """Write ``summary.json``, ``report.md``, ``report.html`` (charts embedded) and
    ``metrics.json`` with the shared report writer (:mod:`vendorlink.reports`)."""
    from vendorlink.reports import Section
    from vendorlink.reports import write_report as write_shared

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "summary.json", json.dumps(summary, indent=2, default=_json_default))
    sections = [Section(title, tables=[("", rows)]) for title, rows in _sections(summary) if rows]
    charts = [(f, t) for f, t in CHART_TITLES if (folder / f).exists()]
    sections += [Section(title, charts=[folder / name]) for name, title in charts]
    paths = write_shared(folder, "vendorlink resolve report", sections, summary)
    return paths["html"]
