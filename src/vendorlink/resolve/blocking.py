"""Blocking: candidate pairs from cheap rules, in DuckDB SQL (FAISS for embeddings).

Each rule (:class:`~vendorlink.resolve.settings.BlockingRule`) yields pairs ``(l, r)`` of
record positions with ``l < r`` (and, for ``link_only``, records from different sources);
the candidates are the union of all rules, with a bit mask saying which rules found each
pair. The report gives, per rule and for the union:

- ``n_pairs``: distinct candidate pairs;
- ``reduction_ratio`` = 1 - n_pairs / n_possible, where n_possible = n(n-1)/2 for a dedupe
  and the number of cross-source pairs for ``link_only``;
- ``pair_completeness`` = true pairs among the candidates / all true pairs (records with
  the same known label; only when labels are known);
- ``n_unique``: pairs found by this rule alone.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from vendorlink.errors import InputError
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import BlockingRule

DUCKDB_MEMORY_LIMIT = "4GB"

# ---- soundex, registered as a DuckDB function for exact-key rules -------------------------
_SOUNDEX_CODES = {
    ch: digit
    for digit, letters in {
        "1": "bfpv",
        "2": "cgjkqsxz",
        "3": "dt",
        "4": "l",
        "5": "mn",
        "6": "r",
    }.items()
    for ch in letters
}


def soundex(value: str | None) -> str | None:
    """American Soundex code of ``value`` (letters a-z only; ``None`` when none)."""
    if value is None:
        return None
    s = "".join(ch for ch in value.lower() if "a" <= ch <= "z")
    if not s:
        return None
    out, prev = [], _SOUNDEX_CODES.get(s[0], "")
    for ch in s[1:]:
        code = _SOUNDEX_CODES.get(ch, "")
        if code and code != prev:
            out.append(code)
        if ch not in "hw":
            prev = code
    return (s[0].upper() + "".join(out) + "000")[:4]


def _soundex_arrow(values: pa.Array) -> pa.Array:
    cache: dict[str, str | None] = {}
    out = []
    for v in values.to_pylist():
        if v is None:
            out.append(None)
        else:
            if v not in cache:
                cache[v] = soundex(v)
            out.append(cache[v])
    return pa.array(out, pa.string())


def register_functions(con: duckdb.DuckDBPyConnection) -> None:
    """Register ``soundex(VARCHAR)`` on ``con`` (once)."""
    with contextlib.suppress(duckdb.NotImplementedException):  # already registered
        con.create_function(
            "soundex", _soundex_arrow, ["VARCHAR"], "VARCHAR", type="arrow", null_handling="special"
        )


# ---- results ------------------------------------------------------------------------------
@dataclass
class CandidatePairs:
    """Candidate pairs (record positions ``left < right``) and which rules found them."""

    left: np.ndarray
    right: np.ndarray
    rule_mask: np.ndarray
    rule_names: list[str]

    def __len__(self) -> int:
        return len(self.left)

    def from_rule(self, i: int) -> np.ndarray:
        """Boolean mask of the pairs rule ``i`` found."""
        return (self.rule_mask >> np.uint32(i)) & np.uint32(1) == 1


@dataclass
class BlockingStats:
    rule: str
    n_pairs: int
    reduction_ratio: float
    pair_completeness: float | None
    n_true_found: int | None
    n_unique: int
    seconds: float


@dataclass
class BlockingReport:
    """Per-rule and union statistics (the union is the last row, rule ``union``)."""

    n_records: int
    n_possible: int
    n_true_pairs: int | None
    rows: list[BlockingStats] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_records": self.n_records,
            "n_possible": self.n_possible,
            "n_true_pairs": self.n_true_pairs,
            "rules": [asdict(r) for r in self.rows],
        }


# ---- SQL per rule -------------------------------------------------------------------------
def _pair_condition(a: str, b: str, link_only: bool) -> str:
    cond = f"{a}.rid < {b}.rid"
    return cond + (f" AND {a}.src <> {b}.src" if link_only else "")


def _cap(max_df: float, n: int) -> int:
    return max(2, int(max_df * n)) if max_df < 1 else int(max_df)


def _values_sql(rule: BlockingRule, kind: str, table: str) -> str:
    """``(rid, src, tok)`` rows: one per distinct value of the rule's field per record.

    For text, ``table`` is the rule's n-gram table (``rid, src, tok``) from the text index.
    """
    if kind == "text":
        return f"SELECT rid, src, tok FROM {table}"
    if kind in ("string_list", "hash_list"):
        return f'SELECT DISTINCT rid, src, unnest("{rule.field}") AS tok FROM {table}'
    return f'SELECT rid, src, "{rule.field}" AS tok FROM {table} WHERE "{rule.field}" IS NOT NULL'


def _shared_sql(rule: BlockingRule, kind: str, table: str, n: int, link_only: bool) -> str:
    """All pairs within blocks of at most ``max_df`` records; with ``window`` > 0, blocks of
    up to ``window_max_df`` records pair each record with the ``window`` records that follow
    it in record order (sorted neighbourhood: linear in the block size)."""
    cap = _cap(rule.max_df, n)
    wcap = max(cap, _cap(rule.window_max_df, n)) if rule.window > 0 else cap
    limit = ""
    if rule.max_tokens_per_record:
        k = int(rule.max_tokens_per_record)
        limit = f"QUALIFY row_number() OVER (PARTITION BY t.rid ORDER BY d.n, t.tok) <= {k}"
    pairs = f"""
        SELECT a.rid AS l, b.rid AS r
        FROM (SELECT * FROM kept WHERE n <= {cap}) a
        JOIN (SELECT * FROM kept WHERE n <= {cap}) b
          ON a.tok = b.tok AND {_pair_condition("a", "b", link_only)}"""
    if wcap > cap:
        pairs += f"""
        UNION ALL
        SELECT a.rid AS l, b.rid AS r
        FROM (SELECT * FROM pos WHERE n > {cap}) a CROSS JOIN range(1, {int(rule.window) + 1}) w(k)
        JOIN (SELECT * FROM pos WHERE n > {cap}) b ON a.tok = b.tok AND b.p = a.p + w.k
        {"WHERE a.src <> b.src" if link_only else ""}"""
    return f"""
        WITH toks AS ({_values_sql(rule, kind, table)}),
        df AS (
            SELECT tok, count(*) AS n FROM toks GROUP BY tok HAVING count(*) BETWEEN 2 AND {wcap}
        ),
        kept AS (SELECT t.rid, t.src, t.tok, d.n FROM toks t JOIN df d USING (tok) {limit}),
        pos AS (
            SELECT *, row_number() OVER (PARTITION BY tok ORDER BY rid) AS p FROM kept
            WHERE n > {cap}
        )
        SELECT DISTINCT l, r FROM ({pairs})
    """


def _hash_bands_sql(rule: BlockingRule, table: str, n: int, link_only: bool) -> str:
    bits = 64 // rule.bands
    mask = (1 << bits) - 1
    cap = _cap(rule.max_df, n)
    return f"""
        WITH h AS (SELECT DISTINCT rid, src, unnest("{rule.field}") AS h FROM {table}),
        b AS (
            SELECT rid, src, h, i AS band,
                   (h >> CAST(i * {bits} AS UBIGINT)) & CAST({mask} AS UBIGINT) AS key
            FROM h CROSS JOIN range({rule.bands}) t(i)
        ),
        big AS (SELECT band, key FROM b GROUP BY band, key HAVING count(DISTINCT rid) > {cap}),
        kept AS (SELECT * FROM b ANTI JOIN big USING (band, key))
        SELECT DISTINCT x.rid AS l, y.rid AS r
        FROM kept x JOIN kept y
          ON x.band = y.band AND x.key = y.key AND {_pair_condition("x", "y", link_only)}
        WHERE bit_count(xor(x.h, y.h)) <= {int(rule.max_hamming)}
    """


def _exact_sql(rule: BlockingRule, table: str, link_only: bool) -> str:
    keys = [f"({k}) AS k{i}" for i, k in enumerate(rule.keys)]
    not_null = " AND ".join(f"k{i} IS NOT NULL" for i in range(len(rule.keys)))
    on = " AND ".join(f"a.k{i} = b.k{i}" for i in range(len(rule.keys)))
    return f"""
        WITH k AS (SELECT * FROM (SELECT rid, src, {", ".join(keys)} FROM {table}) WHERE {not_null})
        SELECT DISTINCT a.rid AS l, b.rid AS r
        FROM k a JOIN k b ON {on} AND {_pair_condition("a", "b", link_only)}
    """


def knn_pairs(
    records: RecordTable, rule: BlockingRule, link_only: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each record's ``k`` nearest neighbours by cosine (FAISS inner product, else NumPy)."""
    emb = records.values[rule.field]
    rows = np.flatnonzero(records.present(rule.field))
    if len(rows) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    x = np.ascontiguousarray(emb[rows], dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    k = min(rule.k + 1, len(rows))
    try:
        import faiss

        index = faiss.IndexFlatIP(x.shape[1])
        index.add(x)
        sims, nbrs = index.search(x, k)
    except ImportError:
        sims = np.empty((len(rows), k), np.float32)
        nbrs = np.empty((len(rows), k), np.int64)
        for start in range(0, len(rows), 4096):
            s = x[start : start + 4096] @ x.T
            top = np.argpartition(-s, k - 1, axis=1)[:, :k]
            nbrs[start : start + 4096] = top
            sims[start : start + 4096] = np.take_along_axis(s, top, axis=1)
    i = np.repeat(np.arange(len(rows)), k)
    j, s = nbrs.ravel(), sims.ravel()
    keep = (j >= 0) & (j != i) & (s >= rule.min_cosine)
    a, b = rows[i[keep]], rows[j[keep]]
    if link_only and records.sources is not None:
        cross = records.sources[a] != records.sources[b]
        a, b = a[cross], b[cross]
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    pairs = np.unique(np.stack([lo, hi], axis=1), axis=0) if len(lo) else np.zeros((0, 2), int)
    return pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)


