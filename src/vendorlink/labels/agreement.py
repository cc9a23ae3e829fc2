"""How far one labelling of ads is from another (e.g. phone communities from the true vendors).

All scores are computed over the ads that both labellings label.

- ``ari``: adjusted Rand index (1 = identical partitions, about 0 = chance).
- ``nmi``: normalised mutual information (arithmetic mean normalisation).
- ``homogeneity``: 1 when each predicted community holds ads of one reference vendor only.
- ``completeness``: 1 when each reference vendor's ads all fall in one predicted community.
- ``merged_communities``: predicted communities holding ads of more than one reference vendor.
- ``split_vendors``: reference vendors whose ads fall in more than one predicted community.
- ``pure_ad_share``: share of ads whose predicted community's majority reference vendor is
  their own (cluster purity, averaged per ad).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import Any

from sklearn.metrics import (
    adjusted_rand_score,
    completeness_score,
    homogeneity_score,
    normalized_mutual_info_score,
)


def label_agreement(predicted: Mapping[str, str], reference: Mapping[str, str]) -> dict[str, Any]:
    """Agreement of ``predicted`` (ad -> label) with ``reference`` (ad -> label)."""
    common = sorted(set(predicted) & set(reference))
    out: dict[str, Any] = {
        "n_ads_compared": len(common),
        "n_predicted_only": len(set(predicted) - set(reference)),
        "n_reference_only": len(set(reference) - set(predicted)),
    }
    if not common:
        return out
    pred = [predicted[a] for a in common]
    ref = [reference[a] for a in common]
    members: dict[str, Counter[str]] = defaultdict(Counter)
    spread: dict[str, set[str]] = defaultdict(set)
    for p, r in zip(pred, ref, strict=True):
        members[p][r] += 1
        spread[r].add(p)
    majority = sum(c.most_common(1)[0][1] for c in members.values())
    out.update(
        {
            "n_predicted_labels": len(members),
            "n_reference_labels": len(spread),
            "ari": round(float(adjusted_rand_score(ref, pred)), 4),
            "nmi": round(float(normalized_mutual_info_score(ref, pred)), 4),
            "homogeneity": round(float(homogeneity_score(ref, pred)), 4),
            "completeness": round(float(completeness_score(ref, pred)), 4),
            "merged_communities": sum(1 for c in members.values() if len(c) > 1),
            "split_vendors": sum(1 for s in spread.values() if len(s) > 1),
            "pure_ad_share": round(majority / len(common), 4),
        }
    )
    return out
