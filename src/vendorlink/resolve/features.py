"""Pair features, computed in vectorised batches (NumPy, SciPy sparse, rapidfuzz ``cpdist``).

One :class:`~vendorlink.resolve.settings.Comparison` gives one feature column. Missing
values give NaN (the match function imputes them). Definitions, for a pair (a, b):

- ``exact``: 1 if the values are equal, else 0.
- ``jaro_winkler`` / ``levenshtein``: normalised similarity in [0, 1] of the lower-cased
  strings (rapidfuzz ``JaroWinkler`` / ``Levenshtein``).
- ``token_set_ratio``: rapidfuzz ``fuzz.token_set_ratio`` / 100 of the lower-cased strings.
- ``jaccard``: |A ∩ B| / |A ∪ B| of sets: word ``ngram``-grams of text, list values, hashes.
- ``char_jaccard``: the same over character ``ngram``-grams (default 1; use 3 for trigrams).
- ``lcs``: length of the longest common *substring* (contiguous run) of the two token
  sequences (``unit: token``, default) or character sequences (``unit: char``), each cut
  to its first ``max_len`` items, divided by the shorter length (1 = one contains the other).
- ``count_diff``: |count(a) - count(b)| of ``special_chars`` (neither letter, digit nor
  space), ``unique_tokens``, ``tokens`` or ``chars`` of the text (Nagpal Table 2).
- ``abs_diff``: |a - b| of numbers; of timestamps in ``days`` (default) or ``hours``.
- ``same_day``: 1 if both timestamps fall on the same calendar day (UTC).
- ``both_present`` / ``either_present``: 1 if both / at least one record has the field.
- ``shared_count``: number of values (list) or identical hashes (hash list) in common.
- ``min_hamming``: smallest Hamming distance between any hash of a and any hash of b
  (at most the first 16 hashes of each record are used).
- ``near_count``: number of hash pairs (one of a, one of b) within ``max_hamming`` bits.
- ``cosine``: cosine similarity of the embeddings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from vendorlink.resolve.records import RecordTable, count_special_chars
from vendorlink.resolve.settings import Comparison
from vendorlink.resolve.textindex import MAX_SEQUENCE

MAX_HASHES = 16
_LCS_CHUNK = 2048


class PairFeaturizer:
    """Turns pairs of record positions into a feature matrix, one column per comparison."""

    def __init__(self, comparisons: Sequence[Comparison], *, workers: int = 1) -> None:
        unknown = [c.kind for c in comparisons if c.kind not in _FUNCTIONS]
        if unknown:
            raise ValueError(f"unknown comparison kinds {unknown}")
        self.comparisons = list(comparisons)
        self.workers = workers

    @property
    def feature_names(self) -> list[str]:
        return [c.label for c in self.comparisons]

    def transform(
        self,
        records: RecordTable,
        left: np.ndarray,
        right: np.ndarray,
        *,
        batch_size: int = 50000,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Feature matrix ``(n_pairs, n_features)`` (float32) for pairs ``(left[i], right[i])``."""
        left = np.asarray(left, dtype=np.int64)
        right = np.asarray(right, dtype=np.int64)
        out = np.empty((len(left), len(self.comparisons)), dtype=np.float32)
        for start in range(0, len(left), batch_size):
            sl = slice(start, start + batch_size)
            for j, comp in enumerate(self.comparisons):
                out[sl, j] = _FUNCTIONS[comp.kind](records, comp, left[sl], right[sl], self)
            if progress is not None:
                progress(len(left[sl]))
        return out

    def transform_frame(
        self, records: RecordTable, left: np.ndarray, right: np.ndarray
    ) -> pd.DataFrame:
        return pd.DataFrame(self.transform(records, left, right), columns=self.feature_names)


# ---- per-record preparations, cached on the record table ---------------------------------
def _cached(records: RecordTable, key: tuple, build: Callable[[], object]) -> object:
    if key not in records._cache:
        records._cache[key] = build()
    return records._cache[key]


def _lower_strings(records: RecordTable, name: str) -> np.ndarray:
    def build() -> np.ndarray:
        return np.array([(s or "").lower() for s in records.values[name]], dtype=object)

    return _cached(records, ("lower", name), build)  # type: ignore[return-value]


def _codes(records: RecordTable, name: str) -> np.ndarray:
    def build() -> np.ndarray:
        vals = records.values[name]
        if records.kind(name) == "text":
            vals = np.array([v or None for v in vals], dtype=object)
        codes, _ = pd.factorize(pd.Series(vals, dtype=object), use_na_sentinel=True)
        return codes

    return _cached(records, ("codes", name), build)  # type: ignore[return-value]


