"""``vendorlink resolve``: link ads into vendor clusters, and what to do with the clusters.

``vendorlink resolve -w W`` runs the whole job (as before); its subcommands work on the
clusters of the latest run:

- ``vendorlink resolve profiles -w W``: one profile row per cluster (CSV or JSON);
- ``vendorlink resolve rules -w W --labels FILE``: cluster classifier + rules + PN curve
  from cluster (or ad) labels;
- ``vendorlink resolve export -w W --out DIR``: flagged (or the largest) clusters as CSV
  and GEXF;
- ``vendorlink resolve link -w W AD_ID ...``: link new ads to the existing clusters.
"""

from pathlib import Path
from typing import Annotated, Any

import typer


def _metric_rows(result: dict[str, Any], as_json: bool) -> dict[str, Any]:
    """For tables: the metrics dict of a resolve summary as one row per clustering."""
    if as_json or not isinstance(result.get("metrics"), dict):
        return result
    rows = [{"clustering": name, **values} for name, values in result["metrics"].items()]
    return {**result, "metrics": rows}


def register(app: typer.Typer) -> None:
    from vendorlink.cli import JsonOpt, QuietOpt, WorkspaceArg, _emit, _open
    from vendorlink.errors import VendorlinkError

    group = typer.Typer(
        help="Link ads into vendor clusters (subcommands: profiles, rules, export, link).",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @group.callback(invoke_without_command=True)
    def resolve(
        ctx: typer.Context,
        workspace: WorkspaceArg = Path("."),
        settings: Annotated[
            Path | None, typer.Option("--settings", help="Resolve settings YAML (default: ads).")
        ] = None,
        threshold: Annotated[
            float | None, typer.Option(help="Fixed match threshold (default: chosen per run).")
        ] = None,
        link_threshold: Annotated[
            float | None,
            typer.Option(help="Fixed link threshold with identifier links (default: chosen)."),
        ] = None,
        method: Annotated[
            str | None, typer.Option(help="connected_components (default) or correlation.")
        ] = None,
        recluster: Annotated[
            bool,
            typer.Option("--recluster", help="Re-cluster the stored pairs (needs --threshold)."),
        ] = False,
        labels: Annotated[
            str, typer.Option(help="Label source of the baseline communities.")
        ] = "identifiers",
        truth: Annotated[str | None, typer.Option(help="Label source of true vendors.")] = "truth",
        identifier_links: Annotated[
            bool,
            typer.Option(
                "--identifier-links/--no-identifier-links",
                help="Join the clusters with the identifier communities (shared phones/emails).",
            ),
        ] = True,
        workers: Annotated[
            int, typer.Option(help="Processes for tokenising and pair features.")
        ] = 1,
        quiet: QuietOpt = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Link ads into vendor clusters: block, score pairs, choose a threshold, cluster."""
        if ctx.invoked_subcommand is not None:
            return
        ws = _open(workspace)
        if recluster:
            from vendorlink.resolve.stage import recluster as do_recluster

            if threshold is None:
                raise VendorlinkError("--recluster needs --threshold")
            result = do_recluster(
                ws, threshold, method or "connected_components", label_source=labels,
                truth_source=truth, identifier_links=identifier_links,
            )  # fmt: skip
            _emit(_metric_rows(result, as_json), as_json, "resolve (recluster)")
            return
        from vendorlink.resolve.settings import ResolveSettings
        from vendorlink.resolve.stage import run_resolve

        loaded = ResolveSettings.from_yaml(settings) if settings is not None else None
        result = run_resolve(
            ws, loaded, label_source=labels, truth_source=truth, threshold=threshold,
            method=method, identifier_links=identifier_links, link_threshold=link_threshold,
            progress=not quiet and not as_json, workers=workers,
        )  # fmt: skip
        _emit(_metric_rows(result, as_json), as_json, "resolve")

    @group.command("profiles")
    def profiles(
        workspace: WorkspaceArg = Path("."),
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write a CSV.")] = None,
        min_size: Annotated[int, typer.Option(help="Smallest cluster to list.")] = 2,
        top: Annotated[int, typer.Option(help="Rows to print.")] = 10,
        as_json: JsonOpt = False,
    ) -> None:
        """Cluster profiles: size, spread, posting span, identifiers, image reuse."""
        from vendorlink.resolve.analysis import profiles_command

        _emit(profiles_command(_open(workspace), out, min_size, top), as_json, "cluster profiles")

    @group.command("rules")
    def rules(
        workspace: WorkspaceArg = Path("."),
        labels_file: Annotated[
            Path, typer.Option("--labels", help="CSV of cluster_id,label or ad_id,label.")
        ] = Path("labels.csv"),
        out: Annotated[
            Path | None, typer.Option("--out", "-o", help="Folder for rules, PN curve, report.")
        ] = None,
        min_support: Annotated[int, typer.Option(help="Fewest labelled clusters per rule.")] = 3,
        as_json: JsonOpt = False,
    ) -> None:
        """Cluster classifier (random forest) and rules (support, ratio, lift, PN curve)."""
        from vendorlink.resolve.analysis import rules_command

        result = rules_command(_open(workspace), labels_file, out, min_support)
        _emit(result, as_json, "cluster rules")

    @group.command("export")
    def export(
        workspace: WorkspaceArg = Path("."),
        out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path(
            "resolve-export"
        ),
        labels_file: Annotated[
            Path | None,
            typer.Option("--labels", help="Cluster labels: export clusters the model flags."),
        ] = None,
        clusters: Annotated[
            str | None, typer.Option(help="Comma-separated cluster ids to export.")
        ] = None,
        min_probability: Annotated[float, typer.Option(help="Flag at this probability.")] = 0.5,
        top: Annotated[int, typer.Option(help="Without labels or ids: the N largest.")] = 20,
        as_json: JsonOpt = False,
    ) -> None:
        """Export flagged clusters as CSV (profiles) and GEXF (ads and links)."""
        from vendorlink.resolve.analysis import export_command

        ids = [int(c) for c in clusters.split(",")] if clusters else None
        result = export_command(_open(workspace), out, labels_file, ids, min_probability, top)
        _emit(result, as_json, "export")

    @group.command("link")
    def link(
        ad_ids: Annotated[list[str], typer.Argument(help="Ids of new (extracted) ads.")],
        workspace: WorkspaceArg = Path("."),
        write: Annotated[bool, typer.Option(help="Add the ads to resolve_clusters.")] = False,
        as_json: JsonOpt = False,
    ) -> None:
        """Link new ads to the existing clusters without resolving everything again."""
        from vendorlink.resolve.incremental import link_new_ads

        rows = link_new_ads(_open(workspace), ad_ids, write=write)
        _emit({"assignments": rows}, as_json, "link")

    app.add_typer(group, name="resolve")
