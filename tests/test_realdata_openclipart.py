"""Openclipart loader, on a few SVG files with the same RDF metadata layout as the package.

Creators, titles and addresses are fictional (example.com).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from vendorlink.data.realdata import openclipart
from vendorlink.data.realdata.openclipart import (
    SvgError,
    load_openclipart,
    openclipart_frame,
    parse_svg_bytes,
)
from vendorlink.errors import InputError

SIZE = 48


def svg(
    title: str,
    creator: str,
    *,
    description: str = "",
    keywords: tuple[str, ...] = (),
    colour: str = "#cc2200",
    shape: str = "",
    doctype: str = "",
    extra: str = "",
    width: int = 200,
    height: int = 100,
) -> str:
    """An SVG laid out like openclipart's (Inkscape header, RDF cc:Work metadata)."""
    items = "".join(f"<rdf:li>{k}</rdf:li>" for k in keywords)
    shape = shape or f'<rect x="20" y="10" width="120" height="60" style="fill:{colour}"/>'
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
{doctype}<svg width="{width}" height="{height}" id="svg1" sodipodi:docname="x.svg"
 xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
 xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd">
  <metadata>
    <rdf:RDF xmlns:cc="http://web.resource.org/cc/" xmlns:dc="http://purl.org/dc/elements/1.1/"
             xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
      <cc:Work rdf:about="">
        <dc:title>{title}</dc:title>
        <dc:description>{description}</dc:description>
        <dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>
        <dc:publisher><cc:Agent rdf:about="http://www.openclipart.org/">
          <dc:title>Open Clip Art Library</dc:title></cc:Agent></dc:publisher>
        <dc:creator><cc:Agent><dc:title>{creator}</dc:title></cc:Agent></dc:creator>
        <dc:format>image/svg+xml</dc:format>
      </cc:Work>
    </rdf:RDF>
  </metadata>
  {shape}{extra}
