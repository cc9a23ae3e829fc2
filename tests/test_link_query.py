"""`search_ads`, the knowledge graph and `vendorlink search` on the tiny generated workspace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import networkx as nx
import pytest
from typer.testing import CliRunner

from tests import test_train_workspace as _shared
from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder
from vendorlink.errors import InputError
from vendorlink.link import (
    index_folder,
    knowledge_graph,
    latest_model,
    resolve_model,
    search_ads,
    write_graph,
)

tiny_setup = _shared.tiny_setup  # session fixtures shared with the training tests
tiny_trained = _shared.tiny_trained


def _ads(workspace: Workspace) -> list[tuple[str, str, str]]:
    with workspace.connect(read_only=True) as con:
        return con.execute(
            "SELECT a.ad_id, a.text, l.vendor FROM ads a JOIN labels l USING (ad_id) "
            "WHERE l.label_source = 'truth' AND a.has_text AND a.has_image ORDER BY a.ad_id"
        ).fetchall()


def _image_file(workspace: Workspace, ad_id: str) -> Path:
    with workspace.connect(read_only=True) as con:
        root, path = con.execute(
            "SELECT root, path FROM images WHERE ad_id = ? ORDER BY position LIMIT 1", [ad_id]
        ).fetchall()[0]
    return Path(root) / path


def test_search_by_ad_id_masks_text_and_reuses_the_index(
    tiny_trained: tuple[Workspace, Path],
) -> None:
    workspace, model = tiny_trained
    ad_id = _ads(workspace)[0][0]
    result = search_ads(workspace, ad_id=ad_id, k=5, model=model.name)
    assert [h.rank for h in result.hits] == [1, 2, 3, 4, 5]
    assert ad_id not in {h.ad_id for h in result.hits}
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)
    assert result.label_source == "truth" and all(h.vendor for h in result.hits)
    stamp = (index_folder(workspace, model) / "index.faiss").stat().st_mtime_ns
    raw = {a: t for a, t, _ in _ads(workspace)}
    revealed = search_ads(workspace, ad_id=ad_id, k=5, model=model.name, reveal=True)
    assert (index_folder(workspace, model) / "index.faiss").stat().st_mtime_ns == stamp
    assert [h.ad_id for h in revealed.hits] == [h.ad_id for h in result.hits]
    for masked, shown in zip(result.hits, revealed.hits, strict=True):
        assert shown.text == raw.get(shown.ad_id, shown.text)
        assert "555-01" not in masked.text  # phone numbers are masked by default
    # the check is not vacuous: some hit's masked text hides something its raw text shows
    assert any(m.text != r.text for m, r in zip(result.hits, revealed.hits, strict=True))


def test_search_new_text_and_image_predicts_a_vendor(tiny_trained: tuple[Workspace, Path]) -> None:
    workspace, model = tiny_trained
    ad_id, text, _ = _ads(workspace)[3]
    result = search_ads(
        workspace, text=text, images=[_image_file(workspace, ad_id)], k=3, model=model
    )
    assert len(result.hits) == 3 and result.query["text"] is True
    # The query is a copy of an indexed ad: that ad is (one of) the most similar.
    assert result.hits[0].score > 0.99
    assert result.predicted_vendor is not None
    with pytest.raises(InputError, match="not both"):
        search_ads(workspace, ad_id=ad_id, text="x", model=model)
    with pytest.raises(InputError, match="does not exist"):
        search_ads(workspace, images=[Path("/no/such.jpg")], model=model)
    with pytest.raises(InputError, match="no trained model"):
        search_ads(workspace, ad_id=ad_id, model="no-such-model")


def test_knowledge_graph_cuts_and_formats(
    tiny_trained: tuple[Workspace, Path], tmp_path: Path
) -> None:
    workspace, model = tiny_trained
    ads = _ads(workspace)
    counts: dict[str, int] = {}
    for _, _, vendor in ads:
        counts[vendor] = counts.get(vendor, 0) + 1
    ad_id, _, vendor = next(a for a in ads if counts[a[2]] >= 3)
    graph = knowledge_graph(workspace, ad_id=ad_id, model=model, cut="r_precision")
    with workspace.connect(read_only=True) as con:
        r = con.execute(
            "SELECT count(*) FROM labels WHERE label_source = 'truth' AND vendor = ? "
            "AND ad_id <> ?",
            [vendor, ad_id],
        ).fetchall()[0][0]
    assert graph.number_of_nodes() == r + 1  # the query and its R nearest ads
    assert graph.nodes[ad_id]["role"] == "query" and graph.degree[ad_id] == r
    top = knowledge_graph(workspace, ad_id=ad_id, model=model, cut="top_k", k=4)
    assert top.number_of_nodes() == 5
    weakest = min(top.edges[ad_id, n]["weight"] for n in top.neighbors(ad_id))
    between = [d["weight"] for _, _, d in top.edges(data=True) if d["kind"] == "between"]
    assert all(w >= weakest for w in between)
    for suffix, reader in ((".gexf", nx.read_gexf), (".graphml", nx.read_graphml)):
        path = write_graph(top, tmp_path / f"g{suffix}")
        back = reader(path)
        assert back.number_of_nodes() == 5 and back.number_of_edges() == top.number_of_edges()
    data = json.loads(write_graph(top, tmp_path / "g.json").read_text(encoding="utf-8"))
    assert {n["id"] for n in data["nodes"]} == set(top.nodes)
    with pytest.raises(InputError, match="must end with"):
        write_graph(top, tmp_path / "g.png")


def test_zero_shot_fallback_without_trained_models(
    tiny_setup: tuple[Workspace, Encoder, Encoder], tmp_path: Path
) -> None:
    workspace, text, image = tiny_setup
    copy = tmp_path / "ws"
    shutil.copytree(workspace.path, copy, ignore=shutil.ignore_patterns("models", "indexes"))
    ws = Workspace.open(copy)
    assert latest_model(ws) is None
    folder, notice = resolve_model(ws, None)
    assert folder is None and "zero-shot" in notice
    ad_id = _ads(ws)[0][0]
    result = search_ads(ws, ad_id=ad_id, k=4, encoders=(text, image))
    assert result.model == "zero-shot" and result.notice and len(result.hits) == 4
    new = search_ads(ws, text="new in town, call 312-555-0199", k=2, encoders=(text, image))
    assert len(new.hits) == 2


def test_cli_search_json_and_graph(tiny_trained: tuple[Workspace, Path], tmp_path: Path) -> None:
    workspace, model = tiny_trained
    ad_id = _ads(workspace)[0][0]
    graph = tmp_path / "q.graphml"
    out = CliRunner().invoke(
        app,
        ["search", ad_id, "-w", str(workspace.path), "--model", model.name, "-k", "3",
         "--json", "--graph", str(graph), "--cut", "top_k"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert len(data["hits"]) == 3 and data["graph"]["nodes"] == 4
    assert nx.read_graphml(graph).number_of_nodes() == 4
    bad = CliRunner().invoke(app, ["search", "-w", str(workspace.path)])
    assert bad.exit_code != 0
