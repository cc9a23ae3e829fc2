"""The trainable vendor model: modes, missing modalities, save/load round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from vendorlink.models.multimodal import ModelConfig, VendorModel


def _inputs(n: int = 6, seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "text": torch.randn(n, 12, generator=g),
        "image": torch.randn(n, 20, generator=g),
        "has_text": torch.tensor([True] * (n - 2) + [False, True]),
        "has_image": torch.tensor([True] * (n - 2) + [True, False]),
    }


@pytest.mark.parametrize("fusion", ["mean", "gated", "concat", "attention"])
def test_multimodal_shapes_and_unit_embeddings(fusion: str) -> None:
    config = ModelConfig(text_dim=12, image_dim=20, dim=8, fusion=fusion, num_classes=3)
    model = VendorModel(config, vendors=["a", "b", "c"]).eval()
    out = model(**_inputs())
    assert out["embedding"].shape == (6, 8 if fusion != "concat" else 18)
    assert out["logits"].shape == (6, 3)
    assert torch.allclose(out["embedding"].norm(dim=1), torch.ones(6), atol=1e-5)


def test_missing_modality_does_not_leak() -> None:
    model = VendorModel(ModelConfig(text_dim=12, image_dim=20, dim=8, fusion="gated")).eval()
    x = _inputs()
    out1 = model(**x)["embedding"]
    x["image"][4] = 100.0  # row 4 has no text: its text slot must not matter...
    x["text"][4] = -5.0
    x["text"][5] = 7.0  # ...row 5 has no image: its image slot must not matter
    x["image"][5] = 3.0
    out2 = model(**x)["embedding"]
    assert torch.allclose(out1[:4], out2[:4])
    assert not torch.allclose(out1[4], out2[4])  # its image changed (it is present)
    assert not torch.allclose(out1[5], out2[5])


def test_single_modality_models() -> None:
    x = _inputs()
    text_model = VendorModel(ModelConfig(modality="text", text_dim=12, dim=8)).eval()
    assert text_model.image_projection is None
    assert text_model(text=x["text"])["embedding"].shape == (6, 8)
    with pytest.raises(ValueError, match="without text"):
        text_model(text=x["text"], has_text=x["has_text"])
    image_model = VendorModel(ModelConfig(modality="image", image_dim=20, dim=8)).eval()
    assert image_model(image=x["image"])["embedding"].shape == (6, 8)
    with pytest.raises(ValueError, match="needs `image=`"):
        image_model(text=x["text"])


def test_config_round_trip_and_validation() -> None:
    config = ModelConfig(fusion="gated", classifier_hidden=(16,), num_classes=4, extra={"k": 1})
    assert ModelConfig.from_json(config.to_json()) == config
    with pytest.raises(ValueError, match="modality"):
        ModelConfig(modality="audio")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_classes"):
        ModelConfig(num_classes=1)
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({"bogus": 1})


def test_parameter_groups_cover_the_model_once() -> None:
    model = VendorModel(
        ModelConfig(text_dim=12, image_dim=20, dim=8, fusion="gated", num_classes=2)
    )
    groups = model.projection_parameters() + model.head_parameters()
    assert len(groups) == len(list(model.parameters()))
    assert len({id(p) for p in groups}) == len(groups)


def test_save_load_gives_identical_outputs(tmp_path: Path) -> None:
    torch.manual_seed(3)
    config = ModelConfig(text_dim=12, image_dim=20, dim=8, fusion="gated", num_classes=3)
    model = VendorModel(config, vendors=["v1", "v2", "v3"]).eval()
    folder = model.save(tmp_path / "model")
    assert {p.name for p in folder.iterdir()} >= {
        "config.json",
        "model.safetensors",
        "labels.json",
    }
    loaded = VendorModel.load(folder)
    assert loaded.vendors == ["v1", "v2", "v3"]
    assert loaded.config == config
    x = _inputs()
    a, b = model(**x), loaded(**x)
    assert torch.equal(a["embedding"], b["embedding"])
    assert torch.equal(a["logits"], b["logits"])
    numpy_out = loaded.embed(
        x["text"].numpy(),
        x["image"].numpy(),
        x["has_text"].numpy(),
        x["has_image"].numpy(),
        batch_size=4,
    )
    np.testing.assert_allclose(numpy_out["embedding"], a["embedding"].detach().numpy(), atol=1e-6)


def test_load_refuses_a_folder_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a vendorlink model folder"):
        VendorModel.load(tmp_path)
