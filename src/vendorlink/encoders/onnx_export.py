"""Export an encoder's torch module to ONNX (fp32) and quantise it to int8, with a file cache.

Layout of the cache (``onnx_dir``; default ``$VENDORLINK_ONNX_DIR``, else
``$XDG_CACHE_HOME/vendorlink/onnx``, else ``~/.cache/vendorlink/onnx``)::

    <onnx_dir>/<slug of encoder name>/
      model.onnx                      # fp32, pooling and L2 norm inside the graph
      model.int8.onnx                 # dynamic int8 (per-channel weights)
      model.int8-static@<calib>.onnx  # static int8 (QDQ, calibrated activations)
      model.int8-static-f<id>@<calib>.onnx  # static int8, some layers left in float
      meta.json                       # encoder name, inputs, versions

Every file is written under a temporary name and renamed into place, so a crash never
leaves a half-written model and two processes exporting at once do not corrupt each other.

Quantisation (numbers measured on this project's 2-core AVX-512 VNNI CPU):

- text transformers: ``quantize_dynamic``, int8 weights per channel. Cosine to fp32 on
  ad-like texts: mean 0.993, min 0.98 (MiniLM). Per-tensor weights lose too much (0.93).
- CNNs (EfficientNet-Lite0): static QDQ quantisation, per-channel weights, activation ranges
  calibrated (min/max) on a small image set, after ONNX Runtime's graph pre-processing,
  with the stem and the first two blocks (the 112x112 layers) left in float
  (``ImageEncoder.int8_keep_float``, node-name prefixes). On generated ad images, cosine to
  fp32 is 0.996 (min 0.97) that way and 0.978 (min 0.87) with every layer int8, and the
  R-Precision change of a head trained on torch vectors goes from -0.011..-0.013 to
  -0.001..+0.001 (``benchmarks/onnx_quality.py``, 800 and 2x2000 ads); speed stays far
  above fp32 and torch (all-int8 was 0.8-1.5x the speed of this one in loaded runs).
  Excluding other layer groups (last blocks, head, middle blocks), min/max vs percentile
  calibration, calibrating on the workspace's own images instead of the built-in set, and
  ``reduce_range`` did not help (reduce_range: worse). Dynamic quantisation of convolutions
  (``ConvInteger``) is no option: cosine 0.52-0.75 and about 4x slower than fp32. Choose
  with ``int8_method`` ("static" / "dynamic"); the default calibration set is
  :func:`vendorlink.encoders.image.builtin_calibration_images`, or pass
  ``calibration_images`` (your own photos) to ``load_encoder``.

A change to a quantisation recipe here changes the int8 vectors: give the suffix
(``Encoder._int8_suffix``) a new tag then, so cached int8 vectors are not mixed up.
"""

from __future__ import annotations

import json
import os
import re
import uuid
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from vendorlink.encoders.base import EncoderError, Feed

if TYPE_CHECKING:
    import torch

    from vendorlink.encoders.base import Encoder

OPSET = 17


def default_onnx_dir() -> Path:
    """Where exported models are cached unless ``onnx_dir`` is given."""
    env = os.environ.get("VENDORLINK_ONNX_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "vendorlink" / "onnx"


def name_slug(name: str) -> str:
    """A file-name-safe, collision-resistant folder name for an encoder name."""
    import hashlib

    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-")[:80]
    return f"{readable}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def model_folder(encoder: Encoder) -> Path:
    return (encoder.onnx_dir or default_onnx_dir()) / name_slug(encoder.base_name)


def ensure_onnx_model(encoder: Encoder, *, int8: bool) -> Path:
    """Path of the encoder's ONNX model (fp32, or int8 when ``int8``), exporting if needed."""
    folder = model_folder(encoder)
    fp32 = folder / "model.onnx"
    if not fp32.is_file():
        export_onnx(encoder.torch_module(), encoder._example_feed(), fp32, encoder._onnx_axes())
        meta = {
            "encoder": encoder.base_name,
            "modality": encoder.modality,
            "dim": encoder.dim,
            "inputs": sorted(encoder._example_feed()),
            "opset": OPSET,
            "versions": _versions(),
        }
        _atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2))
    if not int8:
        return fp32
    suffix = encoder.name.removeprefix(encoder.base_name + ":")
    quantised = folder / f"model.{re.sub(r'[^A-Za-z0-9@._-]+', '-', suffix)}.onnx"
    if not quantised.is_file():
        if encoder.int8_method == "static":
            keep_float = getattr(encoder, "int8_keep_float", ())  # image encoders only
            quantize_static_int8(fp32, quantised, encoder._calibration_feeds(), keep_float)
        else:
            quantize_dynamic_int8(fp32, quantised)
    return quantised


