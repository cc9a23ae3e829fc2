"""Link: FAISS search over ad embeddings from a trained vendor model (or zero-shot encoders).

>>> from vendorlink.link import search_ads, knowledge_graph, write_graph
>>> result = search_ads(workspace, ad_id="ad-123", k=10)      # newest trained model
>>> [(h.rank, h.ad_id, round(h.score, 3)) for h in result.hits]
>>> result = search_ads(workspace, text="new in town", images=[Path("pic.jpg")])
>>> write_graph(knowledge_graph(workspace, ad_id="ad-123", cut="top_k", k=10), "g.gexf")
"""

from vendorlink.link.graph import GRAPH_FORMATS, knowledge_graph, write_graph
from vendorlink.link.index import INDEX_KINDS, EmbeddingIndex, IndexKind
from vendorlink.link.query import (
    ZERO_SHOT,
    SearchHit,
    SearchResult,
    embed_query,
    latest_model,
    prepare_index,
    resolve_model,
    search_ads,
)
from vendorlink.link.search import (
    LinkHit,
    build_link_index,
    embed_workspace_ads,
    ensure_link_index,
    hits_from_row,
    index_folder,
    link_ad,
    search_vector,
)

__all__ = [
    "GRAPH_FORMATS",
    "INDEX_KINDS",
    "ZERO_SHOT",
    "EmbeddingIndex",
    "IndexKind",
    "LinkHit",
    "SearchHit",
    "SearchResult",
    "build_link_index",
    "embed_query",
    "embed_workspace_ads",
    "ensure_link_index",
    "hits_from_row",
    "index_folder",
    "knowledge_graph",
    "latest_model",
    "link_ad",
    "prepare_index",
    "resolve_model",
    "search_ads",
    "search_vector",
    "write_graph",
]
