from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vendorlink.cli import app

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_help_everywhere() -> None:
    out = invoke("--help")
    for command in ("init", "info", "ingest", "generate", "extract", "label", "split", "demo"):
        assert command in out
        assert "Usage" in invoke(command, "--help")


def test_init_ingest_info_as_json(tmp_path: Path, ad_folder: Path) -> None:
    ws = tmp_path / "ws"
    invoke("init", str(ws))
    out = invoke("ingest", str(ad_folder / "ads.csv"), "-w", str(ws), "--quiet", "--json")
    summary = json.loads(out)
    assert summary["added"] == 4 and summary["rejected"] == 7
    info = json.loads(invoke("info", "-w", str(ws), "--json"))
    assert info["ads"] == {
        "total": 4, "text_and_image": 2, "text_only": 1, "image_only": 1, "exact_duplicates": 1,
    }  # fmt: skip
    assert info["rejects"]["row:id_conflict"] == 1
    table = invoke("info", "-w", str(ws))
    assert "rejects" in table and "South" in table


def test_errors_are_clear(tmp_path: Path) -> None:
    result = runner.invoke(app, ["info", "-w", str(tmp_path)])
    assert result.exit_code != 0
    assert "not a vendorlink workspace" in str(result.exception)
