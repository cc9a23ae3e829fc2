"""One small report writer: Markdown, self-contained HTML and a JSON of every number.

A report is a title, an optional preamble and a list of :class:`Section` objects, each with
paragraphs, tables (lists of dicts with the same keys) and PNG charts. :func:`write_report`
writes, into one folder, atomically file by file:

- ``report.md``: headings, paragraphs, pipe tables, charts as relative image links;
- ``report.html``: the same, with every chart embedded as a base64 PNG (one file to share);
- ``metrics.json``: the ``metrics`` dict given (every number, nested; NaN written as null);
- the chart PNGs themselves (``*.png``), for the Markdown.

Numbers in tables are formatted with :func:`fmt` (4 decimals for floats).
Charts use matplotlib's Agg backend (no display); :func:`save_figure` writes one atomically.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vendorlink.atomic import atomic_write_text

__all__ = ["Section", "fmt", "json_ready", "pyplot", "save_figure", "write_report"]


@dataclass
class Section:
    """A heading with paragraphs (Markdown-light: plain text), tables and chart files."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)


def fmt(value: Any) -> str:
    """A table cell: floats with 4 decimals, NaN / None as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def json_ready(value: Any) -> Any:
    """``value`` with NaN / inf as ``None``, numpy scalars and arrays as Python values."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalar or array
        return json_ready(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (works without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG atomically and close it."""
    plt = pyplot()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp.png")
    try:
        fig.tight_layout()
        fig.savefig(tmp, dpi=dpi)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        tmp.unlink(missing_ok=True)
    return path


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for row in rows for k in row))


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """A pipe table; columns in first-seen key order."""
    if not rows:
        return "_(no rows)_"
    cols = _columns(rows)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in rows:
        cells = [fmt(row.get(c)).replace("|", "\\|") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def html_table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "<p><em>(no rows)</em></p>"
    cols = _columns(rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(r.get(c)))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = (
    "body{font-family:sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}"
    "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:90%}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    "img{max-width:100%}"
)


def write_report(
    folder: str | Path,
    title: str,
    sections: Sequence[Section],
    metrics: dict[str, Any],
    preamble: Sequence[str] = (),
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``metrics.json`` into ``folder``.

    Charts named in the sections must already exist (in ``folder`` for the Markdown links
    to work; they are embedded in the HTML wherever they are). Returns the paths written.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md = [f"# {title}", ""]
    md += [p + "\n" for p in preamble]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        *[f"<p>{html.escape(p)}</p>" for p in preamble],
    ]
    for section in sections:
        md += [f"## {section.title}", ""]
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        for paragraph in section.paragraphs:
            md += [paragraph, ""]
            parts.append(f"<p>{html.escape(paragraph)}</p>")
        for caption, rows in section.tables:
            if caption:
                md += [f"**{caption}**", ""]
                parts.append(f"<h3>{html.escape(caption)}</h3>")
            md += [markdown_table(rows), ""]
            parts.append(html_table(rows))
        for chart in section.charts:
            chart = Path(chart)
            rel = os.path.relpath(chart, folder) if chart.is_absolute() else str(chart)
            md += [f"![{chart.stem}]({rel})", ""]
            data = base64.b64encode(chart.read_bytes()).decode("ascii")
            alt = html.escape(chart.stem)
            parts.append(f"<p><img alt='{alt}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    paths = {
        "markdown": folder / "report.md",
        "html": folder / "report.html",
        "json": folder / "metrics.json",
    }
    atomic_write_text(paths["markdown"], "\n".join(md))
    atomic_write_text(paths["html"], "\n".join(parts))
    atomic_write_text(paths["json"], json.dumps(json_ready(metrics), indent=2))
    return paths
