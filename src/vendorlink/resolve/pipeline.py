"""The resolve job end to end: block -> features -> match function -> threshold -> clusters.

:class:`Resolver` holds one :class:`~vendorlink.resolve.settings.ResolveSettings` and the
fitted match function; each step is also a plain function in its own module. ::

    resolver = Resolver(settings)
    records = resolver.records(frame)            # typed record table
    result = resolver.run(records)               # fit (if not fitted), score, threshold, cluster
    result.clusters_at(0.9, "correlation")       # another threshold, no re-scoring
    resolver.save("artefacts/resolve")           # settings.yaml, match/, threshold.json
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from vendorlink.atomic import atomic_write_text
from vendorlink.errors import InputError
from vendorlink.resolve.blocking import BlockingReport, CandidatePairs, block
from vendorlink.resolve.clustering import Clusters, ScoredPairs
from vendorlink.resolve.features import PairFeaturizer
from vendorlink.resolve.guard import GuardSettings
from vendorlink.resolve.match import MatchEvaluation, MatchFunction, evaluate_scores
from vendorlink.resolve.metrics import cluster_metrics
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import ResolveSettings
from vendorlink.resolve.threshold import (
    ThresholdChoice,
    ThresholdCurve,
    choose_threshold,
    threshold_curve,
)
from vendorlink.resolve.training_pairs import (
    TrainingPairs,
    check_no_proxy_feature,
    labelled_pairs,
    proxy_components,
    proxy_pairs,
)


@dataclass
class ResolveResult:
    """Everything one run produced; scored pairs are kept for re-clustering."""

    records: RecordTable
    candidates: CandidatePairs
    blocking_report: BlockingReport
    scored: ScoredPairs
    curve: ThresholdCurve
    choice: ThresholdChoice
    clusters: Clusters
    training: TrainingPairs | None = None
    evaluation: MatchEvaluation | None = None
    importances: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)
    clustering_method: str = "connected_components"

    def clusters_at(self, threshold: float, method: str | None = None, **options: Any) -> Clusters:
        """Clusters at another threshold and/or method from the kept scored pairs."""
        return self.scored.clusters(threshold, method or self.clustering_method, **options)

    def metrics(self, clusters: Clusters | None = None) -> dict[str, float] | None:
        """Cluster metrics against the records' true labels (``None`` when there are none)."""
        if self.records.labels is None:
            return None
        return cluster_metrics(self.records.labels, (clusters or self.clusters).labels)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_records": len(self.records),
            "blocking": self.blocking_report.to_dict(),
            "threshold": self.choice.to_dict(),
            "n_clusters": self.clusters.n_clusters,
            "largest_cluster": self.clusters.largest,
            "timings": self.timings,
        }
        if self.evaluation is not None:
            out["match_evaluation"] = self.evaluation.to_dict()
        if self.training is not None and self.training.report is not None:
            out["sampling"] = self.training.report.to_dict()
        if self.importances is not None:
            out["feature_importance"] = self.importances.to_dict(orient="records")
        metrics = self.metrics()
        if metrics is not None:
            out["metrics"] = metrics
        return out

    def write(self, folder: str | Path, charts: bool = True) -> Path:
        """Write ``summary.json``, ``clusters.parquet``, ``scored_pairs.parquet`` and charts."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(
            folder / "summary.json", json.dumps(self.summary(), indent=2, default=_json_default)
        )
        self.clusters.to_frame().to_parquet(folder / "clusters.parquet", index=False)
        self.curve.to_frame().to_csv(folder / "threshold_curve.csv", index=False)
        self.scored.save(folder / "scored_pairs.parquet")
        if charts:
            from vendorlink.resolve.charts import write_charts

            write_charts(self, folder)
        return folder


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _importances(
    model: MatchFunction, X: np.ndarray | None, y: np.ndarray | None
) -> pd.DataFrame | None:
    """Built-in importances when the model has them, else permutation on held-out pairs."""
    try:
        return model.feature_importance()
    except InputError:
        return model.feature_importance(X, y) if X is not None else None


_FEATURE_STATE: list[Any] = []


def _features_of(bounds: tuple[int, int]) -> np.ndarray:
    """Features of candidate pairs ``bounds`` (in a forked worker of :meth:`Resolver.score`)."""
    resolver, records, left, right = _FEATURE_STATE
    a, b = bounds
    return resolver.features(records, left[a:b], right[a:b])


class Resolver:
    """Fit and apply a resolve pipeline described by one settings object."""

    def __init__(
        self,
        settings: ResolveSettings,
        *,
        con: duckdb.DuckDBPyConnection | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings.validate()
        self.con = con
        self.progress = progress
        self.featurizer = PairFeaturizer(settings.model_comparisons())
        check_no_proxy_feature(self.featurizer.feature_names, settings.training.proxy_field)
        self.match_function: MatchFunction | None = None
        self.evaluation: MatchEvaluation | None = None
        self.importances: pd.DataFrame | None = None
        self.training: TrainingPairs | None = None
        self.choice: ThresholdChoice | None = None

    def _say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    # ---- steps --------------------------------------------------------------------------
    def records(self, frame: pd.DataFrame) -> RecordTable:
        records = RecordTable.from_frame(frame, self.settings)
        records.workers = self.settings.workers
        return records

    def block(self, records: RecordTable) -> tuple[CandidatePairs, BlockingReport]:
        self._say(f"blocking {len(records)} records with {len(self.settings.blocking)} rules")
        return block(
            records, self.settings.blocking, link_type=self.settings.link_type, con=self.con
        )

    def features(self, records: RecordTable, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        return self.featurizer.transform(records, left, right, batch_size=self.settings.batch_size)

    def training_pairs(
        self,
        records: RecordTable,
        candidates: CandidatePairs,
        restrict_to: np.ndarray | None = None,
    ) -> TrainingPairs:
        tr, seed = self.settings.training, self.settings.seed
        if tr.proxy_field:
            return proxy_pairs(records, candidates, tr, seed=seed)
        return labelled_pairs(
            records, candidates, n_positive=tr.n_positive, n_negative=tr.n_negative,
            restrict_to=restrict_to, seed=seed,
        )  # fmt: skip

    def fit(
        self,
        records: RecordTable,
        candidates: CandidatePairs | None = None,
        *,
        restrict_to: np.ndarray | None = None,
        refit: bool = True,
    ) -> Resolver:
        """Draw training pairs, train the match function, evaluate it on held-out groups.

        The evaluation uses a model trained without the held-out groups; with ``refit``
        the kept model is then trained on all training pairs.
        """
        if candidates is None:
            candidates, _ = self.block(records)
        pairs = self.training_pairs(records, candidates, restrict_to)
        self._say(f"features for {len(pairs)} training pairs")
        X = self.features(records, pairs.left, pairs.right)
        train, test = pairs.split(self.settings.training.test_fraction, self.settings.seed)
        ms = self.settings.model
        model = MatchFunction(
            ms.kind, ms.params, self.featurizer.feature_names, self.settings.seed, ms.n_threads
        )
        evaluation = None
        self.importances = None
        if test.any() and train.any() and len(np.unique(pairs.y[test])) == 2:
            model.fit(X[train], pairs.y[train])
            evaluation = evaluate_scores(pairs.y[test], model.match_probability(X[test]))
            self.importances = _importances(model, X[test], pairs.y[test])
        if refit or evaluation is None:
            model = MatchFunction(
                ms.kind, ms.params, self.featurizer.feature_names, self.settings.seed, ms.n_threads
            ).fit(X, pairs.y)
        if self.importances is None:
            self.importances = _importances(model, None, None)
        self.match_function, self.evaluation, self.training = model, evaluation, pairs
        return self

    def score(self, records: RecordTable, candidates: CandidatePairs) -> ScoredPairs:
        if self.match_function is None:
            raise InputError("the resolver has no match function yet: call fit() or load()")
        self._say(f"scoring {len(candidates)} candidate pairs")
        scores = np.empty(len(candidates), dtype=np.float32)
        step = self.settings.batch_size
        workers = self.settings.workers
        if workers > 1 and len(candidates) > 4 * step:
            # features in forked processes (the record table's caches are built first and
            # shared copy-on-write); the model predicts here, with its own threads
            self.features(records, candidates.left[:10], candidates.right[:10])
            ranges = [(s, min(s + step, len(candidates))) for s in range(0, len(candidates), step)]
            _FEATURE_STATE[:] = [self, records, candidates.left, candidates.right]
            try:
                import multiprocessing as mp

                with mp.get_context("fork").Pool(workers) as pool:
                    for (a, b), X in zip(ranges, pool.imap(_features_of, ranges), strict=True):
                        scores[a:b] = self.match_function.match_probability(X)
            finally:
                _FEATURE_STATE.clear()
        else:
            for s in range(0, len(candidates), step):
                X = self.features(
                    records, candidates.left[s : s + step], candidates.right[s : s + step]
                )
                scores[s : s + step] = self.match_function.match_probability(X)
        return ScoredPairs(candidates.left, candidates.right, scores, records.ids)

    def complete_components(
        self, records: RecordTable, scored: ScoredPairs, threshold: float
    ) -> ScoredPairs:
        """Score the unscored pairs inside each component at ``threshold`` (up to
        ``clustering.max_component_size`` records), so correlation clustering decides on
        scores instead of treating pairs blocking never proposed as non-matches."""
        left, right = scored.missing_component_pairs(
            threshold, self.settings.clustering.max_component_size
        )
        if len(left) == 0:
            return scored
        self._say(f"scoring {len(left)} more pairs inside components")
        assert self.match_function is not None
        extra = np.empty(len(left), dtype=np.float32)
        step = self.settings.batch_size
        for s in range(0, len(left), step):
            X = self.features(records, left[s : s + step], right[s : s + step])
            extra[s : s + step] = self.match_function.match_probability(X)
        return scored.extend(left, right, extra)

    def curve_labels(self, records: RecordTable) -> np.ndarray | None:
        """Labels for F1 on the threshold curve: true labels, else proxy components."""
        if records.labels is not None:
            return records.labels
        proxy = self.settings.training.proxy_field
        if proxy:
            comp = proxy_components(
                records, proxy, GuardSettings.from_training(self.settings.training)
            )
            return np.array([None if c < 0 else int(c) for c in comp], dtype=object)
        return None

    def threshold(
        self, scored: ScoredPairs, labels: np.ndarray | None = None
    ) -> tuple[ThresholdCurve, ThresholdChoice]:
        ts = self.settings.threshold
        curve = threshold_curve(
            scored, n_grid=ts.n_grid, sample_size=ts.sample_size, labels=labels,
            seed=self.settings.seed,
        )  # fmt: skip
        choice = choose_threshold(
            curve, ts.method, value=ts.value, max_component_size=ts.max_component_size,
            max_component_fraction=ts.max_component_fraction,
            min_component_bound=ts.min_component_bound,
        )  # fmt: skip
        self.choice = choice
        return curve, choice

    def run(self, records: RecordTable | pd.DataFrame) -> ResolveResult:
        """Block, fit (unless fitted), score, choose the threshold and cluster."""
        if isinstance(records, pd.DataFrame):
            records = self.records(records)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        candidates, report = self.block(records)
        timings["block"] = time.perf_counter() - t0
        if self.match_function is None:
            t0 = time.perf_counter()
            self.fit(records, candidates)
            timings["fit"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        scored = self.score(records, candidates)
        timings["score"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        curve, choice = self.threshold(scored, self.curve_labels(records))
        timings["threshold"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cs = self.settings.clustering
        if cs.method == "correlation" and cs.complete_components:
            scored = self.complete_components(records, scored, choice.threshold)
        clusters = scored.clusters(
            choice.threshold, cs.method, n_passes=cs.n_passes,
            unscored_penalty=cs.unscored_penalty, seed=self.settings.seed,
        )  # fmt: skip
        timings["cluster"] = time.perf_counter() - t0
        return ResolveResult(
            records=records, candidates=candidates, blocking_report=report, scored=scored,
            curve=curve, choice=choice, clusters=clusters, training=self.training,
            evaluation=self.evaluation, importances=self.importances, timings=timings,
            clustering_method=cs.method,
        )  # fmt: skip

    # ---- persistence --------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``settings.yaml``, ``match/`` (the match function) and ``threshold.json``."""
        if self.match_function is None:
            raise InputError("nothing to save: the resolver is not fitted")
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.settings.to_yaml(path / "settings.yaml")
        self.match_function.save(path / "match")
        extra: dict[str, Any] = {"threshold": self.choice.to_dict() if self.choice else None}
        if self.evaluation is not None:
            extra["evaluation"] = self.evaluation.to_dict()
        atomic_write_text(
            path / "threshold.json", json.dumps(extra, indent=2, default=_json_default)
        )
        return path

    @classmethod
    def load(cls, path: str | Path, **kwargs: Any) -> Resolver:
        path = Path(path)
        out = cls(ResolveSettings.from_yaml(path / "settings.yaml"), **kwargs)
        out.match_function = MatchFunction.load(path / "match")
        if out.match_function.feature_names != out.featurizer.feature_names:
            raise InputError(
                f"{path}: the match function's features {out.match_function.feature_names} "
                f"differ from the settings' {out.featurizer.feature_names}"
            )
        meta = json.loads((path / "threshold.json").read_text(encoding="utf-8"))
        if meta.get("threshold"):
            out.choice = ThresholdChoice(**meta["threshold"])
        return out
