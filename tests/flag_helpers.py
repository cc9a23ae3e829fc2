"""Shared pieces of the flag tests: a tiny random CLIP folder, a tiny generated workspace, and
vector-level data whose labels need the text, the image or both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vendorlink.flag.data import FlagData, group_split
from vendorlink.train.data import AdTable


def make_tiny_clip(folder: Path) -> Path:
    """A randomly initialised CLIPModel (32-d towers, 16-d projection) with a local byte-level
    BPE tokenizer (no merges) and a 32x32 image preprocessor, saved in ``folder``."""
    import torch
    from tokenizers import pre_tokenizers
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    torch.manual_seed(0)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    chars = sorted(pre_tokenizers.ByteLevel.alphabet())
    for suffix in ("", "</w>"):
        for char in chars:
            vocab[char + suffix] = len(vocab)
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[])
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab), "hidden_size": 32, "intermediate_size": 37,
            "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 64,
            "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32, "intermediate_size": 37, "num_hidden_layers": 1,
            "num_attention_heads": 2, "image_size": 32, "patch_size": 8,
        },
        projection_dim=16,
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    CLIPModel(config).save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    pre = {
        "do_resize": True, "size": {"shortest_edge": 32}, "do_center_crop": True,
        "crop_size": {"height": 32, "width": 32}, "do_normalize": True,
        "image_mean": [0.48145466, 0.4578275, 0.40821073],
        "image_std": [0.26862954, 0.26130258, 0.27577711], "resample": 3,
    }  # fmt: skip
    (folder / "preprocessor_config.json").write_text(json.dumps(pre), encoding="utf-8")
    return folder


def make_tiny_workspace(root: Path) -> tuple[Path, Path]:
    """Generate the tiny preset, ingest and extract it; returns (workspace, truth_ads.parquet)."""
    from vendorlink.data.ingest import IngestOptions, ingest
    from vendorlink.data.synthetic import GeneratorConfig, generate
    from vendorlink.data.workspace import Workspace
    from vendorlink.extract.stage import run_extract

    data = root / "data"
    generate(GeneratorConfig.from_preset("tiny", seed=3), data, progress=False, overwrite=True)
    ws = Workspace.init(root / "workspace")
    ingest(ws, data / "ads.csv", IngestOptions(progress=False))
    run_extract(ws, progress=False)
    return ws.path, data / "truth_ads.parquet"


def vector_data(n: int = 1500, seed: int = 0, dim: int = 8) -> FlagData:
    """Random unit-ish vectors with three labels: ``t`` (text feature 0 > 0), ``v`` (image
    feature 0 > 0) and ``both`` (text feature 1 > 0 AND image feature 1 > 0); 10% of the ads
    are text-only and 10% image-only."""
    rng = np.random.default_rng(seed)
    text = rng.standard_normal((n, dim)).astype(np.float32)
    image = rng.standard_normal((n, dim)).astype(np.float32)
    kind = rng.random(n)
    has_text = kind >= 0.1
    has_image = (kind < 0.1) | (kind >= 0.2)
    text[~has_text] = 0
    image[~has_image] = 0
    labels = np.stack(
        [
            (text[:, 0] > 0.5) & has_text,
            (image[:, 0] > 0.5) & has_image,
            (text[:, 1] > 0) & (image[:, 1] > 0) & has_text & has_image,
        ],
        axis=1,
    ).astype(np.uint8)
    ids = np.array([f"ad-{i:05d}" for i in range(n)], dtype=object)
    table = AdTable(
        ad_ids=ids,
        vendor=np.array([None] * n, dtype=object),
        part=np.array([None] * n, dtype=object),
        domain=np.array([None] * n, dtype=object),
        text=text,
        image=image,
        has_text=has_text,
        has_image=has_image,
        text_encoder="text:test",
        image_encoder="image:test",
    )
    return FlagData(table=table, labels=labels, names=["t", "v", "both"], part=group_split(ids))
