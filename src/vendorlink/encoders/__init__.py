"""Text and image encoders behind one small interface, an embedding cache, and ONNX inference.

>>> from vendorlink.encoders import load_encoder
>>> text = load_encoder("minilm")                      # all-MiniLM-L6-v2, 384-d
>>> image = load_encoder("efficientnet-lite0", backend="onnx-int8")  # 1280-d
>>> vectors = text.encode(["new in town", "call me"])  # (2, 384) float32, L2-normalised

Workspace-level, cached: :func:`embed_ads` and :func:`embed_images`
(``vendorlink.encoders.cache``).
"""

from vendorlink.encoders.base import (
    BACKENDS,
    Backend,
    Encoder,
    EncoderError,
    Modality,
    available_encoders,
    load_encoder,
    register_encoder,
)
from vendorlink.encoders.cache import EmbeddingStore, cache_info, embed_ads, embed_images

__all__ = [
    "BACKENDS",
    "Backend",
    "EmbeddingStore",
    "Encoder",
    "EncoderError",
    "Modality",
    "available_encoders",
    "cache_info",
    "embed_ads",
    "embed_images",
    "load_encoder",
    "register_encoder",
]
