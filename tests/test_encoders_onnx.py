"""ONNX backends: fp32 export matches torch, int8 stays close, exports are cached."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.test_encoders_image import make_tiny_vit, synthetic_photo
from tests.test_encoders_text import TEXTS, make_tiny_bert
from vendorlink.encoders import load_encoder
from vendorlink.encoders.base import EncoderError, available_cores
from vendorlink.encoders.image import EFFICIENTNET_INT8_FLOAT
from vendorlink.encoders.onnx_export import float_nodes, model_folder
from vendorlink.encoders.onnx_runtime import OnnxRunner

SENTENCES = [
    "Sweet Rose, new in town, call me for a relaxing time",
    "Rose is new in town - call her for a relaxing time",
    "Quarterly earnings of the bank rose by three percent",
    "hi",
    "Brand new girl in Houston!!! 100% real pics, ask for Lily. Specials all week long. " * 3,
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert")


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_tiny_text_model_onnx_matches_torch(tiny_bert: Path, onnx_dir: Path) -> None:
    torch_enc = load_encoder(tiny_bert)
    onnx_enc = load_encoder(tiny_bert, backend="onnx", onnx_dir=onnx_dir, batch_size=3)
    assert onnx_enc.name == torch_enc.name  # same function, shared cache
    expected = torch_enc.encode(TEXTS)
    got = onnx_enc.encode(TEXTS)  # padded batches of different widths
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert cosines(got, expected).min() > 0.9999
    # Batch of one, and a batch without padding, follow the same graph.
    np.testing.assert_allclose(onnx_enc.encode(["lily"]), torch_enc.encode(["lily"]), atol=1e-4)
    same_length = ["rose", "lily"]
    np.testing.assert_allclose(
        onnx_enc.encode(same_length), torch_enc.encode(same_length), atol=1e-4
    )
    int8 = load_encoder(tiny_bert, backend="onnx-int8", onnx_dir=onnx_dir)
    assert int8.name == torch_enc.name + ":int8"
    assert cosines(int8.encode(TEXTS), expected).min() > 0.97


def test_exports_are_cached_and_sessions_use_every_core(tiny_bert: Path, onnx_dir: Path) -> None:
    first = load_encoder(tiny_bert, backend="onnx", onnx_dir=onnx_dir)
    first.encode(["warm up"])
    model = model_folder(first) / "model.onnx"
    assert model.is_file() and (model_folder(first) / "meta.json").is_file()
    stamp = model.stat().st_mtime_ns
    second = load_encoder(tiny_bert, backend="onnx", onnx_dir=onnx_dir)
    second.encode(["again"])
    assert model.stat().st_mtime_ns == stamp  # reused, not exported again
    runner = second._get_runner()
    assert isinstance(runner, OnnxRunner)
    options = runner.session.get_session_options()
    assert options.intra_op_num_threads == available_cores()
    assert not list(model.parent.glob(".*.tmp*"))  # no temporary files left behind
    # The torch module is still there for fine-tuning.
    assert second.torch_module() is not None


def test_minilm_onnx_and_int8_match_torch(onnx_dir: Path) -> None:
    expected = load_encoder("minilm").encode(SENTENCES)
    fp32 = load_encoder("minilm", backend="onnx", onnx_dir=onnx_dir).encode(SENTENCES)
    np.testing.assert_allclose(fp32, expected, atol=1e-4)
    assert cosines(fp32, expected).min() > 0.9999
    int8 = load_encoder("minilm", backend="onnx-int8", onnx_dir=onnx_dir).encode(SENTENCES)
    assert cosines(int8, expected).min() > 0.97
    sims = int8 @ int8.T  # the int8 model still ranks the paraphrase first
    assert sims[0, 1] > sims[0, 2]


def test_efficientnet_onnx_and_static_int8(onnx_dir: Path) -> None:
    from sklearn.datasets import load_sample_image

    photos = [Image.fromarray(load_sample_image(n)) for n in ("china.jpg", "flower.jpg")]
    crops = [p.crop((40 * i, 30 * i, 40 * i + 300, 30 * i + 300)) for p in photos for i in (1, 3)]
    images = photos + crops
    expected = load_encoder("efficientnet-lite0").encode(images)
    fp32 = load_encoder("efficientnet-lite0", backend="onnx", onnx_dir=onnx_dir).encode(images)
    np.testing.assert_allclose(fp32, expected, atol=1e-4)
    assert cosines(fp32, expected).min() > 0.9999
    int8_enc = load_encoder("efficientnet-lite0", backend="onnx-int8", onnx_dir=onnx_dir)
    assert ":int8-static-f" in int8_enc.name  # the recipe (float layers) is in the cache key
    int8 = int8_enc.encode(images)
    # Static int8 on a CNN is coarser than on text; see the module notes for measured values.
    assert cosines(int8, expected).mean() > 0.98
    assert cosines(int8, expected).min() > 0.9
    # The stem and the first two blocks stay float (plain weights); the other convolutions
    # take their weights through DequantizeLinear (int8).
    import onnx

    graph = onnx.load(str(int8_enc._get_runner().path)).graph  # type: ignore[attr-defined]
    producer = {out: node.op_type for node in graph.node for out in node.output}
    convs = [node for node in graph.node if node.op_type == "Conv"]
    int8_weights = {c.name: producer.get(c.input[1]) == "DequantizeLinear" for c in convs}
    kept = [name for name in int8_weights if name.startswith(EFFICIENTNET_INT8_FLOAT)]
    assert len(kept) == 6 and not any(int8_weights[name] for name in kept)
    assert sum(int8_weights.values()) == len(convs) - 6
    all_int8 = load_encoder("efficientnet-lite0", backend="onnx-int8", int8_keep_float=())
    assert all_int8.name.endswith(":int8-static@builtin")  # the all-int8 ablation
    with pytest.raises(EncoderError, match="match no node"):
        float_nodes(model_folder(int8_enc) / "model.onnx", ["/no/such/layer/"])


def test_hf_vision_model_exports(tmp_path: Path, onnx_dir: Path) -> None:
    folder = make_tiny_vit(tmp_path / "tiny-vit")
    images = [synthetic_photo(i) for i in range(3)]
    expected = load_encoder(folder).encode(images)
    got = load_encoder(folder, backend="onnx", onnx_dir=onnx_dir).encode(images)
    np.testing.assert_allclose(got, expected, atol=1e-4)
