"""The match threshold: component curves against the threshold (Nagpal Fig. 6) and a choice.

Lowering the threshold adds edges; past some point a few false edges chain entities into
one giant component (the "snowball effect"). :func:`threshold_curve` records, on a random
sample of records (Nagpal used 10,000), the number of connected components and the size
of the largest one at each threshold of a grid, plus F1 scores when labels are known.
:func:`choose_threshold` picks a threshold from the curve (see ``ThresholdSettings``):

- ``fixed``: the given value;
- ``bound``: the lowest grid threshold whose largest component is within the bound;
- ``knee``: the knee of the log largest-component curve (:func:`snowball_knee`), the
  threshold where the largest component stops shrinking fast as the threshold rises,
  i.e. just above the snowball; raised to the ``bound`` threshold if that is higher; a
  flat curve has no knee and ``bound`` is used;
- ``f1``: the grid threshold with the best B-cubed F1 against known labels (true labels,
  or the proxy components, which count links between records of different proxy
  entities as errors and so lean high), among those within the bound (ties: the higher
  threshold);
- ``auto``: ``f1`` when the curve has labels, else ``knee``.

The bound on the largest component is ``max_component_size`` when given, else the larger
of ``min_component_bound`` and ``max_component_fraction`` times the sampled records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from vendorlink.errors import InputError
from vendorlink.resolve.clustering import ScoredPairs, connected_components, supported_components
from vendorlink.resolve.metrics import bcubed_scores, pairwise_scores


@dataclass
class ThresholdCurve:
    """Per threshold (ascending): components, largest component, edges, optional F1s."""

    thresholds: np.ndarray
    n_components: np.ndarray
    largest_component: np.ndarray
    n_edges: np.ndarray
    n_records: int
    bcubed_f1: np.ndarray | None = None
    pairwise_f1: np.ndarray | None = None

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(
            {
                "threshold": self.thresholds,
                "n_components": self.n_components,
                "largest_component": self.largest_component,
                "n_edges": self.n_edges,
            }
        )
        if self.bcubed_f1 is not None:
            frame["bcubed_f1"] = self.bcubed_f1
        if self.pairwise_f1 is not None:
            frame["pairwise_f1"] = self.pairwise_f1
        return frame


@dataclass
class ThresholdChoice:
    threshold: float
    method: str
    reason: str
    bound: int
    largest_component: int | None = None
    n_components: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def default_grid(n_grid: int = 99) -> np.ndarray:
    """``n_grid`` evenly spaced thresholds in (0, 1), plus 0.001, 0.005, 0.995 and 0.999."""
    even = np.linspace(0.0, 1.0, n_grid + 2)[1:-1]
    return np.unique(np.round(np.concatenate([even, [0.001, 0.005, 0.995, 0.999]]), 6))


def threshold_curve(
    scored: ScoredPairs,
    *,
    thresholds: np.ndarray | None = None,
    n_grid: int = 99,
    sample_size: int | None = 10000,
    labels: np.ndarray | None = None,
    seed: int = 0,
) -> ThresholdCurve:
    """Component counts and largest component against the threshold, on a record sample.

    ``labels`` (one true or proxy label per record, ``None`` when unknown) adds B-cubed and
    pairwise F1 at each threshold, computed on the sampled records.
    """
    grid = np.sort(np.asarray(thresholds if thresholds is not None else default_grid(n_grid)))
    if sample_size is not None and sample_size < scored.n_records:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(scored.n_records, size=sample_size, replace=False))
        sample = scored.subset(rows)
        if labels is not None:
            labels = np.asarray(labels, dtype=object)[rows]
    else:
        sample = scored
    n = sample.n_records
    comps, largest, edges = [], [], []
    bf1: list[float] = []
    pf1: list[float] = []
    has_labels = labels is not None and pd.Series(labels).notna().any()
    for t in grid:
        left, right, _ = sample.edges(float(t))
        cc = connected_components(n, left, right)
        sizes = np.bincount(cc)
        comps.append(len(sizes))
        largest.append(int(sizes.max(initial=0)))
        edges.append(len(left))
        if has_labels:
            bf1.append(bcubed_scores(labels, cc).f1)
            pf1.append(pairwise_scores(labels, cc).f1)
    return ThresholdCurve(
        thresholds=grid,
        n_components=np.array(comps, dtype=np.int64),
        largest_component=np.array(largest, dtype=np.int64),
        n_edges=np.array(edges, dtype=np.int64),
        n_records=n,
        bcubed_f1=np.array(bf1) if has_labels else None,
        pairwise_f1=np.array(pf1) if has_labels else None,
    )


def snowball_knee(
    thresholds: np.ndarray, largest: np.ndarray, min_strength: float = 0.1
) -> tuple[float | None, float]:
    """The knee of log(largest component) against the threshold (Kneedle, Satopää et al. 2011).

    Both axes are scaled to [0, 1]; for a curve falling from the snowball (low thresholds)
    to a plateau, the knee is the grid point farthest below the chord joining the ends,
    i.e. where the largest component stops shrinking quickly. Returns ``(None, strength)``
    when the curve is flat or the largest distance (``strength``) is below ``min_strength``.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    y = np.log(np.maximum(np.asarray(largest), 1).astype(np.float64))
    if len(t) < 3 or y.max() - y.min() < math.log(2):
        return None, 0.0
    tn = (t - t[0]) / (t[-1] - t[0])
    yn = (y - y.min()) / (y.max() - y.min())
    dist = (1.0 - tn) - yn
    i = int(np.argmax(dist))
    strength = float(dist[i])
    if strength < min_strength:
        return None, strength
    return float(t[i]), strength


