"""The resolve stage on a workspace: tables, report, metrics, re-clustering and the CLI;
then, on its clusters: incremental linking of new ads, profiles, rules and export."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.demo import run_demo
from vendorlink.errors import InputError, StageOrderError
from vendorlink.resolve.incremental import link_new_ads
from vendorlink.resolve.profiles import PROFILE_FEATURES, cluster_profiles
from vendorlink.resolve.rules import (
    cluster_classifier,
    learn_rules,
    pn_curve,
    read_cluster_labels,
)
from vendorlink.resolve.settings import ads_settings
from vendorlink.resolve.stage import (
    baseline_labels,
    recluster,
    run_resolve,
    saved_resolve_settings,
)


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
    # the link threshold is chosen label-free (held-out identifiers), never from the truth
    assert r["link_threshold_method"] == "identifier_holdout" and 0 < r["threshold"] <= 1
    # metrics against the true vendors, for our clusters and for the identifier baseline
    for name in ("resolve", "match_only", "identifiers_baseline"):
        m = r["metrics"][name]
        assert set(m) >= {"bcubed_f1", "pairwise_f1", "ari", "nmi"}
        assert 0.0 <= m["bcubed_f1"] <= 1.0
    assert r["metrics"]["resolve"]["bcubed_f1"] > 0.5
    report = ws.artefacts / "resolve"
    for name in ("summary.json", "metrics.json", "report.md", "report.html", "blocking.png",
                 "roc.png", "link_threshold_curve.png", "model/settings.yaml"):  # fmt: skip
        assert (report / name).exists(), name
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in html and "bcubed_f1" in html  # charts embedded
    assert "(threshold_curve.png)" in (report / "report.md").read_text(encoding="utf-8")
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


def test_recluster_uses_the_settings_of_the_resolve_run(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    ws_path, _ = demo
    ws = _copy(ws_path, tmp_path / "ws")
    settings = ads_settings()
    settings.model.params = {"n_estimators": 20, "min_samples_leaf": 2}
    settings.threshold.sample_size = 2000
    settings.clustering.link_min_support = 1  # one match edge may join two communities
    r = run_resolve(ws, settings, charts=False)
    assert saved_resolve_settings(ws).clustering.link_min_support == 1
    again = recluster(ws, r["threshold"], "connected_components")
    assert again["n_clusters"] == r["n_clusters"]
    assert again["metrics"]["resolve"] == r["metrics"]["resolve"]
    (ws.artefacts / "resolve" / "model" / "settings.yaml").unlink()  # defaults: support 2
    defaults = recluster(ws, r["threshold"], "connected_components")
    assert defaults["n_clusters"] != r["n_clusters"]


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


def test_new_ads_link_to_existing_clusters_fast(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    ws = _copy(demo[0], tmp_path / "ws")
    with ws.connect() as con:
        # pretend the ads of three identifier-sharing pairs arrived after resolve
        rows = con.execute(
            "SELECT l.ad_id, c.cluster FROM labels l JOIN resolve_clusters c USING (ad_id) "
            "WHERE l.label_source = 'identifiers' AND l.vendor IN (SELECT vendor FROM labels "
            "WHERE label_source = 'identifiers' GROUP BY vendor HAVING count(*) >= 3) "
            "ORDER BY l.vendor, l.ad_id"
        ).fetchall()
        new = {}
        for ad_id, cluster in rows:
            if cluster not in new.values() and len(new) < 3:
                new[ad_id] = cluster
        con.execute("DELETE FROM resolve_clusters WHERE list_contains(?, ad_id)", [list(new)])
    out = link_new_ads(ws, list(new))  # loads the linker once
    assert [r["ad_id"] for r in out] == list(new)
    for row in out:
        assert row["via"] == "identifier" and row["cluster"] == new[row["ad_id"]]
        assert row["candidates"] and row["n_candidates"] >= 1
    from vendorlink.resolve.incremental import get_linker

    warm = get_linker(ws)
    again = link_new_ads(ws, list(new)[:1], write=True)
    assert get_linker(ws) is warm  # the linker stays loaded (speed: benchmarks/, not here)
    with ws.connect(read_only=True) as con:
        stored = con.execute(
            "SELECT cluster FROM resolve_clusters WHERE ad_id = ?", [again[0]["ad_id"]]
        ).fetchone()
    assert stored == (again[0]["cluster"],)
    with pytest.raises(InputError):
        link_new_ads(ws, ["no-such-ad"])


def test_written_ads_stay_in_the_warm_linker(
    demo: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    from vendorlink.resolve import incremental

    ws = _copy(demo[0], tmp_path / "ws")
    with ws.connect() as con:
        # two ads of one identifier community arrive after resolve, one after the other
        rows = con.execute(
            "SELECT l.vendor, l.ad_id FROM labels l WHERE l.label_source = 'identifiers' "
            "AND l.vendor IN (SELECT vendor FROM labels WHERE label_source = 'identifiers' "
            "GROUP BY vendor HAVING count(*) = 2) ORDER BY l.vendor, l.ad_id LIMIT 2"
        ).fetchall()
        first, second = rows[0][1], rows[1][1]
        assert rows[0][0] == rows[1][0]
        con.execute("DELETE FROM resolve_clusters WHERE list_contains(?, ad_id)", [[first, second]])
    one = link_new_ads(ws, [first], write=True)[0]
    linker = incremental.get_linker(ws)
    two = link_new_ads(ws, [second], write=True)[0]
    assert incremental.get_linker(ws) is linker  # not reloaded after a write
    with ws.connect(read_only=True) as con:
        stored = con.execute("SELECT cluster FROM resolve_clusters WHERE ad_id = ?", [first])
        cluster_of_first = stored.fetchone()[0]
    if one["cluster"] is not None:
        assert cluster_of_first == one["cluster"]
    # the second ad shares its identifier only with the first, written a moment ago
    assert two["via"] == "identifier" and two["cluster"] == cluster_of_first
    with pytest.raises(InputError, match="already in the clusters"):
        link_new_ads(ws, [first])


def _labels(profiles: pd.DataFrame, path: Path) -> Path:
    # a made-up analyst labelling: clusters with many ads or many cities are "flagged"
    flagged = (profiles["n_ads"] >= profiles["n_ads"].quantile(0.7)) | (profiles["n_cities"] > 1)
    frame = pd.DataFrame({"cluster_id": profiles["cluster"], "label": flagged.astype(int)})
    frame.to_csv(path, index=False)
    return path


def test_profiles_rules_and_export(demo: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    ws = Workspace.open(demo[0])
    with ws.connect(read_only=True) as con:
        profiles = cluster_profiles(con)
        n_ads = con.execute("SELECT count(*) FROM resolve_clusters").fetchone()[0]
    assert int(profiles["n_ads"].sum()) == n_ads
    assert set(PROFILE_FEATURES) <= set(profiles.columns)
    assert (profiles["n_unique_images"] <= profiles["n_images"]).all()
    assert (profiles["span_weeks"] >= 1).all() and (
        profiles["n_regions"] <= profiles["n_cities"]
    ).all()
    labels = read_cluster_labels(_labels(profiles, tmp_path / "labels.csv"))
    clf = cluster_classifier(profiles, labels)
    assert clf.auc is not None and clf.auc > 0.8
    rules = learn_rules(profiles, labels)
    top = rules.iloc[0]
    assert top["lift"] >= 1 and top["support"] >= 3 and 0 <= top["ratio"] <= 1
    curve = pn_curve(profiles, labels, rules)
    assert curve["positives"].is_monotonic_increasing and curve["positives"].iloc[-1] > 0


def test_cli_profiles_rules_export(demo: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    runner = CliRunner()
    ws = str(demo[0])
    res = runner.invoke(app, ["resolve", "profiles", "-w", ws, "--out", str(tmp_path / "p.csv"),
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    profiles = pd.read_csv(tmp_path / "p.csv")
    labels = _labels(profiles, tmp_path / "labels.csv")
    res = runner.invoke(app, ["resolve", "rules", "-w", ws, "--labels", str(labels), "--out",
                              str(tmp_path / "rules"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["n_rules"] > 0
    assert (tmp_path / "rules" / "report.html").exists()
    res = runner.invoke(app, ["resolve", "export", "-w", ws, "--labels", str(labels), "--out",
                              str(tmp_path / "exp"), "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    graph = nx.read_gexf(tmp_path / "exp" / "clusters.gexf")
    exported = pd.read_csv(tmp_path / "exp" / "clusters.csv")
    assert graph.number_of_nodes() == int(exported["n_ads"].sum()) > 0
    # an ad that is already clustered is not "new"
    res = runner.invoke(app, ["resolve", "link", "-w", ws, str(next(iter(graph.nodes)))])
    assert isinstance(res.exception, InputError) and "already" in str(res.exception)
    bad = tmp_path / "bad.csv"
    bad.write_text("cluster_id,label\n1,maybe\n", encoding="utf-8")
    res = runner.invoke(app, ["resolve", "rules", "-w", ws, "--labels", str(bad)])
    assert isinstance(res.exception, InputError) and "maybe" in str(res.exception)
