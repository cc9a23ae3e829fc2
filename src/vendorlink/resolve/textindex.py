"""A compact index of one text field: word unigram / bigram sets and token sequences.

Built in chunks (bounded memory; no per-record Python lists are kept), so a million ads fit
in a few hundred megabytes:

- ``unigrams`` / ``bigrams``: binary CSR matrices, records x distinct word n-grams
  (column ids are arbitrary but fixed within the index);
- ``sequences``: the first ``max_len`` token ids of each record (``-1`` padded) and
  ``lengths`` (tokens kept), for the longest-common-substring feature;
- ``n_tokens``: all tokens of each record.

Tokens are those of :func:`vendorlink.resolve.records.tokenize` (lower-case runs of
letters and digits). :class:`~vendorlink.resolve.records.RecordTable` builds one lazily per
text field and serves ``set_matrix`` (n = 1, 2) and the token features from it; blocking
feeds its ``(record, n-gram id)`` rows to DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain, pairwise

import numpy as np
from scipy import sparse

MAX_SEQUENCE = 64
CHUNK = 50_000


@dataclass
class TextIndex:
    """Unigram and bigram sets and the leading token ids of each record of one text field."""

    unigrams: sparse.csr_matrix
    bigrams: sparse.csr_matrix
    sequences: np.ndarray
    lengths: np.ndarray
    n_tokens: np.ndarray
    vocab: dict[str, int] = field(default_factory=dict, repr=False)
    bigram_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False)

    def columns(self, text: str | None, n: int) -> np.ndarray:
        """Column ids, in this index, of the distinct ``n``-grams of ``text`` that it holds
        (n-grams it has never seen are left out): maps a new record onto the index."""
        from vendorlink.resolve.records import tokenize

        ids = np.array([self.vocab.get(t, -1) for t in tokenize(text or "")], dtype=np.int64)
        if n == 1:
            return np.unique(ids[ids >= 0])
        pair = (ids[:-1] >= 0) & (ids[1:] >= 0)
        codes = np.unique((ids[:-1][pair] << np.int64(32)) | ids[1:][pair])
        pos = np.searchsorted(self.bigram_codes, codes)
        pos = np.minimum(pos, max(len(self.bigram_codes) - 1, 0))
        hit = (len(self.bigram_codes) > 0) & (self.bigram_codes[pos] == codes)
        return pos[hit] if len(codes) else np.zeros(0, np.int64)

    def ngram_matrix(self, n: int) -> sparse.csr_matrix:
        if n == 1:
            return self.unigrams
        if n == 2:
            return self.bigrams
        raise ValueError(f"the text index holds unigrams and bigrams, not {n}-grams")


def _dedupe_rows(rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct ``(row, col)`` pairs sorted by row then col."""
    if len(rows) == 0:
        return rows, cols
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return rows[keep], cols[keep]


def _csr(rows: np.ndarray, cols: np.ndarray, n_rows: int, n_cols: int) -> sparse.csr_matrix:
    indptr = np.zeros(n_rows + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=indptr[1:])
    data = np.ones(len(cols), dtype=np.float32)
    return sparse.csr_matrix(
        (data, cols.astype(np.int32), indptr), shape=(n_rows, max(int(n_cols), 1))
    )


def _tokenize_part(texts: Sequence[str | None]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Tokens of ``texts`` as ids into a local vocabulary: (vocabulary, counts, flat ids)."""
    from vendorlink.resolve.records import tokenize

    vocab: dict[str, int] = {}
    counts = np.zeros(len(texts), dtype=np.int64)
    flats = []
    for start in range(0, len(texts), CHUNK):
        ids = [[vocab.setdefault(t, len(vocab)) for t in tokenize(x or "")]
               for x in texts[start : start + CHUNK]]  # fmt: skip
        part = np.fromiter((len(r) for r in ids), dtype=np.int64, count=len(ids))
        counts[start : start + len(ids)] = part
        flats.append(np.fromiter(chain.from_iterable(ids), dtype=np.int32, count=int(part.sum())))
    flat = np.concatenate(flats) if flats else np.zeros(0, np.int32)
    return list(vocab), counts, flat


_PARTS: list[Sequence[str | None]] = []


def _tokenize_shared(i: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    return _tokenize_part(_PARTS[i])


def _tokenize(
    texts: Sequence[str | None], workers: int
) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    """Global vocabulary, token counts per record and flat token ids (``workers`` forked
    processes tokenise contiguous parts; their vocabularies are merged here)."""
    n = len(texts)
    if workers > 1 and n >= 4 * CHUNK:
        import multiprocessing as mp

        bounds = np.linspace(0, n, workers + 1).astype(int)
        _PARTS[:] = [texts[a:b] for a, b in pairwise(bounds.tolist())]
        try:
            with mp.get_context("fork").Pool(workers) as pool:
                parts = pool.map(_tokenize_shared, range(workers))
        finally:
            _PARTS.clear()
    else:
        parts = [_tokenize_part(texts)]
    vocab: dict[str, int] = {}
    counts, flats = [], []
    for tokens, part_counts, flat in parts:
        lut = np.array([vocab.setdefault(t, len(vocab)) for t in tokens], dtype=np.int64)
        counts.append(part_counts)
        flats.append(lut[flat] if len(flat) else np.zeros(0, np.int64))
    return vocab, np.concatenate(counts), np.concatenate(flats)


def build_text_index(
    texts: Sequence[str | None], max_len: int = MAX_SEQUENCE, workers: int = 1
) -> TextIndex:
    """Index ``texts`` (``None`` = empty); tokenising in ``workers`` processes."""
    n = len(texts)
    vocab, n_tokens, flat = _tokenize(texts, workers)
    rows = np.repeat(np.arange(n, dtype=np.int64), n_tokens)
    starts = np.repeat(np.cumsum(n_tokens) - n_tokens, n_tokens)
    pos = np.arange(len(flat), dtype=np.int64) - starts
    del starts
    sequences = np.full((n, max(max_len, 1)), -1, dtype=np.int32)
    lengths = np.minimum(n_tokens, max_len)
    head = pos < max_len
    sequences[rows[head], pos[head]] = flat[head]
    del head
    r, c = _dedupe_rows(rows, flat)
    unigrams = _csr(r, c, n, len(vocab))
    del r, c
    nxt = np.flatnonzero(pos[1:] != 0)  # token i and i+1 of one record (i+1 not a start)
    del pos
    codes = (flat[nxt] << np.int64(32)) | flat[nxt + 1]
    r, codes = _dedupe_rows(rows[nxt], codes)
    del rows, nxt, flat
    uniq, cols = np.unique(codes, return_inverse=True)
    bigrams = _csr(r, cols.astype(np.int64), n, len(uniq))
    return TextIndex(unigrams, bigrams, sequences, lengths, n_tokens, vocab, uniq)
