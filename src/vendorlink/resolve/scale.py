"""Resolve a large table of ads (text only) end to end, without a workspace.

:func:`resolve_records` is the path the scaling benchmark times (10k to 1M ads): records
from a DataFrame in the columns of :func:`~vendorlink.resolve.records.ads_frame`, blocking
whose caps scale with the data (rare n-grams with a sorted-neighbourhood window for the
commoner ones), the match function trained from shared-phone proxy pairs, the label-free
threshold (:func:`~vendorlink.resolve.threshold.choose_threshold`, method ``proxy``:
best B-cubed F1 against the phone communities, never the true vendors), connected
components, then the union with the identifier communities as ``vendorlink resolve`` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from vendorlink.resolve.guard import GuardReport, GuardSettings
from vendorlink.resolve.identifiers import (
    identifier_components,
    join_with_identifiers,
    singleton_labels,
)
from vendorlink.resolve.pipeline import Resolver
from vendorlink.resolve.settings import ResolveSettings, text_ads_settings

IDENTIFIER_FIELDS = ("phones", "emails")


def resolve_records(
    frame: pd.DataFrame,
    settings: ResolveSettings | None = None,
    *,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Cluster the ads of ``frame``; returns labels, counts, the threshold and timings.

    ``labels`` are the final clusters (match clusters joined with the identifier
    communities), ``match_labels`` the match-function clusters alone and
    ``identifier_labels`` the identifier communities (ads without one are singletons).
    ``workers`` processes tokenise and compute pair features. True labels, if the frame
    has any, are never read.
    """
    settings = settings or text_ads_settings()
    settings.workers = workers  # processes for tokenising and pair features
    settings.label_column = None
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    resolver = Resolver(settings, progress=progress)
    records = resolver.records(frame)
    timings["records"] = time.perf_counter() - t0
    if progress is not None:
        progress(f"{len(records)} records")
    result = resolver.run(records)
    timings.update(result.timings)
    if progress is not None:
        progress("identifier communities and the link threshold")
    t0 = time.perf_counter()
    guard_reports: list[GuardReport] = []
    components = identifier_components(
        records, IDENTIFIER_FIELDS, GuardSettings.from_training(settings.training), guard_reports
    )
    cs = settings.clustering
    final, link_choice, _ = join_with_identifiers(
        result.scored, components, seed=settings.seed,
        min_support=cs.link_min_support, strong_margin=cs.link_strong_margin,
    )  # fmt: skip
    timings["identifiers"] = time.perf_counter() - t0
    return {
        "ids": records.ids,
        "labels": final,
        "match_labels": result.clusters.labels,
        "identifier_labels": singleton_labels(components),
        "n_candidate_pairs": len(result.candidates),
        "n_pairs_compared": len(result.scored) + (len(result.training) if result.training else 0),
        "threshold": round(link_choice.threshold, 4),
        "threshold_method": link_choice.method,
        "threshold_reason": link_choice.reason,
        "match_threshold": round(result.choice.threshold, 4),
        "blocking": result.blocking_report.to_dict(),
        # identifier values left out of the communities as shared by implausibly many ads /
        # names / cities (the training proxy's own report is in result.training.report)
        "identifier_guard": [r.to_dict() for r in guard_reports],
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "result": result,
    }
