"""``vendorlink flag``: train an indicator classifier, score a workspace, predict one ad."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

flag_app = typer.Typer(
    help="Multi-label indicator flags: train a multimodal classifier, score ads, predict one ad.",
    no_args_is_help=True,
)

ModelOpt = Annotated[Path, typer.Option("--model", "-m", help="Flag model folder.")]


def _labels(
    path: Path,
    columns: str | None,
    prefix: str | None,
    list_column: str | None,
    top_k: int | None,
    id_column: str | None,
) -> Any:
    from vendorlink.flag.labels import keyword_labels, load_labels

    if top_k is not None:
        return keyword_labels(path, top_k, column=list_column or "KEYWORDS", id_column=id_column)
    cols = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    return load_labels(
        path, columns=cols, prefix=prefix, list_column=list_column, id_column=id_column
    )


@flag_app.command("train")
def train(
    labels: Annotated[
        Path, typer.Option("--labels", "-l", help="Labels file (.parquet, .csv, .jsonl).")
    ],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")] = Path(
        "."
    ),
    columns: Annotated[str | None, typer.Option(help="Comma-separated 0/1 label columns.")] = None,
    prefix: Annotated[
        str | None, typer.Option(help="Use every column with this prefix (default ind_).")
    ] = None,
    list_column: Annotated[
        str | None, typer.Option(help="A column of label lists (or 'a|b' text).")
    ] = None,
    top_k: Annotated[
        int | None, typer.Option(help="With a list column: only its K most frequent labels.")
    ] = None,
    id_column: Annotated[str | None, typer.Option(help="Id column (default ad_id/ID/id).")] = None,
    name: Annotated[str, typer.Option(help="Model name.")] = "flag",
    out: Annotated[
        Path | None, typer.Option(help="Model folder (default artefacts/models/flag/NAME).")
    ] = None,
    modality: Annotated[str, typer.Option(help="multimodal, text or image.")] = "multimodal",
    fusion: Annotated[str, typer.Option(help="gated (default) or mean (no gate).")] = "gated",
    interactions: Annotated[
        bool, typer.Option("--interactions/--no-interactions", help="[fused,t,v,|t-v|,t*v].")
    ] = True,
    loss: Annotated[str, typer.Option(help="bce, focal or asl.")] = "bce",
    pos_weight: Annotated[
        bool, typer.Option("--pos-weight/--no-pos-weight", help="Per-label positive weights.")
    ] = True,
    epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 30,
    batch_size: Annotated[int, typer.Option(help="Ads per batch.")] = 256,
    lr_head: Annotated[float, typer.Option(help="Learning rate of projections+head.")] = 1e-3,
    lr_encoder: Annotated[float, typer.Option(help="Encoder learning rate (finetune).")] = 1e-5,
    patience: Annotated[int, typer.Option(help="Early-stopping patience (0: off).")] = 4,
    weighted_sampling: Annotated[
        bool, typer.Option("--weighted-sampling", help="Draw ads with rare labels more often.")
    ] = False,
    finetune: Annotated[
        bool, typer.Option("--finetune", help="Fine-tune the encoders (slow on CPU).")
    ] = False,
    finetune_layers: Annotated[
        int | None, typer.Option(help="With --finetune: only the last N encoder blocks.")
    ] = None,
    clip: Annotated[
        Path | None, typer.Option(help="A local transformers CLIPModel folder as backbone.")
    ] = None,
    text_encoder: Annotated[str, typer.Option(help="Text encoder name or folder.")] = "minilm",
    image_encoder: Annotated[
        str, typer.Option(help="Image encoder name or folder.")
    ] = "efficientnet-lite0",
    backend: Annotated[str, typer.Option(help="torch, onnx or onnx-int8.")] = "torch",
    split: Annotated[
        str | None, typer.Option(help="Use this workspace split (default: own 70/15/15).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    skip_unknown: Annotated[
        bool, typer.Option("--skip-unknown", help="Set aside labelled ids not in the workspace.")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Train a flag model on a workspace's ads and a labels file; calibrate; save; report."""
    from vendorlink.cli import _emit
    from vendorlink.data.workspace import Workspace
    from vendorlink.flag.stage import train_flag
    from vendorlink.flag.train import FlagTrainConfig

    label_set = _labels(labels, columns, prefix, list_column, top_k, id_column)
    config = FlagTrainConfig(
        name=name, modality=modality, fusion=fusion, interactions=interactions, loss=loss,
        pos_weight=pos_weight, epochs=epochs, batch_size=batch_size, lr_head=lr_head,
        lr_encoder=lr_encoder, patience=patience, weighted_sampling=weighted_sampling, seed=seed,
    )  # fmt: skip
    result, folder = train_flag(
        Workspace.open(workspace), label_set, config, text_encoder=text_encoder,
        image_encoder=image_encoder, clip=clip, backend=backend, split_name=split, seed=seed,
        unknown="skip" if skip_unknown else "error", finetune=finetune,
        finetune_layers=finetune_layers, out=out,
        progress=not quiet and not as_json,
    )  # fmt: skip
    _emit({"folder": str(folder), **result.summary()}, as_json, "flag train")


@flag_app.command("score")
def score(
    model: ModelOpt,
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")] = Path(
        "."
    ),
    name: Annotated[
        str | None, typer.Option(help="Model name in the flags table (default: folder name).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Score every ad of the workspace into the flags table."""
    from vendorlink.cli import _emit
    from vendorlink.data.workspace import Workspace
    from vendorlink.flag.stage import score_flags

    result = score_flags(
        Workspace.open(workspace), model, name=name, progress=not quiet and not as_json
    )
    _emit(result, as_json, "flag score")


@flag_app.command("predict")
def predict(
    model: ModelOpt,
    text: Annotated[str | None, typer.Option(help="The ad text.")] = None,
    image: Annotated[
        list[Path] | None, typer.Option(help="An image file of the ad (repeat for several).")
    ] = None,
) -> None:
    """Predict the flags of one ad from --text and/or --image; prints JSON."""
    from vendorlink.errors import InputError
    from vendorlink.flag.predictor import FlagModel

    images = list(image or [])
    missing = [str(p) for p in images if not p.is_file()]
    if missing:
        raise InputError(f"image file(s) not found: {missing}")
    if not (text and text.strip()) and not images:
        raise InputError("give --text, --image or both")
    result = FlagModel.load(model).predict(text=text, images=images)
    typer.echo(json.dumps(result, indent=2))


def register(app: typer.Typer) -> None:
    """Add the ``flag`` command group to the ``vendorlink`` application."""
    app.add_typer(flag_app, name="flag")
