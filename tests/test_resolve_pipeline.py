"""The resolve job end to end on generated ads, and ad records read from a workspace."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vendorlink.data.workspace import Workspace
from vendorlink.resolve.metrics import cluster_metrics
from vendorlink.resolve.pipeline import Resolver
from vendorlink.resolve.records import RecordTable, ads_frame
from vendorlink.resolve.settings import ads_settings
from vendorlink.resolve.toydata import toy_ads

ADS = toy_ads(25, (4, 12), seed=7)
TRUTH = ADS["vendor"].to_numpy()


@pytest.fixture(scope="module")
def run():
    """Proxy labels only (shared phones); the true vendors are kept aside for scoring."""
    settings = ads_settings()
    settings.training.n_positive, settings.training.n_negative = 400, 1500
    settings.model.params = {"n_estimators": 60, "min_samples_leaf": 2}
    settings.threshold.n_grid = 49
    resolver = Resolver(settings)
    result = resolver.run(ADS.drop(columns="vendor"))
    return resolver, result


def test_end_to_end_recovers_vendors(run) -> None:
    _, result = run
    assert result.metrics() is None  # no true labels given
    union = result.blocking_report.rows[-1]
    assert union.rule == "union" and union.reduction_ratio > 0.8
    assert result.evaluation is not None and result.evaluation.roc_auc > 0.95
    assert result.choice.method == "f1"  # against the proxy components
    metrics = cluster_metrics(TRUTH, result.clusters.labels)
    assert metrics["bcubed_f1"] > 0.85
    assert result.clusters.largest <= result.choice.bound
    summary = result.summary()
    assert summary["threshold"]["threshold"] == result.choice.threshold
    assert "phones" not in " ".join(result.importances["feature"])


def test_blocking_completeness_with_true_labels() -> None:
    settings = ads_settings()
    settings.label_column = "vendor"
    resolver = Resolver(settings)
    _, report = resolver.block(resolver.records(ADS))
    union = report.rows[-1]
    assert union.pair_completeness > 0.9 and union.reduction_ratio > 0.8


def test_reclustering_needs_no_rescoring(run) -> None:
    _, result = run
    again = result.clusters_at(result.choice.threshold)
    np.testing.assert_array_equal(again.labels, result.clusters.labels)
    corr = result.clusters_at(result.choice.threshold, "correlation")
    cc_metrics = cluster_metrics(TRUTH, result.clusters.labels)
    corr_metrics = cluster_metrics(TRUTH, corr.labels)
    assert corr_metrics["bcubed_precision"] >= cc_metrics["bcubed_precision"] - 0.02
    assert corr_metrics["bcubed_f1"] > 0.8
    lower = result.clusters_at(0.05)
    assert lower.largest >= result.clusters.largest


def test_correlation_clustering_on_completed_components(run) -> None:
    resolver, result = run
    t = result.choice.threshold
    full = resolver.complete_components(result.records, result.scored, t)
    assert len(full) >= len(result.scored)  # blocking may already cover every pair
    n = np.int64(full.n_records)
    keys = full.left.astype(np.int64) * n + full.right
    assert len(np.unique(keys)) == len(keys) and (full.left < full.right).all()
    corr = cluster_metrics(TRUTH, full.clusters(t, "correlation").labels)
    cc = cluster_metrics(TRUTH, result.clusters.labels)
    # at the threshold tuned for components, correlation clustering trades recall for precision
    assert corr["bcubed_precision"] >= cc["bcubed_precision"] - 0.01
    assert corr["bcubed_f1"] > 0.75


def test_write_report_and_charts(run, tmp_path: Path) -> None:
    _, result = run
    out = result.write(tmp_path / "report")
    for name in (
        "summary.json",
        "clusters.parquet",
        "scored_pairs.parquet",
        "threshold_curve.csv",
        "blocking.png",
        "sampling_jaccard.png",
        "roc.png",
        "feature_importance.png",
        "threshold_curve.png",
        "cluster_sizes.png",
    ):
        assert (out / name).stat().st_size > 0, name


def test_saved_resolver_scores_the_same(run, tmp_path: Path) -> None:
    resolver, result = run
    resolver.save(tmp_path / "model")
    loaded = Resolver.load(tmp_path / "model")
    assert loaded.settings == resolver.settings
    assert loaded.choice is not None and loaded.choice.threshold == result.choice.threshold
    again = loaded.score(result.records, result.candidates)
    np.testing.assert_allclose(again.scores, result.scored.scores, rtol=1e-6)


def test_ads_records_from_a_workspace(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "ws")
    with ws.connect() as con:
        for ad_id, text, city in (
            ("a1", "Rose call 555-0101", "Houston"),
            ("a2", "Rose again", "houston"),
            ("a3", "Lily", "Dallas"),
        ):
            con.execute(
                "INSERT INTO ads (ad_id, source, source_row, text, has_text, n_images, has_image,"
                " region, city, posted_at, content_hash, row_hash, run_id) VALUES "
                "(?, 's', 0, ?, true, 1, true, 'south', ?, DATE '2016-01-02', ?, ?, 'r')",
                [ad_id, text, city, ad_id, ad_id],
            )
        con.execute(
            "INSERT INTO fields (ad_id, phones, emails, names, rates, masked_text) VALUES "
            "('a1', ['+13125550101'], [], ['rose'], [150], 'Rose call <PHONE>'),"
            "('a2', ['+13125550101'], [], ['rose'], [], 'Rose again')"
        )
        con.execute(
            "INSERT INTO images (ad_id, position, image_id, root, path, run_id) VALUES "
            "('a1', 1, 'img2', 'r', 'p2', 'r'), ('a1', 0, 'img1', 'r', 'p1', 'r'),"
            "('a2', 0, 'img1', 'r', 'p1', 'r')"
        )
        con.execute(
            "INSERT INTO image_fields (image_id, phash) VALUES "
            "('img1', '00000000000000ff'), ('img2', 'ff00000000000000')"
        )
        con.execute(
            "INSERT INTO labels VALUES ('a1', 'truth', 'v1', 'r'), ('a2', 'truth', 'v1', 'r')"
        )
        frame = ads_frame(con, label_source="truth")
    assert frame["text"].tolist() == ["Rose call <PHONE>", "Rose again", "Lily"]
    assert list(frame["image_hashes"][0]) == ["00000000000000ff", "ff00000000000000"]
    settings = ads_settings()
    settings.label_column = "label"
    recs = RecordTable.from_frame(frame, settings)
    assert recs.values["city"].tolist() == ["houston", "houston", "dallas"]
    assert recs.values["rates"][0] == ("150",)
    assert recs.labels.tolist() == ["v1", "v1", None]
    assert int(recs.values["image_hashes"][0][1]) == 0xFF00000000000000