def _sequences(
    records: RecordTable, name: str, unit: str, max_len: int
) -> tuple[np.ndarray, np.ndarray]:
    def build() -> tuple[np.ndarray, np.ndarray]:
        if unit != "char" and max_len <= MAX_SEQUENCE and records.kind(name) == "text":
            index = records.text_index(name)
            width = max(int(index.lengths.max(initial=0)), 1)
            lengths = np.minimum(index.lengths, max_len)
            return np.ascontiguousarray(index.sequences[:, : min(width, max_len)]), lengths
        if unit == "char":
            seqs = [[ord(ch) for ch in (s or "").lower()[:max_len]] for s in records.values[name]]
        else:
            vocab: dict[str, int] = {}
            seqs = [
                [vocab.setdefault(t, len(vocab)) for t in toks[:max_len]]
                for toks in records.tokens(name)
            ]
        lengths = np.array([len(s) for s in seqs], dtype=np.int64)
        mat = np.full((len(seqs), max(int(lengths.max(initial=0)), 1)), -1, dtype=np.int32)
        for i, s in enumerate(seqs):
            mat[i, : len(s)] = s
        return mat, lengths

    return _cached(records, ("seq", name, unit, max_len), build)  # type: ignore[return-value]


def _hash_matrix(records: RecordTable, name: str) -> tuple[np.ndarray, np.ndarray]:
    def build() -> tuple[np.ndarray, np.ndarray]:
        lists = records.values[name]
        counts = np.array([min(len(h), MAX_HASHES) for h in lists], dtype=np.int64)
        mat = np.zeros((len(lists), max(int(counts.max(initial=0)), 1)), dtype=np.uint64)
        for i, h in enumerate(lists):
            mat[i, : counts[i]] = h[:MAX_HASHES]
        return mat, counts

    return _cached(records, ("hashes", name), build)  # type: ignore[return-value]


def _text_counts(records: RecordTable, name: str, what: str) -> np.ndarray:
    def build() -> np.ndarray:
        texts = records.values[name]
        if what == "special_chars":
            vals = [count_special_chars(t or "") for t in texts]
        elif what == "unique_tokens" and records.kind(name) == "text":
            vals = np.diff(records.text_index(name).unigrams.indptr)
        elif what == "unique_tokens":
            vals = [len(set(t)) for t in records.tokens(name)]
        elif what == "tokens" and records.kind(name) == "text":
            vals = records.text_index(name).n_tokens
        elif what == "tokens":
            vals = [len(t) for t in records.tokens(name)]
        elif what == "chars":
            vals = [len(t or "") for t in texts]
        else:
            raise ValueError(f"count_diff: unknown count {what!r}")
        out = np.array(vals, dtype=np.float64)
        out[~records.present(name)] = np.nan
        return out

    return _cached(records, ("count", name, what), build)  # type: ignore[return-value]


def _unit_embeddings(records: RecordTable, name: str) -> np.ndarray:
    def build() -> np.ndarray:
        emb = records.values[name].astype(np.float32)
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)

    return _cached(records, ("unit", name), build)  # type: ignore[return-value]


