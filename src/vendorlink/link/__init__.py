"""Link: FAISS search over ad embeddings from a trained vendor model.

>>> from vendorlink.link import EmbeddingIndex, link_ad
>>> hits = link_ad(workspace, workspace.artefacts / "models" / "mm-supcon", "ad-123", k=10)
>>> [(h.rank, h.ad_id, round(h.score, 3)) for h in hits]
"""

from vendorlink.link.index import INDEX_KINDS, EmbeddingIndex, IndexKind
from vendorlink.link.search import (
    LinkHit,
    build_link_index,
    embed_workspace_ads,
    index_folder,
    link_ad,
)

__all__ = [
    "INDEX_KINDS",
    "EmbeddingIndex",
    "IndexKind",
    "LinkHit",
    "build_link_index",
    "embed_workspace_ads",
    "index_folder",
    "link_ad",
]
