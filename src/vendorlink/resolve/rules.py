"""Which clusters look like trafficking operations: a classifier and rules on cluster labels.

The user labels some clusters (Nagpal et al. §5 used clusters labelled by domain experts):
a CSV of ``cluster_id,label`` or ``ad_id,label`` (ad labels are mapped to their clusters;
a cluster is positive when any of its labelled ads is). Labels are 1/0 (also
true/false, yes/no, positive/negative).

- :func:`cluster_classifier`: a random forest on the profile features
  (:data:`~vendorlink.resolve.profiles.PROFILE_FEATURES`); out-of-fold probabilities for the
  labelled clusters (stratified k-fold), ROC AUC, feature importances, and a probability
  for every cluster from the model fitted on all labels.
- :func:`learn_rules`: rules ``feature >= t`` / ``feature <= t`` (thresholds at quantiles
  of the feature) and conjunctions of two of them, each with ``support`` (labelled
  clusters it covers), ``positives``, ``ratio`` (positives / support) and ``lift``
  (ratio / base rate), as in Nagpal Table 3.
- :func:`pn_curve`: sequential covering with the rules sorted by ratio: the cumulative
  negatives (x) and positives (y) covered as rules are added (Nagpal Fig. 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from vendorlink.errors import InputError
from vendorlink.resolve.profiles import PROFILE_FEATURES

_TRUE = {"1", "true", "yes", "y", "positive", "pos", "t"}
_FALSE = {"0", "false", "no", "n", "negative", "neg", "f"}


def read_cluster_labels(path: str | Path, ad_clusters: pd.DataFrame | None = None) -> pd.Series:
    """Cluster id -> 0/1 from a CSV of ``cluster_id,label`` or ``ad_id,label``.

    ``ad_clusters`` (``ad_id``, ``cluster``) maps ad labels to clusters (positive if any
    labelled ad of the cluster is). Bad labels or unknown ads are an error naming the row.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"label file {path} does not exist")
    frame = pd.read_csv(path, dtype=str)
    if "label" not in frame.columns:
        raise InputError(f"{path}: needs a 'label' column; it has {list(frame.columns)}")
    labels = []
    for i, raw in enumerate(frame["label"].fillna("").str.strip().str.lower()):
        if raw in _TRUE:
            labels.append(1)
        elif raw in _FALSE:
            labels.append(0)
        else:
            raise InputError(f"{path}, row {i + 2}: label {raw!r} is not 1/0 (or true/false)")
    frame["label"] = labels
    if "cluster_id" in frame.columns:
        try:
            frame["cluster"] = frame["cluster_id"].astype(int)
        except ValueError as exc:
            raise InputError(f"{path}: cluster_id must be an integer ({exc})") from exc
    elif "ad_id" in frame.columns:
        if ad_clusters is None:
            raise InputError("ad-level labels need the ads' clusters")
        cluster_of = dict(zip(ad_clusters["ad_id"], ad_clusters["cluster"], strict=True))
        unknown = [a for a in frame["ad_id"] if a not in cluster_of]
        if unknown:
            raise InputError(f"{path}: {len(unknown)} ads are not in any cluster: {unknown[:5]}")
        frame["cluster"] = frame["ad_id"].map(cluster_of).astype(int)
    else:
        raise InputError(f"{path}: needs a 'cluster_id' or an 'ad_id' column")
    return frame.groupby("cluster")["label"].max().astype(int)


# ---- classifier ---------------------------------------------------------------------------
@dataclass
class ClusterClassifier:
    """Probabilities per cluster, out-of-fold metrics and importances."""

    probabilities: pd.Series  # cluster -> P(positive), from the model fitted on all labels
    oof: pd.Series  # labelled cluster -> out-of-fold P(positive)
    auc: float | None
    importances: pd.DataFrame
    n_labelled: int
    n_positive: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_labelled": self.n_labelled,
            "n_positive": self.n_positive,
            "oof_roc_auc": None if self.auc is None else round(self.auc, 4),
            "importances": self.importances.round(4).to_dict(orient="records"),
        }


