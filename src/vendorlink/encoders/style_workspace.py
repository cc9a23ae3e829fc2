"""Fit the stylometric style-stack text encoder on a workspace's training ads.

>>> from vendorlink.encoders.style_workspace import fit_style_encoder
>>> folder = fit_style_encoder(workspace, name="style")  # artefacts/encoders/style
>>> # then: vendorlink train WORKSPACE --modality text --text-encoder <folder>

The char / word n-gram style model (:class:`~vendorlink.encoders.chargram.CharGramStyle`) is
fitted on the texts and vendor labels of the in-distribution ads in the ``train`` part of a
split only (validation, test, out-of-distribution and unlabelled ads are never read), on
exactly the strings :func:`~vendorlink.encoders.cache.embed_ads` later encodes
(``fields.masked_text``), so each training ad gets its cross-fitted scores. The result, a
:class:`~vendorlink.encoders.chargram.StyleStackEncoder` with the base text encoder, is saved
to a folder that ``load_encoder`` and ``--text-encoder`` accept. A ``style-fit`` run records
the options and counts in the workspace.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vendorlink.data.workspace import Workspace
from vendorlink.encoders.cache import _ad_texts
from vendorlink.encoders.chargram import CharGramConfig, CharGramStyle, StyleStackEncoder
from vendorlink.errors import InputError, StageOrderError

__all__ = ["ENCODERS_DIR", "fit_style_encoder", "training_texts"]

ENCODERS_DIR = "encoders"


def training_texts(
    workspace: Workspace,
    *,
    split_name: str = "default",
    label_source: str | None = None,
    part: str = "train",
    domain: str | None = "in",
) -> tuple[list[str], list[str], list[str]]:
    """``(ad_ids, masked texts, vendors)`` of the labelled ads in ``part`` of the split,
    ordered by ``ad_id``; ads with blank text are left out (``embed_ads`` skips them too).

    ``domain="in"`` (default, like ``TrainConfig.train_domain``) reads in-distribution ads
    only, so out-of-distribution vendors stay unseen; ``None`` reads every domain."""
    label_source = label_source or workspace.settings.get("default_label_source")
    if label_source is None:
        raise StageOrderError(
            f"{workspace.path} has no default label source: run `vendorlink label` first "
            "or pass label_source"
        )
    with workspace.connect(read_only=True) as con:
        rows = con.execute(
            "SELECT s.ad_id, l.vendor FROM splits s JOIN labels l ON l.ad_id = s.ad_id "
            "AND l.label_source = ? WHERE s.split_name = ? AND s.part = ? "
            "AND (? IS NULL OR s.domain = ?) ORDER BY s.ad_id",
            [label_source, split_name, part, domain, domain],
        ).fetchall()
        if not rows:
            raise StageOrderError(
                f"no labelled ads in part {part!r} of split {split_name!r} (label source "
                f"{label_source!r}) in {workspace.path}: run `vendorlink split` / `label` first"
            )
        ids, texts = _ad_texts(workspace, "masked_text", [r[0] for r in rows], con)
    vendor = dict(rows)
    keep = [i for i, t in enumerate(texts) if t.strip()]
    return [ids[i] for i in keep], [texts[i] for i in keep], [str(vendor[ids[i]]) for i in keep]


def fit_style_encoder(
    workspace: Workspace,
    *,
    name: str = "style",
    out: str | Path | None = None,
    split_name: str = "default",
    label_source: str | None = None,
    train_domain: str | None = "in",
    base: str = "minilm",
    backend: str = "torch",
    config: CharGramConfig | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> tuple[Path, StyleStackEncoder]:
    """Fit the style model on the split's training ads and save the style-stack encoder.

    ``out`` defaults to ``WORKSPACE/artefacts/encoders/<name>``. ``base``: the neural text
    encoder whose vectors come first (registered name or folder); ``backend`` is its backend.
    ``train_domain``: as in :func:`training_texts`. Returns ``(folder, encoder)``.
    """
    if not name or "/" in name or name.startswith("."):
        raise InputError(f"invalid encoder name {name!r}: use a plain folder name")
    folder = Path(out) if out is not None else workspace.artefacts / ENCODERS_DIR / name
    ids, texts, vendors = training_texts(
        workspace, split_name=split_name, label_source=label_source, domain=train_domain
    )
    style = CharGramStyle.fit(texts, vendors, config or CharGramConfig(), progress=progress)
    encoder = StyleStackEncoder(style, base, backend=backend)  # type: ignore[arg-type]
    encoder.save(folder, overwrite=overwrite)
    stats: dict[str, Any] = {
        "folder": str(folder),
        "encoder": encoder.name,
        "train_ads": len(ids),
        "vendors": len(style.classes),
        "style_dim": style.dim,
        "dim": encoder.dim,
    }
    options = {
        "name": name,
        "split_name": split_name,
        "label_source": label_source,
        "train_domain": train_domain,
        "base": base,
        "style": style.config.to_dict(),
    }
    with workspace.run("style-fit", options) as run:
        run.stats.update(stats)
    return folder, encoder
