"""Training: frozen-encoder (cached vectors), last-N-layer and full fine-tuning regimes;
identify, verify and align (ITC / ITC+ITM pre-training) tasks; per-pair mode.

>>> from vendorlink.train import TrainConfig, train_vendor_model
>>> result = train_vendor_model(workspace, TrainConfig(name="mm-supcon", loss="ce+supcon"))
>>> result.folder  # WORKSPACE/artefacts/models/mm-supcon (config.json, model.safetensors, ...)
"""

from vendorlink.train.data import AdTable, build_ad_table, resolve_encoder
from vendorlink.train.features import REGIMES, CachedFeatures, EncoderFeatures, layer_groups
from vendorlink.train.loop import (
    TASKS,
    TrainConfig,
    TrainResult,
    copy_config,
    embed_rows,
    embed_table,
    evaluate_embeddings,
    evaluate_model,
    fit,
    train_vendor_model,
)
from vendorlink.train.pairs import aggregate_by_ad, expand_pairs
from vendorlink.train.sampler import vendor_batches
from vendorlink.train.saved import TrainedModel, load_trained
from vendorlink.train.trainer import model_outputs, predict_vendors

__all__ = [
    "REGIMES",
    "TASKS",
    "AdTable",
    "CachedFeatures",
    "EncoderFeatures",
    "TrainConfig",
    "TrainResult",
    "TrainedModel",
    "aggregate_by_ad",
    "build_ad_table",
    "copy_config",
    "embed_rows",
    "embed_table",
    "evaluate_embeddings",
    "evaluate_model",
    "expand_pairs",
    "fit",
    "layer_groups",
    "load_trained",
    "model_outputs",
    "predict_vendors",
    "resolve_encoder",
    "train_vendor_model",
    "vendor_batches",
]
