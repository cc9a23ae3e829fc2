"""The char n-gram stylometric encoder: cross-fitting, no leakage, save -> load, training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.test_encoders_text import make_tiny_bert
from tests.test_train_workspace import tiny_setup  # noqa: F401  (session fixture)
from vendorlink.atomic import OutputExistsError
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import Encoder, EncoderError, load_encoder
from vendorlink.encoders.chargram import (
    CharGramConfig,
    CharGramStyle,
    NgramBlock,
    StyleStackEncoder,
)

WORDS = ["room", "new", "town", "call", "today", "sweet", "friendly", "visit", "late", "open"]
HABITS = ["!!!", " xoxo", " ~~", " :)", "...", " <3"]


def styled_texts(n_per_vendor: int, seed: int) -> tuple[list[str], list[str]]:
    """Generated texts of 6 vendors; each vendor has its own punctuation habit."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for v, habit in enumerate(HABITS):
        for _ in range(n_per_vendor):
            words = " ".join(rng.choice(WORDS, size=int(rng.integers(4, 9))))
            texts.append(f"{words}{habit} {rng.integers(1000)}")
            labels.append(f"vendor-{v}")
    return texts, labels


SMALL = CharGramConfig(
    blocks=(NgramBlock("char", 2, 4), NgramBlock("word", 1, 2)), min_df=1, folds=3, seed=7
)


@pytest.fixture(scope="module")
def fitted() -> tuple[CharGramStyle, list[str], list[str]]:
    texts, labels = styled_texts(12, seed=1)
    return CharGramStyle.fit(texts, labels, SMALL), texts, labels


def test_training_texts_get_out_of_fold_scores_and_new_texts_full_scores(
    fitted: tuple[CharGramStyle, list[str], list[str]],
) -> None:
    style, texts, labels = fitted
    assert style.dim == 2 * 6 and style.classes == sorted(set(labels))
    train_vectors = style.transform(texts)
    assert np.array_equal(train_vectors, style.oof)  # distinct texts, in fitting order
    assert not np.allclose(train_vectors, style.full_scores(texts))
    new_texts, new_labels = styled_texts(5, seed=2)
    assert np.array_equal(style.transform(new_texts), style.full_scores(new_texts))
    # with row flags, only the flagged (training) rows get out-of-fold scores, duplicates too
    mixed = texts[:4] + texts[:4]
    flags = np.array([True] * 4 + [False] * 4)
    vectors = style.transform(mixed, flags)
    assert np.array_equal(vectors[:4], style.oof[:4])
    assert np.array_equal(vectors[4:], style.full_scores(texts[:4]))
    with pytest.raises(EncoderError, match="not fitted on"):
        style.transform(new_texts[:2], [True, False])
    accuracy = np.mean(style.predict(new_texts) == np.array(new_labels, dtype=object))
    assert accuracy > 0.8  # the habits are learnt from the n-grams


def test_out_of_fold_scores_come_from_models_that_never_saw_the_text() -> None:
    texts, labels = styled_texts(12, seed=3)
    marked = "zqxjv zqxjv zqxjv"  # n-grams that occur in this one training text only
    texts.append(marked)
    labels.append("vendor-0")
    style = CharGramStyle.fit(texts, labels, SMALL)
    column = style.classes.index("vendor-0")
    oof = style.transform([marked])[0, column]
    full = style.full_scores([marked])[0, column]
    assert full > oof + 0.5  # only the full model learnt the marker; the fold model did not


def test_duplicates_stay_in_one_fold_and_fit_errors_are_clear() -> None:
    texts, labels = styled_texts(6, seed=4)
    style = CharGramStyle.fit(texts + texts[:3], labels + labels[:3], SMALL)
    assert len(style.oof) == len(set(texts))
    with pytest.raises(EncoderError, match="at least 2 vendors"):
        CharGramStyle.fit(["a b", "c d"], ["x", "x"], SMALL)
    with pytest.raises(EncoderError, match="at least 2 distinct texts"):
        CharGramStyle.fit(["a b", "c d"], ["x", "y"], SMALL)
    rare = CharGramStyle.fit([*texts, "only once !!"], [*labels, "vendor-rare"], SMALL)
    assert "vendor-rare" in rare.classes and np.isfinite(rare.oof).all()
    with pytest.raises(EncoderError, match="analyzer"):
        NgramBlock("byte", 1, 2)


