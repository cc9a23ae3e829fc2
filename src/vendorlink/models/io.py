"""Save and load a :class:`~vendorlink.models.multimodal.VendorModel` as a folder.

Layout::

    FOLDER/
      config.json         # ModelConfig.to_dict()
      model.safetensors   # the state dict
      labels.json         # {"vendors": [vendor of class 0, vendor of class 1, ...]}
      (other files a trainer adds: train_config.json, log.csv, metrics.json)

The folder is written to a hidden sibling and renamed into place, so a reader never sees a
half-written model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vendorlink.atomic import check_target, new_staging_folder, publish_folder

if TYPE_CHECKING:
    from vendorlink.models.multimodal import VendorModel

__all__ = ["load_model", "save_model"]


def save_model(
    model: VendorModel,
    folder: str | Path,
    *,
    overwrite: bool = True,
    extra_files: dict[str, str] | None = None,
    writers: dict[str, Callable[[Path], Any]] | None = None,
) -> Path:
    """Write the model folder atomically; ``extra_files`` maps file names to text contents.

    ``writers`` maps sub-folder names to functions that write into that (new) folder, e.g.
    ``{"text_encoder": encoder.save}`` for a model whose encoders were fine-tuned.
    """
    from safetensors.torch import save_file

    from vendorlink.models.multimodal import CONFIG_FILE, LABELS_FILE, WEIGHTS_FILE

    folder = Path(folder)
    check_target(folder, overwrite)
    tmp = new_staging_folder(folder)
    try:
        (tmp / CONFIG_FILE).write_text(model.config.to_json(), encoding="utf-8")
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": "pt"})
        labels = json.dumps({"vendors": model.vendors}, indent=2, ensure_ascii=False)
        (tmp / LABELS_FILE).write_text(labels, encoding="utf-8")
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        for name, write in (writers or {}).items():
            write(tmp / name)
        publish_folder(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def load_model(folder: str | Path, device: str = "cpu") -> VendorModel:
    """Load a model folder written by :func:`save_model`, in eval mode, on ``device``."""
    from safetensors.torch import load_file

    from vendorlink.models.multimodal import (
        CONFIG_FILE,
        LABELS_FILE,
        WEIGHTS_FILE,
        ModelConfig,
        VendorModel,
    )

    folder = Path(folder)
    missing = [n for n in (CONFIG_FILE, WEIGHTS_FILE) if not (folder / n).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a vendorlink model folder (missing {missing})")
    config = ModelConfig.from_json((folder / CONFIG_FILE).read_text(encoding="utf-8"))
    vendors: list[str] = []
    if (folder / LABELS_FILE).is_file():
        vendors = json.loads((folder / LABELS_FILE).read_text(encoding="utf-8"))["vendors"]
    model = VendorModel(config, vendors=vendors)
    state = load_file(str(folder / WEIGHTS_FILE), device="cpu")
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()