def component_bound(
    n_records: int,
    max_component_size: int | None = None,
    max_component_fraction: float = 0.05,
    min_component_bound: int = 25,
) -> int:
    """The largest component allowed: the given size, else max(min bound, fraction x n)."""
    if max_component_size:
        return int(max_component_size)
    return max(2, min_component_bound, math.ceil(max_component_fraction * n_records))


def choose_threshold(
    curve: ThresholdCurve,
    method: str = "auto",
    *,
    value: float = 0.5,
    max_component_size: int | None = None,
    max_component_fraction: float = 0.05,
    min_component_bound: int = 25,
) -> ThresholdChoice:
    """Pick a threshold from ``curve`` by ``method`` (module doc), guarding against snowballs."""
    bound = component_bound(
        curve.n_records, max_component_size, max_component_fraction, min_component_bound
    )
    if method == "auto":
        method = "f1" if curve.bcubed_f1 is not None else "knee"
    t, largest = curve.thresholds, curve.largest_component

    def at(threshold: float, m: str, reason: str, **details: Any) -> ThresholdChoice:
        i = int(np.clip(np.searchsorted(t, threshold), 0, len(t) - 1))
        return ThresholdChoice(
            threshold=float(threshold),
            method=m,
            reason=reason,
            bound=bound,
            largest_component=int(largest[i]) if len(t) else None,
            n_components=int(curve.n_components[i]) if len(t) else None,
            details=details,
        )

    if method == "fixed":
        return at(value, "fixed", f"fixed threshold {value}")
    if len(t) == 0:
        raise InputError("the threshold curve is empty")
    allowed = largest <= bound
    if allowed.any():
        t_bound = float(t[np.argmax(allowed)])  # largest is non-increasing in t
        bound_reason = f"lowest threshold with largest component <= {bound}"
    else:
        t_bound = float(t[-1])
        bound_reason = f"no threshold keeps the largest component <= {bound}; using the highest"
    if method == "bound":
        return at(t_bound, "bound", bound_reason)
    if method == "knee":
        t_knee, strength = snowball_knee(t, largest)
        if t_knee is None:
            return at(t_bound, "bound", f"no snowball knee in the curve; {bound_reason}")
        if t_knee >= t_bound:
            return at(
                t_knee, "knee",
                f"the largest component stops shrinking fast above {t_knee:g} (knee strength "
                f"{strength:.2f})",
                knee=t_knee, bound_threshold=t_bound, knee_strength=strength,
            )  # fmt: skip
        return at(
            t_bound, "knee+bound",
            f"knee at {t_knee:g} is below the bound threshold; {bound_reason}",
            knee=t_knee, bound_threshold=t_bound, knee_strength=strength,
        )  # fmt: skip
    if method == "f1":
        if curve.bcubed_f1 is None:
            raise InputError("threshold method 'f1' needs labels for the curve")
        f1 = np.where(allowed, curve.bcubed_f1, -1.0)
        best = f1.max()
        i = int(np.flatnonzero(f1 == best).max())
        return at(float(t[i]), "f1", f"best B-cubed F1 {best:.4f} within the bound", f1=float(best))
    raise InputError(f"threshold method {method!r} is not known")


