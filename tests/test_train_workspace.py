"""Training from a generated workspace (tiny demo, tiny random encoders) end to end."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from tests.test_encoders_image import make_tiny_vit
from tests.test_encoders_text import make_tiny_bert
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder, load_encoder
from vendorlink.models.multimodal import VendorModel
from vendorlink.train import TrainConfig, build_ad_table, train_vendor_model


@pytest.fixture(scope="session")
def tiny_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workspace, Encoder, Encoder]:
    """The tiny demo workspace and two tiny random encoders (saved folders)."""
    from vendorlink.demo import run_demo

    # Built once per session even though two test modules use the fixture.
    root = tmp_path_factory.getbasetemp() / "tiny-demo-shared"
    if not (root / "done").exists():
        run_demo(root / "demo", preset="tiny", progress=False, console=Console(file=io.StringIO()))
        make_tiny_bert(root / "bert")
        make_tiny_vit(root / "vit")
        (root / "done").write_text("ok", encoding="utf-8")
    text = load_encoder(str(root / "bert"))
    image = load_encoder(str(root / "vit"))
    return Workspace.open(root / "demo" / "workspace"), text, image


@pytest.fixture(scope="session")
def tiny_trained(tiny_setup: tuple[Workspace, Encoder, Encoder]) -> tuple[Workspace, Path]:
    workspace, text, image = tiny_setup
    folder = workspace.artefacts / "models" / "tiny-mm"
    if (folder / "model.safetensors").exists():
        return workspace, folder
    with workspace.connect(read_only=True) as con:
        table = build_ad_table(
            workspace, con=con, label_source="truth", text_encoder=text, image_encoder=image
        )
    config = TrainConfig(
        name="tiny-mm",
        label_source="truth",
        text_encoder=str(workspace.path.parent.parent / "bert"),
        image_encoder=str(workspace.path.parent.parent / "vit"),
        dim=16,
        epochs=1,
        vendors_per_batch=4,
        ads_per_vendor=2,
    )
    result = train_vendor_model(workspace, config, table=table)
    assert result.folder is not None
    return workspace, result.folder


def test_build_ad_table_reads_vectors_labels_and_parts(
    tiny_setup: tuple[Workspace, Encoder, Encoder],
) -> None:
    workspace, text, image = tiny_setup
    stats: dict[str, int] = {}
    with workspace.connect(read_only=True) as con:
        table = build_ad_table(
            workspace,
            con=con,
            label_source="truth",
            text_encoder=text,
            image_encoder=image,
            stats=stats,
        )
        n_ads = con.execute("SELECT count(*) FROM ads").fetchall()[0][0]
    assert len(table) == n_ads == stats["ads"]
    assert table.text.shape == (n_ads, text.dim) and table.image.shape == (n_ads, image.dim)
    assert set(table.part.tolist()) <= {"train", "val", "test", None}
    assert all(v is not None for v in table.vendor)  # truth labels every ad
    assert table.has_image.sum() == stats["ads_with_image"] > 0
    assert np.all(table.image[~table.has_image] == 0)
    assert np.all(table.text[~table.has_text] == 0)


def test_one_epoch_on_the_tiny_workspace_writes_a_loadable_model(
    tiny_trained: tuple[Workspace, Path],
) -> None:
    workspace, folder = tiny_trained
    assert folder == workspace.artefacts / "models" / "tiny-mm"
    for name in ("config.json", "model.safetensors", "labels.json", "log.csv"):
        assert (folder / name).is_file()
    model = VendorModel.load(folder)
    assert model.config.num_classes == len(model.vendors) >= 2
    with workspace.connect(read_only=True) as con:
        status = con.execute(
            "SELECT status FROM runs WHERE command = 'train' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    assert status == [("ok",)]
