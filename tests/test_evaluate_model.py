"""Evaluating a trained model on the tiny generated workspace, and its report."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests import test_train_workspace as _shared
from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder
from vendorlink.evaluate import evaluate_retrieval
from vendorlink.evaluate.model import evaluate_workspace_model
from vendorlink.evaluate.report import write_evaluation_report
from vendorlink.models.multimodal import VendorModel
from vendorlink.train import build_ad_table, embed_table

tiny_setup = _shared.tiny_setup
tiny_trained = _shared.tiny_trained


@pytest.fixture(scope="module")
def evaluation(tiny_trained: tuple[Workspace, Path]) -> tuple[Workspace, Path, dict]:
    workspace, model = tiny_trained
    result = evaluate_workspace_model(workspace, model)
    return workspace, model, {"metrics": result.metrics, "per_vendor": result.per_vendor}


def test_region_numbers_match_a_direct_evaluation(
    evaluation: tuple[Workspace, Path, dict], tiny_setup: tuple[Workspace, Encoder, Encoder]
) -> None:
    workspace, model, result = evaluation
    _, text, image = tiny_setup
    metrics = result["metrics"]
    assert set(metrics["retrieval"]) == {"multimodal", "text", "image", "text_to_image"}
    assert {d["domain"] for d in metrics["regions"].values()} == {"in", "out"}
    # Recompute the South (in-domain) multimodal numbers by hand.
    with workspace.connect(read_only=True) as con:
        table = build_ad_table(
            workspace, con=con, label_source="truth", text_encoder=text, image_encoder=image
        )
        region = dict(con.execute("SELECT ad_id, region FROM ads").fetchall())
    south = np.array([region[a] == "South" for a in table.ad_ids])
    embeddings = embed_table(VendorModel.load(model), table)
    q, d = south & (table.part == "test"), south & (table.part == "train")
    direct = evaluate_retrieval(embeddings[q], table.vendor[q], embeddings[d], table.vendor[d])
    ours = metrics["retrieval"]["multimodal"]["regions"]["South"]
    assert ours["r_precision_query_mean"] == pytest.approx(direct.metrics["r_precision"].query_mean)
    assert ours["macro_f1_at_x"] == pytest.approx(direct.macro_f1_at_x)
    assert metrics["retrieval"]["multimodal"]["in_distribution"][
        "r_precision_query_mean"
    ] == pytest.approx(direct.metrics["r_precision"].query_mean)
    out_regions = [r for r, v in metrics["regions"].items() if v["domain"] == "out"]
    values = [
        metrics["retrieval"]["multimodal"]["regions"][r]["mrr_at_10_query_mean"]
        for r in out_regions
        if metrics["retrieval"]["multimodal"]["regions"][r]
    ]
    assert metrics["retrieval"]["multimodal"]["ood_average"]["mrr_at_10_query_mean"] == (
        pytest.approx(float(np.mean(values)))
    )


def test_zero_shot_breakdowns_and_identification(evaluation: tuple[Workspace, Path, dict]) -> None:
    _, _, result = evaluation
    metrics = result["metrics"]
    assert set(metrics["zero_shot"]) == {"text", "image", "multimodal"}
    assert set(metrics["zero_shot_average"]["text"]) >= {"r_precision_query_mean", "n_regions"}
    scope = metrics["retrieval"]["multimodal"]["vendor_scope"]
    assert set(scope) == {"shared", "unique"}
    for region, row in metrics["retrieval"]["multimodal"]["regions"].items():
        parts = [scope[s].get(region) for s in scope]
        if row:  # shared + unique queries = all queries of the region
            assert sum(p["n_queries"] for p in parts if p) == row["n_queries"]
    assert set(metrics["retrieval"]["image"]["faces"]) == {"face", "no_face"}
    cls = metrics["classification"]
    assert cls["n_samples"] > 0 and 0 <= cls["f1_macro"] <= 1
    assert {"balanced_accuracy", "f1_weighted", "f1_micro"} <= set(cls)
    assert result["per_vendor"] and all("train_ads" in r for r in result["per_vendor"])


def test_report_files_and_cli(evaluation: tuple[Workspace, Path, dict], tmp_path: Path) -> None:
    workspace, model, result = evaluation
    paths = write_evaluation_report(tmp_path / "r", result["metrics"], result["per_vendor"])
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "R-Precision@X" in md and "Keys of metrics.json" in md and "per_vendor_f1.png" in md
    html = paths["html"].read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data["classification"]["per_vendor"]
    south = data["retrieval"]["multimodal"]["regions"]["South"]
    assert not math.isnan(south["r_precision_vendor_std"])
    out = CliRunner().invoke(
        app,
        ["evaluate", "-w", str(workspace.path), "--model", model.name, "--out",
         str(tmp_path / "cli"), "--no-zero-shot"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "in-dist" in out.output and (tmp_path / "cli" / "report.html").is_file()
    assert "zero_shot" not in json.loads((tmp_path / "cli" / "metrics.json").read_text())


def test_zero_shot_multimodal_cosine_is_the_mean_of_both_cosines() -> None:
    from types import SimpleNamespace

    from vendorlink.evaluate.model import zero_shot_multimodal

    rng = np.random.default_rng(0)
    text, image = rng.normal(size=(3, 5)), rng.normal(size=(3, 7))
    rows = SimpleNamespace(
        text=text, image=image, has_text=np.array([True, True, False]),
        has_image=np.array([True, True, True]),
    )  # fmt: skip
    v = zero_shot_multimodal(rows)
    unit = lambda x: x / np.linalg.norm(x)  # noqa: E731
    expected = (unit(text[0]) @ unit(text[1]) + unit(image[0]) @ unit(image[1])) / 2
    assert v[0] @ v[1] == pytest.approx(expected, rel=1e-5)
    assert np.allclose(v[2, :5], 0)  # no text: zeros in the text half
