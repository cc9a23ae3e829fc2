"""resolve: entity resolution of records into vendor clusters (Nagpal et al.).

See docs/resolve.md for the commands, the label-free thresholds, incremental linking
(:func:`vendorlink.resolve.incremental.link_new_ads`), cluster profiles and rules.

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
    supported_components,
)
from vendorlink.resolve.features import PairFeaturizer
from vendorlink.resolve.guard import GuardSettings, implausible_values
from vendorlink.resolve.identifiers import identifier_components, join_with_identifiers
from vendorlink.resolve.incremental import IncrementalLinker, link_new_ads
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
from vendorlink.resolve.profiles import PROFILE_FEATURES, cluster_profiles
from vendorlink.resolve.records import RecordTable, ads_frame
from vendorlink.resolve.rules import cluster_classifier, learn_rules, pn_curve
from vendorlink.resolve.scale import resolve_records
from vendorlink.resolve.settings import (
    BlockingRule,
    Comparison,
    FieldSpec,
    ResolveSettings,
    ads_settings,
    text_ads_settings,
)
from vendorlink.resolve.stage import recluster, run_resolve
from vendorlink.resolve.threshold import (
    ThresholdCurve,
    choose_threshold,
    identifier_holdout_curve,
    threshold_curve,
)
from vendorlink.resolve.training_pairs import TrainingPairs, labelled_pairs, proxy_pairs

__all__ = [
    "PROFILE_FEATURES",
    "BlockingReport",
    "BlockingRule",
    "CandidatePairs",
    "Clusters",
    "Comparison",
    "FieldSpec",
    "GuardSettings",
    "IncrementalLinker",
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
    "cluster_classifier",
    "cluster_metrics",
    "cluster_profiles",
    "connected_components",
    "correlation_clustering",
    "evaluate_scores",
    "identifier_components",
    "identifier_holdout_curve",
    "implausible_values",
    "join_with_identifiers",
    "labelled_pairs",
    "learn_rules",
    "link_new_ads",
    "normalized_mutual_information",
    "pair_set_scores",
    "pairwise_scores",
    "pn_curve",
    "proxy_pairs",
    "recluster",
    "resolve_records",
    "run_resolve",
    "supported_components",
    "text_ads_settings",
    "threshold_curve",
]
