"""The resolve stage on a workspace: tables, report, metrics, re-clustering and the CLI."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.demo import run_demo
from vendorlink.errors import StageOrderError
from vendorlink.resolve.settings import ads_settings
from vendorlink.resolve.stage import baseline_labels, recluster, run_resolve


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("resolve") / "demo"
    summary = run_demo(
        out, preset="tiny", seed=3, progress=False, console=Console(file=io.StringIO())
    )
    return out / "workspace", summary


def _copy(src: Path, dst: Path) -> Workspace:
    shutil.copytree(src, dst)
    return Workspace.open(dst)


def test_demo_resolves_into_tables_and_a_report(demo: tuple[Path, dict[str, Any]]) -> None:
    ws_path, summary = demo
    r = summary["resolve"]
    ws = Workspace.open(ws_path)
    with ws.connect(read_only=True) as con:
        n_ads = con.execute("SELECT count(*) FROM ads").fetchone()[0]
        n_clustered = con.execute("SELECT count(DISTINCT ad_id) FROM resolve_clusters").fetchone()
        n_pairs = con.execute("SELECT count(*) FROM resolve_pairs").fetchone()[0]
        runs = con.execute("SELECT DISTINCT run_id FROM resolve_clusters").fetchall()
        bad = con.execute(
            "SELECT count(*) FROM resolve_pairs WHERE left_ad >= right_ad OR score < 0 OR score > 1"
        ).fetchone()[0]
        split_communities = con.execute(
            "SELECT count(*) FROM (SELECT l.vendor FROM labels l JOIN resolve_clusters c "
            "USING (ad_id) WHERE l.label_source = 'identifiers' GROUP BY l.vendor "
            "HAVING count(DISTINCT c.cluster) > 1)"
        ).fetchone()[0]
    assert r["n_ads"] == n_ads == n_clustered[0]
    assert r["n_pairs"] == n_pairs > 0 and bad == 0
    assert runs == [(r["run_id"],)]
    # identifier links: no identifier community is split across clusters
    assert r["identifier_links"] and split_communities == 0
    assert r["threshold"] >= r["match_threshold"]
    # metrics against the true vendors, for our clusters and for the identifier baseline
    for name in ("resolve", "match_only", "identifiers_baseline"):
        m = r["metrics"][name]
        assert set(m) >= {"bcubed_f1", "pairwise_f1", "ari", "nmi"}
        assert 0.0 <= m["bcubed_f1"] <= 1.0
    assert r["metrics"]["resolve"]["bcubed_f1"] > 0.5
    report = ws.artefacts / "resolve"
    for name in ("summary.json", "report.md", "report.html", "blocking.png", "roc.png"):
        assert (report / name).exists(), name
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "<img src='threshold_curve.png'" in html and "bcubed_f1" in html
    assert json.loads((report / "summary.json").read_text())["run_id"] == r["run_id"]
    assert not (ws.artefacts / ".resolve.tmp").exists()


def test_recluster_reuses_the_stored_pairs(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    ws_path, summary = demo
    ws = _copy(ws_path, tmp_path / "ws")
    r = summary["resolve"]
    same = recluster(ws, r["threshold"], "connected_components")
    assert same["n_clusters"] == r["n_clusters"]
    assert same["metrics"]["resolve"] == r["metrics"]["resolve"]
    strict = recluster(ws, 1.0, "correlation")
    assert strict["n_clusters"] >= r["n_clusters"]
    with ws.connect(read_only=True) as con:
        n = con.execute("SELECT count(DISTINCT cluster) FROM resolve_clusters").fetchone()[0]
        run_ids = con.execute("SELECT DISTINCT run_id FROM resolve_clusters").fetchall()
    assert n == strict["n_clusters"] and run_ids == [(strict["run_id"],)]


def test_cli_resolve_and_recluster(demo: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    ws_path, _ = demo
    ws = _copy(ws_path, tmp_path / "ws")
    settings = ads_settings()
    settings.model.params = {"n_estimators": 20, "min_samples_leaf": 2}
    settings.threshold.sample_size = 2000
    settings.to_yaml(tmp_path / "settings.yaml")
    runner = CliRunner()
    args = ["resolve", "-w", str(ws.path), "--settings", str(tmp_path / "settings.yaml")]
    result = runner.invoke(
        app,
        [*args, "--method", "correlation", "--threshold", "0.6", "--no-identifier-links", "--json"],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["method"] == "correlation" and out["threshold"] == 0.6
    assert out["threshold_method"] == "fixed" and not out["identifier_links"]
    assert set(out["metrics"]) == {"resolve", "identifiers_baseline"}
    result = runner.invoke(
        app, ["resolve", "-w", str(ws.path), "--recluster", "--threshold", "0.9", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["threshold"] == 0.9
    result = runner.invoke(app, ["resolve", "-w", str(ws.path), "--recluster"])
    assert result.exit_code != 0


def test_resolve_refuses_a_workspace_without_ads(tmp_path: Path) -> None:
    ws = Workspace.init(tmp_path / "empty")
    with pytest.raises(StageOrderError):
        run_resolve(ws)
    with pytest.raises(StageOrderError):
        recluster(ws, 0.5)


def test_baseline_labels_make_unlabelled_ads_singletons() -> None:
    ids = np.array(["a", "b", "c", "d"], dtype=object)
    out = baseline_labels(ids, {"a": "v1", "b": "v1", "d": "v2"})
    assert out[0] == out[1] and len(set(out)) == 3 and out[2] not in (out[0], out[3])
