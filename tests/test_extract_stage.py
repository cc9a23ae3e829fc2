"""The workspace extract stage: every ad extracted once, resumable after an interruption."""

from __future__ import annotations

from pathlib import Path

import pytest

import vendorlink.extract.stage as stage
from tests.conftest import write_csv
from vendorlink.data.ingest import ingest
from vendorlink.data.workspace import Workspace


def _workspace(tmp_path: Path, n: int) -> Workspace:
    ws = Workspace.init(tmp_path / "ws")
    rows = [["ID", "TEXT"]] + [
        [f"a{i:03d}", f"ad {i} call 312-555-01{i % 100:02d}"] for i in range(n)
    ]
    write_csv(tmp_path / "ads.csv", rows)
    ingest(ws, tmp_path / "ads.csv")
    return ws


def count(ws: Workspace, sql: str) -> int:
    with ws.connect(read_only=True) as con:
        return int(con.execute(sql).fetchone()[0])


def test_interrupted_extraction_keeps_finished_batches_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = _workspace(tmp_path, 25)
    monkeypatch.setattr(stage, "TEXT_BATCH", 10)
    calls = {"n": 0}
    original = stage.extract_batch

    def fail_on_third(texts):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(texts)

    monkeypatch.setattr(stage, "extract_batch", fail_on_third)
    with pytest.raises(KeyboardInterrupt):
        stage.run_extract(ws, images=False)
    assert count(ws, "SELECT count(*) FROM fields") == 20  # two committed batches
    monkeypatch.setattr(stage, "extract_batch", original)
    result = stage.run_extract(ws, images=False)
    assert result["ads_extracted"] == 5  # only the rest
    assert count(ws, "SELECT count(*) FROM fields") == 25
    assert count(ws, "SELECT count(DISTINCT ad_id) FROM fields") == 25
    phones = count(ws, "SELECT count(*) FROM fields WHERE phones = ['+13125550107']")
    assert phones == 1
    statuses = count(ws, "SELECT count(*) FROM runs WHERE command = 'extract' AND status = 'ok'")
    assert statuses == 1


def test_force_re_extracts_everything(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, 5)
    assert stage.run_extract(ws, images=False)["ads_extracted"] == 5
    assert stage.run_extract(ws, images=False)["ads_extracted"] == 0
    assert stage.run_extract(ws, images=False, force=True)["ads_extracted"] == 5
    assert count(ws, "SELECT count(*) FROM fields") == 5
