"""Concurrent one-vector searches answered together, one index call per batch.

A flat FAISS search of one query reads every stored vector (memory-bound: ~29 MB at MATCHED
scale), so 50 clients asking at once cost 50 full scans. :class:`BatchedSearch` puts the
queries of concurrent requests in a queue; one worker thread takes every query waiting
(up to ``max_batch``), runs a single ``index.search`` over all of them (one scan, a matrix
product) and hands each request its own rows. A lone request is searched at once, so
nothing waits for a batch to fill. ``threads`` is the worker's FAISS (OpenMP) thread count:
OpenMP settings belong to the thread that makes them.

It has the ``search(vectors, k)`` method of :class:`vendorlink.link.EmbeddingIndex`, so
library helpers such as ``search_vector`` take it in place of the index; an ``async``
endpoint awaits :meth:`BatchedSearch.search_one` instead and holds no thread while waiting.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import numpy as np

Rows = tuple[np.ndarray, np.ndarray]  # one query's (ids, scores)
_Deliver = Callable[[Rows | None, BaseException | None], None]
_Request = tuple[np.ndarray, int, _Deliver]


class BatchedSearch:
    """See the module docstring; ``close()`` stops the worker thread."""

    def __init__(self, index: Any, max_batch: int = 64, threads: int | None = 1) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.index = index
        self.max_batch = max_batch
        self.threads = threads
        self.batches = 0  # index calls made (statistics for tests and the load benchmark)
        self.queries = 0
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="batched-search", daemon=True)
        self._closed = False
        self._lock = threading.Lock()  # no query is queued after the stop signal
        self._thread.start()

    @property
    def dim(self) -> int:
        return int(self.index.dim)

    def __len__(self) -> int:
        return len(self.index)

    def search(self, vectors: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``k`` of each query row: ``(ids, scores)`` as ``EmbeddingIndex.search``."""
        rows = np.asarray(vectors, dtype=np.float32)
        if rows.ndim != 2 or len(rows) != 1:
            return self.index.search(rows, k)  # several queries are one batch already
        done: Future[Rows] = Future()

        def deliver(result: Rows | None, error: BaseException | None) -> None:
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)  # type: ignore[arg-type]

        if not self._submit(rows[0], k, deliver):
            return self.index.search(rows, k)
        ids, scores = done.result()
        return ids[None, :], scores[None, :]

    async def search_one(self, vector: np.ndarray, k: int) -> Rows:
        """Top ``k`` of one query vector ``(dim,)``: ``(ids, scores)``, each ``(k,)``."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Rows] = loop.create_future()

        def settle(result: Rows | None, error: BaseException | None) -> None:
            if done.done():  # the awaiting request was cancelled
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)  # type: ignore[arg-type]

        def deliver(result: Rows | None, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(settle, result, error)

        row = np.asarray(vector, dtype=np.float32).reshape(-1)
        if not self._submit(row, k, deliver):
            ids, scores = self.index.search(row[None, :], k)
            return ids[0], scores[0]
        return await done

    def _submit(self, row: np.ndarray, k: int, deliver: _Deliver) -> bool:
        with self._lock:
            if self._closed:
                return False
            self._queue.put((row, k, deliver))
            return True

    def _run(self) -> None:
        if self.threads is not None:  # FAISS's OpenMP thread count is set per calling thread
            import faiss

            faiss.omp_set_num_threads(self.threads)
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._answer(batch)
            if stop:
                return

    def _answer(self, batch: list[_Request]) -> None:
        k = max(request[1] for request in batch)
        try:
            ids, scores = self.index.search(np.stack([request[0] for request in batch]), k)
        except Exception as exc:  # every waiting request gets the error, the worker goes on
            for _, _, deliver in batch:
                deliver(None, exc)
            return
        self.batches += 1
        self.queries += len(batch)
        for row, (_, wanted, deliver) in enumerate(batch):
            deliver((ids[row, :wanted], scores[row, :wanted]), None)

    def close(self) -> None:
        """Answer what is queued, then stop the worker (later searches go straight through)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=10)
