from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import write_csv
from vendorlink.data.ingest import ingest
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError, StageOrderError
from vendorlink.labels.agreement import label_agreement
from vendorlink.labels.communities import identifier_communities
from vendorlink.labels.stage import (
    compare_label_sources,
    label_by_identifiers,
    label_from_file,
    label_from_given,
)


def test_communities_are_connected_components_of_ads_and_identifiers() -> None:
    found = identifier_communities(
        ["a", "b", "c", "d", "e", "f"],
        [["+13125550101"], ["+13125550101", "x@example.com"], ["x@example.com"],
         ["+13125550102"], [], ["+13125550102"]],
        giant_min_ads=3,
        giant_fraction=0.0,
    )  # fmt: skip
    assert found.labels["a"] == found.labels["b"] == found.labels["c"]
    assert found.labels["d"] == found.labels["f"] != found.labels["a"]
    assert "e" not in found.labels
    assert found.labels["a"] == "comm-000001"  # numbered by decreasing size
    assert found.giant == {"comm-000001"}
    assert found.stats["n_unlabelled"] == 1
    assert found.stats["n_communities"] == 2
    assert found.stats["size_histogram"]["2-4"] == 2
    assert found.identifiers["comm-000001"] == ["+13125550101", "x@example.com"]


def test_agreement_counts_merges_and_splits() -> None:
    predicted = {"a": "p1", "b": "p1", "c": "p2", "d": "p3"}
    reference = {"a": "v1", "b": "v2", "c": "v3", "d": "v3", "z": "v9"}
    out = label_agreement(predicted, reference)
    assert out["n_ads_compared"] == 4 and out["n_reference_only"] == 1
    assert out["merged_communities"] == 1  # p1 holds v1 and v2
    assert out["split_vendors"] == 1  # v3 is in p2 and p3
    assert out["pure_ad_share"] == 0.75
    perfect = label_agreement({"a": "x", "b": "y"}, {"a": "1", "b": "2"})
    assert perfect["ari"] == 1.0 and perfect["nmi"] == 1.0


def _workspace_with_ads(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    write_csv(tmp_path / "ads.csv", [
        ["ID", "TEXT", "VENDOR"],
        ["a", "call 312 555 0101", "v1"],
        ["b", "call 312 555 0101 or mail rose@example.com", "v1"],
        ["c", "mail rose@example.com", "v2"],
        ["d", "nothing to see", "v3"],
    ])  # fmt: skip
    ingest(ws, tmp_path / "ads.csv")
    return ws


def test_label_stage_needs_extraction_first(tmp_path: Path) -> None:
    ws = _workspace_with_ads(tmp_path)
    with pytest.raises(StageOrderError, match="vendorlink extract"):
        label_by_identifiers(ws)


def test_given_and_file_labels_and_their_comparison(tmp_path: Path) -> None:
    ws = _workspace_with_ads(tmp_path)
    stats = label_from_given(ws)
    assert stats["n_vendors"] == 3 and stats["n_labelled"] == 4
    assert ws.settings["default_label_source"] == "given"
    write_csv(
        tmp_path / "truth.csv",
        [["ad_id", "vendor_id"], ["a", "t1"], ["b", "t1"], ["c", "t1"], ["d", "t2"], ["zz", "t3"]],
    )
    stats = label_from_file(ws, tmp_path / "truth.csv")
    assert stats["n_labelled"] == 4 and stats["file_ids_not_in_workspace"] == 1
    agreement = compare_label_sources(ws, "given", "truth")
    assert agreement["split_vendors"] == 1 and agreement["merged_communities"] == 0
    with pytest.raises(InputError, match="reserved"):
        label_from_file(ws, tmp_path / "truth.csv", label_source="given")
    with pytest.raises(InputError, match="cannot read"):
        label_from_file(ws, tmp_path / "truth.csv", vendor_column="nope")
