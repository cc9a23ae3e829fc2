"""Every loss, fusion mode and task trains on the tiny generated set (frozen regime), and a
saved model loads back to the same embeddings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.test_train_workspace import tiny_setup  # noqa: F401  (session fixture)
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder
from vendorlink.errors import InputError
from vendorlink.models.losses import InfoNCE
from vendorlink.models.multimodal import VendorModel
from vendorlink.train import AdTable, TrainConfig, build_ad_table, copy_config, embed_table, fit

BASE = TrainConfig(
    name="tiny",
    dim=16,
    epochs=4,
    patience=0,
    vendors_per_batch=6,
    ads_per_vendor=3,
    lr_projection=1e-2,
    lr_heads=1e-2,
    dropout=0.0,
    train_domain=None,
    tensorboard=False,
)


@pytest.fixture(scope="module")
def tiny_table(tiny_setup: tuple[Workspace, Encoder, Encoder]) -> AdTable:  # noqa: F811
    workspace, text, image = tiny_setup
    with workspace.connect(read_only=True) as con:
        return build_ad_table(
            workspace,
            con=con,
            label_source="truth",
            text_encoder=text,
            image_encoder=image,
            keep_images=True,
        )


def _trained(table: AdTable, config: TrainConfig, folder: Path | None = None) -> VendorModel:
    result = fit(table, config, folder=folder)
    losses = [row["train_loss"] for row in result.history]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0], losses  # it learns something
    assert "val_r_precision" in result.history[-1]
    assert result.model is not None
    return result.model


@pytest.mark.parametrize(
    ("task", "loss"),
    [
        ("identify", "ce"),
        ("identify", "ce+supcon"),
        ("identify", "ce+triplet"),
        ("verify", "supcon"),
        ("verify", "triplet"),
    ],
)
def test_every_loss_trains(tiny_table: AdTable, task: str, loss: str) -> None:
    model = _trained(tiny_table, copy_config(BASE, task=task, loss=loss))
    assert (model.classifier is not None) == (task == "identify")
    assert model.config.extra["task"] == task


def test_a_metric_projection_head_feeds_the_metric_loss_only(tiny_table: AdTable) -> None:
    model = _trained(tiny_table, copy_config(BASE, metric_projection=8))
    assert model.metric_head is not None
    usable = tiny_table.select(tiny_table.usable("multimodal"))
    out = model(**{k: v for k, v in usable.tensors().items()})
    assert out["metric"].shape == (len(usable), 8)
    assert out["embedding"].shape == (len(usable), 16)  # retrieval uses the fused space


def test_a_cosine_classifier_trains_and_loads(tiny_table: AdTable, tmp_path: Path) -> None:
    model = _trained(tiny_table, copy_config(BASE, cosine_scale=10.0), tmp_path / "m")
    assert model.config.cosine_scale == 10.0
    loaded = VendorModel.load(tmp_path / "m")
    usable = tiny_table.select(tiny_table.usable("multimodal"))
    out, back = model(**usable.tensors()), loaded(**usable.tensors())
    assert float(out["logits"].abs().max()) <= 10.0 + 1e-4
    torch.testing.assert_close(back["logits"], out["logits"])


def test_modality_dropout_hides_one_modality_of_some_paired_ads() -> None:
    from vendorlink.train.trainer import drop_modalities

    n = 4000
    has_text = torch.ones(n, dtype=torch.bool)
    has_image = torch.arange(n) % 4 != 0  # a quarter are text-only
    feed = {"text": torch.zeros(n, 2), "has_text": has_text, "has_image": has_image}
    out = drop_modalities(feed, 0.4, torch.Generator().manual_seed(0))
    assert bool((out["has_text"] | out["has_image"]).all())  # never both gone
    assert bool(out["has_text"][~has_image].all())  # text-only ads keep their text
    both = has_text & has_image
    lost_text = (both & ~out["has_text"]).sum().item() / both.sum().item()
    lost_image = (both & ~out["has_image"]).sum().item() / both.sum().item()
    assert 0.17 < lost_text < 0.23 and 0.17 < lost_image < 0.23
    assert out["text"] is feed["text"] and feed["has_image"] is has_image  # input untouched


def test_modality_dropout_trains_and_is_refused_out_of_range(
    tiny_table: AdTable, tmp_path: Path
) -> None:
    model = _trained(tiny_table, copy_config(BASE, modality_dropout=0.5), tmp_path / "m")
    assert model.config.modality == "multimodal"
    with pytest.raises(InputError, match="modality_dropout"):
        copy_config(BASE, modality_dropout=1.0)


@pytest.mark.parametrize("views", ["fused", "modalities", "both"])
def test_every_metric_view_trains(tiny_table: AdTable, views: str) -> None:
    model = _trained(tiny_table, copy_config(BASE, fusion="gated", metric_views=views))
    assert model.config.fusion == "gated"


def test_metric_views_resolve_and_bad_combinations_are_refused() -> None:
    assert BASE.resolved_metric_views == "modalities"  # identify, multimodal: auto
    assert copy_config(BASE, loss="supcon").resolved_metric_views == "fused"  # verify: auto
    assert copy_config(BASE, modality="text", metric_views="both").resolved_metric_views == "fused"
    assert copy_config(BASE, metric_projection=8).resolved_metric_views == "fused"
    with pytest.raises(InputError, match="metric_views must be one of"):
        copy_config(BASE, metric_views="text")
    with pytest.raises(InputError, match="projection head"):
        copy_config(BASE, metric_projection=8, metric_views="modalities")
    with pytest.raises(InputError, match="untrained"):
        copy_config(BASE, loss="supcon", fusion="gated", metric_views="modalities")
    mean = copy_config(BASE, loss="supcon", fusion="mean", metric_views="modalities")
    assert mean.resolved_metric_views == "modalities"  # mean fusion has no weights to train


def test_modality_views_take_the_rows_that_have_the_modality() -> None:
    from vendorlink.train.trainer import metric_views

    out = {
        "embedding": torch.randn(4, 3),
        "text_view": torch.arange(12.0).reshape(4, 3),
        "image_view": -torch.arange(12.0).reshape(4, 3),
    }
    feed = {
        "has_text": torch.tensor([True, True, False, True]),
        "has_image": torch.tensor([True, False, True, True]),
    }
    y = torch.tensor([5, 6, 7, 8])
    assert metric_views(out, feed, y, "fused") is None
    (text, y_text), (image, y_image) = metric_views(out, feed, y, "modalities")  # type: ignore[misc]
    torch.testing.assert_close(text, out["text_view"][[0, 1, 3]])
    torch.testing.assert_close(image, out["image_view"][[0, 2, 3]])
    assert y_text.tolist() == [5, 6, 8] and y_image.tolist() == [5, 7, 8]
    both = metric_views(out, feed, y, "both")
    assert both is not None and len(both) == 3 and both[0][0] is out["embedding"]
    assert (
        metric_views({"embedding": out["embedding"]}, feed, y, "modalities") is None
    )  # 1 modality


@pytest.mark.parametrize("fusion", ["mean", "sum", "product", "concat", "attention", "gated"])
def test_every_fusion_trains_and_save_load_gives_the_same_embeddings(
    tiny_table: AdTable, fusion: str, tmp_path: Path
) -> None:
    model = _trained(tiny_table, copy_config(BASE, fusion=fusion), tmp_path / "m")
    loaded = VendorModel.load(tmp_path / "m")
    usable = tiny_table.select(tiny_table.usable("multimodal"))
    np.testing.assert_array_equal(embed_table(model, usable), embed_table(loaded, usable))


@pytest.mark.parametrize("align_loss", ["itc", "itc+itm"])
def test_alignment_pretraining_then_identify(
    tiny_table: AdTable, align_loss: str, tmp_path: Path
) -> None:
    config = copy_config(BASE, task="align", align_loss=align_loss, align_epochs=3)
    result = fit(tiny_table, config, folder=tmp_path / "m")
    align = result.stats["align_history"]
    assert len(align) == 3
    assert align[-1]["train_itc"] < align[0]["train_itc"]
    if align_loss == "itc+itm":
        assert align[-1]["train_itm"] < align[0]["train_itm"]
    assert (tmp_path / "m" / "align_log.csv").is_file()
    assert result.model is not None and result.model.classifier is not None
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_alignment_leaves_the_text_and_image_projections_aligned(tiny_table: AdTable) -> None:
    """After 1 fine-tuning epoch, ITC between an ad's projected text and image is lower for
    the aligned model than for the same training without alignment."""
    config = copy_config(BASE, epochs=1)
    plain = fit(tiny_table, config).model
    aligned = fit(tiny_table, copy_config(config, task="align", align_epochs=4)).model
    assert plain is not None and aligned is not None
    both = tiny_table.has_text & tiny_table.has_image & (tiny_table.part == "train")
    text = torch.from_numpy(tiny_table.text[both])
    image = torch.from_numpy(tiny_table.image[both])
    itc = InfoNCE(temperature=0.07)

    def alignment_loss(model: VendorModel) -> float:
        assert model.text_projection is not None and model.image_projection is not None
        with torch.no_grad():
            pair = (model.text_projection(text), model.image_projection(image))
            return float(itc(pair=pair))

    assert alignment_loss(aligned) < alignment_loss(plain)


def test_task_and_loss_must_agree() -> None:
    with pytest.raises(InputError, match="needs 'ce'"):
        TrainConfig(task="identify", loss="supcon")
    with pytest.raises(InputError, match="metric learning only"):
        TrainConfig(task="verify", loss="ce+supcon")
    with pytest.raises(InputError, match="multimodal"):
        TrainConfig(task="align", modality="text")
    with pytest.raises(InputError, match="alignment"):
        TrainConfig(loss="ce+infonce")
    with pytest.raises(InputError, match="regime"):
        TrainConfig(regime="partial")
    with pytest.raises(InputError, match="fusion"):
        TrainConfig(fusion="bilinear")
    assert TrainConfig(loss="triplet").resolved_task == "verify"
