"""The knowledge graph of a query ad (MATCHED, appendix A.7), as a networkx graph.

Nodes are ads, labelled by their id; the query is the node with ``role = "query"``
(``colour = "red"``). The retrieved ads come from a search of the workspace's index with
one of two cuts:

- ``"r_precision"``: the top ``R`` ads, ``R`` = the number of indexed ads of the query's
  vendor (its label in the model's label source, else the workspace's default; for new
  text or images, the
  vendor the model's classifier predicts) — "all relevant ads" of the R-Precision cut;
- ``"top_k"``: the ``k`` most similar ads (the MRR@K view: a short, high-confidence list).

Edges carry ``weight`` = cosine similarity: from the query to every retrieved ad
(``kind = "query"``), and between two retrieved ads (``kind = "between"``) when their
similarity is at least the weakest query edge, so the graph shows how the retrieved ads
hang together as well as how each relates to the query.

Node attributes: ``label`` (ad id), ``role`` (query / retrieved), ``rank`` (0 for the
query), ``score`` (similarity to the query; 1 for the query), ``vendor`` (label, "" when
unknown), ``same_vendor`` ("yes" / "no" / "unknown" against the query's vendor),
``text`` (masked unless ``reveal``), ``colour``. :func:`write_graph` writes GEXF, GraphML
or node-link JSON by the file suffix.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vendorlink.atomic import atomic_write_text
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.link.index import EmbeddingIndex
from vendorlink.link.query import (
    SearchResult,
    label_source_for,
    prepare_index,
    resolve_model,
    search_ads,
)

__all__ = ["GRAPH_FORMATS", "Cut", "knowledge_graph", "write_graph"]

Cut = Literal["r_precision", "top_k"]
GRAPH_FORMATS: tuple[str, ...] = (".gexf", ".graphml", ".json")
QUERY_NODE = "query"


def _vendor_of(workspace: Workspace, ad_id: str, source: str | None) -> str | None:
    if not source:
        return None
    with workspace.connect(read_only=True) as con:
        row = con.execute(
            "SELECT vendor FROM labels WHERE ad_id = ? AND label_source = ?", [ad_id, source]
        ).fetchall()
    return row[0][0] if row else None


def _count_vendor(workspace: Workspace, ids: list[str], vendor: str, source: str | None) -> int:
    with workspace.connect(read_only=True) as con:
        labelled = dict(
            con.execute(
                "SELECT ad_id, vendor FROM labels WHERE label_source = ?", [source or ""]
            ).fetchall()
        )
    return sum(labelled.get(a) == vendor for a in ids)


def knowledge_graph(
    workspace: Workspace,
    *,
    ad_id: str | None = None,
    text: str | None = None,
    images: list[Path] | None = None,
    model: str | Path | None = None,
    cut: Cut = "r_precision",
    k: int = 10,
    reveal: bool = False,
    encoders: tuple[Any, Any] | None = None,
) -> Any:
    """A ``networkx.Graph`` of the query ad and the ads retrieved for it (module docstring)."""
    import networkx as nx

    if cut not in ("r_precision", "top_k"):
        raise InputError(f"cut must be 'r_precision' or 'top_k', got {cut!r}")
    model_folder, _ = resolve_model(workspace, model)
    folder = prepare_index(workspace, model_folder, encoders=encoders)
    index = EmbeddingIndex.load(folder)
    source = label_source_for(workspace, model_folder)
    query_vendor = _vendor_of(workspace, ad_id, source) if ad_id is not None else None
    first: SearchResult | None = None
    if cut == "r_precision":
        vendor = query_vendor
        if vendor is None and ad_id is None:
            first = search_ads(
                workspace, text=text, images=images, k=1, model=model, encoders=encoders
            )
            vendor = first.predicted_vendor
        if vendor is None:
            raise InputError(
                "the R-Precision cut needs the query's vendor (a labelled ad, or a model with "
                "a classification head for new text / images); use the top-k cut instead"
            )
        others = [a for a in index.ids if a != ad_id]
        k = _count_vendor(workspace, others, vendor, source)
        query_vendor = query_vendor or vendor
        if k == 0:
            raise InputError(f"no other indexed ad has vendor {vendor!r}: R = 0")
    result = search_ads(
        workspace,
        ad_id=ad_id,
        text=text,
        images=images,
        k=k,
        model=model,
        reveal=reveal,
        encoders=encoders,
    )
    graph = nx.Graph(
        cut=cut,
        k=k,
        model=result.model,
        label_source=result.label_source or "",
        query=ad_id or "new ad",
    )
    query_key = ad_id or QUERY_NODE
    graph.add_node(
        query_key,
        label=query_key,
        role="query",
        rank=0,
        score=1.0,
        vendor=query_vendor or "",
        same_vendor="yes" if query_vendor else "unknown",
        text="",
        colour="red",
    )
    for hit in result.hits:
        same = (
            "unknown"
            if not (query_vendor and hit.vendor)
            else ("yes" if hit.vendor == query_vendor else "no")
        )
        graph.add_node(
            hit.ad_id,
            label=hit.ad_id,
            role="retrieved",
            rank=hit.rank,
            score=float(hit.score),
            vendor=hit.vendor or "",
            same_vendor=same,
            text=hit.text,
            colour="steelblue",
        )
        graph.add_edge(query_key, hit.ad_id, weight=float(hit.score), kind="query")
    if len(result.hits) > 1:
        vectors = np.load(folder / "embeddings.npy", mmap_mode="r")
        position = {a: i for i, a in enumerate(index.ids)}
        ids = [h.ad_id for h in result.hits]
        matrix = np.asarray(vectors[[position[a] for a in ids]], dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
        similarity = matrix @ matrix.T
        floor = min(h.score for h in result.hits)
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                if similarity[i, j] >= floor:
                    graph.add_edge(ids[i], ids[j], weight=float(similarity[i, j]), kind="between")
    return graph


def write_graph(graph: Any, path: str | Path) -> Path:
    """Write ``graph`` as GEXF, GraphML or node-link JSON (by suffix), atomically."""
    import networkx as nx

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in GRAPH_FORMATS:
        raise InputError(f"graph file must end with one of {GRAPH_FORMATS}, got {path.name!r}")
    if suffix == ".json":
        data = nx.node_link_data(graph, edges="edges")
        atomic_write_text(path, json.dumps(data, indent=2, default=str))
        return path
    lines = nx.generate_gexf(graph) if suffix == ".gexf" else nx.generate_graphml(graph)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
