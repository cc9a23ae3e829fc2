"""Fine-tuning regimes (b) last N layers and (c) full, on raw text and images through tiny
random encoders; save -> load gives the same embeddings; the workspace is not held open."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.test_train_workspace import tiny_setup  # noqa: F401  (session fixture)
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder, load_encoder
from vendorlink.train import (
    TrainConfig,
    build_ad_table,
    layer_groups,
    load_trained,
    train_vendor_model,
)
from vendorlink.train import loop as train_loop

CONFIG = TrainConfig(
    label_source="truth",
    dim=16,
    epochs=1,
    patience=0,
    vendors_per_batch=6,
    ads_per_vendor=2,
    lr_encoder=1e-3,
    max_images=1,
    train_domain=None,
)


def _fresh_encoders(workspace: Workspace) -> tuple[Encoder, Encoder]:
    root = workspace.path.parent.parent
    return load_encoder(str(root / "bert")), load_encoder(str(root / "vit"))


def test_layer_groups_follow_the_transformer_layers(
    tiny_setup: tuple[Workspace, Encoder, Encoder],  # noqa: F811
) -> None:
    workspace, _, _ = tiny_setup
    text, _ = _fresh_encoders(workspace)
    module = text.torch_module()
    groups = layer_groups(module)
    assert len(groups) == 3  # embeddings, layer 0, layer 1 (+ pooler)
    assert sum(len(g) for g in groups) == len(list(module.parameters()))


@pytest.mark.parametrize("regime", ["last", "full"])
def test_fine_tuning_trains_the_encoders_and_the_folder_reloads(
    tiny_setup: tuple[Workspace, Encoder, Encoder],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    regime: str,
) -> None:
    workspace, _, _ = tiny_setup
    root = workspace.path.parent.parent
    before_text, before_image = _fresh_encoders(workspace)
    text_before = {k: v.clone() for k, v in before_text.torch_module().state_dict().items()}
    image_before = {k: v.clone() for k, v in before_image.torch_module().state_dict().items()}

    # The workspace must not be held while training: a second connection works mid-training.
    real_fit = train_loop.fit
    seen: list[int] = []

    def fit_and_peek(*args: object, **kwargs: object) -> train_loop.TrainResult:
        with workspace.connect(read_only=True) as con:
            seen.append(con.execute("SELECT count(*) FROM ads").fetchall()[0][0])
        return real_fit(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(train_loop, "fit", fit_and_peek)
    config = TrainConfig(
        **{
            **CONFIG.to_dict(),
            "name": f"tiny-{regime}",
            "regime": regime,
            "finetune_layers": 1,
            "text_encoder": str(root / "bert"),
            "image_encoder": str(root / "vit"),
        }
    )
    result = train_vendor_model(workspace, config)
    assert seen and seen[0] > 0
    folder = result.folder
    assert folder is not None
    assert (folder / "text_encoder" / "config.json").is_file()
    assert (folder / "image_encoder" / "preprocessor_config.json").is_file()
    assert not (folder.with_name(folder.name + ".train") / "checkpoint.pt").exists()
    assert (folder.with_name(folder.name + ".train") / "log.csv").is_file()

    trained = load_trained(folder)
    text_after = trained.text_encoder.torch_module().state_dict()  # type: ignore[union-attr]
    image_after = trained.image_encoder.torch_module().state_dict()  # type: ignore[union-attr]
    changed = {k for k in text_before if not torch.equal(text_before[k], text_after[k])}
    first = "backbone.embeddings.word_embeddings.weight"
    last = "backbone.encoder.layer.1.output.dense.weight"
    assert last in changed
    assert (first in changed) == (regime == "full")
    assert any(not torch.equal(image_before[k], image_after[k]) for k in image_before)

    with workspace.connect(read_only=True) as con:
        table = build_ad_table(
            workspace,
            con=con,
            label_source="truth",
            text_encoder=before_text,
            image_encoder=before_image,
            raw=True,
        )
        status = con.execute(
            "SELECT status FROM runs WHERE command = 'train' ORDER BY started_at DESC LIMIT 1"
        ).fetchall()
    assert status == [("ok",)]
    table = table.select(np.flatnonzero(table.usable("multimodal"))[:12])
    again = load_trained(folder)
    np.testing.assert_allclose(trained.embed(table), again.embed(table), atol=1e-6)
    assert result.model is not None
    in_memory = type(trained)(result.model, trained.text_encoder, trained.image_encoder)
    np.testing.assert_allclose(in_memory.embed(table), trained.embed(table), atol=1e-5)