def test_save_load_gives_identical_vectors_and_detects_tampering(
    fitted: tuple[CharGramStyle, list[str], list[str]], tmp_path: Path
) -> None:
    style, texts, _ = fitted
    style.save(tmp_path / "style")
    loaded = CharGramStyle.load(tmp_path / "style")
    probe = texts[:10] + styled_texts(3, seed=9)[0]
    assert loaded.fingerprint == style.fingerprint
    assert np.array_equal(loaded.transform(probe), style.transform(probe))
    coef = np.load(tmp_path / "style" / "block0.coef.npy")
    np.save(tmp_path / "style" / "block0.coef.npy", coef * 2)
    with pytest.raises(EncoderError, match="fingerprint"):
        CharGramStyle.load(tmp_path / "style")


def test_style_stack_encoder_round_trips_through_load_encoder(
    fitted: tuple[CharGramStyle, list[str], list[str]], tmp_path: Path
) -> None:
    style, texts, _ = fitted
    bert = make_tiny_bert(tmp_path / "bert")
    encoder = StyleStackEncoder(style, str(bert))
    vectors = encoder.encode(texts[:8])
    assert vectors.shape == (8, encoder.base.dim + style.dim) == (8, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors[:, : encoder.base.dim], axis=1), 1.0, atol=1e-5)
    encoder.save(tmp_path / "stack")
    loaded = load_encoder(str(tmp_path / "stack"))
    assert isinstance(loaded, StyleStackEncoder)
    assert loaded.name == encoder.name and "+chargram:" in loaded.name
    assert np.array_equal(loaded.encode(texts[:8]), vectors)
    with pytest.raises(OutputExistsError, match="not empty"):
        encoder.save(tmp_path / "stack")
    with pytest.raises(EncoderError, match="no torch module"):
        loaded.torch_module()


def test_workspace_fit_then_train_a_text_model_on_it(
    tiny_setup: tuple[Workspace, Encoder, Encoder],  # noqa: F811
    tmp_path: Path,
) -> None:
    from vendorlink.encoders.style_workspace import fit_style_encoder, training_texts
    from vendorlink.models.multimodal import VendorModel
    from vendorlink.train import TrainConfig, build_ad_table, train_vendor_model
    from vendorlink.train.loop import embed_table

    shared, _, _ = tiny_setup  # the session's tiny demo; copied, so it stays untouched
    shutil.copytree(shared.path, tmp_path / "workspace")
    workspace = Workspace.open(tmp_path / "workspace")
    bert = shared.path.parent.parent / "bert"
    ids, texts, vendors = training_texts(workspace, label_source="truth")
    assert len(ids) == len(texts) == len(vendors) and all(t.strip() for t in texts)
    with workspace.connect(read_only=True) as con:
        parts = dict(
            con.execute(
                "SELECT ad_id, part || '/' || domain FROM splits WHERE split_name = 'default'"
            ).fetchall()
        )
    assert ids and {parts[a] for a in ids} == {"train/in"}  # val, test and OOD ads unseen
    folder, encoder = fit_style_encoder(
        workspace,
        name="style",
        label_source="truth",
        base=str(bert),
        config=CharGramConfig(min_df=1, folds=2, max_features=5000),
    )
    assert folder == workspace.artefacts / "encoders" / "style"
    assert json.loads((folder / "config.json").read_text())["base"] == str(bert)
    config = TrainConfig(
        name="styled",
        modality="text",
        label_source="truth",
        text_encoder=str(folder),
        dim=16,
        epochs=2,
        vendors_per_batch=4,
        ads_per_vendor=2,
        tensorboard=False,
    )
    result = train_vendor_model(workspace, config)
    assert result.folder is not None and result.model is not None
    model = VendorModel.load(result.folder)
    assert model.config.text_encoder == encoder.name
    with workspace.connect(read_only=True) as con:
        table = build_ad_table(
            workspace,
            con=con,
            label_source="truth",
            text_encoder=load_encoder(str(folder)),
            image_encoder=None,
        )
    table = table.select(table.usable("text"))
    assert table.text.shape[1] == encoder.dim
    assert np.allclose(embed_table(model, table), embed_table(result.model, table), atol=1e-6)
