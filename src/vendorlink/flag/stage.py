"""The flag job on a workspace: train a model from a labels file, score every ad into ``flags``.

- :func:`train_flag` (``vendorlink flag train``): reads the labels, builds the training
  table from the cached embeddings (computing missing ones), trains, calibrates, saves the
  model folder (default ``WORKSPACE/artefacts/models/flag/<name>``) with its report
  (``report/report.md``, ``report.html``, ``metrics.json``, ``roc_curves.png``). One
  recorded ``flag-train`` run.
- :func:`score_flags` (``vendorlink flag score``): scores every ad with text or images and
  replaces that model's rows of the ``flags`` table, one row per (ad, label):
  ``ad_id, model, label, probability, flagged, run_id``. Ads the model cannot score (no
  text for a text-only model, ...) are counted in the run's stats, not silently lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa

from vendorlink.data.store import insert_arrow
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError
from vendorlink.flag.data import build_flag_data
from vendorlink.flag.encoders import resolve_flag_encoder
from vendorlink.flag.labels import LabelSet
from vendorlink.flag.predictor import FlagModel
from vendorlink.flag.report import write_flag_report
from vendorlink.flag.train import FlagResult, FlagTrainConfig, fit_flag, save_result
from vendorlink.train.data import build_ad_table

__all__ = ["default_model_folder", "score_flags", "train_flag"]

DEFAULT_TEXT = "minilm"
DEFAULT_IMAGE = "efficientnet-lite0"


def default_model_folder(workspace: Workspace, name: str) -> Path:
    return workspace.artefacts / "models" / "flag" / name


def train_flag(
    workspace: Workspace,
    labels: LabelSet,
    config: FlagTrainConfig | None = None,
    *,
    text_encoder: str | None = DEFAULT_TEXT,
    image_encoder: str | None = DEFAULT_IMAGE,
    clip: str | Path | None = None,
    backend: str = "torch",
    split_name: str | None = None,
    seed: int = 0,
    unknown: Literal["error", "skip"] = "error",
    finetune: bool = False,
    finetune_layers: int | None = None,
    out: str | Path | None = None,
    overwrite: bool = True,
    progress: bool = False,
) -> tuple[FlagResult, Path]:
    """Train a flag model on the workspace's ads and ``labels``; returns the result and folder.

    ``clip``: a local ``CLIPModel`` folder used for both modalities instead of
    ``text_encoder`` / ``image_encoder``. ``finetune``: train the encoders too (their last
    ``finetune_layers`` blocks, or all of them when ``None``), at ``config.lr_encoder``.
    """
    config = config or FlagTrainConfig()
    if clip is not None:
        text_encoder = image_encoder = str(Path(clip).expanduser().resolve())
    if config.modality == "text":
        image_encoder = None
    if config.modality == "image":
        text_encoder = None
    folder = Path(out) if out is not None else default_model_folder(workspace, config.name)
    text_enc = resolve_flag_encoder(text_encoder, "text", backend)
    image_enc = resolve_flag_encoder(image_encoder, "image", backend)
    params = {**config.to_dict(), "text_encoder": text_encoder, "image_encoder": image_encoder,
              "backend": backend, "split_name": split_name, "finetune": finetune}  # fmt: skip
    with workspace.run("flag-train", params) as run:
        data = build_flag_data(
            workspace, labels, con=run.con, text_encoder=text_enc, image_encoder=image_enc,
            backend=backend, split_name=split_name, seed=seed, unknown=unknown,
            raw=finetune, progress=progress,
        )  # fmt: skip
        features = None
        if finetune:
            from vendorlink.train.features import EncoderFeatures

            features = EncoderFeatures(
                data.table, text_enc, image_enc,
                regime="full" if finetune_layers is None else "last",
                layers=finetune_layers or 1,
            )  # fmt: skip
        specs = {"text": text_encoder or "", "image": image_encoder or "", "backend": backend}
        result = fit_flag(data, config, encoder_specs=specs, features=features,
                          progress=progress)  # fmt: skip
        extra_folders = _save_finetuned(result, folder, text_enc, image_enc) if finetune else None
        result.metrics["data"] = data.stats
        save_result(result, folder, config, overwrite=overwrite, extra_folders=extra_folders)
        if extra_folders:
            for _, tmp in extra_folders.items():
                _remove_tree(tmp.parent)
        test = data.part == "test"
        rows = np.flatnonzero(test & data.table.usable(config.modality))
        write_flag_report(
            folder / "report", result.metrics, data.labels[rows] if len(rows) else None,
            result.probabilities.get("test"), data.names, title=f"Flag model {config.name}",
            preamble=[f"Labels: {', '.join(data.names)}. Encoders: {text_encoder}, "
                      f"{image_encoder} ({backend}); {'fine-tuned' if finetune else 'frozen'}."],
        )  # fmt: skip
        run.stats.update(result.summary())
        run.stats["folder"] = str(folder)
    return result, folder


def _save_finetuned(
    result: FlagResult, folder: Path, text_enc: Any, image_enc: Any
) -> dict[str, Path]:
    """Write fine-tuned encoders to a scratch folder; the model then points at copies."""
    import tempfile

    scratch = Path(tempfile.mkdtemp(prefix=".flag-encoders-", dir=folder.parent if
                                    folder.parent.exists() else None))  # fmt: skip
    out: dict[str, Path] = {}
    cfg = result.model.config
    for modality, encoder in (("text", text_enc), ("image", image_enc)):
        if encoder is None:
            continue
        target = scratch / f"{modality}_encoder"
        encoder.save(target)  # type: ignore[attr-defined]
        out[f"{modality}_encoder"] = target
        setattr(cfg, f"{modality}_encoder_spec", f"{modality}_encoder")
        # The saved weights have a new fingerprint, hence a new cache name.
        reloaded = resolve_flag_encoder(str(target), modality, cfg.backend)
        assert reloaded is not None
        setattr(cfg, f"{modality}_encoder", reloaded.name)
    return out


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def score_flags(
    workspace: Workspace,
    model: FlagModel | str | Path,
    *,
    name: str | None = None,
    ad_ids: Sequence[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Score every ad (or only ``ad_ids``) with ``model`` into the ``flags`` table.

    Replaces that model's rows for the scored ads (all of them when ``ad_ids`` is None).
    """
    if not isinstance(model, FlagModel):
        model = FlagModel.load(model)
    name = name or (model.folder.name if model.folder is not None else "flag")
    cfg = model.config
    params = {"model": str(model.folder) if model.folder else name, "name": name}
    with workspace.run("flag-score", params) as run:
        text_enc = model.encoder("text")
        image_enc = model.encoder("image")
        for modality, enc, expected in (
            ("text", text_enc, cfg.text_encoder),
            ("image", image_enc, cfg.image_encoder),
        ):
            if enc is not None and expected and enc.name != expected:
                raise InputError(
                    f"the model was trained on {modality} vectors of {expected!r} but its "
                    f"encoder now computes {enc.name!r}; retrain or restore that encoder"
                )
        table = build_ad_table(
            workspace, con=run.con, split_name=None, label_source=None,
            text_encoder=text_enc, image_encoder=image_enc, backend=cfg.backend,
            ad_ids=ad_ids, progress=progress, require_labels=False,
        )  # fmt: skip
        usable = table.usable(cfg.modality)
        rows = np.flatnonzero(usable)
        probs = model.probabilities(
            table.text[rows] if cfg.uses_text else None,
            table.image[rows] if cfg.uses_image else None,
            table.has_text[rows] if cfg.uses_text else None,
            table.has_image[rows] if cfg.uses_image else None,
        )
        flagged = model.decide(probs)
        n, c = probs.shape
        if ad_ids is None:
            run.con.execute("DELETE FROM flags WHERE model = ?", [name])
        else:
            run.con.register("_flag_ads", pa.table({"ad_id": pa.array(list(ad_ids))}))
            run.con.execute(
                "DELETE FROM flags WHERE model = ? AND ad_id IN (SELECT ad_id FROM _flag_ads)",
                [name],
            )
            run.con.unregister("_flag_ads")
        data = pa.table(
            {
                "ad_id": pa.array(np.repeat(table.ad_ids[rows].astype(str), c)),
                "model": pa.array([name] * (n * c)),
                "label": pa.array(np.tile(np.array(cfg.labels, dtype=str), n)),
                "probability": pa.array(probs.reshape(-1), type=pa.float32()),
                "flagged": pa.array(flagged.reshape(-1)),
                "run_id": pa.array([run.run_id] * (n * c)),
            }
        )
        insert_arrow(run.con, "flags", data)
        stats = {
            "model": name,
            "ads": len(table),
            "scored": int(n),
            "not_scorable": int((~usable).sum()),
            "labels": list(cfg.labels),
            "flagged": {lab: int(flagged[:, j].sum()) for j, lab in enumerate(cfg.labels)},
        }
        run.stats.update(stats)
    return stats