</svg>
"""


ADOBE_DOCTYPE = """<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.0//EN" "http://example.com/svg10.dtd" [
  <!ENTITY ns_flows "http://ns.example.com/Flows/1.0/">
  <!ENTITY st0 "fill:#22aa44;">
]>
"""

BOMB = """<?xml version="1.0"?>
<!DOCTYPE svg [
  <!ENTITY a "aaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>
"""

EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE svg [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<svg xmlns="http://www.w3.org/2000/svg"><text>&secret;</text></svg>
"""


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def svg_root(tmp_path: Path) -> Path:
    root = tmp_path / "svg"
    wq = "Wanda Quill (wanda@example.com)"
    # Wanda Quill: a numbered series, her name in titles, keywords and file names, a signature.
    for n, colour in enumerate(("#aa0000", "#00aa00", "#0000aa", "#aaaa00"), start=1):
        write(
            root,
            f"shapes/gizmo-theme/gizmo_{n:02d}_wanda_quill_01.svg",
            svg(
                f"Gizmo Collection {n:02d} (Wed Aug 25 23:29:46 2004)",
                wq,
                colour=colour,
                keywords=("gizmo", "wanda quill", "hash", ""),
            ),
        )
    write(
        root,
        "food/teapot_wanda_quill_01.svg",
        svg(
            "Clipart by Wanda Quill - teapot_02",
            wq,
            description="A round teapot. Contact: wanda@example.com or http://example.com/w",
            keywords=("Tea_Pot", "kitchen"),
            extra='<text x="10" y="90" style="fill:#000000">Created by Wanda Quill</text>',
            colour="#663300",
        ),
    )
    # Bo Ketch: an Illustrator-style file with entities, percent opacity, a copy of a drawing.
    write(
        root,
        "animals/bird_bo_ketch_01.svg",
        svg(
            "Blue bird",
            "Bo Ketch",
            doctype=ADOBE_DOCTYPE,
            shape='<circle cx="100" cy="50" r="40" style="&st0;stroke-opacity:100%"/>',
        ),
    )
    write(
        root,
        "signs/stop_bo_ketch_01.svg",
        svg(
            "Stop sign",
            "Bo Ketch",
            colour="#dd0000",
            extra='<text x="30" y="50" style="font-size:20px;fill:#ffffff">STOP</text>',
        ),
    )
    write(root, "animals/cat_bo_ketch_01.svg", svg("Sleeping cat", "Bo Ketch", colour="#444444"))
    write(root, "animals/dog_bo_ketch_01.svg", svg("Dog © Bo Ketch", "bo ketch", colour="#884400"))
    write(root, "animals/fox.svg", svg("Red fox", "Bo  Ketch", colour="#ff6600", height=300))
    write(
        root,
        "animals/mammals/fox_copy.svg",
        svg("Fox again", "Bo Ketch", colour="#ff6600", height=300),
    )
    # Things that must end up in rejects.csv.
    write(root, "unsorted/broken.svg", svg("Broken", "Bo Ketch")[:400])
    write(root, "unsorted/no_metadata.svg", '<svg xmlns="http://www.w3.org/2000/svg"/>')
    write(root, "unsorted/anon.svg", svg("Mystery", "Anonymous"))
    write(root, "unsorted/nobody.svg", svg("Nothing", ""))
    write(root, "unsorted/lonely.svg", svg("Lonely", "Solo Artist"))
    write(root, "unsorted/blank.svg", svg("White on white", "Bo Ketch", colour="#ffffff"))
    write(root, "unsorted/bomb.svg", BOMB)
    os.symlink("../animals/cat_bo_ketch_01.svg", root / "shapes" / "cat_link.svg")
    (root / "README.txt").write_text("not an svg", encoding="utf-8")
    return root


EXPECTED_REJECTS = {
    "animals/mammals/fox_copy.svg": "duplicate_image",
    "shapes/cat_link.svg": "duplicate_link",
    "unsorted/anon.svg": "anonymous_creator",
    "unsorted/blank.svg": "blank_render",
    "unsorted/bomb.svg": "unsafe_xml",
    "unsorted/broken.svg": "unparsable_svg",
    "unsorted/lonely.svg": "creator_too_few_items",
    "unsorted/no_metadata.svg": "no_metadata",
    "unsorted/nobody.svg": "no_creator",
}


def load(svg_root: Path, out: Path, **kwargs: object) -> openclipart.LoadedDataset:
    options: dict[str, object] = {
        "svg_root": svg_root,
        "min_items_per_creator": 2,
        "image_size": SIZE,
        "workers": 1,
        "progress": False,
    }
    options.update(kwargs)
    return load_openclipart(out, **options)  # type: ignore[arg-type]


def test_parser_refuses_entity_bombs_and_external_entities() -> None:
    with pytest.raises(SvgError) as bomb:
        parse_svg_bytes(BOMB.encode())
    assert bomb.value.reason == "unsafe_xml"
    with pytest.raises(SvgError) as external:
        parse_svg_bytes(EXTERNAL.encode())
    assert external.value.reason == "unsafe_xml"
    with pytest.raises(SvgError) as broken:
        parse_svg_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'><g>")
    assert broken.value.reason == "unparsable_svg"
    # Plain internal entities, as Adobe Illustrator writes them, are fine.
    root = parse_svg_bytes(svg("t", "c", doctype=ADOBE_DOCTYPE).encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"


def test_frame_removes_names_series_and_file_names(svg_root: Path) -> None:
    ads = openclipart_frame(svg_root, min_items_per_creator=2)
    assert set(ads["VENDOR"]) == {"Wanda Quill", "Bo Ketch"}  # e-mail dropped, variants merged
    by_vendor = ads.groupby("VENDOR")["TEXT"].apply(list).to_dict()
    wanda = by_vendor["Wanda Quill"]
    # The numbered series title is shared by 4 of her items: blanked.
    assert sorted(wanda) == ["", "", "", "", "teapot [SEP] A round teapot. Contact: or"]
    assert "Dog [SEP]" in by_vendor["Bo Ketch"]
    for column in ("TEXT", "KEYWORDS", "IMAGES", "ID", "CATEGORY"):
        values = " ".join(ads[column]).casefold()
        for leak in ("wanda", "quill", "ketch", "example.com", "gizmo_", ".svg", "theme", "hash"):
            assert leak not in values, (column, leak)
    keywords = dict(zip(ads["TEXT"], ads["KEYWORDS"], strict=True))
    assert keywords["teapot [SEP] A round teapot. Contact: or"] == "kitchen|tea pot"
    assert set(ads["CATEGORY"]) == {"animals", "food", "shapes", "signs", "unsorted"}


def test_text_drawings_render_in_fresh_processes(svg_root: Path) -> None:
    built = openclipart.build_openclipart_items(svg_root, min_items_per_creator=2)
    isolated = {
        text
        for text, item_id in zip(built.ads["TEXT"], built.ads["ID"], strict=True)
        if built.tasks[item_id].isolate
    }
    # The stop sign draws text; the teapot's only text was a signature, removed.
    assert isolated == {"Stop sign [SEP]"}
    teapot = built.ads.loc[built.ads["TEXT"].str.startswith("teapot"), "ID"].iloc[0]
    assert built.tasks[teapot].remove and not built.tasks[teapot].isolate


def test_load_writes_contract_rejects_and_pngs(svg_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "clipart"
    loaded = load(svg_root, out)
    assert sorted(p.name for p in out.iterdir()) == [
        "ads.csv",
        "images",
        "manifest.json",
        "rejects.csv",
    ]
    ads = loaded.read_ads()
    assert list(ads.columns) == ["ID", "TEXT", "IMAGES", "VENDOR", "KEYWORDS", "CATEGORY"]
    assert ads["ID"].is_unique and ads["ID"].str.fullmatch(r"oc-[0-9a-f]{16}").all()
    rejects = loaded.read_rejects()
    assert list(rejects.columns) == ["path", "reason", "detail"]
    assert dict(zip(rejects["path"], rejects["reason"], strict=True)) == EXPECTED_REJECTS
    # Nothing dropped silently: every *.svg path is an item or a reject.
    n_svg = sum(1 for p in svg_root.rglob("*.svg"))
    assert loaded.n_items + loaded.n_rejects == n_svg == len(ads) + len(rejects)
    # One decodable PNG per item, named by a hash, of the asked size, white background.
    assert sorted(ads["IMAGES"]) == sorted(p.name for p in (out / "images").iterdir())
    for name in ads["IMAGES"]:
        assert "|" not in name and len(name) == len("0123456789abcdef.png")
        with Image.open(out / "images" / name) as image:
            image.load()
            assert image.size == (SIZE, SIZE) and image.mode == "RGB"
            assert image.getpixel((0, 0)) == (255, 255, 255)
    # The wide drawing keeps its aspect ratio: white bands above and below it.
    bird = ads.loc[ads["TEXT"] == "Blue bird [SEP]", "IMAGES"].iloc[0]
    with Image.open(out / "images" / bird) as image:
        assert image.getpixel((SIZE // 2, SIZE // 2)) == (34, 170, 68)  # entity style applied
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["counts"]["items"] == loaded.n_items
    assert manifest["counts"]["rejects_by_reason"]["duplicate_link"] == 1
    steps = {s["step"]: s["items_affected"] for s in manifest["leak_removal"]}
    assert steps["drop_series_titles"] == 4
    assert steps["remove_signature_text"] == 1
    assert steps["drop_duplicate_images"] == 1
    assert manifest["creator_merges"] == {"Bo Ketch": ["Bo Ketch", "bo ketch"]}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # cache gone


def test_output_is_stable_across_runs_and_worker_counts(svg_root: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = load(svg_root, tmp_path / "a", workers=1, cache_dir=cache)
    assert first.manifest["rendering"]["renders_from_cache"] == 0
    second = load(svg_root, tmp_path / "b", workers=2)
    assert (first.ads_csv.read_bytes()) == (second.ads_csv.read_bytes())
    assert (first.rejects_csv.read_bytes()) == (second.rejects_csv.read_bytes())
    for name in first.read_ads()["IMAGES"]:
        assert (first.images_dir / name).read_bytes() == (second.images_dir / name).read_bytes()
    # A given cache is kept and reused: the next run renders nothing again.
    third = load(svg_root, tmp_path / "c", cache_dir=cache)
    assert third.manifest["rendering"]["renders_from_cache"] > 0
    assert third.ads_csv.read_bytes() == first.ads_csv.read_bytes()


def test_refuses_to_overwrite_unless_asked(svg_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "clipart"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="not empty"):
        load(svg_root, out)
    assert (out / "keep.txt").read_text(encoding="utf-8") == "mine"
    loaded = load(svg_root, out, overwrite=True, limit=6)
    assert not (out / "keep.txt").exists()
    assert loaded.manifest["counts"]["svg_files_considered"] <= 6


def test_missing_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(openclipart, "DEFAULT_SVG_ROOTS", (tmp_path / "nowhere",))
    with pytest.raises(InputError, match=r"apt-get install -y openclipart-svg"):
        openclipart.find_svg_root()
    with pytest.raises(InputError, match="no such folder"):
        openclipart.find_svg_root(tmp_path / "missing")
