from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import make_image, write_csv
from vendorlink.data.ingest import IngestOptions, ingest
from vendorlink.data.workspace import Workspace
from vendorlink.errors import InputError, WorkspaceError


def rows(ws: Workspace, sql: str) -> list[tuple]:
    with ws.connect(read_only=True) as con:
        return con.execute(sql).fetchall()


def test_open_requires_a_workspace(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a vendorlink workspace"):
        Workspace.open(tmp_path)
    (tmp_path / "junk.txt").write_text("x")
    with pytest.raises(WorkspaceError, match="not empty"):
        Workspace.init(tmp_path)


def test_ingest_keeps_good_rows_and_rejects_each_bad_row_with_its_reason(
    workspace: Workspace, ad_folder: Path
) -> None:
    summary = ingest(workspace, ad_folder / "ads.csv")
    assert summary.read == 11
    assert summary.read == summary.added + summary.already_present + summary.rejected
    assert sorted(r[0] for r in rows(workspace, "SELECT ad_id FROM ads")) == [
        "a1",
        "a2",
        "a3",
        "a4",
    ]
    reasons = dict(rows(workspace, "SELECT reason, count(*) FROM rejects GROUP BY 1"))
    assert reasons == {
        "no_content": 1,
        "image_undecodable": 1,
        "image_outside_root": 1,
        "image_missing": 1,
        "id_conflict": 1,
        "bad_value": 1,
        "bad_encoding": 1,
    }
    # Every input row is accounted for: added or rejected, by its line number.
    lines = {r[0] for r in rows(workspace, "SELECT source_row FROM ads")}
    lines |= {r[0] for r in rows(workspace, "SELECT source_row FROM rejects WHERE kind = 'row'")}
    assert lines == set(range(2, 13))
    # Modality flags: text-only and image-only ads are kept.
    flags = dict(
        (a, (t, i)) for a, t, i in rows(workspace, "SELECT ad_id, has_text, has_image FROM ads")
    )
    assert flags["a3"] == (True, False) and flags["a4"] == (False, True)
    # The exact duplicate is recorded, not dropped.
    assert rows(workspace, "SELECT duplicate_of FROM ads WHERE ad_id = 'a2'") == [("a1",)]
    # Title and description come from the MATCHED [SEP] format.
    assert rows(workspace, "SELECT title, description FROM ads WHERE ad_id = 'a1'") == [
        ("Sweet Rose", "call 312-555-0101")
    ]
    image = rows(
        workspace,
        "SELECT path, width, height, format FROM images WHERE ad_id='a1' ORDER BY position",
    )
    assert image == [("red.jpg", 24, 24, "JPEG"), ("green.png", 24, 24, "PNG")]


def test_ingest_is_idempotent(workspace: Workspace, ad_folder: Path) -> None:
    first = ingest(workspace, ad_folder / "ads.csv")
    before = {
        t: rows(workspace, f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL")
        for t in ("ads", "images", "rejects")
    }
    second = ingest(workspace, ad_folder / "ads.csv")
    after = {
        t: rows(workspace, f"SELECT * EXCLUDE (run_id) FROM {t} ORDER BY ALL")
        for t in ("ads", "images", "rejects")
    }
    assert second.added == 0 and second.already_present == first.added
    assert before == after


def test_ids_are_stable_without_an_id_column(tmp_path: Path) -> None:
    folder = tmp_path / "noid"
    make_image(folder / "images" / "x.jpg", (1, 2, 3))
    write_csv(
        folder / "ads.csv",
        [["TEXT", "IMAGES"], ["hello [SEP] a", "x.jpg"], ["hello [SEP] a", "x.jpg"], ["other", ""]],
    )
    ids = []
    for name in ("w1", "w2"):
        ws = Workspace.init(tmp_path / name)
        ingest(ws, folder / "ads.csv")
        ids.append(rows(ws, "SELECT ad_id, duplicate_of IS NOT NULL FROM ads ORDER BY source_row"))
    assert ids[0] == ids[1]
    assert len({i for i, _ in ids[0]}) == 3  # two identical rows are two ads ...
    assert [d for _, d in ids[0]] == [False, True, False]  # ... the second a recorded duplicate


def test_drop_image_policy_keeps_the_ad(workspace: Workspace, ad_folder: Path) -> None:
    ingest(workspace, ad_folder / "ads.csv", IngestOptions(on_bad_image="drop_image"))
    kept = dict(rows(workspace, "SELECT ad_id, n_images FROM ads"))
    assert kept["a6"] == 0 and kept["a7"] == 0 and kept["a8"] == 0
    image_rejects = rows(
        workspace, "SELECT ad_id, reason FROM rejects WHERE kind = 'image' ORDER BY 1"
    )
    assert image_rejects == [
        ("a6", "image_undecodable"),
        ("a7", "image_outside_root"),
        ("a8", "image_missing"),
    ]


def test_fixed_rows_leave_the_rejects_table(workspace: Workspace, ad_folder: Path) -> None:
    ingest(workspace, ad_folder / "ads.csv")
    make_image(ad_folder / "images" / "nothere.jpg", (9, 9, 9))
    ingest(workspace, ad_folder / "ads.csv")
    assert rows(workspace, "SELECT count(*) FROM ads WHERE ad_id = 'a8'") == [(1,)]
    assert rows(workspace, "SELECT count(*) FROM rejects WHERE ad_id = 'a8'") == [(0,)]


def test_jsonl_and_parquet_with_column_mapping(workspace: Workspace, tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "ads.jsonl"
    jsonl.write_bytes(
        b'{"post": "p1", "body": "hello", "pics": []}\n'
        b"not json\n"
        b'{"post": "p2", "heading": "Title", "body": "desc", "when": "2016-02-01"}\n'
        b'["a list"]\n'
        b'{"post": "p3", "body": "bad \xff"}\n'
    )
    summary = ingest(
        workspace,
        jsonl,
        IngestOptions(
            columns=[
                "id=post",
                "description=body",
                "title=heading",
                "images=pics",
                "posted_at=when",
            ]
        ),
    )
    assert (summary.added, summary.rejected) == (2, 3)
    assert rows(workspace, "SELECT text FROM ads WHERE ad_id = 'p2'") == [("Title [SEP] desc",)]
    reasons = sorted(r[0] for r in rows(workspace, "SELECT reason FROM rejects"))
    assert reasons == ["bad_encoding", "bad_json", "bad_json"]

    table = pa.table({"ad": ["q1", "q2"], "TEXT": ["one", None], "vendor": ["v1", "v2"]})
    pq.write_table(table, tmp_path / "ads.parquet")
    summary = ingest(workspace, tmp_path / "ads.parquet", IngestOptions(columns=["id=ad"]))
    assert (summary.added, summary.rejected) == (1, 1)
    assert rows(workspace, "SELECT vendor FROM ads WHERE ad_id = 'q1'") == [("v1",)]


def test_clear_errors_for_unusable_input(workspace: Workspace, tmp_path: Path) -> None:
    write_csv(tmp_path / "x.csv", [["foo", "bar"], ["1", "2"]])
    with pytest.raises(InputError, match="no text or image column"):
        ingest(workspace, tmp_path / "x.csv")
    with pytest.raises(InputError, match="not found"):
        ingest(workspace, tmp_path / "x.csv", IngestOptions(columns=["text=body"]))
    with pytest.raises(InputError, match="no such file"):
        ingest(workspace, tmp_path / "missing.csv")
    with pytest.raises(InputError, match="unknown field"):
        ingest(workspace, tmp_path / "x.csv", IngestOptions(columns=["colour=foo"]))


def test_interrupted_ingest_leaves_the_workspace_as_it_was(
    workspace: Workspace, ad_folder: Path, tmp_path: Path
) -> None:
    """Kill the process (SIGKILL) after ads were written but before the commit."""
    first = tmp_path / "first.csv"
    write_csv(first, [["ID", "TEXT"], ["z1", "already here"]])
    ingest(workspace, first)
    before = rows(workspace, "SELECT * FROM ads ORDER BY ALL")
    script = textwrap.dedent(
        f"""
        import os, signal
        import vendorlink.data.ingest as ing
        from vendorlink.data.workspace import Workspace
        original = ing.insert_arrow
        def insert_then_die(con, table, data):
            n = original(con, table, data)
            if table == "images":  # ads of the batch are in, the transaction is open
                os.kill(os.getpid(), signal.SIGKILL)
            return n
        ing.insert_arrow = insert_then_die
        ing.ingest(Workspace.open({str(workspace.path)!r}), {str(ad_folder / "ads.csv")!r})
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()
    ws = Workspace.open(workspace.path)
    assert rows(ws, "SELECT * FROM ads ORDER BY ALL") == before
    assert rows(ws, "SELECT count(*) FROM images") == [(0,)]
    assert rows(ws, "SELECT count(*) FROM rejects") == [(0,)]
    # The run is on record as not finished; a new ingest then completes normally.
    statuses = [r[0] for r in rows(ws, "SELECT status FROM runs ORDER BY started_at")]
    assert statuses == ["ok", "running"]
    assert ingest(ws, ad_folder / "ads.csv").added == 4


def test_exception_mid_ingest_rolls_back_and_records_the_failure(
    workspace: Workspace, ad_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import vendorlink.data.ingest as ing

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(ing, "_mark_duplicates", fail)
    with pytest.raises(KeyboardInterrupt):
        ingest(workspace, ad_folder / "ads.csv")
    assert rows(workspace, "SELECT count(*) FROM ads") == [(0,)]
    run = rows(workspace, "SELECT status, params FROM runs")
    assert run[0][0] == "interrupted"
    assert json.loads(run[0][1])["source"] == "ads.csv"
