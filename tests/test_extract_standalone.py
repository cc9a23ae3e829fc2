"""extract_file: CSV / JSONL in, JSONL out, one line per input row, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vendorlink.errors import InputError
from vendorlink.extract.fields import FIELD_COLUMNS
from vendorlink.extract.standalone import extract_file


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_jsonl_order_and_bad_rows(tmp_path: Path) -> None:
    source = tmp_path / "ads.jsonl"
    lines = [
        json.dumps({"id": "a1", "text": "call 312-555-0123"}).encode(),
        b"{not json",
        json.dumps({"id": "a3", "text": "I'm Mia, 23 yrs"}).encode(),
        b"",  # a blank line is no row
        json.dumps([1, 2]).encode(),
        json.dumps({"id": "a6", "text": None}).encode(),
        json.dumps({"id": "a7"}).encode(),
        b"\xff\xfe not utf-8",
        json.dumps({"TEXT": "mia at example dot com"}).encode(),
    ]
    source.write_bytes(b"\n".join(lines) + b"\n")
    target = tmp_path / "out" / "fields.jsonl"
    summary = extract_file(source, target, progress=False)
    out = read_lines(target)
    assert [r["row"] for r in out] == list(range(8))
    assert summary.n_rows == 8 and summary.n_ok == 3 and summary.n_errors == 5
    assert out[0]["id"] == "a1" and out[0]["phones"] == ["+13125550123"]
    assert set(FIELD_COLUMNS) <= set(out[0]) and "error" not in out[0]
    assert "not JSON" in out[1]["error"]
    assert out[2]["names"] == ["Mia"] and out[2]["ages"] == [23]
    assert "not an object" in out[3]["error"]
    assert out[4]["id"] == "a6" and "null" in out[4]["error"]
    assert out[5]["error"] == "no text field"
    assert "UTF-8" in out[6]["error"]
    assert out[7]["emails"] == ["mia@example.com"]
    assert summary.rows_with["phones"] == 1
    assert not list(target.parent.glob(".*.tmp"))


def test_csv_text_column_any_case(tmp_path: Path) -> None:
    source = tmp_path / "ads.csv"
    source.write_text(
        'ID,Text,extra\n1,"Mia, 23 yrs",x\n2,short row\n3,"two\nlines 312.555.0123",y\n4,,z\n',
        encoding="utf-8",
    )
    target = tmp_path / "fields.jsonl"
    summary = extract_file(source, target, progress=False)
    out = read_lines(target)
    assert [r["id"] for r in out] == ["1", "2", "3", "4"]
    assert out[0]["ages"] == [23]
    assert "cells" in out[1]["error"]
    assert out[2]["phones"] == ["+13125550123"]
    assert out[3]["masked_text"] == "" and "error" not in out[3]
    assert summary.n_rows == 4 and summary.n_errors == 1


def test_matched_style_upper_case_text(tmp_path: Path) -> None:
    source = tmp_path / "matched.csv"
    source.write_text("TEXT,VENDOR\nSweet Mia [SEP] call 312 555 0123,v1\n", encoding="utf-8")
    out_path = tmp_path / "o.jsonl"
    extract_file(source, out_path, progress=True)
    assert read_lines(out_path)[0]["phones"] == ["+13125550123"]


def test_errors_for_unusable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        extract_file(tmp_path / "missing.csv", tmp_path / "o.jsonl", progress=False)
    odd = tmp_path / "ads.xlsx"
    odd.write_text("x")
    with pytest.raises(InputError, match="unknown file kind"):
        extract_file(odd, tmp_path / "o.jsonl", progress=False)
    no_text = tmp_path / "ads.csv"
    no_text.write_text("id,body\n1,hello\n")
    target = tmp_path / "o.jsonl"
    with pytest.raises(InputError, match="no text column"):
        extract_file(no_text, target, progress=False)
    assert not target.exists()
    assert not list(tmp_path.glob(".*.tmp"))


def test_existing_output_is_replaced_whole(tmp_path: Path) -> None:
    source = tmp_path / "ads.jsonl"
    source.write_text(json.dumps({"text": "I'm Mia"}) + "\n")
    target = tmp_path / "o.jsonl"
    target.write_text("old content\n" * 5)
    extract_file(source, target, progress=False)
    assert [r["names"] for r in read_lines(target)] == [["Mia"]]
