"""Which encoders a flag model uses: the default pair, any named / folder encoder, or a CLIP folder.

A spec is what :func:`vendorlink.encoders.load_encoder` accepts (``"minilm"``,
``"efficientnet-lite0"``, a model folder), or a local ``transformers`` ``CLIPModel`` folder
(``config.json`` with ``model_type: clip``): its text tower encodes the text and its vision
tower the images (:mod:`vendorlink.encoders.clip`). Relative folders inside a saved flag
model (fine-tuned encoders) are resolved against the model folder.
"""

from __future__ import annotations

from pathlib import Path

from vendorlink.encoders import Encoder, load_encoder
from vendorlink.encoders.clip import is_clip_folder

__all__ = ["is_clip_folder", "resolve_flag_encoder"]


def resolve_flag_encoder(
    spec: str | Encoder | None,
    modality: str,
    backend: str = "torch",
    base: Path | None = None,
    device: str = "cpu",
) -> Encoder | None:
    """An encoder object of ``modality`` (``"text"`` / ``"image"``) for ``spec``."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, Encoder):
        return spec
    path = Path(spec).expanduser()
    if base is not None and not path.is_absolute() and (base / path).is_dir():
        path = base / path
        spec = str(path)
    if path.is_dir() and is_clip_folder(path):
        from vendorlink.encoders.clip import load_clip_encoder

        return load_clip_encoder(path, modality, backend=backend, device=device)  # type: ignore[arg-type]
    return load_encoder(spec, backend=backend, modality=modality, device=device)  # type: ignore[arg-type]
