"""Flag labels: 0/1 columns, a prefix, a list column, keyword top-k, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from vendorlink.errors import InputError
from vendorlink.flag.data import group_split
from vendorlink.flag.labels import keyword_labels, load_labels


def test_prefix_columns_and_list_column() -> None:
    frame = pd.DataFrame(
        {
            "ad_id": ["a", "b", "c"],
            "ind_movement": [True, False, True],
            "ind_logo": [0, 1, 0],
            "n_images": [3, 0, 1],  # not a label: no prefix
            "indicators": [["movement"], ["logo"], ["movement", "promo"]],
        }
    )
    labels = load_labels(frame)
    assert labels.names == ["movement", "logo"]
    assert labels.matrix.tolist() == [[1, 0], [0, 1], [1, 0]]
    listed = load_labels(frame, list_column="indicators")
    assert listed.names == ["logo", "movement", "promo"]
    assert listed.matrix.tolist() == [[0, 1, 0], [1, 0, 0], [0, 1, 1]]
    chosen = load_labels(frame, columns=["ind_logo"])
    assert chosen.names == ["ind_logo"] and chosen.positives() == {"ind_logo": 1}
    assert chosen.select(["c", "b"]).matrix.tolist() == [[0], [1]]


def test_csv_text_values(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("ID,a,b\nx1,yes,0\nx2,false,1\n", encoding="utf-8")
    labels = load_labels(path, columns=["a", "b"])
    assert labels.ad_ids.tolist() == ["x1", "x2"]
    assert labels.matrix.tolist() == [[1, 0], [0, 1]]


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        (pd.DataFrame({"ad_id": ["a", "b"], "x": [0, 2]}), {"columns": ["x"]}, "ad 'b' has 2"),
        (pd.DataFrame({"ad_id": ["a", "b"], "x": [0, None]}), {"columns": ["x"]}, "missing"),
        (pd.DataFrame({"ad_id": ["a", "a"], "x": [0, 1]}), {"columns": ["x"]}, "repeat"),
        (pd.DataFrame({"key": ["a"], "x": [0]}), {"columns": ["x"]}, "no id column"),
        (pd.DataFrame({"ad_id": ["a"], "x": [0]}), {"columns": ["y"]}, "no column"),
        (pd.DataFrame({"ad_id": ["a"], "x": [0]}), {}, "no label columns"),
        (pd.DataFrame({"ad_id": ["a"], "x": [0]}), {"list_column": "x"}, "lists of label"),
        (pd.DataFrame({"ad_id": ["a"], "x": ["maybe"]}), {"columns": ["x"]}, "'maybe'"),
    ],
)
def test_clear_errors(frame: pd.DataFrame, kwargs: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_labels(frame, **kwargs)


def test_missing_file_and_format(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_labels(tmp_path / "nope.parquet")
    (tmp_path / "x.txt").write_text("a", encoding="utf-8")
    with pytest.raises(InputError, match="unknown format"):
        load_labels(tmp_path / "x.txt")


def test_keyword_top_k() -> None:
    frame = pd.DataFrame(
        {"ID": ["1", "2", "3", "4"], "KEYWORDS": ["cat|dog", "dog", "dog|bird|cat", "fish"]}
    )
    labels = keyword_labels(frame, top_k=2)
    assert labels.names == ["dog", "cat"]
    assert labels.matrix.tolist() == [[1, 1], [1, 0], [1, 1], [0, 0]]
    assert keyword_labels(frame, top_k=10).names == ["dog", "cat", "bird", "fish"]


def test_group_split_keeps_groups_together() -> None:
    groups = [f"g{i // 3}" for i in range(300)]
    parts = group_split(groups, (0.6, 0.2, 0.2), seed=1)
    for g in set(groups):
        assert len({parts[i] for i, x in enumerate(groups) if x == g}) == 1
    shares = {p: float(np.mean(parts == p)) for p in ("train", "val", "test")}
    assert shares["train"] == pytest.approx(0.6, abs=0.05)
    assert shares["val"] == pytest.approx(0.2, abs=0.05)
    assert (group_split(groups, (0.6, 0.2, 0.2), seed=1) == parts).all()
    with pytest.raises(InputError, match="ratios"):
        group_split(groups, (0.5, 0.5, 0.5))
