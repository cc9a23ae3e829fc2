"""Training: regime (a), a small model on frozen encoders' cached embeddings.

>>> from vendorlink.train import TrainConfig, train_vendor_model
>>> result = train_vendor_model(workspace, TrainConfig(name="mm-supcon", loss="ce+supcon"))
>>> result.folder  # WORKSPACE/artefacts/models/mm-supcon (config.json, model.safetensors, ...)
"""

from vendorlink.train.data import AdTable, build_ad_table, resolve_encoder
from vendorlink.train.loop import (
    TrainConfig,
    TrainResult,
    copy_config,
    embed_table,
    evaluate_embeddings,
    evaluate_model,
    fit,
    train_vendor_model,
)
from vendorlink.train.sampler import vendor_batches

__all__ = [
    "AdTable",
    "TrainConfig",
    "TrainResult",
    "build_ad_table",
    "copy_config",
    "embed_table",
    "evaluate_embeddings",
    "evaluate_model",
    "fit",
    "resolve_encoder",
    "train_vendor_model",
    "vendor_batches",
]