def _ngram_rows(records: RecordTable, rule: BlockingRule) -> pa.Table:
    """``(rid, src, tok)`` rows of a text rule: each record's distinct n-gram ids."""
    mat = records.text_index(rule.field or "").ngram_matrix(rule.ngram)
    rid = np.repeat(np.arange(len(records), dtype=np.int64), np.diff(mat.indptr))
    src = np.zeros(len(rid), np.int32) if records.sources is None else records.sources[rid]
    return pa.table({"rid": rid, "src": src, "tok": mat.indices.astype(np.int64)})


# ---- the blocking step --------------------------------------------------------------------
def n_possible_pairs(records: RecordTable, link_only: bool) -> int:
    n = len(records)
    if not link_only or records.sources is None:
        return n * (n - 1) // 2
    counts = np.bincount(records.sources)
    return int((n * n - int((counts.astype(np.int64) ** 2).sum())) // 2)


def true_pair_count(records: RecordTable, link_only: bool) -> int | None:
    """Number of pairs of records with the same known label (cross-source for link_only)."""
    if records.labels is None:
        return None
    lab = pd.Series(records.labels)
    known = lab.notna().to_numpy()
    if not known.any():
        return None
    if not link_only or records.sources is None:
        sizes = lab[known].value_counts().to_numpy(dtype=np.int64)
        return int((sizes * (sizes - 1) // 2).sum())
    frame = pd.DataFrame({"lab": lab[known].to_numpy(), "src": records.sources[known]})
    per = frame.groupby(["lab", "src"]).size().reset_index(name="n")
    per["n2"] = per["n"].astype(np.int64) ** 2
    sums = per.groupby("lab")[["n", "n2"]].sum()
    return int(((sums["n"].astype(np.int64) ** 2 - sums["n2"]) // 2).sum())


def label_codes(records: RecordTable) -> np.ndarray | None:
    """Integer code per record of its true label (-1 when unknown)."""
    if records.labels is None:
        return None
    codes, _ = pd.factorize(pd.Series(records.labels), use_na_sentinel=True)
    return codes.astype(np.int64)


def block(
    records: RecordTable,
    rules: Sequence[BlockingRule],
    *,
    link_type: str = "dedupe",
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[CandidatePairs, BlockingReport]:
    """Candidate pairs from the union of ``rules``, and a per-rule report.

    The work happens in DuckDB on ``con`` (a new in-memory database when ``None``); the
    records are registered as a view and every temporary table is dropped afterwards.
    """
    if not rules:
        raise InputError("blocking needs at least one rule")
    if len(rules) > 32:
        raise InputError("at most 32 blocking rules")
    link_only = link_type == "link_only"
    if link_only and records.sources is None:
        raise InputError("link_only blocking needs records with a source column")
    own = con is None
    if con is None:
        con = duckdb.connect()
        # bounded memory: DuckDB spills joins to disk past this (its default is 80% of RAM)
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute("SET preserve_insertion_order = false")
    register_functions(con)
    tag = uuid.uuid4().hex[:8]
    table = f"_vl_records_{tag}"
    names = [r.field for r in rules if r.field and records.kind(r.field) != "embedding"]
    names += [name for name in records.specs if records.kind(name) != "embedding"]
    con.register(table, records.to_arrow(list(dict.fromkeys(names))))
    n = len(records)
    ngram_tables: list[str] = []
    rule_tables: list[str] = []
    seconds: list[float] = []
    try:
        for i, rule in enumerate(rules):
            t0 = time.perf_counter()
            out = f"_vl_rule_{tag}_{i}"
            if rule.kind == "knn":
                left, right = knn_pairs(records, rule, link_only)
                view = f"{out}_src"
                con.register(view, pa.table({"l": left, "r": right}))
                con.execute(f"CREATE TEMP TABLE {out} AS SELECT l, r FROM {view}")
                con.unregister(view)
            else:
                if rule.kind == "exact":
                    sql = _exact_sql(rule, table, link_only)
                elif rule.kind == "hash_bands":
                    sql = _hash_bands_sql(rule, table, n, link_only)
                elif records.kind(rule.field or "") == "text":
                    ngrams = f"_vl_ngrams_{tag}_{i}"
                    con.register(ngrams, _ngram_rows(records, rule))
                    ngram_tables.append(ngrams)
                    sql = _shared_sql(rule, "text", ngrams, n, link_only)
                else:
                    sql = _shared_sql(rule, records.kind(rule.field or ""), table, n, link_only)
                try:
                    con.execute(f"CREATE TEMP TABLE {out} AS {sql}")
                except duckdb.Error as exc:
                    raise InputError(f"blocking rule {rule.label!r} failed: {exc}") from exc
            rule_tables.append(out)
            seconds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        union = " UNION ALL ".join(
            f"SELECT l, r, CAST({1 << i} AS UINTEGER) AS bit FROM {t}"
            for i, t in enumerate(rule_tables)
        )
        res = con.execute(
            f"SELECT l, r, bit_or(bit) AS mask FROM ({union}) GROUP BY l, r ORDER BY l, r"
        ).fetchnumpy()
        union_seconds = time.perf_counter() - t0 + sum(seconds)
    finally:
        for t in rule_tables:
            con.execute(f"DROP TABLE IF EXISTS {t}")
        con.unregister(table)
        for t in ngram_tables:
            con.unregister(t)
        if own:
            con.close()
    pairs = CandidatePairs(
        left=np.asarray(res["l"], dtype=np.int64),
        right=np.asarray(res["r"], dtype=np.int64),
        rule_mask=np.asarray(res["mask"], dtype=np.uint32),
        rule_names=[r.label for r in rules],
    )
    return pairs, blocking_report(records, pairs, link_only, seconds, union_seconds)


def blocking_report(
    records: RecordTable,
    pairs: CandidatePairs,
    link_only: bool,
    seconds: Sequence[float] | None = None,
    union_seconds: float = 0.0,
) -> BlockingReport:
    """Counts, reduction ratio and pair completeness per rule and for the union."""
    n_possible = n_possible_pairs(records, link_only)
    n_true = true_pair_count(records, link_only)
    codes = label_codes(records)
    is_true = None
    if codes is not None and n_true:
        is_true = (codes[pairs.left] == codes[pairs.right]) & (codes[pairs.left] >= 0)
    report = BlockingReport(n_records=len(records), n_possible=n_possible, n_true_pairs=n_true)

    def stats(name: str, mask: np.ndarray | None, n_unique: int, secs: float) -> BlockingStats:
        count = len(pairs) if mask is None else int(mask.sum())
        found = None
        if is_true is not None:
            found = int(is_true.sum() if mask is None else (is_true & mask).sum())
        return BlockingStats(
            rule=name,
            n_pairs=count,
            reduction_ratio=1.0 - count / n_possible if n_possible else 0.0,
            pair_completeness=(found / n_true) if found is not None and n_true else None,
            n_true_found=found,
            n_unique=n_unique,
            seconds=round(secs, 4),
        )

    for i, name in enumerate(pairs.rule_names):
        mask = pairs.from_rule(i)
        only = int((pairs.rule_mask == np.uint32(1 << i)).sum())
        report.rows.append(stats(name, mask, only, seconds[i] if seconds else 0.0))
    report.rows.append(stats("union", None, len(pairs), union_seconds))
    return report
