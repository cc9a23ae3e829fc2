"""The FAISS embedding index: exact search, approximate recall, save/load, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vendorlink.errors import InputError
from vendorlink.link import EmbeddingIndex


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Vectors around 50 centres (like ads around vendors)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, dim))
    return unit(centres[rng.integers(0, 50, n)] + 0.5 * rng.normal(size=(n, dim)))


def test_flat_index_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    docs = rng.normal(size=(300, 24))
    queries = rng.normal(size=(20, 24))
    ids = [f"d{i}" for i in range(300)]
    index = EmbeddingIndex.build(ids, docs)
    assert index.kind == "flat" and len(index) == 300
    found, scores = index.search(queries, 7)
    sims = unit(queries) @ unit(docs).T
    expected = np.argsort(-sims, axis=1)[:, :7]
    assert found.tolist() == [[ids[j] for j in row] for row in expected]
    np.testing.assert_allclose(scores, np.take_along_axis(sims, expected, 1), atol=1e-5)


def test_k_larger_than_the_collection_is_padded() -> None:
    index = EmbeddingIndex.build(["a", "b"], np.eye(2))
    ids, scores = index.search(np.array([[1.0, 0.1]]), 4)
    assert ids[0].tolist() == ["a", "b", None, None]
    assert np.isinf(scores[0, 2:]).all()


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_recall_at_10(kind: str) -> None:
    docs, queries = clustered(4000, 32, 1), clustered(200, 32, 2)
    ids = [str(i) for i in range(len(docs))]
    exact, _ = EmbeddingIndex.build(ids, docs, kind="flat").search(queries, 10)
    approx, _ = EmbeddingIndex.build(ids, docs, kind=kind).search(queries, 10)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact, strict=True)])
    assert recall >= 0.9, recall


def test_auto_picks_hnsw_above_the_flat_limit() -> None:
    docs = clustered(300, 8, 0)
    index = EmbeddingIndex.build([str(i) for i in range(300)], docs, flat_limit=100)
    assert index.kind == "hnsw"


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_and_load_give_the_same_results(tmp_path: Path, kind: str) -> None:
    docs, queries = clustered(500, 16, 3), clustered(10, 16, 4)
    index = EmbeddingIndex.build([f"x{i}" for i in range(500)], docs, kind=kind)
    index.save(tmp_path / "idx", note="test")
    loaded = EmbeddingIndex.load(tmp_path / "idx")
    assert loaded.kind == kind and loaded.params == index.params
    assert EmbeddingIndex.read_meta(tmp_path / "idx")["note"] == "test"
    a, sa = index.search(queries, 5)
    b, sb = loaded.search(queries, 5)
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(sa, sb)


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError, match="unique"):
        EmbeddingIndex.build(["a", "a"], np.eye(2))
    with pytest.raises(InputError, match="all-zero rows"):
        EmbeddingIndex.build(["a", "b"], np.array([[1.0, 0.0], [0.0, 0.0]]))
    index = EmbeddingIndex.build(["a", "b"], np.eye(2))
    with pytest.raises(InputError, match="dim"):
        index.search(np.ones((1, 3)), 1)
    with pytest.raises(InputError, match="kind"):
        EmbeddingIndex.build(["a"], np.eye(1), kind="lsh")  # type: ignore[arg-type]
