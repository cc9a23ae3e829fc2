"""The linked-ads fast path: neighbour table, batched index search, in-memory summaries."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from tests.browser import support
from tests.browser.support import AppHandle
from vendorlink.app.batching import BatchedSearch
from vendorlink.link import EmbeddingIndex
from vendorlink.link.neighbours import neighbour_table

app = support.app
tiny_setup = support.tiny_setup
tiny_trained = support.tiny_trained


def _vectors(n: int = 300, dim: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def test_neighbour_table_equals_exact_search() -> None:
    x = _vectors()
    index = EmbeddingIndex.build([f"a{i}" for i in range(len(x))], x, kind="flat")
    table = neighbour_table(x, k=7, block=64)  # several blocks, last one partial
    assert table is not None and table.positions.shape == (300, 7)
    ids, scores = index.search(x, 7)
    assert (np.array([f"a{p}" for p in table.positions.ravel()]) == ids.ravel()).all()
    np.testing.assert_allclose(table.scores, scores, atol=1e-5)
    assert (table.positions[:, 0] == np.arange(300)).all()  # each row is its own nearest


def test_neighbour_table_small_collection_and_stop() -> None:
    x = _vectors(n=4)
    table = neighbour_table(x, k=10)
    assert table is not None and table.k == 4  # k is capped at n
    assert sorted(table.positions[2].tolist()) == [0, 1, 2, 3]
    assert neighbour_table(_vectors(), k=3, block=16, should_stop=lambda: True) is None


def test_batched_search_answers_concurrent_queries_like_the_index() -> None:
    x = _vectors()
    index = EmbeddingIndex.build([f"a{i}" for i in range(len(x))], x, kind="flat")
    searcher = BatchedSearch(index, max_batch=16)
    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def ask(i: int) -> None:
        ids, scores = searcher.search(x[i][None, :], 5)
        results[i] = ids[0], scores[0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected_ids, expected_scores = index.search(x[:40], 5)
    for i in range(40):
        assert results[i][0].tolist() == expected_ids[i].tolist()
        np.testing.assert_allclose(results[i][1], expected_scores[i], atol=1e-6)
    assert searcher.queries == 40 and 1 <= searcher.batches <= 40

    async def ask_all() -> list[tuple[np.ndarray, np.ndarray]]:
        return await asyncio.gather(*(searcher.search_one(x[i], 3) for i in range(20)))

    for i, (ids, _) in enumerate(asyncio.run(ask_all())):
        assert ids.tolist() == expected_ids[i, :3].tolist()
    searcher.close()
    ids, _ = searcher.search(x[:1], 2)  # after close: searched directly, no hang
    assert ids[0, 0] == "a0"


def test_batched_search_passes_errors_to_every_waiting_request() -> None:
    class Broken:
        dim = 4

        def search(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            raise RuntimeError("index is broken")

    searcher = BatchedSearch(Broken())
    with pytest.raises(RuntimeError, match="index is broken"):
        searcher.search(np.ones((1, 4), dtype=np.float32), 2)
    with pytest.raises(RuntimeError, match="index is broken"):
        asyncio.run(searcher.search_one(np.ones(4, dtype=np.float32), 2))
    searcher.close()


def test_linked_from_table_equals_linked_from_search(app: AppHandle) -> None:
    services = app.services
    services.linked(app.phone_ad, 5)  # loads the index; the table builds in the background
    deadline = time.monotonic() + 60
    while not services.link_table_ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert services.link_table_ready()
    response = app.client.get("/api/overview", headers=app.headers)
    assert response.json()["link_table"] is True
    cache = services._link_cache()
    ads = list(cache.position)[:25]
    from_table = [services.linked(a, 8)["linked"] for a in ads]
    table, cache.table = cache.table, None  # the same questions through the index search
    try:
        from_search = [services.linked(a, 8)["linked"] for a in ads]
    finally:
        cache.table = table
    for got, want in zip(from_table, from_search, strict=True):
        np.testing.assert_allclose([h["score"] for h in got], [h["score"] for h in want], atol=1e-5)
        last = want[-1]["score"] + 1e-5  # ads tied at the cut may swap; the rest may not

        def above(hits: list[dict], last: float = last) -> dict[str, str]:
            return {h["ad_id"]: h["snippet"] for h in hits if h["score"] > last}

        assert above(got) == above(want)
    via_api = app.client.get(f"/api/ads/{ads[0]}/linked", params={"k": 8}, headers=app.headers)
    assert via_api.json()["linked"] == from_table[0]


def test_summaries_come_from_memory_and_match_the_database(app: AppHandle) -> None:
    from vendorlink.app import queries

    services = app.services
    ids = list(services._link_cache().position)[:10]
    got = services.summaries([*ids, "no-such-ad"])
    assert set(got) == set(ids)
    rows = queries.ad_summaries(services.cursor(), ids)
    for ad_id in ids:
        assert got[ad_id] == services._summary(rows[ad_id])
