"""Shared fixtures: tiny hand-made ad files with fictional identifiers only."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PIL import Image

from vendorlink.data.workspace import Workspace


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return path


def make_image(path: Path, colour: tuple[int, int, int], size: int = 24) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path)
    return path


@pytest.fixture
def ad_folder(tmp_path: Path) -> Path:
    """A folder with ads.csv (MATCHED format) and images/: good rows and every kind of bad row."""
    folder = tmp_path / "src"
    images = folder / "images"
    make_image(images / "red.jpg", (200, 20, 20))
    make_image(images / "green.png", (20, 200, 20))
    make_image(images / "blue.jpg", (20, 20, 200))
    (images / "broken.jpg").write_bytes(b"\xff\xd8\xff this is not a jpeg")
    rows = [
        ["ID", "TEXT", "IMAGES", "REGION", "CITY", "POSTED_AT"],
        [
            "a1",
            "Sweet Rose [SEP] call 312-555-0101",
            "red.jpg|green.png",
            "South",
            "Houston",
            "2016-01-02",
        ],
        [
            "a2",
            "Sweet Rose [SEP] call 312-555-0101",
            "red.jpg|green.png",
            "South",
            "Houston",
            "2016-01-09",
        ],
        ["a3", "Lily [SEP] text only ad, lily@example.com", "", "West", "San Francisco", ""],
        ["a4", "", "blue.jpg", "Midwest", "Chicago", ""],
        ["a5", "", "", "South", "Dallas", ""],  # no content
        ["a6", "Broken [SEP] pic", "broken.jpg", "South", "Dallas", ""],  # undecodable
        ["a7", "Escape [SEP] pic", "../../secret.jpg", "South", "Dallas", ""],  # outside root
        ["a8", "Missing [SEP] pic", "nothere.jpg", "South", "Dallas", ""],  # missing
        ["a1", "Different text for a reused id", "", "South", "Dallas", ""],  # id conflict
        ["a9", "Bad date [SEP] x", "", "South", "Dallas", "yesterday"],  # bad value
    ]
    write_csv(folder / "ads.csv", rows)
    with open(folder / "ads.csv", "ab") as handle:
        handle.write(b'a10,"bad \xff\xfe bytes",,South,Dallas,\n')  # bad encoding
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace.init(tmp_path / "ws")
