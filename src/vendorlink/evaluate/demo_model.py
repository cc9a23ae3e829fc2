"""The demo's model step: train the default multimodal model (frozen regime), evaluate it.

Used by ``vendorlink demo`` after the split: trains ``TrainConfig(name="demo-multimodal")``
(multimodal, mean fusion, CE+SupCon, frozen encoders on cached vectors) on the true vendor
labels of the generated set, evaluates it (:func:`evaluate_workspace_model`), writes the
report to ``artefacts/reports/evaluate-demo-multimodal`` and returns a summary; the table is
printed by :func:`print_model_summary`. ``vendorlink search -w WORKSPACE AD_ID`` then uses
this model (the newest in the workspace).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from vendorlink.data.workspace import Workspace

__all__ = ["DEMO_MODEL", "demo_model_step", "print_model_summary"]

DEMO_MODEL = "demo-multimodal"


def demo_model_step(
    workspace: Workspace,
    *,
    label_source: str = "truth",
    encoders: tuple[str, str] | None = None,
    encoder_backend: str = "onnx",
    progress: bool = False,
    **train_options: Any,
) -> dict[str, Any]:
    """Train, evaluate and report; ``encoders`` = (text, image) encoder names or folders.

    ``encoder_backend``: how vectors not cached yet are computed (default ONNX Runtime fp32:
    the same vectors as torch, several times faster on a CPU).
    """
    from vendorlink.evaluate.model import evaluate_workspace_model
    from vendorlink.evaluate.report import write_evaluation_report
    from vendorlink.train import TrainConfig, train_vendor_model

    text, image = encoders or ("minilm", "efficientnet-lite0")
    config = TrainConfig(
        name=DEMO_MODEL,
        label_source=label_source,
        text_encoder=text,
        image_encoder=image,
        encoder_backend=encoder_backend,
        **train_options,
    )
    result = train_vendor_model(workspace, config, progress=progress)
    assert result.folder is not None
    evaluation = evaluate_workspace_model(workspace, result.folder, progress=progress)
    out = workspace.artefacts / "reports" / f"evaluate-{DEMO_MODEL}"
    paths = write_evaluation_report(out, evaluation.metrics, evaluation.per_vendor)
    return {
        "workspace": str(workspace.path),
        "model": str(result.folder),
        "train_seconds": round(result.seconds, 2),
        "best_epoch": result.best_epoch,
        "epochs_run": result.epochs_run,
        "report": str(paths["html"]),
        "metrics": evaluation.metrics,
    }


def print_model_summary(console: Console, summary: dict[str, Any]) -> None:
    """The evaluation table of the demo model and where its report is."""
    from vendorlink.commands.link import classification_line, evaluation_table

    console.print(evaluation_table(summary["metrics"], title="vendorlink demo — evaluation"))
    line = classification_line(summary["metrics"])
    if line:
        console.print(line)
    console.print(
        f"model {summary['model']} trained in {summary['train_seconds']} s "
        f"(best epoch {summary['best_epoch']} of {summary['epochs_run']}); report: "
        f"{summary['report']}"
    )
    console.print(
        f"Next: [bold]vendorlink search -w {summary['workspace']} AD_ID[/bold] (or --text / "
        "--image; --graph g.gexf for the ad's knowledge graph)"
    )