def cluster_classifier(
    profiles: pd.DataFrame,
    labels: pd.Series,
    *,
    features: Sequence[str] = PROFILE_FEATURES,
    n_folds: int = 5,
    seed: int = 0,
) -> ClusterClassifier:
    """Random forest on cluster profiles; out-of-fold scores for the labelled clusters."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    X_all = profiles.set_index("cluster")[list(features)].astype(float).fillna(0.0)
    known = labels[labels.index.isin(X_all.index)]
    if len(known) < 2 or known.nunique() < 2:
        raise InputError(
            f"the classifier needs labelled clusters of both classes; got {len(known)} "
            f"labelled, {int(known.sum())} positive"
        )
    X, y = X_all.loc[known.index].to_numpy(), known.to_numpy()

    def model() -> RandomForestClassifier:
        return RandomForestClassifier(
            n_estimators=200, min_samples_leaf=2, class_weight="balanced", random_state=seed,
            n_jobs=1,
        )  # fmt: skip

    folds = min(n_folds, int(np.bincount(y).min()))
    oof = np.full(len(y), np.nan)
    auc = None
    if folds >= 2:
        for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, y):
            oof[test] = model().fit(X[train], y[train]).predict_proba(X[test])[:, 1]
        auc = float(roc_auc_score(y, oof))
    full = model().fit(X, y)
    imp = pd.DataFrame({"feature": list(features), "importance": full.feature_importances_})
    return ClusterClassifier(
        probabilities=pd.Series(full.predict_proba(X_all.to_numpy())[:, 1], index=X_all.index),
        oof=pd.Series(oof, index=known.index),
        auc=auc,
        importances=imp.sort_values("importance", ascending=False).reset_index(drop=True),
        n_labelled=len(y),
        n_positive=int(y.sum()),
    )


# ---- rules --------------------------------------------------------------------------------
def _conditions(
    X: pd.DataFrame, features: Sequence[str], n_thresholds: int
) -> list[tuple[str, np.ndarray]]:
    out = []
    qs = np.linspace(0.1, 0.9, n_thresholds)
    for f in features:
        values = X[f].to_numpy(dtype=float)
        for t in np.unique(np.round(np.nanquantile(values, qs), 4)):
            out.append((f"{f} >= {t:g}", values >= t))
            out.append((f"{f} <= {t:g}", values <= t))
    return out


def learn_rules(
    profiles: pd.DataFrame,
    labels: pd.Series,
    *,
    features: Sequence[str] = PROFILE_FEATURES,
    n_thresholds: int = 9,
    min_support: int = 3,
    max_pairs_from: int = 40,
) -> pd.DataFrame:
    """Rules with ``support``, ``positives``, ``ratio`` and ``lift`` on the labelled clusters,
    single conditions and conjunctions of two (of the ``max_pairs_from`` best singles),
    sorted by lift then support."""
    X = profiles.set_index("cluster")[list(features)].astype(float).fillna(0.0)
    known = labels[labels.index.isin(X.index)]
    if len(known) == 0 or known.sum() == 0:
        raise InputError("rule learning needs at least one positive labelled cluster")
    X = X.loc[known.index]
    y = known.to_numpy().astype(bool)
    base = y.mean()
    singles = [(name, m) for name, m in _conditions(X, features, n_thresholds)
               if m.sum() >= min_support]  # fmt: skip

    def row(name: str, m: np.ndarray) -> dict[str, Any]:
        support, pos = int(m.sum()), int((m & y).sum())
        ratio = pos / support if support else 0.0
        lift = round(ratio / base, 4) if base else 0.0
        return {"rule": name, "support": support, "positives": pos, "negatives": support - pos,
                "ratio": round(ratio, 4), "lift": lift}  # fmt: skip

    rows = [row(n, m) for n, m in singles]
    ranked = sorted(range(len(singles)), key=lambda i: (-rows[i]["lift"], -rows[i]["support"]))
    top = [singles[i] for i in ranked[:max_pairs_from]]
    for i in range(len(top)):
        for j in range(i + 1, len(top)):
            if top[i][0].split(" ")[0] == top[j][0].split(" ")[0]:
                continue  # same feature: an interval, rarely worth a rule of its own
            m = top[i][1] & top[j][1]
            if m.sum() >= min_support:
                rows.append(row(f"{top[i][0]} AND {top[j][0]}", m))
    out = pd.DataFrame(rows).drop_duplicates("rule")
    return out.sort_values(["lift", "support"], ascending=[False, False]).reset_index(drop=True)


def pn_curve(
    profiles: pd.DataFrame,
    labels: pd.Series,
    rules: pd.DataFrame,
    *,
    features: Sequence[str] = PROFILE_FEATURES,
    max_rules: int = 20,
) -> pd.DataFrame:
    """Sequential covering: repeatedly add the rule with the best ratio on the clusters not
    covered yet; cumulative ``negatives`` / ``positives`` covered (Nagpal Fig. 10)."""
    X = profiles.set_index("cluster")[list(features)].astype(float).fillna(0.0)
    known = labels[labels.index.isin(X.index)]
    X = X.loc[known.index]
    y = known.to_numpy().astype(bool)
    masks = {r: _rule_mask(X, r) for r in rules["rule"].tolist()}
    covered = np.zeros(len(y), dtype=bool)
    out = [{"step": 0, "rule": "", "negatives": 0, "positives": 0}]
    for step in range(1, max_rules + 1):
        best, best_key = None, (-1.0, -1)
        for r, m in masks.items():
            new = m & ~covered
            if new.sum() == 0:
                continue
            key = ((new & y).sum() / new.sum(), int((new & y).sum()))
            if key > best_key:
                best, best_key = r, key
        if best is None:
            break
        covered |= masks.pop(best)
        out.append({"step": step, "rule": best, "negatives": int((covered & ~y).sum()),
                    "positives": int((covered & y).sum())})  # fmt: skip
    return pd.DataFrame(out)


def _rule_mask(X: pd.DataFrame, rule: str) -> np.ndarray:
    mask = np.ones(len(X), dtype=bool)
    for cond in rule.split(" AND "):
        feature, op, value = cond.split(" ")
        v = X[feature].to_numpy(dtype=float)
        mask &= (v >= float(value)) if op == ">=" else (v <= float(value))
    return mask
