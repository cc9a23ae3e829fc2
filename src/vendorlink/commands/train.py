"""``vendorlink train``: train a vendor model on a workspace (a thin shell over
:func:`vendorlink.train.train_vendor_model`)."""

from pathlib import Path
from typing import Annotated, Any

import typer


def train_summary(result: Any) -> dict[str, Any]:
    """The printed summary of a :class:`~vendorlink.train.TrainResult`."""
    best = result.history[result.best_epoch - 1] if result.history else {}
    validation = {k[4:]: v for k, v in best.items() if k.startswith("val_")}
    return {
        "model": str(result.folder),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "seconds": round(result.seconds, 1),
        "train_ads": result.n_train,
        "val_ads": result.n_val,
        "vendors": result.n_vendors,
        "validation": validation,
    }


def register(app: typer.Typer) -> None:
    from vendorlink.cli import JsonOpt, QuietOpt, WorkspaceArg, _emit, _open

    @app.command()
    def train(
        name: Annotated[
            str, typer.Option("--name", help="Model name: WORKSPACE/artefacts/models/<name>.")
        ] = "vendor-model",
        workspace: WorkspaceArg = Path("."),
        modality: Annotated[str, typer.Option(help="text, image or multimodal.")] = "multimodal",
        fusion: Annotated[
            str, typer.Option(help="mean, sum, product, concat, attention or gated.")
        ] = "mean",
        loss: Annotated[
            str,
            typer.Option(help="ce, ce+supcon, ce+triplet (identify); supcon, triplet (verify)."),
        ] = "ce+supcon",
        metric_views: Annotated[
            str,
            typer.Option(
                help="What SupCon / triplet see in a multimodal model: auto, fused, "
                "modalities (text and image projections) or both."
            ),
        ] = "auto",
        task: Annotated[
            str | None,
            typer.Option(help="identify, verify or align (default: from the loss)."),
        ] = None,
        regime: Annotated[
            str,
            typer.Option(help="frozen (cached vectors), last (last N layers) or full."),
        ] = "frozen",
        layers: Annotated[
            int, typer.Option("--layers", help="Encoder blocks fine-tuned in regime 'last'.")
        ] = 2,
        align_loss: Annotated[str, typer.Option(help="itc or itc+itm (task align).")] = "itc",
        epochs: Annotated[int, typer.Option(help="Maximum epochs.")] = 30,
        patience: Annotated[int, typer.Option(help="Early-stopping patience (0: off).")] = 5,
        label_source: Annotated[
            str | None, typer.Option("--labels", help="Label source (default: the workspace's).")
        ] = None,
        split: Annotated[str, typer.Option(help="Split name.")] = "default",
        text_encoder: Annotated[
            str, typer.Option(help="Text encoder name or local folder.")
        ] = "minilm",
        image_encoder: Annotated[
            str, typer.Option(help="Image encoder name or local folder.")
        ] = "efficientnet-lite0",
        pairs: Annotated[
            bool, typer.Option("--pairs", help="Per-(text, image)-pair mode (MATCHED).")
        ] = False,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        device: Annotated[str, typer.Option(help="cpu, cuda or cuda:N.")] = "cpu",
        resume: Annotated[
            bool, typer.Option("--resume", help="Continue from the last epoch checkpoint.")
        ] = False,
        quiet: QuietOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Train a vendor model and print its validation metrics."""
        from vendorlink.train import TrainConfig, train_vendor_model

        ws = _open(workspace)
        config = TrainConfig(
            name=name,
            modality=modality,
            fusion=fusion,
            loss=loss,
            metric_views=metric_views,
            task=task,
            regime=regime,
            finetune_layers=layers,
            align_loss=align_loss,
            epochs=epochs,
            patience=patience,
            label_source=label_source,
            split_name=split,
            text_encoder=text_encoder,
            image_encoder=image_encoder,
            pair_mode=pairs,
            seed=seed,
            device=device,
            resume=resume,
        )
        result = train_vendor_model(ws, config, progress=not quiet)
        _emit(train_summary(result), as_json, f"train {name}")
