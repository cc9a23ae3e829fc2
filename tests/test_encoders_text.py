"""Text encoders: a tiny random BERT saved in the test (local-folder path) and packaged MiniLM."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from vendorlink.encoders import EncoderError, load_encoder
from vendorlink.encoders.base import available_encoders, resolve_device
from vendorlink.encoders.text import TextEncoder

LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789"
WORDS = ["new", "in", "town", "call", "me", "rose", "lily", "sweet", "the", "weather", "report"]
VOCAB = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
    *LETTERS, *".,!?$#@*-/:()'", *[f"##{c}" for c in LETTERS], *WORDS,
]  # fmt: skip


def make_tiny_bert(folder: Path, seed: int = 0, max_positions: int = 64) -> Path:
    """A randomly initialised 2-layer BERT (hidden 32) with a WordPiece tokenizer, saved."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    BertTokenizer(vocab=str(folder / "vocab.txt")).save_pretrained(str(folder))
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_positions,
    )
    BertModel(config).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert")


@pytest.fixture(scope="session")
def minilm() -> TextEncoder:
    encoder = load_encoder("minilm")
    assert isinstance(encoder, TextEncoder)
    return encoder


TEXTS = [
    "Sweet Rose, new in town! call me",
    "the weather report",
    "lily",
    "call me now, rose is new in town, sweet",
    "",
    "a much longer text " * 20,
]


def test_local_folder_loads_as_text_encoder(tiny_bert: Path) -> None:
    encoder = load_encoder(tiny_bert)
    assert encoder.modality == "text" and encoder.dim == 32 and encoder.backend == "torch"
    # max_length 256 is capped by the model's 64 positions, and the name says so.
    assert re.fullmatch(r"text:tiny-bert@[0-9a-f]{12}:max_len=64", encoder.name)
    vectors = encoder.encode(TEXTS)
    assert vectors.shape == (len(TEXTS), 32) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors, encoder.encode(TEXTS))  # deterministic
    assert encoder.encode([]).shape == (0, 32)


def test_batching_sorting_and_padding_do_not_change_vectors(tiny_bert: Path) -> None:
    encoder = load_encoder(tiny_bert, batch_size=2)
    together = encoder.encode(TEXTS)
    alone = np.stack([encoder.encode([t])[0] for t in TEXTS])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    reversed_rows = encoder.encode(TEXTS[::-1], batch_size=4)[::-1]
    np.testing.assert_allclose(together, reversed_rows, atol=1e-5)


def test_vectors_are_mean_pooled_token_states(tiny_bert: Path) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert), local_files_only=True)
    model = AutoModel.from_pretrained(str(tiny_bert), local_files_only=True).eval()
    with torch.no_grad():
        hidden = model(**tokenizer(["call me rose"], return_tensors="pt")).last_hidden_state
    expected = hidden[0].mean(0).numpy()
    expected /= np.linalg.norm(expected)
    got = load_encoder(tiny_bert).encode(["call me rose", "the weather report is new"])[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_name_tracks_weights_and_options(tiny_bert: Path, tmp_path: Path) -> None:
    base = load_encoder(tiny_bert)
    other = load_encoder(make_tiny_bert(tmp_path / "tiny-bert", seed=1))
    assert base.name != other.name  # same folder name, different weights
    short = load_encoder(tiny_bert, max_length=8)
    assert short.name.endswith(":max_len=8")
    assert all(len(ids) <= 8 for ids in short.tokenize(TEXTS))  # type: ignore[attr-defined]
    assert load_encoder(tiny_bert, normalize=False).name.endswith(":raw")
    assert load_encoder(tiny_bert, backend="onnx-int8").name == base.name + ":int8"


def test_save_and_reload_round_trip(tiny_bert: Path, tmp_path: Path) -> None:
    encoder = load_encoder(tiny_bert)
    assert isinstance(encoder, TextEncoder)
    saved = encoder.save(tmp_path / "saved")
    again = load_encoder(saved)
    np.testing.assert_allclose(again.encode(TEXTS), encoder.encode(TEXTS), atol=1e-6)
    with pytest.raises(EncoderError, match="not empty"):
        encoder.save(saved)


def test_torch_module_trains(tiny_bert: Path) -> None:
    import torch

    encoder = load_encoder(tiny_bert)
    assert isinstance(encoder, TextEncoder)
    module = encoder.torch_module()
    module.train()
    feed = {k: torch.from_numpy(v) for k, v in encoder.prepare(TEXTS[:3]).items()}
    out = module(**feed)
    assert out.shape == (3, 32)
    (out[0] @ out[1]).backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)
    module.eval()
    module.zero_grad()


