"""Training pairs from proxy labels: components, near-duplicate bias, no proxy feature."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vendorlink.errors import InputError
from vendorlink.resolve.blocking import CandidatePairs, block
from vendorlink.resolve.pipeline import Resolver
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import (
    BlockingRule,
    Comparison,
    FieldSpec,
    SettingsError,
    TrainingSettings,
    ads_settings,
)
from vendorlink.resolve.toydata import toy_ads
from vendorlink.resolve.training_pairs import (
    check_no_proxy_feature,
    labelled_pairs,
    proxy_components,
    proxy_pairs,
    unigram_jaccard,
)

FIELDS = [FieldSpec("text", "text"), FieldSpec("phones", "string_list")]


def chain_of_phones() -> RecordTable:
    frame = pd.DataFrame(
        {
            "record_id": [f"r{i}" for i in range(6)],
            "text": ["a b", "a c", "c d", "x y", "x z", "q"],
            "phones": [
                ["+13125550101"],
                ["+13125550101", "+13125550102"],
                ["+13125550102"],
                ["+13125550103"],
                ["+13125550103"],
                [],
            ],
        }
    )
    return RecordTable.from_frame(frame, FIELDS)


def test_proxy_components_follow_shared_numbers_transitively() -> None:
    comp = proxy_components(chain_of_phones(), "phones")
    assert comp[0] == comp[1] == comp[2]
    assert comp[3] == comp[4] != comp[0]
    assert comp[5] == -1  # no phone, no label


def near_duplicate_records(n_vendors: int = 30, per: int = 8, seed: int = 0) -> RecordTable:
    """Each vendor: half its ads are copies of one text, half are distinct texts."""
    rng = np.random.default_rng(seed)
    rows = []
    for v in range(n_vendors):
        base = " ".join(f"w{v}x{k}" for k in range(12))
        for i in range(per):
            if i < per // 2:
                text = base
            else:
                text = " ".join(f"u{v}x{i}x{k}" for k in range(6)) + f" w{v}x0 w{v}x1"
            rows.append((f"v{v}-{i}", text, [f"+1312555{100 + v:04d}"]))
    rng.shuffle(rows)
    frame = pd.DataFrame(rows, columns=["record_id", "text", "phones"])
    return RecordTable.from_frame(frame, FIELDS)


def all_pairs(n: int) -> CandidatePairs:
    left, right = np.triu_indices(n, 1)
    return CandidatePairs(left, right, np.ones(len(left), np.uint32), ["all"])


def test_sampling_is_biased_against_near_duplicates() -> None:
    recs = near_duplicate_records()
    cands = all_pairs(len(recs))
    unbiased = TrainingSettings(n_positive=300, n_negative=300, near_duplicate_keep=1.0)
    biased = TrainingSettings(n_positive=300, n_negative=300, near_duplicate_keep=0.1)
    never = TrainingSettings(n_positive=300, n_negative=300, near_duplicate_keep=0.0)
    r_unbiased = proxy_pairs(recs, cands, unbiased, seed=1).report
    r_biased = proxy_pairs(recs, cands, biased, seed=1).report
    r_never = proxy_pairs(recs, cands, never, seed=1)
    # within a vendor 6 of the 28 pairs are exact copies (Jaccard 1)
    assert r_unbiased.near_duplicate_share_pool == pytest.approx(6 / 28)
    assert r_unbiased.near_duplicate_share_sampled == pytest.approx(6 / 28, abs=0.07)
    assert r_biased.near_duplicate_share_sampled < 0.06
    assert r_never.report.near_duplicate_share_sampled == 0.0
    pos = r_never.y == 1
    assert (r_never.jaccard[pos] < 0.8).all()
    # the histograms cover every pooled / sampled pair
    assert sum(r_biased.pool_counts) == r_biased.n_pool
    assert sum(r_biased.sampled_counts) == r_biased.n_sampled


def test_pairs_are_labelled_by_components_and_negatives_come_from_blocks() -> None:
    recs = near_duplicate_records(n_vendors=10, per=4)
    comp = proxy_components(recs, "phones")
    cands, _ = block(recs, [BlockingRule("rare_tokens", "text", max_df=10)])
    pairs = proxy_pairs(recs, cands, TrainingSettings(n_positive=50, n_negative=40), seed=0)
    pos, neg = pairs.y == 1, pairs.y == 0
    assert (comp[pairs.left[pos]] == comp[pairs.right[pos]]).all()
    assert (comp[pairs.left[neg]] != comp[pairs.right[neg]]).all()
    cand_set = set(zip(cands.left.tolist(), cands.right.tolist(), strict=True))
    neg_pairs = zip(pairs.left[neg].tolist(), pairs.right[neg].tolist(), strict=True)
    blocked = [p in cand_set for p in neg_pairs]
    # rare tokens w{v}xk only link records of one vendor: no blocked negatives exist,
    # so negatives are topped up with random cross-component pairs
    assert pairs.report.n_negative_candidates == 0 and not any(blocked)
    assert neg.sum() == 40
    train, test = pairs.split(0.3, seed=0)
    assert not set(pairs.groups[train]) & set(pairs.groups[test])


def test_proxy_field_is_never_a_feature() -> None:
    settings = ads_settings()
    resolver = Resolver(settings)
    names = resolver.featurizer.feature_names
    assert names and not any("phones" in n for n in names)
    settings.comparisons.append(Comparison("jaccard", "phones"))
    with pytest.raises(SettingsError, match="proxy"):
        settings.validate()
    with pytest.raises(InputError, match="proxy"):
        check_no_proxy_feature(["exact:city", "shared_count:phones"], "phones")
    check_no_proxy_feature(["exact:city"], "phones")


def test_trained_on_proxy_pairs_the_features_exclude_the_proxy() -> None:
    settings = ads_settings(with_images=True)
    settings.training.n_positive, settings.training.n_negative = 200, 400
    resolver = Resolver(settings)
    recs = resolver.records(toy_ads(12, (4, 8), seed=3))
    resolver.fit(recs)
    assert resolver.match_function is not None
    assert "phones" not in " ".join(resolver.match_function.feature_names)
    assert resolver.training.meta["proxy_field"] == "phones"


def test_labelled_pairs_use_true_labels() -> None:
    frame = pd.DataFrame(
        {"record_id": list("abcd"), "text": ["x", "x", "y", "y"], "ent": ["1", "1", "2", "3"]}
    )
    recs = RecordTable.from_frame(frame, [FieldSpec("text", "text")], label_column="ent")
    pairs = labelled_pairs(recs, all_pairs(4), n_positive=10, n_negative=10)
    assert pairs.y.sum() == 1 and len(pairs) == 6
    with pytest.raises(InputError, match="positive"):
        labelled_pairs(recs, all_pairs(4), n_positive=1, n_negative=1, restrict_to=np.eye(4)[2] > 0)


def test_unigram_jaccard() -> None:
    recs = chain_of_phones()
    got = unigram_jaccard(recs, "text", np.array([0, 0, 3]), np.array([1, 2, 4]))
    np.testing.assert_allclose(got, [1 / 3, 0.0, 1 / 3])
