"""The whole foundation on a tiny generated benchmark: generate, ingest, extract, label, split."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from vendorlink.cli import app
from vendorlink.data.workspace import Workspace
from vendorlink.demo import run_demo


def test_demo_runs_every_stage(tmp_path: Path) -> None:
    summary = run_demo(tmp_path / "demo", preset="tiny", seed=3, progress=False)
    data = tmp_path / "demo" / "data"
    truth = pq.read_table(data / "truth_ads.parquet").to_pylist()
    ws = Workspace.open(tmp_path / "demo" / "workspace")
    with ws.connect(read_only=True) as con:
        n_ads = con.execute("SELECT count(*) FROM ads").fetchone()[0]
        n_fields = con.execute("SELECT count(*) FROM fields").fetchone()[0]
        n_split = con.execute("SELECT count(*) FROM splits").fetchone()[0]
        leaks = con.execute(
            "SELECT count(*) FROM (SELECT coalesce(a.duplicate_of, a.ad_id) g "
            "FROM splits s JOIN ads a USING (ad_id) GROUP BY g HAVING count(DISTINCT part) > 1)"
        ).fetchone()[0]
        unmasked = con.execute(
            "SELECT count(*) FROM fields WHERE regexp_matches(masked_text, '[0-9]')"
        ).fetchone()[0]
        hashed = con.execute(
            "SELECT count(*) FROM image_fields WHERE phash IS NOT NULL"
        ).fetchone()[0]
        distinct_images = con.execute("SELECT count(DISTINCT image_id) FROM images").fetchone()[0]
    # Every generated ad is ingested (the generator writes no bad rows), extracted and split.
    assert summary["ingest"]["added"] == len(truth) == n_ads == n_fields == n_split
    assert summary["ingest"]["rejected"] == 0
    assert leaks == 0 and unmasked == 0
    with ws.connect(read_only=True) as con:
        errors = con.execute("SELECT error FROM image_fields WHERE error IS NOT NULL").fetchall()
    assert hashed == distinct_images > 0, errors[:3]
    assert summary["communities"]["n_communities"] > 0
    assert summary["label_noise"]["n_ads_compared"] > 0
    assert set(summary["split"]["counts"]) == {"in", "out"}


def test_demo_command_refuses_foreign_folders(tmp_path: Path) -> None:
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    result = CliRunner().invoke(app, ["demo", "--out", str(foreign), "--preset", "tiny", "-q"])
    assert result.exit_code != 0
    assert (foreign / "notes.txt").read_text() == "keep me"