def test_bad_inputs_and_specs_fail_clearly(tiny_bert: Path, tmp_path: Path) -> None:
    encoder = load_encoder(tiny_bert)
    with pytest.raises(EncoderError, match="input 1 is NoneType"):
        encoder.encode(["ok", None])  # type: ignore[list-item]
    with pytest.raises(EncoderError, match="not a single string"):
        encoder.encode("just one string")
    with pytest.raises(EncoderError, match="unknown encoder"):
        load_encoder("no-such-model")
    with pytest.raises(EncoderError, match=r"no config\.json"):
        load_encoder(tmp_path)
    with pytest.raises(EncoderError, match="unknown backend"):
        load_encoder(tiny_bert, backend="tensorflow")  # type: ignore[arg-type]
    assert {"minilm", "efficientnet-lite0"} <= set(available_encoders())
    assert resolve_device(None) == "cpu" and resolve_device("cpu") == "cpu"
    with pytest.raises(EncoderError, match="unknown device"):
        resolve_device("tpu")


def test_cuda_is_refused_clearly_when_missing() -> None:
    import torch

    if torch.cuda.is_available():
        assert resolve_device("cuda") == "cuda"
        assert resolve_device("auto") == "cuda"
    else:
        assert resolve_device("auto") == "cpu"
        with pytest.raises(EncoderError, match="CUDA is not available"):
            resolve_device("cuda")


def test_minilm_embeddings(minilm: TextEncoder) -> None:
    assert re.fullmatch(r"text:all-MiniLM-L6-v2@[0-9a-f]{12}:max_len=256", minilm.name)
    assert minilm.dim == 384 and minilm.max_length == 256
    texts = [
        "Sweet Rose, new in town, call me for a relaxing time",
        "Rose is new in town - call her for a relaxing time",
        "Quarterly earnings of the bank rose by three percent",
    ]
    vectors = minilm.encode(texts)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors, minilm.encode(texts))
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2 and sims[0, 1] > sims[1, 2] + 0.2


# Reference values computed with sentence-transformers 6.2.0 on the packaged model
# (SentenceTransformer(get_model_path()).encode(..., normalize_embeddings=True)): dims 0-7, the
# second text is longer than 256 tokens (checks truncation at max_seq_length).
ST_REFERENCE = {
    "Sweet Rose, new in town": [
        -0.067721, -0.073504, 0.029978, 0.025237, 0.00387, 0.02193, 0.015955, -0.027238,
    ],
    "x " * 400: [
        -0.002061, -0.037469, -0.031494, -0.042564, -0.100168, -0.082647, -0.03391, 0.000215,
    ],
}  # fmt: skip


def test_minilm_matches_sentence_transformers(minilm: TextEncoder) -> None:
    vectors = minilm.encode(list(ST_REFERENCE))
    expected = np.array(list(ST_REFERENCE.values()), dtype=np.float32)
    np.testing.assert_allclose(vectors[:, :8], expected, atol=2e-5)


def test_batch_encoder_for_map_batches(tiny_bert: Path) -> None:
    import pandas as pd
    import pyarrow as pa

    from vendorlink.encoders.batch import BatchEncoder, stack

    fn = BatchEncoder(str(tiny_bert), column="text")
    expected = fn.encoder.encode(TEXTS)
    as_dict = fn({"ad_id": np.arange(len(TEXTS)), "text": np.array(TEXTS, dtype=object)})
    np.testing.assert_allclose(as_dict["embedding"], expected, atol=1e-6)
    frame = fn(pd.DataFrame({"text": TEXTS}))
    np.testing.assert_allclose(stack(frame["embedding"]), expected, atol=1e-6)
    table = fn(pa.table({"text": TEXTS}))
    np.testing.assert_allclose(stack(table.column("embedding").to_pylist()), expected, atol=1e-6)
