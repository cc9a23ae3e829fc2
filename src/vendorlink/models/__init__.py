"""Trainable pieces: losses, fusion modules and heads (PyTorch).

>>> from vendorlink.models import make_fusion, make_loss
>>> fusion = make_fusion("gated", dim=256)
>>> loss = make_loss("ce+supcon", temperature=0.1)
>>> total, parts = loss(embeddings=z, logits=logits, labels=y)  # parts: {"ce": .., "supcon": ..}
"""

from vendorlink.models.fusion import (
    FUSIONS,
    AttentionFusion,
    ConcatFusion,
    Fusion,
    GatedFusion,
    ImagePooling,
    InteractionFeatures,
    MeanFusion,
    ProductFusion,
    Projection,
    SumFusion,
    aggregate_images,
    make_fusion,
)
from vendorlink.models.heads import ClassificationHead, EmbeddingHead
from vendorlink.models.losses import (
    LOSSES,
    CrossEntropy,
    InfoNCE,
    NTXent,
    PairLoss,
    SupConLoss,
    TripletLoss,
    VendorLoss,
    WeightedSum,
    make_loss,
)
from vendorlink.models.multimodal import ModelConfig, VendorModel

__all__ = [
    "FUSIONS",
    "LOSSES",
    "AttentionFusion",
    "ClassificationHead",
    "ConcatFusion",
    "CrossEntropy",
    "EmbeddingHead",
    "Fusion",
    "GatedFusion",
    "ImagePooling",
    "InfoNCE",
    "InteractionFeatures",
    "MeanFusion",
    "ModelConfig",
    "NTXent",
    "PairLoss",
    "ProductFusion",
    "Projection",
    "SumFusion",
    "SupConLoss",
    "TripletLoss",
    "VendorLoss",
    "VendorModel",
    "WeightedSum",
    "aggregate_images",
    "make_fusion",
    "make_loss",
]
