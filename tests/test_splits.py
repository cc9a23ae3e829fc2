from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from tests.conftest import write_csv
from vendorlink.data.ingest import ingest
from vendorlink.data.splits import SplitOptions, assign_parts, make_split
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.labels.stage import label_from_given


@pytest.fixture
def labelled(tmp_path: Path) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    rows = [["ID", "TEXT", "VENDOR", "REGION"]]
    n = 0
    for v in range(40):
        for k in range(1 + v % 9):
            n += 1
            region = "South" if (v + k) % 3 else "West"
            rows.append([f"ad{n}", f"vendor {v} ad {k}", f"v{v}", region])
    rows.append(["dup1", "vendor 0 ad 0", "v0", "South"])  # exact duplicate of ad1
    rows.append(["dup2", "vendor 0 ad 0", "v0", "West"])
    write_csv(tmp_path / "ads.csv", rows)
    ingest(ws, tmp_path / "ads.csv")
    label_from_given(ws)
    return ws


def read_split(ws: Workspace, name: str = "default") -> list[tuple]:
    with ws.connect(read_only=True) as con:
        return con.execute(
            "SELECT s.ad_id, s.part, s.domain, s.vendor, s.vendor_scope, "
            "coalesce(a.duplicate_of, a.ad_id) FROM splits s JOIN ads a USING (ad_id) "
            "WHERE split_name = ? ORDER BY 1",
            [name],
        ).fetchall()


def test_split_is_grouped_deterministic_and_stratified(labelled: Workspace) -> None:
    make_split(labelled)
    split = read_split(labelled)
    with labelled.connect(read_only=True) as con:
        n_ads = con.execute("SELECT count(*) FROM ads").fetchone()[0]
    assert n_ads == 192 and len(split) == n_ads  # every ad is in the split
    # Exact duplicates share their original's side: no text on two sides.
    parts_of_group = defaultdict(set)
    for _, part, _, _, _, group in split:
        parts_of_group[group].add(part)
    assert all(len(p) == 1 for p in parts_of_group.values())
    # Each vendor with two or more ad groups has at least one in train.
    groups_of_vendor = defaultdict(set)
    train_vendors = set()
    for _, part, _, vendor, _, group in split:
        groups_of_vendor[vendor].add(group)
        if part == "train":
            train_vendors.add(vendor)
    assert all(v in train_vendors for v, g in groups_of_vendor.items() if len(g) >= 2)
    counts = Counter(p for _, p, *_ in split)
    assert 0.65 < counts["train"] / n_ads < 0.85 and 0.12 < counts["test"] / n_ads < 0.28
    # Same seed, same split; another seed, another split.
    make_split(labelled, SplitOptions(name="again"))
    assert [r[:2] for r in read_split(labelled, "again")] == [r[:2] for r in split]
    make_split(labelled, SplitOptions(name="other", seed=7))
    assert [r[:2] for r in read_split(labelled, "other")] != [r[:2] for r in split]


def test_domains_and_vendor_scope(labelled: Workspace) -> None:
    summary = make_split(labelled, SplitOptions(in_domain="region=South"))
    split = read_split(labelled)
    domains: dict[str, set[str]] = defaultdict(set)
    for _, _, domain, vendor, _, _ in split:
        domains[vendor].add(domain)
    for _, _, _, vendor, scope, _ in split:
        assert scope == ("shared" if len(domains[vendor]) == 2 else "unique")
    assert set(summary.counts) == {"in", "out"}
    assert summary.counts["out"]["test"] > 0  # out-of-distribution ads get parts too
    with pytest.raises(InputError, match="no ad has"):
        make_split(labelled, SplitOptions(in_domain="region=Mars"))
    with pytest.raises(InputError, match="add up to 1"):
        make_split(labelled, SplitOptions(ratios=(0.5, 0.2, 0.2)))


def test_assign_parts_ignores_input_order() -> None:
    groups = [(f"g{i}", f"v{i % 5}") for i in range(100)]
    a = assign_parts(groups, (0.75, 0.05, 0.2), 1111)
    b = assign_parts(list(reversed(groups)), (0.75, 0.05, 0.2), 1111)
    assert a == b
