"""The flag job end to end on a tiny generated workspace with a tiny random CLIP backbone:
train (frozen and fine-tuned), score into the flags table, predict via predict() and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.flag_helpers import make_tiny_clip, make_tiny_workspace
from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.encoders.clip import ClipTextEncoder, load_clip_encoder
from vendorlink.errors import InputError
from vendorlink.flag import FlagModel, FlagTrainConfig, load_labels, score_flags, train_flag

TINY = {"fusion_dim": 16, "hidden": (16,), "epochs": 2, "batch_size": 32, "threads": 1}


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("flag-ws")
    workspace, truth = make_tiny_workspace(root)
    clip = make_tiny_clip(root / "clip")
    with Workspace.open(workspace).connect(read_only=True) as con:
        image = con.execute("SELECT root, path FROM images LIMIT 1").fetchone()
    return {"workspace": workspace, "truth": truth, "clip": clip, "image": Path(*image)}


@pytest.fixture(scope="module")
def trained(setup: dict[str, Path]) -> Path:
    labels = load_labels(setup["truth"])
    _, folder = train_flag(
        Workspace.open(setup["workspace"]), labels, FlagTrainConfig(name="tiny", **TINY),
        clip=setup["clip"], unknown="skip",
    )  # fmt: skip
    return folder


def test_clip_encoders(setup: dict[str, Path]) -> None:
    text = load_clip_encoder(setup["clip"], "text")
    image = load_clip_encoder(setup["clip"], "image")
    assert isinstance(text, ClipTextEncoder) and text.dim == image.dim == 16
    vectors = text.encode(["on tour, leaving soon", "hi"])
    assert vectors.shape == (2, 16)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert image.encode([setup["image"]]).shape == (1, 16)
    assert text.name.startswith("text:clip-clip@") and image.name.startswith("image:clip-clip@")


def test_train_writes_model_report_and_thresholds(trained: Path) -> None:
    inference = json.loads((trained / "inference_config.json").read_text("utf-8"))
    assert len(inference["labels"]) == 8 and "movement" in inference["labels"]
    assert set(inference["thresholds"]) == set(inference["labels"])
    for name in ("report.md", "report.html", "metrics.json", "roc_curves.png"):
        assert (trained / "report" / name).is_file(), name
    assert "| label |" in (trained / "report" / "report.md").read_text("utf-8")
    metrics = json.loads((trained / "metrics.json").read_text("utf-8"))
    assert {"calibrated", "at_0.5"} <= set(metrics["test"])
    assert metrics["test"]["samples_per_s"] > 0
    assert "samples/s" in (trained / "report" / "report.md").read_text("utf-8")


def test_predict_text_only_and_image_only(setup: dict[str, Path], trained: Path) -> None:
    model = FlagModel.load(trained)
    text_only = model.predict(text="Visiting for a few days, call 555-0101")
    image_only = model.predict(images=[setup["image"]])
    both = model.predict(
        [{"text": "on tour", "images": [setup["image"]]}, "just text", {"image": setup["image"]}]
    )
    assert isinstance(both, list) and len(both) == 3
    for out in (text_only, image_only, *both):
        assert isinstance(out, dict)
        assert set(out["predictions"]) == set(model.labels)
        assert all(0.0 <= p <= 1.0 for p in out["probabilities"].values())
    assert both[1]["probabilities"] == pytest.approx(
        model.predict("just text")["probabilities"]  # type: ignore[index]
    )
    with pytest.raises(InputError, match="neither text nor an image"):
        model.predict({"text": "  "})


def test_score_writes_flags_table(setup: dict[str, Path], trained: Path) -> None:
    ws = Workspace.open(setup["workspace"])
    stats = score_flags(ws, trained)
    with ws.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT count(*), count(DISTINCT ad_id), count(DISTINCT label) FROM flags "
            "WHERE model = 'tiny'"
        ).fetchone()
        n_ads = con.execute("SELECT count(*) FROM ads").fetchone()[0]
    assert rows == (stats["scored"] * 8, stats["scored"], 8)
    assert stats["scored"] + stats["not_scorable"] == n_ads
    score_flags(ws, trained)  # replaces, does not duplicate
    with ws.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM flags").fetchone()[0] == rows[0]


def test_cli_predict_train_and_score(setup: dict[str, Path], trained: Path) -> None:
    runner = CliRunner()
    text = runner.invoke(app, ["flag", "predict", "-m", str(trained), "--text", "on tour"])
    assert text.exit_code == 0, text.output
    assert set(json.loads(text.output)) == {"predictions", "probabilities"}
    image = runner.invoke(
        app, ["flag", "predict", "-m", str(trained), "--image", str(setup["image"])]
    )
    assert image.exit_code == 0, image.output
    assert set(json.loads(image.output)["probabilities"]) == set(FlagModel.load(trained).labels)
    nothing = runner.invoke(app, ["flag", "predict", "-m", str(trained)])
    assert nothing.exit_code != 0
    ws = str(setup["workspace"])
    out = setup["workspace"].parent / "cli-model"
    train = runner.invoke(
        app,
        ["flag", "train", "-w", ws, "-l", str(setup["truth"]), "--clip", str(setup["clip"]),
         "--epochs", "1", "--out", str(out), "--skip-unknown", "--json", "--name", "cli",
         "--modality", "text"],
    )  # fmt: skip
    assert train.exit_code == 0, train.output
    assert json.loads(train.output)["epochs_run"] == 1
    score = runner.invoke(app, ["flag", "score", "-w", ws, "-m", str(out), "--json"])
    assert score.exit_code == 0, score.output
    assert json.loads(score.output)["model"] == "cli-model"


def test_finetune_option_saves_encoders(setup: dict[str, Path], tmp_path: Path) -> None:
    labels = load_labels(setup["truth"])
    result, folder = train_flag(
        Workspace.open(setup["workspace"]), labels,
        FlagTrainConfig(name="ft", **{**TINY, "epochs": 1}), clip=setup["clip"],
        unknown="skip", finetune=True, out=tmp_path / "ft",
    )  # fmt: skip
    assert (folder / "text_encoder" / "config.json").is_file()
    loaded = FlagModel.load(folder)
    assert loaded.config.text_encoder_spec == "text_encoder"
    ad = {"text": "on tour", "images": [setup["image"]]}
    assert loaded.predict(ad)["probabilities"] == pytest.approx(  # type: ignore[index]
        result.model.predict(ad)["probabilities"],
        abs=1e-5,  # type: ignore[index]
    )


def test_unknown_ids_are_a_clear_error(setup: dict[str, Path]) -> None:
    labels = load_labels(setup["truth"])
    labels.ad_ids[0] = "not-an-ad"
    with pytest.raises(InputError, match="not in the workspace"):
        train_flag(Workspace.open(setup["workspace"]), labels, FlagTrainConfig(**TINY),
                   clip=setup["clip"])  # fmt: skip


def test_demo_flag_step(setup: dict[str, Path]) -> None:
    import io

    from rich.console import Console

    from vendorlink.flag.demo import demo_flag_step, print_flag_summary

    clip = str(setup["clip"])
    summary = demo_flag_step(
        Workspace.open(setup["workspace"]), setup["truth"], encoders=(clip, clip),
        backend="torch", epochs=1,
    )  # fmt: skip
    assert summary["scored_ads"] > 0 and len(summary["per_label"]) == 8
    buffer = io.StringIO()
    print_flag_summary(Console(file=buffer, width=200), summary)
    assert "macro F1" in buffer.getvalue() and "movement" in buffer.getvalue()
