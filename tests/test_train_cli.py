"""``vendorlink train``: a thin shell over train_vendor_model; prints validation metrics."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.test_train_workspace import tiny_setup  # noqa: F401  (session fixture)
from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder
from vendorlink.errors import InputError
from vendorlink.models.multimodal import VendorModel

runner = CliRunner()


def test_train_command_writes_the_model_and_prints_validation(
    tiny_setup: tuple[Workspace, Encoder, Encoder],  # noqa: F811
) -> None:
    workspace, _, _ = tiny_setup
    root = workspace.path.parent.parent
    args = ["train", "-w", str(workspace.path), "--name", "cli-gated", "--fusion", "gated"]
    args += ["--labels", "truth", "--epochs", "2", "--text-encoder", str(root / "bert")]
    args += ["--image-encoder", str(root / "vit"), "--quiet", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["epochs_run"] == 2 and summary["vendors"] >= 2
    assert 0.0 <= summary["validation"]["r_precision"] <= 1.0
    model = VendorModel.load(workspace.artefacts / "models" / "cli-gated")
    assert model.config.fusion == "gated"
    bad = runner.invoke(app, ["train", "-w", str(workspace.path), "--task", "verify"])
    assert isinstance(bad.exception, InputError)  # main() prints it and exits with 2
    assert "metric learning only" in str(bad.exception)