def export_onnx(
    module: torch.nn.Module, example: Feed, path: Path, dynamic_axes: dict[str, dict[int, str]]
) -> Path:
    """Trace ``module`` on ``example`` (named inputs, in the module's argument order) and
    write an fp32 ONNX model with output ``embedding``; atomic."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    param = next(module.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    names = list(example)
    args = tuple(torch.from_numpy(example[k]).to(device) for k in names)
    was_training = module.training
    module.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer / deprecation chatter
            torch.onnx.export(
                module,
                args,
                str(tmp),
                input_names=names,
                output_names=["embedding"],
                dynamic_axes={**dynamic_axes, "embedding": {0: "batch"}},
                opset_version=OPSET,
                do_constant_folding=True,
                dynamo=False,
            )
        os.replace(tmp, path)
    except Exception as exc:
        tmp.unlink(missing_ok=True)
        raise EncoderError(f"ONNX export to {path} failed: {exc}") from exc
    finally:
        module.train(was_training)
    return path


def quantize_dynamic_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation (weights int8 per channel, activations at run time); atomic."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp.onnx")
    try:
        with _quiet_root_logger():
            quantize_dynamic(src, tmp, weight_type=QuantType.QInt8, per_channel=True)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def quantize_static_int8(
    src: Path, dst: Path, feeds: list[Feed], keep_float: Sequence[str] = ()
) -> Path:
    """Static int8 quantisation (QDQ, per-channel weights, activation ranges from ``feeds``
    by min/max calibration); atomic. Nodes whose name starts with one of ``keep_float``
    stay in float; a prefix that matches no node is an error (a renamed graph would
    otherwise silently quantise everything)."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(feeds)

        def get_next(self) -> Feed | None:
            return next(self._it, None)

    from onnxruntime.quantization.shape_inference import quant_pre_process

    tmp = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.tmp.onnx")
    pre = dst.with_name(f".{dst.name}.{uuid.uuid4().hex}.pre.onnx")
    try:
        with _quiet_root_logger():  # calibration works in its own temporary folder
            # Constant-fold and fuse first (e.g. EfficientNet's explicit Pad ops into its
            # convolutions): otherwise Q/DQ pairs around them block the int8 Conv kernels
            # and the int8 model is no faster than fp32.
            quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
            excluded = float_nodes(pre, keep_float)
            quantize_static(
                pre,
                tmp,
                Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
                calibration_providers=["CPUExecutionProvider"],
                nodes_to_exclude=excluded,
            )
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
        pre.unlink(missing_ok=True)
    return dst


def float_nodes(model_path: Path, prefixes: Sequence[str]) -> list[str]:
    """Names of the nodes of ``model_path`` that start with one of ``prefixes``."""
    if not prefixes:
        return []
    import onnx

    names = [node.name for node in onnx.load(str(model_path)).graph.node]
    unmatched = [p for p in prefixes if not any(n.startswith(p) for n in names)]
    if unmatched:
        raise EncoderError(f"int8_keep_float prefixes match no node of the model: {unmatched}")
    return [n for n in names if n.startswith(tuple(prefixes))]


class _quiet_root_logger:
    """onnxruntime.quantization logs advice through the root logger; hide it."""

    def __enter__(self) -> None:
        import logging

        self._logger = logging.getLogger()
        self._level = self._logger.level
        self._logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self._logger.setLevel(self._level)


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out
