"""One weak match edge cannot bridge two groups (supported components)."""

from __future__ import annotations

import numpy as np
import pytest

from vendorlink.resolve.clustering import ScoredPairs, supported_components
from vendorlink.resolve.identifiers import join_with_identifiers, link_with_identifiers
from vendorlink.resolve.settings import SettingsError, ads_settings


def clique(members: list[int], score: float) -> list[tuple[int, int, float]]:
    return [(a, b, score) for i, a in enumerate(members) for b in members[i + 1 :]]


def two_groups(bridges: int, loner: bool = True) -> ScoredPairs:
    """Records 0-9 and 10-19 are two strongly linked groups; ``bridges`` weak edges (0.85)
    run between them; record 20 has one weak edge to record 0; 21 is alone."""
    edges = clique(list(range(10)), 0.99) + clique(list(range(10, 20)), 0.99)
    edges += [(i, 10 + i, 0.85) for i in range(bridges)]
    if loner:
        edges.append((0, 20, 0.85))
    edges.append((5, 21, 0.2))  # below the threshold
    left, right, scores = (np.array(x) for x in zip(*edges, strict=True))
    ids = np.array([f"r{i}" for i in range(22)])
    return ScoredPairs(left.astype(np.int64), right.astype(np.int64), scores, ids)


def labels_of(scored: ScoredPairs, min_support: int, **kw) -> np.ndarray:
    return supported_components(
        scored.n_records, scored.left, scored.right, scored.scores, 0.8,
        min_support=min_support, **kw,
    )  # fmt: skip


def test_one_weak_edge_does_not_bridge_two_groups() -> None:
    scored = two_groups(bridges=1)
    lab = labels_of(scored, 2)
    assert len(set(lab[:10])) == 1 and len(set(lab[10:20])) == 1
    assert lab[0] != lab[10]
    assert lab[20] == lab[0]  # a single record joins on one good match
    assert lab[21] not in set(lab[:21])
    plain = labels_of(scored, 1)  # plain connected components chain them
    assert plain[0] == plain[10] == plain[20]


def test_two_weak_edges_do_join_and_strong_edges_always_do() -> None:
    assert labels_of(two_groups(bridges=2), 2)[0] == labels_of(two_groups(bridges=2), 2)[10]
    scored = two_groups(bridges=1)
    # with a low strong margin, the 0.85 bridge counts as strong
    lab = labels_of(scored, 2, strong_margin=0.1)
    assert lab[0] == lab[10]


def test_fixed_edges_always_join() -> None:
    scored = two_groups(bridges=1)
    lab = labels_of(scored, 2, fixed_left=np.array([3]), fixed_right=np.array([21]))
    assert lab[3] == lab[21] and lab[0] != lab[10]


def test_identifier_join_uses_the_support_rule() -> None:
    scored = two_groups(bridges=1)
    comps = np.full(22, -1, dtype=np.int64)
    comps[[0, 1, 2]] = 0  # one identifier community inside the first group
    lab = link_with_identifiers(scored, comps, 0.8, min_support=2)
    assert lab[0] != lab[10]
    lab, choice, curve = join_with_identifiers(scored, comps, 0.8, min_support=2)
    assert choice.method == "fixed" and curve is None and lab[0] != lab[10]


def test_link_settings_are_validated() -> None:
    settings = ads_settings(with_images=False)
    settings.clustering.link_min_support = 0
    with pytest.raises(SettingsError, match="link_min_support"):
        settings.validate()
