"""The shared report writer: Markdown, HTML with embedded charts, JSON with every number."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from vendorlink.reports import Section, fmt, json_ready, pyplot, save_figure, write_report


def test_write_report_markdown_html_json(tmp_path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    chart = save_figure(fig, tmp_path / "line.png")
    sections = [
        Section(
            "Numbers",
            paragraphs=["R-Precision is precision at R."],
            tables=[("caption", [{"name": "a|b", "value": 0.123456}, {"name": "c", "n": 3}])],
            charts=[chart],
        )
    ]
    metrics = {"x": float("nan"), "y": np.float32(0.5), "z": np.arange(2), "p": tmp_path}
    paths = write_report(tmp_path, "Title <1>", sections, metrics, preamble=["intro"])
    md = paths["markdown"].read_text(encoding="utf-8")
    assert "| name | value | n |" in md and "| a\\|b | 0.1235 |  |" in md
    assert "![line](line.png)" in md and md.startswith("# Title <1>")
    html = paths["html"].read_text(encoding="utf-8")
    assert "Title &lt;1&gt;" in html and "data:image/png;base64," in html
    data = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert data == {"x": None, "y": 0.5, "z": [0, 1], "p": str(tmp_path)}
    assert not list(tmp_path.glob(".*tmp*"))  # no temporary files left behind


def test_fmt_and_json_ready() -> None:
    assert fmt(None) == "" and fmt(float("nan")) == "" and fmt(1 / 3) == "0.3333"
    assert fmt(7) == "7"
    assert json_ready({"a": [float("inf"), (1, 2)]}) == {"a": [None, [1, 2]]}
