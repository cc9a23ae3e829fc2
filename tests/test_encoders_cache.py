"""The workspace embedding cache: nothing encoded twice, resumable, clear errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pytest

from tests.test_encoders_image import make_tiny_vit
from tests.test_encoders_text import make_tiny_bert
from vendorlink.data.ingest import ingest
from vendorlink.data.workspace import Workspace
from vendorlink.encoders import (
    EmbeddingStore,
    Encoder,
    EncoderError,
    cache_info,
    embed_ads,
    embed_images,
    load_encoder,
)
from vendorlink.encoders.cache import text_key
from vendorlink.errors import InputError, StageOrderError

MASKED = {
    "a1": "Sweet Rose [SEP] call [PHONE]",
    "a2": "Sweet Rose [SEP] call [PHONE]",
    "a3": "Lily [SEP] text only ad, [EMAIL]",
    "a4": "",
}


class Counting:
    """Wraps an encoder and counts the inputs it is asked to encode."""

    def __init__(self, inner: Encoder, fail_on_call: int | None = None) -> None:
        self.inner = inner
        self.items = 0
        self.calls = 0
        self.fail_on_call = fail_on_call

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def dim(self) -> int:
        return self.inner.dim

    @property
    def modality(self) -> str:
        return self.inner.modality

    def encode(self, batch: Sequence[Any], *, batch_size: int | None = None) -> np.ndarray:
        self.calls += 1
        if self.calls == self.fail_on_call:
            raise KeyboardInterrupt
        self.items += len(batch)
        return self.inner.encode(batch, batch_size=batch_size)


@pytest.fixture(scope="module")
def text_encoder(tmp_path_factory: pytest.TempPathFactory) -> Encoder:
    return load_encoder(make_tiny_bert(tmp_path_factory.mktemp("models") / "tiny-bert"))


@pytest.fixture(scope="module")
def vit_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_vit(tmp_path_factory.mktemp("models") / "tiny-vit")


@pytest.fixture
def ingested(workspace: Workspace, ad_folder: Path) -> Workspace:
    ingest(workspace, ad_folder / "ads.csv")
    return workspace


def add_fields(ws: Workspace, masked: dict[str, str]) -> None:
    with ws.connect() as con:
        for ad_id, text in masked.items():
            con.execute("INSERT INTO fields (ad_id, masked_text) VALUES (?, ?)", [ad_id, text])


def test_embed_ads_encodes_each_distinct_text_once(
    ingested: Workspace, text_encoder: Encoder
) -> None:
    add_fields(ingested, MASKED)
    counting = Counting(text_encoder)
    ids, matrix = embed_ads(ingested, counting, batch_size=2)  # type: ignore[arg-type]
    assert ids == ["a1", "a2", "a3"]  # a4 has no text: left out, not a blank vector
    assert matrix.shape == (3, text_encoder.dim) and matrix.dtype == np.float32
    assert counting.items == 2  # a1 and a2 share their masked text
    expected = text_encoder.encode([MASKED["a1"], MASKED["a3"]])
    np.testing.assert_allclose(matrix, expected[[0, 0, 1]], atol=1e-6)

    again_ids, again = embed_ads(ingested, counting)  # type: ignore[arg-type]
    assert counting.items == 2 and again_ids == ids  # second call: nothing encoded
    np.testing.assert_array_equal(again, matrix)

    raw_ids, _ = embed_ads(ingested, counting, use="text")  # type: ignore[arg-type]
    assert raw_ids == ["a1", "a2", "a3"] and counting.items == 4  # two new raw texts
    all_ids, with_blank = embed_ads(ingested, counting, skip_empty=False)  # type: ignore[arg-type]
    assert all_ids == ["a1", "a2", "a3", "a4"] and counting.items == 5
    np.testing.assert_allclose(with_blank[3], text_encoder.encode([""])[0], atol=1e-6)

    picked, rows = embed_ads(ingested, counting, ad_ids=["a3", "a1"])  # type: ignore[arg-type]
    assert picked == ["a3", "a1"] and counting.items == 5
    np.testing.assert_array_equal(rows, matrix[[2, 0]])
    with pytest.raises(InputError, match="not in the workspace"):
        embed_ads(ingested, counting, ad_ids=["nope"])  # type: ignore[arg-type]


def test_missing_masked_text_asks_for_extract(ingested: Workspace, text_encoder: Encoder) -> None:
    add_fields(ingested, {"a1": MASKED["a1"]})
    with pytest.raises(StageOrderError, match="vendorlink extract"):
        embed_ads(ingested, text_encoder)
    ids, _ = embed_ads(ingested, text_encoder, use="text")  # raw text needs no extract
    assert ids == ["a1", "a2", "a3"]


def test_interrupted_embedding_resumes_where_it_stopped(
    ingested: Workspace, text_encoder: Encoder
) -> None:
    add_fields(ingested, MASKED)
    failing = Counting(text_encoder, fail_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        embed_ads(ingested, failing, flush_every=1)  # type: ignore[arg-type]
    store = EmbeddingStore.for_workspace(ingested, text_encoder)
    assert len(store.shards()) == 1 and len(store) == 1  # the first text was kept
    assert not list(store.folder.glob(".*"))  # no temporary file left behind
    resumed = Counting(text_encoder)
    ids, _ = embed_ads(ingested, resumed, flush_every=1)  # type: ignore[arg-type]
    assert resumed.items == 1 and ids == ["a1", "a2", "a3"]


def test_embed_images_encodes_each_distinct_image_once(
    ingested: Workspace, vit_folder: Path
) -> None:
    encoder = load_encoder(vit_folder)
    counting = Counting(encoder)
    ids, matrix = embed_images(ingested, counting, batch_size=2)  # type: ignore[arg-type]
    with ingested.connect(read_only=True) as con:
        distinct = [
            r[0] for r in con.execute("SELECT DISTINCT image_id FROM images ORDER BY 1").fetchall()
        ]
    assert ids == distinct and len(ids) == 3  # red and green are shared by a1 and a2
    assert counting.items == 3 and matrix.shape == (3, encoder.dim)
    embed_images(ingested, counting)  # type: ignore[arg-type]
    assert counting.items == 3
    with pytest.raises(EncoderError, match="embed_images needs an image encoder"):
        embed_images(ingested, load_encoder(make_tiny_bert(ingested.path.parent / "tb")))


def test_unreadable_images_raise_or_are_skipped(
    ingested: Workspace, vit_folder: Path, ad_folder: Path
) -> None:
    (ad_folder / "images" / "blue.jpg").unlink()
    encoder = load_encoder(vit_folder)
    with pytest.raises(EncoderError, match=r"blue\.jpg"):
        embed_images(ingested, encoder)
    ids, matrix = embed_images(ingested, encoder, on_error="skip")
    assert len(ids) == 2 and matrix.shape == (2, encoder.dim)


def test_store_round_trip_compaction_and_sql(tmp_path: Path) -> None:
    store = EmbeddingStore(tmp_path, "text:test@000000000000:max_len=8", dim=4)
    rng = np.random.default_rng(0)
    a, b = (
        rng.standard_normal((3, 4)).astype(np.float32),
        rng.standard_normal((2, 4)).astype(np.float32),
    )
    store.add(["k1", "k2", "k3"], a)
    store.add(["k4", "k5"], b)
    assert store.missing(["k5", "k9", "k1", "k9"]) == ["k9"]
    got = store.get(["k5", "k1", "k5", "k3"])
    np.testing.assert_array_equal(got, np.stack([b[1], a[0], b[1], a[2]]))
    with pytest.raises(KeyError, match="1 keys"):
        store.get(["k1", "zz"])
    store.add(["k1"], a[:1])  # a duplicate shard (e.g. two writers) is harmless
    store.compact()
    assert len(store.shards()) == 1 and store.keys() == {"k1", "k2", "k3", "k4", "k5"}
    np.testing.assert_array_equal(store.get(["k1", "k4"]), np.stack([a[0], b[0]]))
    pattern = str(store.folder / "part-*.parquet")
    rows = duckdb.sql(f"SELECT key, vector FROM read_parquet('{pattern}') ORDER BY key").fetchall()
    assert [r[0] for r in rows] == ["k1", "k2", "k3", "k4", "k5"] and len(rows[0][1]) == 4
    with pytest.raises(EncoderError, match="not 'text:test"):
        EmbeddingStore(tmp_path, "text:test@000000000000:max_len=8", dim=5)
    with pytest.raises(EncoderError, match="expected dim 4"):
        store.add(["x"], np.zeros((1, 3), np.float32))
    with pytest.raises(EncoderError, match="non-finite"):
        store.add(["x"], np.full((1, 4), np.nan, np.float32))


def test_cache_info_lists_encoders(ingested: Workspace, text_encoder: Encoder) -> None:
    embed_ads(ingested, text_encoder, use="text")
    (info,) = cache_info(ingested)
    assert info["encoder"] == text_encoder.name and info["vectors"] == 2 and info["dim"] == 32
    assert text_key("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d"


def test_embedding_inside_a_recorded_run(ingested: Workspace, text_encoder: Encoder) -> None:
    add_fields(ingested, MASKED)
    with ingested.run("embed", {"encoder": text_encoder.name}) as run:
        ids, _ = embed_ads(ingested, text_encoder, con=run.con, stats=run.stats)
    assert ids == ["a1", "a2", "a3"]
    assert run.stats == {
        "encoder": text_encoder.name,
        "ads": 3,
        "distinct_inputs": 2,
        "encoded": 2,
    }
