"""The flag job: a multimodal multi-label indicator classifier with calibrated thresholds.

>>> from vendorlink.flag import FlagModel, FlagTrainConfig, load_labels, train_flag
>>> labels = load_labels("data/truth_ads.parquet")          # every ind_* column, 0/1
>>> result, folder = train_flag(workspace, labels, FlagTrainConfig(name="indicators"))
>>> model = FlagModel.load(folder)
>>> model.predict(text="on tour, leaving soon", images=["pic.jpg"])
{'predictions': {'movement': True, ...}, 'probabilities': {'movement': 0.93, ...}}

Architecture (the CLIP late-fusion model card): encoders -> linear projections to 512 ->
gated fusion with modality-presence flags -> [fused, t, v, |t - v|, t * v] -> MLP, one
sigmoid output per label; fusion and projection modules are the shared ones of
:mod:`vendorlink.models`.
"""

from vendorlink.flag.data import FlagData, build_flag_data, group_split
from vendorlink.flag.labels import LabelSet, keyword_labels, load_labels
from vendorlink.flag.metrics import (
    calibrate_thresholds,
    macro_roc_auc,
    multilabel_metrics,
    roc_curves,
)
from vendorlink.flag.model import FlagConfig, FlagNetwork
from vendorlink.flag.predictor import FlagModel
from vendorlink.flag.stage import score_flags, train_flag
from vendorlink.flag.train import (
    FlagResult,
    FlagTrainConfig,
    fit_flag,
    sample_weights,
    warmup_cosine,
)

__all__ = [
    "FlagConfig",
    "FlagData",
    "FlagModel",
    "FlagNetwork",
    "FlagResult",
    "FlagTrainConfig",
    "LabelSet",
    "build_flag_data",
    "calibrate_thresholds",
    "fit_flag",
    "group_split",
    "keyword_labels",
    "load_labels",
    "macro_roc_auc",
    "multilabel_metrics",
    "roc_curves",
    "sample_weights",
    "score_flags",
    "train_flag",
    "warmup_cosine",
]
