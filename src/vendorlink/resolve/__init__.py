"""resolve: entity resolution of records into vendor clusters (Nagpal et al.).

blocking -> pair features -> match function (trained from proxy labels) -> threshold
(guarding against the snowball effect) -> clusters -> metrics. See
:class:`vendorlink.resolve.pipeline.Resolver` for the whole job and the modules for steps;
:func:`vendorlink.resolve.stage.run_resolve` runs it on a workspace.
"""

from vendorlink.resolve.blocking import BlockingReport, CandidatePairs, block
from vendorlink.resolve.clustering import (
    Clusters,
    ScoredPairs,
    connected_components,
    correlation_clustering,
)
from vendorlink.resolve.features import PairFeaturizer
from vendorlink.resolve.match import MatchEvaluation, MatchFunction, evaluate_scores
from vendorlink.resolve.metrics import (
    adjusted_rand_index,
    bcubed_scores,
    cluster_metrics,
    normalized_mutual_information,
    pair_set_scores,
    pairwise_scores,
)
from vendorlink.resolve.pipeline import Resolver, ResolveResult
from vendorlink.resolve.records import RecordTable, ads_frame
from vendorlink.resolve.settings import (
    BlockingRule,
    Comparison,
    FieldSpec,
    ResolveSettings,
    ads_settings,
)
from vendorlink.resolve.stage import recluster, run_resolve
from vendorlink.resolve.threshold import ThresholdCurve, choose_threshold, threshold_curve
from vendorlink.resolve.training_pairs import TrainingPairs, labelled_pairs, proxy_pairs

__all__ = [
    "BlockingReport",
    "BlockingRule",
    "CandidatePairs",
    "Clusters",
    "Comparison",
    "FieldSpec",
    "MatchEvaluation",
    "MatchFunction",
    "PairFeaturizer",
    "RecordTable",
    "ResolveResult",
    "ResolveSettings",
    "Resolver",
    "ScoredPairs",
    "ThresholdCurve",
    "TrainingPairs",
    "adjusted_rand_index",
    "ads_frame",
    "ads_settings",
    "bcubed_scores",
    "block",
    "choose_threshold",
    "cluster_metrics",
    "connected_components",
    "correlation_clustering",
    "evaluate_scores",
    "labelled_pairs",
    "normalized_mutual_information",
    "pair_set_scores",
    "pairwise_scores",
    "proxy_pairs",
    "recluster",
    "run_resolve",
    "threshold_curve",
]
