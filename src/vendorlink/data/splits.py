"""Train / validation / test splits grouped by ad and stratified by vendor.

Rules:

- The unit of splitting is an *ad group*: an ad with all its images, together with its
  exact duplicates (``ads.duplicate_of``), so the same text never sits on both sides.
  (The published MATCHED code split after expanding ads into (text, image) pairs and
  leaked ad texts from train into test; expand after splitting, never before.)
- Stratified by vendor: a vendor's groups are shuffled with the seed and assigned by
  systematic sampling with a random start, so each vendor's parts follow the ratios as
  closely as its size allows, and a vendor with two or more groups always has one in
  train. Unlabelled ads (no vendor in the chosen label source) are split the same way as
  one pool, with ``vendor`` NULL.
- Domains: when ``in_domain`` names a column and values (``region=South``), ads with
  those values are ``in`` and all others ``out``; each domain is split separately, so the
  out-of-distribution ads also have train (documents) and test (queries) parts. A vendor
  is ``shared`` when it has ads in both domains and ``unique`` otherwise.
- The same ads, labels, ratios and seed always give the same split.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from vendorlink.data.store import insert_arrow
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError, StageOrderError

PARTS = ("train", "val", "test")
SPLIT_COLUMNS = ("region", "city", "source")


@dataclass
class SplitOptions:
    """Options of ``vendorlink split``; every CLI option maps to one field."""

    name: str = "default"
    ratios: tuple[float, float, float] = (0.75, 0.05, 0.20)
    seed: int = 1111
    label_source: str | None = None  # default: the workspace's default label source
    in_domain: str | None = None  # "COLUMN=VALUE[,VALUE...]", e.g. "region=South"

    def validate(self) -> None:
        if len(self.ratios) != 3 or any(r < 0 for r in self.ratios):
            raise InputError(f"ratios must be three non-negative numbers, got {self.ratios}")
        if abs(sum(self.ratios) - 1.0) > 1e-6:
            raise InputError(f"ratios must add up to 1, got {sum(self.ratios):.4f}")


@dataclass
class SplitSummary:
    name: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # domain -> part -> ads
    vendors: dict[str, int] = field(default_factory=dict)  # scope -> vendors
    n_groups: int = 0
    n_unlabelled: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def assign_parts(
    groups: list[tuple[str, str | None]],
    ratios: tuple[float, float, float],
    seed: int,
) -> dict[str, str]:
    """Assign each group (group id, vendor or None) to a part; returns group id -> part.

    Groups are taken in sorted order so that the result does not depend on input order.
    """
    bounds = np.cumsum(ratios)
    by_vendor: dict[str | None, list[str]] = defaultdict(list)
    for group, vendor in sorted(groups, key=lambda g: g[0]):
        by_vendor[vendor].append(group)
    rng = np.random.default_rng(seed)
    parts: dict[str, str] = {}
    for vendor in sorted(by_vendor, key=lambda v: (v is None, v or "")):
        members = by_vendor[vendor]
        order = rng.permutation(len(members))
        start = rng.random()
        n = len(members)
        for position, index in enumerate(order):
            u = (position + start) / n
            part_index = int(np.searchsorted(bounds, u, side="right"))
            parts[members[index]] = PARTS[min(part_index, 2)]
    return parts


def make_split(workspace: Workspace, options: SplitOptions | None = None) -> SplitSummary:
    """Split the workspace's ads and write them to the ``splits`` table under ``options.name``."""
    options = options or SplitOptions()
    options.validate()
    label_source = options.label_source or workspace.settings.get("default_label_source")
    if label_source is None:
        raise StageOrderError("no labels yet; run `vendorlink label` first or pass --labels")
    column, values = _parse_domain(options.in_domain)
    params = {**options.__dict__, "label_source": label_source}
    with workspace.run("split", params) as run:
        con = run.con
        n_labels = con.execute(
            "SELECT count(*) FROM labels WHERE label_source = ?", [label_source]
        ).fetchone()
        if not n_labels or not n_labels[0]:
            raise InputError(f"no labels from source {label_source!r}; run `vendorlink label`")
        domain_sql = "'in'"
        domain_params: list[Any] = []
        if column:
            placeholders = ", ".join("?" for _ in values)
            domain_sql = f"CASE WHEN a.{column} IN ({placeholders}) THEN 'in' ELSE 'out' END"
            domain_params = list(values)
        rows = con.execute(
            f"SELECT a.ad_id, coalesce(a.duplicate_of, a.ad_id) AS grp, l.vendor, {domain_sql} "
            "FROM ads a LEFT JOIN labels l ON l.ad_id = a.ad_id AND l.label_source = ? "
            "ORDER BY a.ad_id",
            [*domain_params, label_source],
        ).fetchall()
        if column and not any(r[3] == "in" for r in rows):
            raise InputError(f"no ad has {column} in {values}; check --in-domain")
        # A group's vendor and domain are those of its first ad (the original).
        group_info: dict[str, tuple[str | None, str]] = {}
        for ad_id, grp, vendor, domain in rows:
            if ad_id == grp or grp not in group_info:
                group_info[grp] = (vendor, domain)
        parts: dict[str, str] = {}
        for domain in ("in", "out"):
            groups = [(g, v) for g, (v, d) in group_info.items() if d == domain]
            parts.update(assign_parts(groups, options.ratios, options.seed))
        vendor_domains: dict[str, set[str]] = defaultdict(set)
        for _, _, vendor, domain in rows:
            if vendor is not None:
                vendor_domains[vendor].add(domain)
        scope = {
            v: ("shared" if len(d) == 2 else "unique") if column else None
            for v, d in vendor_domains.items()
        }
        table = pa.table(
            {
                "split_name": [options.name] * len(rows),
                "ad_id": [r[0] for r in rows],
                "part": [parts[r[1]] for r in rows],
                "domain": [r[3] for r in rows],
                "vendor": [r[2] for r in rows],
                "vendor_scope": [scope.get(r[2]) if r[2] else None for r in rows],
                "run_id": [run.run_id] * len(rows),
            },
            schema=pa.schema([(c, pa.string()) for c in
                              ("split_name", "ad_id", "part", "domain", "vendor",
                               "vendor_scope", "run_id")]),
        )  # fmt: skip
        con.execute("DELETE FROM splits WHERE split_name = ?", [options.name])
        insert_arrow(con, "splits", table)
        summary = SplitSummary(name=options.name, n_groups=len(group_info))
        summary.n_unlabelled = sum(1 for r in rows if r[2] is None)
        for _, grp, _, domain in rows:
            bucket = summary.counts.setdefault(domain, dict.fromkeys(PARTS, 0))
            bucket[parts[grp]] += 1
        for value in scope.values():
            key = value or "all"
            summary.vendors[key] = summary.vendors.get(key, 0) + 1
        run.stats.update(summary.as_dict())
    return summary


def _parse_domain(spec: str | None) -> tuple[str | None, list[str]]:
    if not spec:
        return None, []
    if "=" not in spec:
        raise InputError(f"--in-domain must look like COLUMN=VALUE[,VALUE], got {spec!r}")
    column, raw = spec.split("=", 1)
    column = column.strip().lower()
    if column not in SPLIT_COLUMNS:
        raise InputError(f"--in-domain column must be one of {', '.join(SPLIT_COLUMNS)}")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values:
        raise InputError("--in-domain names no value")
    return column, values
