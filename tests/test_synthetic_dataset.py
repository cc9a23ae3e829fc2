"""The generated dataset honours its output contract, its truth and its determinism."""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from PIL import Image

from vendorlink import lexicon
from vendorlink.data.synthetic import PRESETS, GeneratorConfig, generate
from vendorlink.data.synthetic.images import file_bytes
from vendorlink.data.synthetic.indicators import INDICATORS
from vendorlink.data.synthetic.plan import build_plan
from vendorlink.data.synthetic.writer import ADS_COLUMNS

from .test_synthetic_identifiers import normalise_email_text, phone_in_text

E164 = re.compile(r"^\+1\d{3}55501\d{2}$")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synthetic") / "tiny"
    result = generate(GeneratorConfig.from_preset("tiny", seed=3), out)
    assert result.out_dir == out
    return out


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _ads(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "ads.csv", dtype=str, keep_default_na=False)


def test_layout_and_columns(tiny: Path) -> None:
    names = {p.name for p in tiny.iterdir()}
    assert names == {
        "ads.csv",
        "images",
        "truth_ads.parquet",
        "truth_images.parquet",
        "vendors.parquet",
        "manifest.json",
    }
    ads = _ads(tiny)
    assert tuple(ads.columns) == ADS_COLUMNS
    assert len(ads) == PRESETS["tiny"]["n_ads"]
    assert ads["ID"].is_unique and ads["ID"].str.fullmatch(r"ad-\d{6}").all()
    assert ads["POSTED_AT"].between("2015-12-01", "2016-04-30").all()
    assert set(ads["REGION"]) <= {"South", "Midwest", "West", "Northeast"}
    truth = pq.read_table(tiny / "truth_ads.parquet").to_pandas()
    expected = [
        "ad_id",
        "vendor_id",
        "region",
        "city",
        "posted_at",
        *lexicon.FIELD_NAMES,
        "is_exact_duplicate_of",
        "n_images",
        *(f"ind_{name}" for name in INDICATORS),
        "indicators",
    ]
    assert list(truth.columns) == expected
    assert (truth["ad_id"] == ads["ID"]).all()
    assert (truth["city"] == ads["CITY"]).all()
    vendors = pq.read_table(tiny / "vendors.parquet").to_pandas()
    assert len(vendors) == PRESETS["tiny"]["n_vendors"] == truth["vendor_id"].nunique()
    assert {"vendor_id", "n_ads", "regions", "phones", "aliases"} <= set(vendors.columns)
    counts = truth["vendor_id"].value_counts()
    assert (vendors.set_index("vendor_id")["n_ads"] == counts.reindex(vendors["vendor_id"])).all()
    images = pq.read_table(tiny / "truth_images.parquet").to_pandas()
    assert {"path", "vendor_id", "kind", "source_path", "ad_ids"} <= set(images.columns)
    manifest = json.loads((tiny / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["preset"] == "tiny"
    assert manifest["counts"]["ads"] == len(ads)
    assert manifest["counts"]["images"] == len(images)
    assert manifest["phone_linkage"]["true_vendors"] == len(vendors)
    assert manifest["phone_linkage"]["phone_components"] > 0


def test_images_exist_decode_and_leak_nothing(tiny: Path) -> None:
    ads = _ads(tiny)
    images = pq.read_table(tiny / "truth_images.parquet").to_pandas()
    listed = {p for cell in ads["IMAGES"] if cell for p in cell.split("|")}
    assert listed == set(images["path"])
    on_disk = {str(p.relative_to(tiny / "images")) for p in (tiny / "images").rglob("*.*")}
    assert on_disk == listed
    vendor_ids = set(
        pq.read_table(tiny / "vendors.parquet", columns=["vendor_id"]).column(0).to_pylist()
    )
    for path in listed:
        assert re.fullmatch(r"[0-9a-f]{2}/[0-9a-f]{16}\.(jpg|png)", path), path
        assert not any(v in path for v in vendor_ids)
        with Image.open(tiny / "images" / path) as img:
            img.verify()
    assert {"original", "near_duplicate"} <= set(images["kind"])
    assert (images["ad_ids"].map(len) >= 1).all()
    reposts = images[images["kind"] == "repost"]
    assert (reposts["ad_ids"].map(len) >= 2).all()
    derived = images[images["kind"].isin(["near_duplicate", "copied"])]
    assert derived["source_path"].isin(images["path"]).all()
    kinds = images.set_index("path")["kind"]
    assert set(kinds[derived["source_path"]]) <= {"original", "repost"}
    copied = images[images["kind"] == "copied"]
    assert (copied["vendor_id"] != copied["used_by_vendor_id"]).all()
    for _, row in copied[copied["transform"] == "identical"].iterrows():
        data = (tiny / "images" / row["path"]).read_bytes()
        assert data == (tiny / "images" / row["source_path"]).read_bytes()
    n_images = ads["IMAGES"].map(lambda c: len(c.split("|")) if c else 0)
    assert (n_images == 0).any() and n_images.max() <= 6


def test_truth_values_are_canonical_and_fictional(tiny: Path) -> None:
    truth = pq.read_table(tiny / "truth_ads.parquet").to_pylist()
    tables = {
        "ethnicities": lexicon.ETHNICITY,
        "hair_colours": lexicon.HAIR_COLOUR,
        "eye_colours": lexicon.EYE_COLOUR,
        "skin_colours": lexicon.SKIN_COLOUR,
        "restrictions": lexicon.RESTRICTIONS,
    }
    seen = dict.fromkeys(lexicon.FIELD_NAMES, 0)
    for row in truth:
        for name in lexicon.FIELD_NAMES:
            values = row[name]
            assert values == sorted(set(values)), (name, values)
            seen[name] += bool(values)
        assert all(E164.match(p) for p in row["phones"])
        assert all(e.split("@")[1] in lexicon.FICTIONAL_EMAIL_DOMAINS for e in row["emails"])
        assert all(e == e.lower() for e in row["emails"])
        assert all(u.split("/")[0] in lexicon.FICTIONAL_URL_DOMAINS for u in row["urls"])
        assert all(h.split(":")[0] in lexicon.SOCIAL_PLATFORMS for h in row["social_handles"])
        assert all(19 <= a <= 45 for a in row["ages"])
        assert all(n == n.title() for n in row["names"])
        assert all(re.fullmatch(r"\d{2}[A-D]*-\d{2}-\d{2}", m) for m in row["measurements"])
        for name, table in tables.items():
            assert set(row[name]) <= set(table), (name, row[name])
    assert all(seen.values()), seen  # every field occurs somewhere


def test_truth_is_in_the_text(tiny: Path) -> None:
    texts = dict(zip(*(_ads(tiny)[c] for c in ("ID", "TEXT")), strict=True))
    truth = pq.read_table(tiny / "truth_ads.parquet").to_pylist()
    for row in truth:
        text = texts[row["ad_id"]]
        low = text.lower()
        if not text:
            assert not any(row[name] for name in lexicon.FIELD_NAMES)
            continue
        assert " [SEP] " in text
        for phone in row["phones"]:
            assert phone_in_text(phone, text), (phone, text)
        for email in row["emails"]:
            assert email in normalise_email_text(text), (email, text)
        for name in row["names"]:
            assert name.lower() in low
        for value in row["ages"] + row["rates"]:
            assert str(value) in text
        for handle in row["social_handles"]:
            assert handle.split(":", 1)[1] in low
        for url in row["urls"]:
            assert url.split("/", 1)[1] in low
        for m in row["measurements"]:
            bust, waist, hips = re.match(r"(\d+)[A-D]*-(\d+)-(\d+)", m).groups()
            assert re.search(rf"{bust}[a-dA-D]*[-/]{waist}[-/]{hips}", text), m
        for name, table in (
            ("hair_colours", lexicon.HAIR_COLOUR),
            ("restrictions", lexicon.RESTRICTIONS),
            ("ethnicities", lexicon.ETHNICITY),
        ):
            for key in row[name]:
                assert any(re.search(rf"\b{re.escape(v)}\b", low) for v in (key, *table[key]))


def test_phone_truth_matches_vendor_tables(tiny: Path) -> None:
    truth = pq.read_table(tiny / "truth_ads.parquet").to_pandas()
    vendors = pq.read_table(tiny / "vendors.parquet").to_pandas().set_index("vendor_id")
    shown = truth.explode("phones").dropna(subset=["phones"])
    by_vendor = shown.groupby("vendor_id")["phones"].apply(lambda s: sorted(set(s)))
    for vendor_id, phones in by_vendor.items():
        assert phones == list(vendors.loc[vendor_id, "phones"])
        assert set(phones) <= set(vendors.loc[vendor_id, "assigned_phones"])
    no_phone = truth["phones"].map(len) == 0
    assert 0 < no_phone.mean() < 0.35


def test_exact_duplicates_are_recorded(tiny: Path) -> None:
    ads = _ads(tiny).set_index("ID")
    truth = pq.read_table(tiny / "truth_ads.parquet").to_pandas().set_index("ad_id")
    dups = truth[truth["is_exact_duplicate_of"].notna()]
    assert len(dups) >= 1
    for ad_id, row in dups.iterrows():
        source = row["is_exact_duplicate_of"]
        assert source < ad_id  # the original was posted first
        assert truth.loc[source, "vendor_id"] == row["vendor_id"]
        assert pd.isna(truth.loc[source, "is_exact_duplicate_of"])
        assert ads.loc[ad_id, "TEXT"] == ads.loc[source, "TEXT"]
        assert ads.loc[ad_id, "IMAGES"] == ads.loc[source, "IMAGES"]
    # No unplanned exact duplicates.
    originals = ads.loc[truth["is_exact_duplicate_of"].isna()]
    key = originals["TEXT"] + "\0" + originals["IMAGES"]
    assert key.is_unique


def test_same_seed_same_bytes_and_workers_do_not_matter(tiny: Path, tmp_path: Path) -> None:
    again = generate(GeneratorConfig.from_preset("tiny", seed=3, workers=1), tmp_path / "again")
    assert _hashes(tiny) == _hashes(again.out_dir)
    other = generate(GeneratorConfig.from_preset("tiny", seed=4), tmp_path / "other")
    assert _hashes(other.out_dir)["ads.csv"] != _hashes(tiny)["ads.csv"]
    # A file's bytes depend on its own job only: render a few out of order.
    plan, _ = build_plan(GeneratorConfig.from_preset("tiny", seed=3))
    from vendorlink.data.synthetic.generator import _image_jobs

    jobs = _image_jobs(
        GeneratorConfig.from_preset("tiny", seed=3),
        plan,
        build_plan(GeneratorConfig.from_preset("tiny", seed=3))[1],
    )
    for job in reversed(jobs[:40]):
        data, _, _ = file_bytes(job, 3)
        assert data == (tiny / "images" / job.path).read_bytes()


def test_worker_pools_write_the_same_bytes(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vendorlink.data.synthetic import generator

    monkeypatch.setattr(generator, "POOL_MIN_FILES", 1)
    pooled = generate(GeneratorConfig.from_preset("tiny", seed=3, workers=2), tmp_path / "img")
    assert _hashes(pooled.out_dir) == _hashes(tiny)
    monkeypatch.setattr(generator, "TEXT_POOL_MIN_ADS", 1)
    config = GeneratorConfig(n_ads=1_200, n_vendors=150, text_only=True, chunk_size=300)
    one = generate(config.replace(workers=1), tmp_path / "one")
    two = generate(config.replace(workers=2), tmp_path / "two")
    assert _hashes(one.out_dir) == _hashes(two.out_dir)


def test_parquet_output_has_the_same_ads(tiny: Path, tmp_path: Path) -> None:
    config = GeneratorConfig.from_preset("tiny", seed=3, output_format="parquet", image_size=32)
    result = generate(config, tmp_path / "pq")
    assert result.ads_path.name == "ads.parquet"
    from_parquet = pq.read_table(result.ads_path).to_pandas()
    assert from_parquet.equals(_ads(tiny))  # the CSV reads back exactly


def test_refuses_to_overwrite(tiny: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "keep.txt").write_text("precious")
    config = GeneratorConfig.from_preset("tiny", text_only=True)
    with pytest.raises(FileExistsError, match="not empty"):
        generate(config, target)
    assert (target / "keep.txt").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temporary folder left
    generate(config, target, overwrite=True)
    assert not (target / "keep.txt").exists() and (target / "ads.parquet").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    generate(config, empty)  # an empty folder is fine


def test_text_only_writes_parquet_without_images(tmp_path: Path) -> None:
    config = GeneratorConfig(
        n_ads=3_000,
        n_vendors=300,
        text_only=True,
        seed=5,
        chunk_size=1_000,
        include_vendor_column=True,
    )
    result = generate(config, tmp_path / "t")
    names = {p.name for p in result.out_dir.iterdir()}
    assert "ads.parquet" in names and "ads.csv" not in names
    ads = pq.read_table(result.ads_path)
    assert ads.column_names == [*ADS_COLUMNS, "VENDOR"]
    assert ads.num_rows == 3_000
    assert set(ads.column("IMAGES").to_pylist()) == {""}
    assert all(t for t in ads.column("TEXT").to_pylist())
    assert not any(p.is_file() for p in result.images_dir.rglob("*"))
    assert pq.read_table(result.truth_images_path).num_rows == 0
    truth = pq.read_table(result.truth_ads_path, columns=["vendor_id", "n_images"])
    assert truth.column("vendor_id").to_pylist() == ads.column("VENDOR").to_pylist()
    assert set(truth.column("n_images").to_pylist()) == {0}


def test_ads_per_vendor_are_long_tailed() -> None:
    plan, _ = build_plan(GeneratorConfig.from_preset("small", text_only=True))
    counts = plan.ads_per_vendor
    assert counts.sum() == PRESETS["small"]["n_ads"]
    assert counts.min() >= 2
    assert np.median(counts) <= 6
    assert ((counts >= 2) & (counts <= 15)).mean() > 0.8
    assert counts.max() >= 8 * np.median(counts)


def test_matched_preset_shape() -> None:
    plan, _ = build_plan(GeneratorConfig.from_preset("matched", text_only=True))
    assert plan.n_vendors == 3_549 and plan.n_ads == 28_513
    shares = np.bincount(plan.region, minlength=4) / plan.n_ads
    assert np.allclose(shares, [0.49, 0.30, 0.11, 0.09], atol=0.04), shares
    assert (plan.ads_per_vendor >= 100).sum() >= 3
    assert 0.02 < (plan.dup_of >= 0).mean() < 0.04
    assert 0.07 < (plan.phones < 0).all(axis=1).mean() < 0.13
    assert 0.03 < plan.shares_phone.mean() < 0.07
    assert plan.rotating.any()
    regions_per_vendor = np.array(
        [np.unique(plan.region[plan.vendor == v]).size for v in range(0, plan.n_vendors, 7)]
    )
    assert 0.15 < (regions_per_vendor > 1).mean() < 0.35


def test_config_validation_and_presets() -> None:
    with pytest.raises(ValueError, match="unknown preset"):
        GeneratorConfig.from_preset("huge")
    with pytest.raises(ValueError, match="n_vendors"):
        GeneratorConfig(n_ads=10, n_vendors=20)
    with pytest.raises(ValueError, match="duplicate_rate"):
        GeneratorConfig(duplicate_rate=1.5)
    with pytest.raises(ValueError, match="unknown generator config keys"):
        GeneratorConfig.from_dict({"n_ads": 10, "colour": "red"})
    config = GeneratorConfig(n_ads=800)
    assert config.n_vendors == 100
    assert GeneratorConfig.from_dict(config.to_dict()) == config
    tiny = GeneratorConfig.from_preset("tiny", seed=9, image_size=64)
    assert (tiny.n_vendors, tiny.n_ads, tiny.seed, tiny.image_size) == (30, 150, 9, 64)


def test_config_loads_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "gen.yaml"
    path.write_text("preset: tiny\nseed: 7\ntext_only: true\nstart_date: 2016-01-01\n")
    config = GeneratorConfig.from_file(path)
    assert config == GeneratorConfig.from_preset(
        "tiny", seed=7, text_only=True, start_date="2016-01-01"
    )


def test_progress_callback_sees_every_stage(tmp_path: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    generate(
        GeneratorConfig(n_ads=200, n_vendors=25, seed=1, image_size=48),
        tmp_path / "p",
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )
    stages = {s for s, _, _ in seen}
    assert stages == {"plan", "text", "images", "tables"}
    assert ("text", 200, 200) in seen
    # The images are valid and sized from image_size.
    path = next((tmp_path / "p" / "images").rglob("*.*"))
    with Image.open(io.BytesIO(path.read_bytes())) as img:
        assert max(img.size) <= 60
