"""``vendorlink search`` and ``vendorlink evaluate``: link ads, and measure a trained model."""

from pathlib import Path
from typing import Annotated, Any

import typer


def evaluation_table(metrics: dict[str, Any], title: str = "evaluation") -> Any:
    """A rich table: per view, in-distribution / OOD / zero-shot R-Precision, MRR, Macro-F1."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("source", "view", "average", "R-Prec (q)", "MRR@10 (q)", "Macro-F1@X"):
        table.add_column(column)

    def cell(value: Any) -> str:
        return "" if value is None or value != value else f"{value:.3f}"

    for source, key in (("model", "retrieval"), ("zero-shot", "zero_shot")):
        for view, entry in metrics.get(key, {}).items():
            averages = [("in-dist", entry["in_distribution"]), ("OOD", entry["ood_average"])]
            if source == "zero-shot":
                averages = [("all regions", entry["all_regions_average"])]
            for label, avg in averages:
                if avg["n_regions"]:
                    table.add_row(
                        source,
                        view,
                        label,
                        cell(avg["r_precision_query_mean"]),
                        cell(avg["mrr_at_10_query_mean"]),
                        cell(avg["macro_f1_at_x"]),
                    )
    return table


def classification_line(metrics: dict[str, Any]) -> str | None:
    cls = metrics.get("classification")
    if not cls or not cls.get("n_samples"):
        return None
    return (
        f"identification ({cls['n_samples']} in-distribution test ads): accuracy "
        f"{cls['accuracy']:.3f}, balanced accuracy {cls['balanced_accuracy']:.3f}, F1 macro "
        f"{cls['f1_macro']:.3f}, weighted {cls['f1_weighted']:.3f}, micro {cls['f1_micro']:.3f}"
    )


def register(app: typer.Typer) -> None:
    from vendorlink.cli import JsonOpt, QuietOpt, WorkspaceArg, _open, console

    @app.command()
    def search(
        ad_id: Annotated[str | None, typer.Argument(help="Id of an ad in the workspace.")] = None,
        workspace: WorkspaceArg = Path("."),
        text: Annotated[str | None, typer.Option("--text", help="New ad text.")] = None,
        text_file: Annotated[
            Path | None, typer.Option("--text-file", help="File with the new ad's text.")
        ] = None,
        image: Annotated[
            list[Path] | None, typer.Option("--image", help="Image file (repeatable).")
        ] = None,
        k: Annotated[int, typer.Option("-k", "--top", help="Number of ads to return.")] = 10,
        model: Annotated[
            str | None,
            typer.Option(help="Model name or folder; 'zero-shot'; default: the newest."),
        ] = None,
        index_kind: Annotated[
            str, typer.Option(help="FAISS index: auto, flat, hnsw or ivf.")
        ] = "auto",
        reveal: Annotated[
            bool, typer.Option("--reveal", help="Show the unmasked ad text.")
        ] = False,
        graph: Annotated[
            Path | None,
            typer.Option(help="Write the query's knowledge graph (.gexf, .graphml, .json)."),
        ] = None,
        cut: Annotated[
            str, typer.Option(help="Graph cut: r_precision (all R ads of the vendor) or top_k.")
        ] = "r_precision",
        quiet: QuietOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Top-K ads for an ad id, or for new text and/or images (masked text by default)."""
        import json

        from rich.table import Table

        from vendorlink.errors import InputError
        from vendorlink.link import knowledge_graph, search_ads, write_graph

        ws = _open(workspace)
        if text_file is not None:
            if text is not None:
                raise InputError("give --text or --text-file, not both")
            if not text_file.is_file():
                raise InputError(f"text file {text_file} does not exist")
            text = text_file.read_text(encoding="utf-8")
        if ad_id is None and not text and not image:
            raise InputError("give an ad id, --text / --text-file, or --image")
        result = search_ads(
            ws,
            ad_id=ad_id,
            text=text,
            images=list(image or []),
            k=k,
            model=model,
            kind=index_kind,  # type: ignore[arg-type]
            reveal=reveal,
            progress=not quiet and not as_json,
        )
        out = result.as_dict()
        if graph is not None:
            g = knowledge_graph(
                ws,
                ad_id=ad_id,
                text=text,
                images=list(image or []),
                model=model,
                cut=cut,  # type: ignore[arg-type]
                k=k,
                reveal=reveal,
            )
            write_graph(g, graph)
            out["graph"] = {"path": str(graph), "nodes": g.number_of_nodes(),
                            "edges": g.number_of_edges(), "cut": cut}  # fmt: skip
        if as_json:
            console.print_json(json.dumps(out, default=str))
            return
        if result.notice:
            console.print(f"[yellow]notice:[/yellow] {result.notice}")
        table = Table(
            title=f"search · {Path(result.model).name} · index {result.index_kind}",
            title_justify="left",
        )
        for column in ("rank", "ad id", "score", "vendor", "text" if reveal else "masked text"):
            table.add_column(column)
        for hit in result.hits:
            snippet = " ".join(hit.text.split())
            table.add_row(
                str(hit.rank), hit.ad_id, f"{hit.score:.3f}", hit.vendor or "",
                snippet[:100] + ("…" if len(snippet) > 100 else ""),
            )  # fmt: skip
        console.print(table)
        if result.predicted_vendor:
            console.print(f"predicted vendor: {result.predicted_vendor}")
        if graph is not None:
            info = out["graph"]
            console.print(f"graph: {info['nodes']} nodes, {info['edges']} edges → {graph}")

    @app.command()
    def evaluate(
        workspace: WorkspaceArg = Path("."),
        model: Annotated[
            str | None,
            typer.Option(help="Model name or folder; 'zero-shot'; default: the newest."),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(help="Report folder (default: artefacts/reports/evaluate-<model>)."),
        ] = None,
        split: Annotated[
            str | None, typer.Option(help="Split name (default: the model's).")
        ] = None,
        label_source: Annotated[
            str | None, typer.Option(help="Labels (default: the model's, else the workspace's).")
        ] = None,
        zero_shot: Annotated[
            bool, typer.Option(help="Also evaluate the frozen encoders (zero-shot).")
        ] = True,
        quiet: QuietOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Retrieval and identification metrics; writes report.md, report.html, metrics.json."""
        import json

        from vendorlink.evaluate.model import evaluate_workspace_model
        from vendorlink.evaluate.report import write_evaluation_report
        from vendorlink.link import resolve_model

        ws = _open(workspace)
        folder, notice = resolve_model(ws, model)
        if notice and not as_json:
            console.print(f"[yellow]notice:[/yellow] {notice}")
        result = evaluate_workspace_model(
            ws,
            folder,
            split_name=split,
            label_source=label_source,
            zero_shot=zero_shot or folder is None,
            progress=not quiet and not as_json,
        )
        name = folder.name if folder is not None else "zero-shot"
        target = out or ws.artefacts / "reports" / f"evaluate-{name}"
        paths = write_evaluation_report(target, result.metrics, result.per_vendor)
        if as_json:
            console.print_json(json.dumps({k: str(v) for k, v in paths.items()}))
            return
        console.print(evaluation_table(result.metrics, title=f"evaluation · {name}"))
        line = classification_line(result.metrics)
        if line:
            console.print(line)
        console.print(f"report: {paths['html']} (and report.md, metrics.json)")
