"""The match function: a scikit-learn classifier over pair features, with ROC evaluation.

:class:`MatchFunction` is a scikit-learn estimator (``fit`` / ``predict_proba`` /
``predict``); ``kind`` picks the classifier:

- ``logistic_regression``: median imputation (+ missing indicators), standard scaling,
  ``LogisticRegression``;
- ``naive_bayes``: median imputation (+ indicators), ``GaussianNB``;
- ``random_forest``: ``RandomForestClassifier`` (NaN handled natively);
- ``gradient_boosting``: ``HistGradientBoostingClassifier`` (NaN handled natively).

It saves to a folder: ``config.json`` (kind, params, feature names, versions) and
``model.joblib`` (the fitted scikit-learn object; a pickle, so load only models you made).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import ThreadpoolController

from vendorlink.atomic import atomic_write_text
from vendorlink.errors import InputError
from vendorlink.resolve.settings import MODEL_KINDS

_CONTROLLER: list[ThreadpoolController] = []


def _thread_controller() -> ThreadpoolController:
    """One threadpool controller per process (building one inspects every loaded library)."""
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


CONFIG_NAME = "config.json"
MODEL_NAME = "model.joblib"


def make_classifier(kind: str, params: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """A fresh scikit-learn classifier of ``kind`` with ``params``."""
    params = dict(params or {})
    if kind == "logistic_regression":
        params.setdefault("max_iter", 1000)
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(random_state=seed, **params),
        )
    if kind == "naive_bayes":
        return make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            GaussianNB(**params),
        )
    if kind == "random_forest":
        params.setdefault("n_estimators", 200)
        params.setdefault("n_jobs", 1)
        return RandomForestClassifier(random_state=seed, **params)
    if kind == "gradient_boosting":
        return HistGradientBoostingClassifier(random_state=seed, **params)
    raise InputError(f"model kind {kind!r} is not one of {MODEL_KINDS}")


SMALL_BATCH = 5000  # rows up to which a random forest is evaluated tree by tree


def _forest_probability(model: Any, X: np.ndarray) -> np.ndarray | None:
    """Match probability of a fitted random forest, summed tree by tree as scikit-learn
    does but without its per-tree joblib dispatch, which costs more than the trees on the
    few rows of an incremental link; ``None`` for other models."""
    from sklearn.ensemble import RandomForestClassifier

    if not isinstance(model, RandomForestClassifier) or list(model.classes_) != [0, 1]:
        return None
    X = np.ascontiguousarray(X, dtype=np.float32)
    total = np.zeros((len(X), 2), dtype=np.float64)
    for tree in model.estimators_:
        total += tree.predict_proba(X, check_input=False)
    return (total[:, 1] / len(model.estimators_)).astype(np.float32)


class MatchFunction(ClassifierMixin, BaseEstimator):
    """Probability that a pair of records is a match, from its feature vector."""

    def __init__(
        self,
        kind: str = "random_forest",
        params: dict[str, Any] | None = None,
        feature_names: Sequence[str] | None = None,
        random_state: int = 0,
        n_threads: int | None = 1,
    ) -> None:
        self.kind = kind
        self.params = params
        self.feature_names = feature_names
        self.random_state = random_state
        self.n_threads = n_threads

    def _threads(self) -> Any:
        """Cap OpenMP / BLAS threads (``None``: no cap). One thread is the default: on a
        small shared machine, OpenMP spinning in gradient boosting costs up to 10x."""
        if self.n_threads is None:
            return contextlib.nullcontext()
        return _thread_controller().limit(limits=self.n_threads)

    def fit(self, X: np.ndarray, y: np.ndarray) -> MatchFunction:
        X = self._check(X)
        y = np.asarray(y).astype(int)
        if len(np.unique(y)) != 2:
            raise InputError("the match function needs both matching and non-matching pairs")
        self.model_ = make_classifier(self.kind, self.params, self.random_state)
        with self._threads():
            self.model_.fit(X, y)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        return self

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """``(n, 2)`` probabilities of non-match and match (scikit-learn convention)."""
        with self._threads():
            return self.model_.predict_proba(self._check(X))

    def match_probability(self, X: np.ndarray, batch_size: int = 200000) -> np.ndarray:
        """Probability of a match, one value per row, scored in batches."""
        X = self._check(X)
        if len(X) <= SMALL_BATCH:
            fast = _forest_probability(self.model_, X)
            if fast is not None:
                return fast
        out = np.empty(len(X), dtype=np.float32)
        with self._threads():
            for s in range(0, len(X), batch_size):
                out[s : s + batch_size] = self.model_.predict_proba(X[s : s + batch_size])[:, 1]
        return out

    def predict(self, X: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return (self.match_probability(X) >= threshold).astype(int)

    def _check(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise InputError(f"features must be a 2-D array, got shape {X.shape}")
        if self.feature_names is not None and X.shape[1] != len(self.feature_names):
            raise InputError(
                f"features have {X.shape[1]} columns; the match function expects "
                f"{len(self.feature_names)} ({list(self.feature_names)})"
            )
        return X

    # ---- explanation --------------------------------------------------------------------
    def feature_importance(
        self,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        n_repeats: int = 3,
        max_rows: int = 5000,
    ) -> pd.DataFrame:
        """Importance per feature, most important first.

        Random forests give their impurity importances (``method = impurity``); with ``X``
        and ``y`` (held-out pairs; at most ``max_rows`` of them, sampled) every model gets
        permutation importances: the mean drop in ROC AUC over ``n_repeats`` shuffles of
        the feature's column (``method = permutation``).
        """
        names = list(self.feature_names or [f"f{i}" for i in range(self.n_features_in_)])
        if X is not None and y is not None:
            X, y = self._check(X), np.asarray(y)
            if len(X) > max_rows:
                rows = np.random.default_rng(self.random_state).choice(len(X), max_rows, False)
                X, y = X[rows], y[rows]
            res = permutation_importance(
                self, X, y, scoring="roc_auc", n_repeats=n_repeats,
                random_state=self.random_state,
            )  # fmt: skip
            frame = pd.DataFrame(
                {"feature": names, "importance": res.importances_mean, "std": res.importances_std}
            )
            frame["method"] = "permutation"
        elif hasattr(self.model_, "feature_importances_"):
            frame = pd.DataFrame(
                {"feature": names, "importance": self.model_.feature_importances_, "std": np.nan}
            )
            frame["method"] = "impurity"
        elif isinstance(self.model_, Pipeline) and hasattr(self.model_[-1], "coef_"):
            coef = self.model_[-1].coef_.ravel()[: len(names)]
            frame = pd.DataFrame({"feature": names, "importance": np.abs(coef), "std": np.nan})
            frame["method"] = "abs_standardised_coefficient"
        else:
            raise InputError(f"{self.kind} has no built-in importances; pass held-out X and y")
        return frame.sort_values("importance", ascending=False, ignore_index=True)

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        tmp = path / f".{MODEL_NAME}.tmp"
        joblib.dump(self.model_, tmp)
        tmp.replace(path / MODEL_NAME)
        config = {
            "kind": self.kind,
            "params": self.params or {},
            "feature_names": list(self.feature_names or []),
            "random_state": self.random_state,
            "n_threads": self.n_threads,
            "sklearn_version": sklearn.__version__,
        }
        atomic_write_text(path / CONFIG_NAME, json.dumps(config, indent=2))
        return path

    @classmethod
    def load(cls, path: str | Path) -> MatchFunction:
        path = Path(path)
        if not (path / CONFIG_NAME).exists():
            raise InputError(f"{path} holds no match function ({CONFIG_NAME} missing)")
        config = json.loads((path / CONFIG_NAME).read_text(encoding="utf-8"))
        out = cls(
            kind=config["kind"],
            params=config["params"],
            feature_names=config["feature_names"] or None,
            random_state=config["random_state"],
            n_threads=config.get("n_threads", 1),
        )
        out.model_ = joblib.load(path / MODEL_NAME)
        out.classes_ = np.array([0, 1])
        out.n_features_in_ = len(config["feature_names"]) or None
        return out


@dataclass
class MatchEvaluation:
    """ROC of the match function on held-out pairs.

    ``tpr_at_fpr[x]`` is the largest true-positive rate among ROC points whose
    false-positive rate is at most ``x`` (no interpolation); with fewer than ``1/x``
    negatives the value rests on very few of them (``n_negative`` says how many).
    """

    roc_auc: float
    average_precision: float
    tpr_at_fpr: dict[str, float]
    n_positive: int
    n_negative: int
    fpr: np.ndarray = field(repr=False)
    tpr: np.ndarray = field(repr=False)
    thresholds: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "roc_auc": self.roc_auc,
            "average_precision": self.average_precision,
            "tpr_at_fpr": self.tpr_at_fpr,
            "n_positive": self.n_positive,
            "n_negative": self.n_negative,
        }


def evaluate_scores(
    y_true: np.ndarray, scores: np.ndarray, fprs: Sequence[float] = (0.01, 0.001)
) -> MatchEvaluation:
    """ROC AUC, average precision and TPR at the given FPRs of ``scores`` against ``y_true``."""
    y_true = np.asarray(y_true).astype(int)
    fpr, tpr, thr = roc_curve(y_true, scores)
    at = {f"{x:g}": float(tpr[fpr <= x].max(initial=0.0)) for x in fprs}
    return MatchEvaluation(
        roc_auc=float(roc_auc_score(y_true, scores)),
        average_precision=float(average_precision_score(y_true, scores)),
        tpr_at_fpr=at,
        n_positive=int(y_true.sum()),
        n_negative=int((1 - y_true).sum()),
        fpr=fpr,
        tpr=tpr,
        thresholds=thr,
    )
