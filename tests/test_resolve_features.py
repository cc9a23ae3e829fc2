"""Vectorised pair features equal a slow one-pair-at-a-time reference."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

from vendorlink.resolve.features import PairFeaturizer, longest_common_substring
from vendorlink.resolve.records import RecordTable, count_special_chars, tokenize
from vendorlink.resolve.settings import Comparison, FieldSpec

FIELDS = [
    FieldSpec("text", "text"),
    FieldSpec("name", "string"),
    FieldSpec("city", "category"),
    FieldSpec("rates", "string_list"),
    FieldSpec("hashes", "hash_list"),
    FieldSpec("posted_at", "timestamp"),
    FieldSpec("age", "number"),
    FieldSpec("emb", "embedding"),
]

COMPARISONS = [
    Comparison("exact", "city"),
    Comparison("exact", "age"),
    Comparison("jaro_winkler", "name"),
    Comparison("levenshtein", "name"),
    Comparison("token_set_ratio", "text"),
    Comparison("jaccard", "text"),
    Comparison("jaccard", "text", ngram=2),
    Comparison("char_jaccard", "name", ngram=2),
    Comparison("jaccard", "rates"),
    Comparison("lcs", "text", unit="token", max_len=64),
    Comparison("lcs", "text", unit="char", max_len=300),
    Comparison("count_diff", "text", what="special_chars"),
    Comparison("count_diff", "text", what="unique_tokens"),
    Comparison("abs_diff", "posted_at"),
    Comparison("abs_diff", "age"),
    Comparison("same_day", "posted_at"),
    Comparison("both_present", "rates"),
    Comparison("either_present", "rates"),
    Comparison("shared_count", "rates"),
    Comparison("shared_count", "hashes"),
    Comparison("min_hamming", "hashes"),
    Comparison("near_count", "hashes", max_hamming=4),
    Comparison("cosine", "emb"),
]


def records() -> RecordTable:
    rows = [
        ("a", "Sweet ROSE ❤❤ new in town!! call now", "Rose", "houston", ["150", "200"],
         ["00000000000000ff", "ffff000000000000"], datetime(2016, 1, 2, 23), 24, [1.0, 0.0]),
        ("b", "sweet rose new in town, call now ❤", "Rosie", "houston", ["150"],
         ["00000000000000fe"], datetime(2016, 1, 2, 1), 24, [0.8, 0.6]),
        ("c", "Lily: upscale & discreet *** text only", "Lilly", "dallas", [],
         ["0f0f0f0f0f0f0f0f"], datetime(2016, 2, 10), None, None),
        ("d", "", None, None, ["300"], [], None, 31, [0.0, 1.0]),
        ("e", "upscale and discreet, text only!", "lily", "Dallas", ["300", "150"],
         ["0f0f0f0f0f0f0f0e", "00000000000000ff"], datetime(2016, 2, 11), 31, [0.1, 0.9]),
    ]  # fmt: skip
    cols = ["record_id", "text", "name", "city", "rates", "hashes", "posted_at", "age", "emb"]
    return RecordTable.from_frame(pd.DataFrame(rows, columns=cols), FIELDS)


def slow_lcs(a: list, b: list) -> int:
    best = 0
    for i in range(len(a)):
        for j in range(len(b)):
            k = 0
            while i + k < len(a) and j + k < len(b) and a[i + k] == b[j + k]:
                k += 1
            best = max(best, k)
    return best


def jac(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a | b else math.nan


def bigrams(tokens: list[str]) -> set[str]:
    return {" ".join(tokens[i : i + 2]) for i in range(len(tokens) - 1)}


def reference(rec: RecordTable, comp: Comparison, i: int, j: int) -> float:
    """One pair at a time, in plain Python."""
    v = rec.values[comp.field]
    a, b = v[i], v[j]
    nan = math.nan
    kind = comp.kind
    if kind == "exact":
        if a is None or b is None or (isinstance(a, float) and (math.isnan(a) or math.isnan(b))):
            return nan
        return float(a == b)
    if kind in ("jaro_winkler", "levenshtein", "token_set_ratio"):
        if not a or not b:
            return nan
        a, b = a.lower(), b.lower()
        if kind == "jaro_winkler":
            return JaroWinkler.normalized_similarity(a, b)
        if kind == "levenshtein":
            dist = _levenshtein(a, b)
            return 1 - dist / max(len(a), len(b))
        return fuzz.token_set_ratio(a, b) / 100
    if kind in ("jaccard", "char_jaccard"):
        if kind == "char_jaccard":
            n = comp.ngram
            sa = {a.lower()[k : k + n] for k in range(len(a) - n + 1)} if a else set()
            sb = {b.lower()[k : k + n] for k in range(len(b) - n + 1)} if b else set()
            return jac(sa, sb)
        if rec.kind(comp.field) == "text":
            ta, tb = tokenize(a), tokenize(b)
            if comp.ngram == 2:
                return jac(bigrams(ta), bigrams(tb))
            return jac(set(ta), set(tb))
        return jac(set(a), set(b))
    if kind == "lcs":
        if comp.unit == "char":
            sa, sb = list(a.lower()[: comp.max_len]), list(b.lower()[: comp.max_len])
        else:
            sa, sb = tokenize(a)[: comp.max_len], tokenize(b)[: comp.max_len]
        if not sa or not sb:
            return nan
        return slow_lcs(sa, sb) / min(len(sa), len(sb))
    if kind == "count_diff":
        if not a or not b:
            return nan
        if comp.what == "special_chars":
            return abs(count_special_chars(a) - count_special_chars(b))
        return abs(len(set(tokenize(a))) - len(set(tokenize(b))))
    if kind == "abs_diff":
        d = abs(a - b)
        return d / 86400 if rec.kind(comp.field) == "timestamp" else d
    if kind == "same_day":
        if math.isnan(a) or math.isnan(b):
            return nan
        return float(a // 86400 == b // 86400)
    if kind == "both_present":
        return float(len(a) > 0 and len(b) > 0)
    if kind == "either_present":
        return float(len(a) > 0 or len(b) > 0)
    if kind == "shared_count":
        return float(len(set(a.tolist() if hasattr(a, "tolist") else a) & set(
            b.tolist() if hasattr(b, "tolist") else b)))  # fmt: skip
    if kind in ("min_hamming", "near_count"):
        dists = [bin(int(x) ^ int(y)).count("1") for x in a for y in b]
        if kind == "near_count":
            return float(sum(d <= comp.max_hamming for d in dists))
        return float(min(dists)) if dists else nan
    if kind == "cosine":
        if np.isnan(a).any() or np.isnan(b).any():
            return nan
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
    raise AssertionError(kind)


def _levenshtein(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def test_vectorised_features_equal_the_slow_reference() -> None:
    rec = records()
    n = len(rec)
    left, right = np.triu_indices(n, 1)
    feat = PairFeaturizer(COMPARISONS)
    X = feat.transform(rec, left, right, batch_size=3)  # several batches
    assert X.shape == (len(left), len(COMPARISONS))
    for k, comp in enumerate(COMPARISONS):
        expected = np.array([reference(rec, comp, i, j) for i, j in zip(left, right, strict=True)])
        np.testing.assert_allclose(
            X[:, k], expected, rtol=1e-5, atol=1e-5, equal_nan=True, err_msg=comp.label
        )


def test_table2_features_on_a_known_pair() -> None:
    rec = records()
    feat = PairFeaturizer(COMPARISONS)
    row = feat.transform_frame(rec, np.array([0]), np.array([1])).iloc[0]
    assert row["exact:city"] == 1.0
    assert row["same_day:posted_at"] == 1.0
    assert row["abs_diff:posted_at"] == pytest.approx(22 / 24)
    assert row["lcs:text/token"] == pytest.approx(1.0)  # "sweet rose new in town call now"
    assert row["min_hamming:hashes"] == 1.0
    assert row["shared_count:rates"] == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batched_lcs_matches_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, t = 40, 12
    a = rng.integers(0, 3, size=(p, t)).astype(np.int32)
    b = rng.integers(0, 3, size=(p, t)).astype(np.int32)
    la = rng.integers(0, t + 1, size=p)
    lb = rng.integers(0, t + 1, size=p)
    got = longest_common_substring(a, b, la, lb)
    want = [slow_lcs(a[i, : la[i]].tolist(), b[i, : lb[i]].tolist()) for i in range(p)]
    assert got.tolist() == want
