"""Export flagged clusters: a CSV of cluster profiles and a GEXF graph of their ads.

``clusters.csv``: one row per exported cluster (its profile, and ``probability`` /
``label`` when given). ``clusters.gexf`` (Gephi, networkx): one node per ad of those
clusters (attributes ``cluster``, ``city``, ``posted_at`` and the *masked* text, cut to
200 characters; identifiers never leave masked) and one edge per scored pair inside a
cluster at or above ``threshold`` (weight = match probability), plus the identifier
links (weight 1, ``kind=identifier``) so that each cluster is connected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import networkx as nx
import pandas as pd

from vendorlink.atomic import atomic_write_text
from vendorlink.errors import InputError

ADS_OF_CLUSTERS_SQL = """
SELECT c.cluster, a.ad_id, a.city, a.region, CAST(a.posted_at AS VARCHAR) AS posted_at,
       left(coalesce(f.masked_text, ''), 200) AS masked_text
FROM resolve_clusters c JOIN ads a USING (ad_id) LEFT JOIN fields f USING (ad_id)
WHERE list_contains(?, c.cluster)
"""

EDGES_SQL = """
SELECT p.left_ad, p.right_ad, p.score
FROM resolve_pairs p
JOIN resolve_clusters cl ON cl.ad_id = p.left_ad
JOIN resolve_clusters cr ON cr.ad_id = p.right_ad
WHERE cl.cluster = cr.cluster AND list_contains(?, cl.cluster) AND p.score >= ?
"""

IDENTIFIER_EDGES_SQL = """
SELECT l.ad_id AS left_ad, r.ad_id AS right_ad
FROM labels l JOIN labels r ON l.vendor = r.vendor AND l.ad_id < r.ad_id
 AND l.label_source = 'identifiers' AND r.label_source = 'identifiers'
JOIN resolve_clusters c ON c.ad_id = l.ad_id
WHERE list_contains(?, c.cluster)
"""


def cluster_graph(con: Any, clusters: list[int], threshold: float) -> nx.Graph:
    """The ads of ``clusters`` as nodes, scored pairs at ``threshold`` and identifier
    links as edges."""
    graph = nx.Graph()
    ads = con.execute(ADS_OF_CLUSTERS_SQL, [clusters]).df()
    for row in ads.itertuples(index=False):
        graph.add_node(
            row.ad_id, cluster=int(row.cluster), city=row.city or "", region=row.region or "",
            posted_at=row.posted_at or "", text=row.masked_text,
        )  # fmt: skip
    for left, right, score in con.execute(EDGES_SQL, [clusters, threshold]).fetchall():
        graph.add_edge(left, right, weight=float(score), kind="match")
    for left, right in con.execute(IDENTIFIER_EDGES_SQL, [clusters]).fetchall():
        if graph.has_node(left) and graph.has_node(right) and not graph.has_edge(left, right):
            graph.add_edge(left, right, weight=1.0, kind="identifier")
    return graph


def export_clusters(
    con: Any,
    profiles: pd.DataFrame,
    out: str | Path,
    *,
    threshold: float,
    max_graph_ads: int = 50_000,
) -> dict[str, Any]:
    """Write ``clusters.csv`` and ``clusters.gexf`` for the clusters in ``profiles``."""
    if profiles.empty:
        raise InputError("no clusters to export")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = profiles.copy()
    for col in ("cities", "regions"):
        if col in table:
            table[col] = table[col].map(lambda v: "|".join(map(str, v)) if v is not None else "")
    atomic_write_text(out / "clusters.csv", table.to_csv(index=False))
    clusters = [int(c) for c in profiles["cluster"].tolist()]
    if int(profiles["n_ads"].sum()) > max_graph_ads:
        raise InputError(
            f"{int(profiles['n_ads'].sum())} ads are too many for one graph (max "
            f"{max_graph_ads}); export fewer clusters"
        )
    graph = cluster_graph(con, clusters, threshold)
    tmp = out / ".clusters.gexf.tmp"
    nx.write_gexf(graph, tmp)
    tmp.replace(out / "clusters.gexf")
    return {
        "csv": str(out / "clusters.csv"),
        "gexf": str(out / "clusters.gexf"),
        "n_clusters": len(clusters),
        "n_nodes": graph.number_of_nodes(),
        "n_edges": graph.number_of_edges(),
    }
