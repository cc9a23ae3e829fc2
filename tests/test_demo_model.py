"""The demo's model step (train + evaluate) and `vendorlink search` on the demo workspace."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from tests import test_train_workspace as _shared
from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder
from vendorlink.evaluate.demo_model import DEMO_MODEL, demo_model_step, print_model_summary
from vendorlink.link import latest_model

tiny_setup = _shared.tiny_setup


def test_demo_trains_evaluates_and_search_works(
    tiny_setup: tuple[Workspace, Encoder, Encoder], tmp_path: Path
) -> None:
    workspace, _, _ = tiny_setup
    root = workspace.path.parent.parent  # the shared tiny folder: demo/, bert/, vit/
    copy = tmp_path / "ws"
    shutil.copytree(workspace.path, copy, ignore=shutil.ignore_patterns("models", "indexes"))
    ws = Workspace.open(copy)
    summary = demo_model_step(
        ws,
        encoders=(str(root / "bert"), str(root / "vit")),
        dim=16,
        epochs=2,
        vendors_per_batch=4,
        ads_per_vendor=2,
    )
    assert latest_model(ws) == ws.artefacts / "models" / DEMO_MODEL
    metrics = summary["metrics"]
    assert metrics["retrieval"]["multimodal"]["in_distribution"]["n_regions"] == 1
    assert metrics["classification"]["n_samples"] > 0
    assert Path(summary["report"]).is_file()
    buffer = io.StringIO()
    print_model_summary(Console(file=buffer, width=140), summary)
    printed = buffer.getvalue()
    assert "in-dist" in printed and "OOD" in printed and "identification" in printed
    with ws.connect(read_only=True) as con:
        ad_id = con.execute("SELECT ad_id FROM ads WHERE has_text ORDER BY ad_id").fetchall()[0][0]
    out = CliRunner().invoke(app, ["search", ad_id, "-w", str(copy), "-k", "3", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["model"].endswith(DEMO_MODEL) and len(data["hits"]) == 3 and not data["notice"]
