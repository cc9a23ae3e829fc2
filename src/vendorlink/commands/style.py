"""``vendorlink style fit``: fit the char n-gram stylometric text encoder on a workspace (a
thin shell over :func:`vendorlink.encoders.style_workspace.fit_style_encoder`)."""

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

style_app = typer.Typer(
    help="Stylometric text encoder: char / word n-gram scores next to a neural text encoder.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    from vendorlink.cli import JsonOpt, QuietOpt, WorkspaceArg, _emit, _open

    @style_app.command("fit")
    def fit(
        workspace: WorkspaceArg = Path("."),
        name: Annotated[
            str, typer.Option(help="Encoder name: WORKSPACE/artefacts/encoders/<name>.")
        ] = "style",
        out: Annotated[Path | None, typer.Option(help="Encoder folder (overrides --name).")] = None,
        split: Annotated[str, typer.Option(help="Split whose 'train' part is fitted on.")] = (
            "default"
        ),
        label_source: Annotated[
            str | None, typer.Option("--labels", help="Label source (default: the workspace's).")
        ] = None,
        base: Annotated[str, typer.Option(help="Neural text encoder name or folder.")] = "minilm",
        backend: Annotated[str, typer.Option(help="Base encoder backend.")] = "torch",
        folds: Annotated[int, typer.Option(help="Cross-fitting folds.")] = 5,
        max_features: Annotated[int, typer.Option(help="N-grams kept per block.")] = 500_000,
        char_only: Annotated[
            bool, typer.Option("--char-only", help="Character 2-5-grams only (no word block).")
        ] = False,
        all_domains: Annotated[
            bool,
            typer.Option("--all-domains", help="Also fit on out-of-distribution training ads."),
        ] = False,
        seed: Annotated[int, typer.Option(help="Fold and SVM seed.")] = 0,
        overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the folder.")] = False,
        quiet: QuietOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Fit on the split's training ads; train on it with ``--text-encoder <folder>``."""
        from vendorlink.encoders.chargram import CharGramConfig, NgramBlock
        from vendorlink.encoders.style_workspace import fit_style_encoder

        config = CharGramConfig(folds=folds, max_features=max_features, seed=seed)
        if char_only:
            config = CharGramConfig(
                blocks=(NgramBlock("char", 2, 5),),
                folds=folds,
                max_features=max_features,
                seed=seed,
            )
        folder, encoder = fit_style_encoder(
            _open(workspace),
            name=name,
            out=out,
            split_name=split,
            label_source=label_source,
            train_domain=None if all_domains else "in",
            base=base,
            backend=backend,
            config=config,
            overwrite=overwrite,
            progress=not quiet,
        )
        summary = {
            "folder": str(folder),
            "encoder": encoder.name,
            "dim": encoder.dim,
            "vendors": len(encoder.style.classes),
            "next": f"vendorlink train --modality text --text-encoder {folder}",
        }
        _emit(summary, as_json, "style fit")

    app.add_typer(style_app, name="style")
