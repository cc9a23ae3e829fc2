"""Scaling pieces of resolve: the text index, windowed blocking, label-free link threshold."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from vendorlink.resolve.blocking import block
from vendorlink.resolve.clustering import ScoredPairs, one_to_one
from vendorlink.resolve.identifiers import (
    identifier_components,
    join_with_identifiers,
    merge_labelings,
    singleton_labels,
)
from vendorlink.resolve.records import RecordTable, count_special_chars, tokenize
from vendorlink.resolve.settings import BlockingRule, FieldSpec
from vendorlink.resolve.textindex import build_text_index
from vendorlink.resolve.threshold import identifier_holdout_curve

TEXTS = ["Hi, I'm Zoe! call me", "zoe is here, call me now", "", "new girl — call me ☎", None]


def test_text_index_matches_python_ngrams() -> None:
    index = build_text_index(TEXTS, max_len=3)
    for i, text in enumerate(TEXTS):
        toks = tokenize(text or "")
        uni = {index_token(index, c) for c in index.unigrams[i].indices}
        assert uni == set(toks)
        assert index.bigrams[i].nnz == len({(a, b) for a, b in itertools.pairwise(toks)})
        assert index.lengths[i] == min(len(toks), 3) and index.n_tokens[i] == len(toks)
        seq = [index_token(index, c) for c in index.sequences[i, : index.lengths[i]]]
        assert seq == toks[:3]
    # a new text maps onto the index: known n-grams only
    assert len(index.columns("call me maybe", 1)) == 2
    assert len(index.columns("call me maybe", 2)) == 1


def index_token(index, col: int) -> str:  # type: ignore[no-untyped-def]
    return {v: k for k, v in index.vocab.items()}[int(col)]


def test_special_characters_count_emoji_and_punctuation() -> None:
    assert count_special_chars("a_b! ☎ 1") == 3 and count_special_chars("") == 0


def _records(n: int, group: int) -> RecordTable:
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(n)],
            # every record shares "alpha" (a big block); pairs of records share a rare token
            "text": [f"alpha token{i // group} filler" for i in range(n)],
            "phones": [[f"p{i // 4}"] if i % 3 else [] for i in range(n)],
        }
    )
    return RecordTable.from_frame(
        frame, [FieldSpec("text", "text"), FieldSpec("phones", "string_list")]
    )


def test_window_blocking_is_linear_in_block_size() -> None:
    records = _records(60, 2)
    plain = BlockingRule("rare_tokens", "text", ngram=1, max_df=5)
    windowed = BlockingRule("rare_tokens", "text", ngram=1, max_df=5, window=2, window_max_df=100)
    pairs_plain, _ = block(records, [plain])
    pairs_win, report = block(records, [windowed])
    # "alpha", "filler" (60 records each) are beyond max_df: only the window pairs them
    assert len(pairs_plain) == 30  # the rare token pairs
    found = set(zip(pairs_win.left.tolist(), pairs_win.right.tolist(), strict=True))
    assert (0, 1) in found and (0, 2) in found and (0, 3) not in found
    assert len(pairs_win) == 59 + 58  # i -> i+1, i+2 in the big blocks (holding the rare pairs)
    assert report.rows[-1].reduction_ratio > 0.9


def test_identifier_components_and_merges() -> None:
    records = _records(12, 2)
    comp = identifier_components(records, ["phones"])
    assert (comp[[0, 3, 6, 9]] == -1).all()
    assert comp[1] == comp[2] and comp[4] == comp[5] and comp[1] != comp[4]
    single = singleton_labels(comp)
    assert len(set(single[[0, 3, 6, 9]].tolist())) == 4
    merged = merge_labelings(np.array([0, 0, 1, 1, 2, 2]), np.array([5, 6, 6, 7, 8, 9]))
    assert merged[0] == merged[3] and merged[4] == merged[5] and merged[0] != merged[4]


def test_holdout_threshold_is_label_free_and_prefers_the_true_edges() -> None:
    # 40 records, 10 communities of 4; true pairs score 0.9, false ones 0.6 or 0.3
    n = 40
    comp = np.repeat(np.arange(10), 4)
    comp[::5] = -1  # some records have no identifier
    truth = np.repeat(np.arange(10), 4)
    rng = np.random.default_rng(0)
    left, right, scores = [], [], []
    for a in range(n):
        for b in range(a + 1, n):
            if truth[a] == truth[b]:
                left.append(a), right.append(b), scores.append(0.9)
            elif rng.random() < 0.05:
                left.append(a), right.append(b), scores.append(rng.choice([0.3, 0.6]))
    scored = ScoredPairs(np.array(left), np.array(right), np.array(scores, np.float32),
                         np.array([f"r{i}" for i in range(n)], dtype=object))  # fmt: skip
    curve = identifier_holdout_curve(scored, comp, hide_fraction=0.3)
    assert curve.bcubed_f1.max() > 0.95
    labels, choice, _ = join_with_identifiers(scored, comp)
    assert 0.6 < choice.threshold <= 0.9 and choice.method == "identifier_holdout"
    assert len(set(labels.tolist())) == 10


def test_one_to_one_keeps_the_best_link_per_record() -> None:
    keep = one_to_one(np.array([0, 0, 1, 2]), np.array([5, 6, 5, 7]),
                      np.array([0.9, 0.8, 0.95, 0.5]))  # fmt: skip
    assert keep.tolist() == [False, True, True, True]