# ---- comparison functions -----------------------------------------------------------------
def _nan_where(out: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = out.astype(np.float64, copy=False)
    out[missing] = np.nan
    return out


def _exact(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    if rec.kind(c.field) in ("number", "timestamp"):
        v = rec.values[c.field]
        a, b = v[li], v[ri]
        return _nan_where((a == b).astype(np.float64), np.isnan(a) | np.isnan(b))
    codes = _codes(rec, c.field)
    a, b = codes[li], codes[ri]
    return _nan_where((a == b).astype(np.float64), (a < 0) | (b < 0))


def _string_similarity(scorer: Callable, scale: float) -> Callable:
    def compute(
        rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, f: PairFeaturizer
    ) -> np.ndarray:
        s = _lower_strings(rec, c.field)
        a, b = s[li], s[ri]
        present = rec.present(c.field)
        if len(li) == 0:
            return np.zeros(0)
        out = process.cpdist(list(a), list(b), scorer=scorer, workers=f.workers)
        return _nan_where(np.asarray(out, dtype=np.float64) / scale, ~(present[li] & present[ri]))

    return compute


def row_intersections(mat, li: np.ndarray, ri: np.ndarray) -> np.ndarray:
    """|row li ∩ row ri| of a binary CSR matrix, for each pair (vectorised)."""
    if len(li) == 0:
        return np.zeros(0)
    return np.asarray(mat[li].multiply(mat[ri]).sum(axis=1)).ravel()


def _jaccard(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    mat = rec.set_matrix(c.field, c.ngram, char=c.kind == "char_jaccard")
    inter = row_intersections(mat, li, ri)
    sizes = np.diff(mat.indptr)
    union = sizes[li] + sizes[ri] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inter / union
    return _nan_where(out, union == 0)


def _shared_count(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    return row_intersections(rec.set_matrix(c.field), li, ri).astype(np.float64)


def longest_common_substring(
    a: np.ndarray, b: np.ndarray, len_a: np.ndarray, len_b: np.ndarray
) -> np.ndarray:
    """Longest common contiguous run of rows ``a[i]`` and ``b[i]`` (batched dynamic program).

    ``a`` and ``b`` are integer matrices padded after ``len_a[i]`` / ``len_b[i]`` items. One
    NumPy step per position of ``a``: ``run[i, j] = run[i-1, j-1] + 1`` where the items are
    equal, else 0; the answer is the largest run seen.
    """
    p, t = a.shape
    if p == 0:
        return np.zeros(0, dtype=np.int64)
    cols = np.arange(b.shape[1])
    a = np.where(np.arange(t) < len_a[:, None], a, -1)
    b = np.where(cols < len_b[:, None], b, -2)  # pads never match each other
    dtype = np.uint8 if t < 255 else np.uint16
    prev = np.zeros((p, b.shape[1] + 1), dtype=dtype)
    cur = np.zeros_like(prev)
    best = np.zeros(p, dtype=dtype)
    for i in range(int(len_a.max(initial=0))):
        eq = a[:, i : i + 1] == b
        np.add(prev[:, :-1], 1, out=cur[:, 1:])
        cur[:, 1:] *= eq
        np.maximum(best, cur[:, 1:].max(axis=1), out=best)
        prev, cur = cur, prev
    return best.astype(np.int64)


def _lcs(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    unit = c.unit or "token"
    mat, lengths = _sequences(rec, c.field, unit, c.max_len)
    la, lb = lengths[li], lengths[ri]
    best = np.zeros(len(li), dtype=np.float64)
    order = np.argsort(np.maximum(la, lb), kind="stable")  # similar lengths share a chunk
    for start in range(0, len(order), _LCS_CHUNK):
        idx = order[start : start + _LCS_CHUNK]
        width = max(int(np.maximum(la[idx], lb[idx]).max(initial=0)), 1)
        best[idx] = longest_common_substring(
            mat[li[idx], :width], mat[ri[idx], :width], la[idx], lb[idx]
        )
    shorter = np.minimum(la, lb)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = best / shorter
    return _nan_where(out, shorter == 0)


def _count_diff(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    v = _text_counts(rec, c.field, c.what)
    return np.abs(v[li] - v[ri])


def _abs_diff(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    v = rec.values[c.field]
    out = np.abs(v[li] - v[ri])
    if rec.kind(c.field) == "timestamp":
        out = out / (3600.0 if c.unit == "hours" else 86400.0)
    return out


def _same_day(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    day = np.floor(rec.values[c.field] / 86400.0)
    a, b = day[li], day[ri]
    return _nan_where((a == b).astype(np.float64), np.isnan(a) | np.isnan(b))


def _both_present(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    p = rec.present(c.field)
    return (p[li] & p[ri]).astype(np.float64)


def _either_present(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    p = rec.present(c.field)
    return (p[li] | p[ri]).astype(np.float64)


def _hamming_block(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    mat, counts = _hash_matrix(rec, c.field)
    k = mat.shape[1]
    dist = np.bitwise_count(mat[li][:, :, None] ^ mat[ri][:, None, :]).astype(np.int16)
    valid = (np.arange(k)[None, :, None] < counts[li][:, None, None]) & (
        np.arange(k)[None, None, :] < counts[ri][:, None, None]
    )
    return dist, valid


def _min_hamming(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    out = np.full(len(li), np.nan)
    for start in range(0, len(li), 8192):
        sl = slice(start, start + 8192)
        dist, valid = _hamming_block(rec, c, li[sl], ri[sl])
        best = np.where(valid, dist, 999).reshape(len(dist), -1).min(axis=1, initial=999)
        out[sl] = np.where(best == 999, np.nan, best)
    return out


def _near_count(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    out = np.zeros(len(li))
    for start in range(0, len(li), 8192):
        sl = slice(start, start + 8192)
        dist, valid = _hamming_block(rec, c, li[sl], ri[sl])
        out[sl] = ((dist <= c.max_hamming) & valid).reshape(len(dist), -1).sum(axis=1)
    return out


def _cosine(
    rec: RecordTable, c: Comparison, li: np.ndarray, ri: np.ndarray, _: PairFeaturizer
) -> np.ndarray:
    emb = _unit_embeddings(rec, c.field)
    out = np.einsum("ij,ij->i", emb[li], emb[ri]).astype(np.float64)
    p = rec.present(c.field)
    return _nan_where(out, ~(p[li] & p[ri]))


_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {
    "exact": _exact,
    "jaro_winkler": _string_similarity(JaroWinkler.normalized_similarity, 1.0),
    "levenshtein": _string_similarity(Levenshtein.normalized_similarity, 1.0),
    "token_set_ratio": _string_similarity(fuzz.token_set_ratio, 100.0),
    "jaccard": _jaccard,
    "char_jaccard": _jaccard,
    "lcs": _lcs,
    "count_diff": _count_diff,
    "abs_diff": _abs_diff,
    "same_day": _same_day,
    "both_present": _both_present,
    "either_present": _either_present,
    "shared_count": _shared_count,
    "min_hamming": _min_hamming,
    "near_count": _near_count,
    "cosine": _cosine,
}
