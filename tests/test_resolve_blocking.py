"""Blocking in DuckDB: candidate pairs per rule, reduction ratio, pair completeness."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vendorlink.errors import InputError
from vendorlink.resolve.blocking import block, soundex
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import BlockingRule, FieldSpec

FIELDS = [
    FieldSpec("text", "text"),
    FieldSpec("phones", "string_list"),
    FieldSpec("image_hashes", "hash_list"),
    FieldSpec("surname", "string"),
    FieldSpec("emb", "embedding"),
]

H = 0x0123456789ABCDEF
H3, H4 = 0xFFFF000000000000, 0xFFFF0000000000FF
H5, H6 = 0x0F0F0F0F0F0F0F0F, 0xF0F0F0F0F0F0F0F0


def tiny() -> RecordTable:
    """Eight records of three vendors (a, b, c) and one loner (d)."""
    rows = [
        # id, text, phones, hashes, surname, vendor, embedding
        ("r0", "Zyxwa loves sunsets, call now", ["+13125550101"], [H], "smith", "a", [1, 0]),
        ("r1", "zyxwa new in town call now", [], [H ^ 0b111], "smyth", "a", [0.9, 0.1]),
        ("r2", "Qorvax and friends call now", ["+13125550101"], [], "smith", "a", [1, 0.05]),
        ("r3", "blorp specials call now", ["+13125550102"], [H3], "jones", "b", [0, 1]),
        ("r4", "Blorp weekend call now", ["+13125550102"], [H4], "jonas", "b", [0.1, 1]),
        ("r5", "quintessa here call now", ["+13125550103"], [H5], "brown", "c", [-1, 0]),
        ("r6", "Quintessa is back call now", [], [H6], "braun", "c", [-1, 0.1]),
        ("r7", "nothing special call now", [], [], "white", "d", None),
    ]  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=["record_id", "text", "phones", "image_hashes", "surname", "vendor", "emb"]
    )
    return RecordTable.from_frame(frame, FIELDS, label_column="vendor")


def pairs_of(cands, i: int | None = None) -> set[tuple[int, int]]:
    mask = np.ones(len(cands), bool) if i is None else cands.from_rule(i)
    return set(zip(cands.left[mask].tolist(), cands.right[mask].tolist(), strict=True))


def test_rare_tokens_shared_values_and_report() -> None:
    recs = tiny()
    rules = [
        BlockingRule("rare_tokens", "text", ngram=1, max_df=3),
        BlockingRule("shared_values", "phones"),
    ]
    cands, report = block(recs, rules)
    # "call"/"now" are in all 8 records (above max_df); zyxwa, blorp, quintessa are rare
    assert pairs_of(cands, 0) == {(0, 1), (3, 4), (5, 6)}
    assert pairs_of(cands, 1) == {(0, 2), (3, 4)}
    assert pairs_of(cands) == {(0, 1), (0, 2), (3, 4), (5, 6)}
    rows = {r.rule: r for r in report.rows}
    assert report.n_possible == 28
    # true pairs: a = {0,1,2} -> 3 pairs, b -> 1, c -> 1; 5 in all
    assert report.n_true_pairs == 5
    assert rows["union"].n_pairs == 4
    assert rows["union"].reduction_ratio == pytest.approx(1 - 4 / 28)
    assert rows["union"].pair_completeness == pytest.approx(4 / 5)
    assert rows["rare_tokens:text/1"].pair_completeness == pytest.approx(3 / 5)
    assert rows["rare_tokens:text/1"].n_unique == 2  # (3, 4) is also a shared phone
    assert rows["shared_values:phones"].n_unique == 1


def test_rare_bigrams_and_tokens_per_record_cap() -> None:
    recs = tiny()
    cands, _ = block(recs, [BlockingRule("rare_tokens", "text", ngram=2, max_df=7)])
    # "call now" is in all 8 records (above the cap) so no bigram links anything
    assert len(cands) == 0
    cands, _ = block(recs, [BlockingRule("rare_tokens", "text", ngram=2, max_df=8)])
    assert len(cands) == 28
    cands, _ = block(
        recs, [BlockingRule("rare_tokens", "text", ngram=1, max_df=8, max_tokens_per_record=1)]
    )
    # keeping each record's single rarest token: zyxwa, blorp, quintessa pairs plus the ones
    # whose rarest token is a common word shared with other records
    assert {(0, 1), (3, 4), (5, 6)} <= pairs_of(cands)


def test_hash_bands_find_near_hashes_and_verify_distance() -> None:
    recs = tiny()
    cands, _ = block(recs, [BlockingRule("hash_bands", "image_hashes", bands=4, max_hamming=8)])
    # r0/r1 differ by 3 bits; r3/r4 by 8 bits; r5/r6 by 64 bits (no shared band)
    assert pairs_of(cands) == {(0, 1), (3, 4)}
    cands, _ = block(recs, [BlockingRule("hash_bands", "image_hashes", bands=4, max_hamming=5)])
    assert pairs_of(cands) == {(0, 1)}
    cands, _ = block(recs, [BlockingRule("shared_values", "image_hashes")])
    assert len(cands) == 0  # no identical hash


def test_exact_keys_with_soundex() -> None:
    recs = tiny()
    cands, _ = block(recs, [BlockingRule("exact", keys=["soundex(surname)"])])
    assert pairs_of(cands) == {(0, 1), (0, 2), (1, 2), (3, 4), (5, 6)}
    cands, _ = block(recs, [BlockingRule("exact", keys=["surname", "substr(text, 1, 1)"])])
    assert pairs_of(cands) == set()
    cands, _ = block(recs, [BlockingRule("exact", keys=["soundex(substr(text, 100, 1))"])])
    assert len(cands) == 0  # soundex of text without letters is NULL, which never matches
    with pytest.raises(InputError, match="exact:nosuch"):
        block(recs, [BlockingRule("exact", keys=["nosuch"])])


def test_soundex_reference_codes() -> None:
    codes = {"Robert": "R163", "Rupert": "R163", "Ashcraft": "A261", "Tymczak": "T522"}
    codes |= {"Pfister": "P236", "Honeyman": "H555", "Lee": "L000"}
    for name, code in codes.items():
        assert soundex(name) == code
    assert soundex("") is None and soundex(None) is None


def test_knn_blocking_on_embeddings() -> None:
    recs = tiny()
    cands, _ = block(recs, [BlockingRule("knn", "emb", k=1, min_cosine=0.9)])
    assert pairs_of(cands) == {(0, 2), (1, 2), (3, 4), (5, 6)}  # r1 is nearer r2 than r0


def test_link_only_pairs_cross_sources() -> None:
    frame = pd.DataFrame(
        {
            "record_id": ["a1", "a2", "b1", "b2"],
            "surname": ["smith", "smith", "smith", "jones"],
            "src": ["A", "A", "B", "B"],
            "entity": ["e1", "e2", "e1", "e2"],
        }
    )
    recs = RecordTable.from_frame(
        frame, [FieldSpec("surname", "string")], source_column="src", label_column="entity"
    )
    cands, report = block(recs, [BlockingRule("exact", keys=["surname"])], link_type="link_only")
    assert pairs_of(cands) == {(0, 2), (1, 2)}  # never a1-a2
    assert report.n_possible == 4
    assert report.n_true_pairs == 2
    assert report.rows[-1].pair_completeness == pytest.approx(0.5)


def test_record_table_errors_name_the_row() -> None:
    frame = pd.DataFrame({"record_id": ["x", "y"], "image_hashes": [["zz"], []]})
    with pytest.raises(InputError, match=r"'x'.*image_hashes"):
        RecordTable.from_frame(frame, [FieldSpec("image_hashes", "hash_list")])
    frame = pd.DataFrame({"record_id": ["x", "x"], "text": ["a", "b"]})
    with pytest.raises(InputError, match="repeat"):
        RecordTable.from_frame(frame, [FieldSpec("text", "text")])
    frame = pd.DataFrame({"record_id": ["x", "y"], "dob": ["19800101", "yesterday-ish"]})
    with pytest.raises(InputError, match=r"'y'.*dob"):
        RecordTable.from_frame(frame, [FieldSpec("dob", "timestamp")])
    with pytest.raises(InputError, match="lacks columns"):
        RecordTable.from_frame(frame, [FieldSpec("text", "text")])


def test_timestamps_read_yyyymmdd_and_iso() -> None:
    frame = pd.DataFrame({"record_id": ["a", "b", "c"], "t": ["19800102", "1980-01-03", None]})
    recs = RecordTable.from_frame(frame, [FieldSpec("t", "timestamp")])
    days = recs.values["t"] / 86400
    assert days[1] - days[0] == pytest.approx(1.0)
    assert np.isnan(days[2])
