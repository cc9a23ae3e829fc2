"""Classification metrics: hand-computed values and the per-vendor F1 table."""

from __future__ import annotations

import pytest

from vendorlink.evaluate import classification_metrics, per_vendor_f1

Y_TRUE = ["a", "a", "a", "a", "b", "b", "c"]
Y_PRED = ["a", "a", "a", "b", "b", "c", "c"]


def test_classification_metrics_by_hand() -> None:
    m = classification_metrics(Y_TRUE, Y_PRED)
    assert m["n_samples"] == 7 and m["n_classes"] == 3
    assert m["accuracy"] == pytest.approx(5 / 7)
    assert m["f1_micro"] == pytest.approx(5 / 7)
    # recall a 3/4, b 1/2, c 1/1
    assert m["balanced_accuracy"] == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)
    # F1: a P=1 R=3/4 -> 6/7; b P=1/2 R=1/2 -> 1/2; c P=1/2 R=1 -> 2/3
    f1 = {"a": 6 / 7, "b": 1 / 2, "c": 2 / 3}
    assert m["f1_macro"] == pytest.approx(sum(f1.values()) / 3)
    assert m["f1_weighted"] == pytest.approx((4 * f1["a"] + 2 * f1["b"] + 1 * f1["c"]) / 7)


def test_per_vendor_f1_rows() -> None:
    rows = per_vendor_f1(Y_TRUE, Y_PRED, train_counts={"a": 40, "b": 3})
    assert [row["vendor"] for row in rows] == ["a", "b", "c"]
    assert rows[0]["support"] == 4 and rows[0]["f1"] == pytest.approx(6 / 7)
    assert rows[2]["train_ads"] == 0 and rows[0]["train_ads"] == 40
    with pytest.raises(ValueError, match="y_pred"):
        classification_metrics(["a"], ["a", "b"])
