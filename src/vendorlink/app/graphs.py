"""Graphs the app draws and exports: node-link dicts, and GEXF / GraphML / CSV bytes.

A graph is ``{"nodes": [{"id", "label", "kind", ...}], "edges": [{"source", "target",
"kind", "score"?}]}`` (JSON-ready; the web page hands it to Cytoscape.js). Node and edge
attributes are scalars, so the same dict converts to networkx for the GEXF and GraphML
writers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

EXPORT_FORMATS: dict[str, str] = {
    "gexf": "application/gexf+xml",
    "graphml": "application/graphml+xml",
    "json": "application/json",
}


def from_networkx(graph: Any, limit: int | None = None) -> dict[str, Any]:
    """A networkx graph (from ``vendorlink.link`` / ``vendorlink.resolve``) as a node-link
    dict; edge ``weight`` is also given as ``score``. With ``limit``, only the ``limit``
    best-connected nodes are kept (``truncated`` says so)."""
    nodes = list(graph.nodes)
    truncated = limit is not None and len(nodes) > limit
    if truncated:
        nodes = sorted(nodes, key=lambda n: (-graph.degree(n), str(n)))[:limit]
        graph = graph.subgraph(nodes)
    out: dict[str, Any] = {"nodes": [], "edges": [], "truncated": truncated}
    for node, attrs in graph.nodes(data=True):
        item = {k: _scalar(v) for k, v in attrs.items()}
        item.update(id=str(node), label=str(attrs.get("label", node)), kind="ad")
        out["nodes"].append(item)
    for left, right, attrs in graph.edges(data=True):
        item = {k: _scalar(v) for k, v in attrs.items()}
        item.update(source=str(left), target=str(right), kind=str(attrs.get("kind", "link")))
        if "weight" in attrs:
            item["score"] = round(float(attrs["weight"]), 4)
        out["edges"].append(item)
    return out


def frame_records(frame: Any) -> list[dict[str, Any]]:
    """Rows of a DataFrame as JSON-ready dicts (dates as ISO days, arrays as lists)."""
    import numpy as np

    rows = []
    for record in frame.to_dict(orient="records"):
        row: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, np.generic):
                value = value.item()
            if value is None or (isinstance(value, float) and value != value):
                value = None  # NaN
            elif str(value) == "NaT":
                value = None
            elif hasattr(value, "isoformat"):  # date, datetime, pandas Timestamp
                value = value.isoformat()[:10]
            row[key] = value
        rows.append(row)
    return rows


def to_networkx(graph: dict[str, Any]) -> Any:
    import networkx as nx

    g = nx.MultiGraph()
    for node in graph["nodes"]:
        g.add_node(node["id"], **{k: _scalar(v) for k, v in node.items() if k != "id"})
    for edge in graph["edges"]:
        attrs = {k: _scalar(v) for k, v in edge.items() if k not in ("source", "target")}
        g.add_edge(edge["source"], edge["target"], **attrs)
    return g


def export_graph(graph: dict[str, Any], fmt: str) -> bytes:
    """The graph as GEXF or GraphML (networkx writers) or JSON bytes."""
    import json

    import networkx as nx

    if fmt == "json":
        return json.dumps(graph, default=str).encode("utf-8")
    g = to_networkx(graph)
    buffer = io.BytesIO()
    if fmt == "gexf":
        nx.write_gexf(g, buffer)
    elif fmt == "graphml":
        nx.write_graphml(g, buffer)
    else:
        raise ValueError(f"graph format {fmt!r} is not one of {tuple(EXPORT_FORMATS)}")
    return buffer.getvalue()


def rows_to_csv(rows: Iterable[dict[str, Any]], columns: list[str]) -> bytes:
    """CSV bytes (header + rows; lists joined with ``|``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "|".join(str(v) for v in value)
    return str(value)


def _scalar(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)):
        return value
    return "" if value is None else str(value)
