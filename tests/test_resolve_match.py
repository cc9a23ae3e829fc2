"""The match function: four scikit-learn models, ROC at low FPR, importances, save / load."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vendorlink.errors import InputError
from vendorlink.resolve.match import MatchFunction, evaluate_scores
from vendorlink.resolve.settings import MODEL_KINDS

NAMES = ["signal", "weak", "noise"]


def easy_set(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Matches have a high ``signal``; ``weak`` helps a little; ``noise`` is noise; some NaN."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(int)
    X = np.column_stack(
        [
            rng.normal(2.5 * y, 0.7),
            rng.normal(0.5 * y, 1.0),
            rng.normal(0.0, 1.0, n),
        ]
    ).astype(np.float32)
    X[rng.random(n) < 0.05, 1] = np.nan
    return X, y


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_each_model_separates_an_easy_set(kind: str, tmp_path: Path) -> None:
    X, y = easy_set()
    Xt, yt = easy_set(seed=1)
    params = {"n_estimators": 50} if kind == "random_forest" else None
    model = MatchFunction(kind, params, NAMES, random_state=0).fit(X, y)
    proba = model.predict_proba(Xt)
    assert proba.shape == (len(Xt), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    ev = evaluate_scores(yt, model.match_probability(Xt))
    assert ev.roc_auc > 0.95
    assert ev.tpr_at_fpr["0.01"] > 0.5
    imp = model.feature_importance(Xt, yt)
    assert imp["feature"].iloc[0] == "signal"
    loaded = MatchFunction.load(model.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.match_probability(Xt), model.match_probability(Xt))
    assert loaded.feature_names == NAMES


def test_builtin_importances_of_the_forest() -> None:
    X, y = easy_set()
    model = MatchFunction("random_forest", {"n_estimators": 30}, NAMES).fit(X, y)
    imp = model.feature_importance()
    assert imp["method"].iloc[0] == "impurity" and imp["feature"].iloc[0] == "signal"


def test_tpr_at_fpr_reads_the_roc_without_interpolation() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.7, 0.2, 0.75, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    ev = evaluate_scores(y, s, fprs=(0.0, 0.05, 0.1))
    assert ev.tpr_at_fpr["0"] == pytest.approx(0.5)  # above 0.75 only two matches
    assert ev.tpr_at_fpr["0.05"] == pytest.approx(0.5)  # 1 false positive of 10 is too many
    assert ev.tpr_at_fpr["0.1"] == pytest.approx(1.0)  # one allowed: down to 0.2
    assert ev.n_positive == 4 and ev.n_negative == 10


def test_bad_inputs_are_refused() -> None:
    X, y = easy_set(100)
    with pytest.raises(InputError, match="both"):
        MatchFunction("naive_bayes").fit(X, np.zeros(len(X)))
    model = MatchFunction("naive_bayes", feature_names=NAMES).fit(X, y)
    with pytest.raises(InputError, match="expects 3"):
        model.match_probability(X[:, :2])
    with pytest.raises(InputError, match="not one of"):
        MatchFunction("svm").fit(X, y)


def test_small_batches_of_a_forest_score_as_scikit_learn_does() -> None:
    rng = np.random.default_rng(0)
    X = rng.random((400, 5)).astype(np.float32)
    y = (X[:, 0] + 0.3 * rng.random(400) > 0.6).astype(int)
    model = MatchFunction("random_forest", {"n_estimators": 30}, [f"f{i}" for i in range(5)], 0)
    model.fit(X, y)
    fast = model.match_probability(X[:50])  # tree by tree (small batch)
    reference = model.model_.predict_proba(X[:50])[:, 1].astype(np.float32)
    assert np.array_equal(fast, reference)