# ---- the label-free threshold for clusters joined with identifier communities -------------
@dataclass
class HoldoutCurve:
    """B-cubed scores against the identifier communities, per threshold, of the match
    clusters joined with the communities of the *visible* identifiers (a random share of
    the records with an identifier is hidden, as if it had none)."""

    thresholds: np.ndarray
    bcubed_f1: np.ndarray
    bcubed_precision: np.ndarray
    bcubed_recall: np.ndarray
    hide_fraction: float

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "threshold": self.thresholds,
                "holdout_bcubed_f1": self.bcubed_f1,
                "holdout_bcubed_precision": self.bcubed_precision,
                "holdout_bcubed_recall": self.bcubed_recall,
            }
        )


def community_edges(components: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A chain of edges through each community (records with component ``>= 0``)."""
    rows = np.flatnonzero(components >= 0)
    order = rows[np.argsort(components[rows], kind="stable")]
    same = components[order][1:] == components[order][:-1]
    return order[:-1][same], order[1:][same]


def identifier_holdout_curve(
    scored: ScoredPairs,
    components: np.ndarray,
    *,
    thresholds: np.ndarray | None = None,
    hide_fraction: float = 0.3,
    seed: int = 0,
    min_support: int = 1,
    strong_margin: float = 0.5,
) -> HoldoutCurve:
    """How well match edges at each threshold, joined with identifier communities, rebuild
    the communities of records whose identifiers were hidden (label-free: only the
    identifiers are used, never true entities).

    A share ``hide_fraction`` of the records with an identifier (``components >= 0``) lose
    it; the clusters are the connected components of the match edges at the threshold plus
    the communities of the remaining records (with ``min_support`` > 1, weak edges must
    support each join: :func:`~vendorlink.resolve.clustering.supported_components`);
    B-cubed is computed against the full communities over all records with an identifier.
    Low thresholds merge communities (precision falls), high ones leave the hidden records
    alone (recall falls).
    """
    if thresholds is None:
        thresholds = np.append(np.round(np.arange(0.3, 0.98, 0.025), 3), [0.99])
    grid = np.sort(np.asarray(thresholds))
    comp = np.asarray(components, dtype=np.int64)
    rng = np.random.default_rng(seed)
    visible = comp.copy()
    has = np.flatnonzero(comp >= 0)
    hidden = rng.choice(has, size=round(hide_fraction * len(has)), replace=False)
    visible[hidden] = -1
    il, ir = community_edges(visible)
    truth = np.where(comp >= 0, comp, -1).astype(object)
    truth[comp < 0] = None
    f1s, ps, rs = [], [], []
    for t in grid:
        cc = supported_components(
            scored.n_records, scored.left, scored.right, scored.scores, float(t),
            fixed_left=il, fixed_right=ir, min_support=min_support, strong_margin=strong_margin,
        )  # fmt: skip
        prf = bcubed_scores(truth, cc)
        f1s.append(prf.f1)
        ps.append(prf.precision)
        rs.append(prf.recall)
    return HoldoutCurve(grid, np.array(f1s), np.array(ps), np.array(rs), hide_fraction)


def choose_union_threshold(curve: HoldoutCurve) -> ThresholdChoice:
    """The threshold with the best held-out-identifier B-cubed F1 (ties: the higher)."""
    if len(curve.thresholds) == 0:
        raise InputError("the held-out identifier curve is empty")
    best = float(curve.bcubed_f1.max())
    i = int(np.flatnonzero(curve.bcubed_f1 == best).max())
    return ThresholdChoice(
        threshold=float(curve.thresholds[i]),
        method="identifier_holdout",
        reason=(
            f"best B-cubed F1 {best:.4f} against the identifier communities with "
            f"{curve.hide_fraction:.0%} of the identifiers hidden"
        ),
        bound=0,
        details={"holdout_f1": best},
    )
