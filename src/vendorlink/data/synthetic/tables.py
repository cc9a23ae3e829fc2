"""Truth tables built from the plan: ``truth_images.parquet`` and ``vendors.parquet``."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pyarrow as pa

from . import images as image_mod
from .config import GeneratorConfig
from .geography import CITIES, REGIONS, phone_code_e164
from .identifiers import PHONE_STYLES
from .plan import FILE_KINDS, KIND_ORIGINAL, AdPlan
from .vendors import (
    COLUMNS,
    VendorTable,
    aliases_of,
    contacts_of,
    habits_of,
    signatures_of,
)
from .vocabulary import ALIASES, CASINGS, EMOJIS, END_MARKS
from .writer import ParquetStream, truth_images_schema

IMAGE_GENES: tuple[str, ...] = tuple(k for k in COLUMNS if k.startswith("img_"))
VENDOR_BLOCK = 20_000


def image_genes(row: list[int] | tuple[int, ...]) -> dict[str, int]:
    return {k: row[COLUMNS[k]] for k in IMAGE_GENES}


def vendor_image_style(row: list[int] | tuple[int, ...], image_size: int) -> image_mod.ImageStyle:
    """A vendor's image style (watermark text: its first alias)."""
    alias = ALIASES[row[COLUMNS["persona_alias"]]]
    return image_mod.style_from_genes(image_genes(row), alias, image_size)


class Groups:
    """Sorted distinct ``values`` per key (0..n_groups-1), read back for a range of keys."""

    def __init__(self, keys: np.ndarray, values: np.ndarray, n_groups: int) -> None:
        pairs = np.unique(
            np.stack([keys.astype(np.int64), values.astype(np.int64)], axis=1), axis=0
        ) if keys.size else np.zeros((0, 2), dtype=np.int64)  # fmt: skip
        self.values = pairs[:, 1]
        self.starts = np.searchsorted(pairs[:, 0], np.arange(n_groups + 1))

    def lists(self, start: int, stop: int) -> list[list[int]]:
        bounds = self.starts[start : stop + 1].tolist()
        flat = self.values[bounds[0] : bounds[-1]].tolist()
        base = bounds[0]
        return [flat[a - base : b - base] for a, b in itertools.pairwise(bounds)]

    def counts(self) -> np.ndarray:
        return np.diff(self.starts)


def group_lists(keys: np.ndarray, values: np.ndarray, n_groups: int) -> list[list[int]]:
    """Sorted distinct ``values`` per group ``keys`` (0..n_groups-1)."""
    return Groups(keys, values, n_groups).lists(0, n_groups)


def truth_images_table(
    plan: AdPlan, vendor_ids: list[str], file_stats: dict[int, tuple[int, int, int]]
) -> tuple[pa.Table, dict[str, int]]:
    """One row per image file, and the number of files of each kind.

    ``kind``: "original" (used in one ad), "repost" (an original file used in several ads),
    "near_duplicate" (a transformed copy of one of the vendor's originals), "copied" (another
    vendor's original, identical or re-encoded; ``vendor_id`` is the style's owner and
    ``used_by_vendor_id`` the vendor whose ads use it).
    """
    files = plan.files
    schema = truth_images_schema()
    if files is None or files.n_files == 0:
        return schema.empty_table(), dict.fromkeys(
            ("original", "repost", "near_duplicate", "copied"), 0
        )
    width = plan.id_width
    slot_ad = np.repeat(np.arange(plan.n_ads), np.diff(plan.image_offsets))
    ads_of = group_lists(plan.image_files, slot_ad, files.n_files)
    kinds = []
    for f, kind in enumerate(files.kind.tolist()):
        repost = kind == KIND_ORIGINAL and len(ads_of[f]) > 1
        kinds.append("repost" if repost else FILE_KINDS[kind])
    src = files.source.tolist()
    table = pa.table(
        {
            "path": files.paths,
            "vendor_id": [vendor_ids[v] for v in files.style_vendor.tolist()],
            "kind": kinds,
            "source_path": [files.paths[s] if s >= 0 else None for s in src],
            "ad_ids": [[f"ad-{a:0{width}d}" for a in ads] for ads in ads_of],
            "n_ads": [len(a) for a in ads_of],
            "used_by_vendor_id": [vendor_ids[v] for v in files.owner_vendor.tolist()],
            "transform": files.transform,
            "format": ["png" if e == "png" else "jpeg" for e in files.ext],
            "width": [file_stats[f][1] for f in range(files.n_files)],
            "height": [file_stats[f][2] for f in range(files.n_files)],
            "n_bytes": [file_stats[f][0] for f in range(files.n_files)],
        },
        schema=schema,
    )
    counts = {k: kinds.count(k) for k in ("original", "repost", "near_duplicate", "copied")}
    return table, counts


def vendors_schema() -> pa.Schema:
    strings = pa.list_(pa.string())
    return pa.schema(
        [
            ("vendor_id", pa.string()),
            ("n_ads", pa.int32()),
            ("regions", strings),
            ("cities", strings),
            ("home_region", pa.string()),
            ("home_city", pa.string()),
            ("phones", strings),
            ("assigned_phones", strings),
            ("shares_phone", pa.bool_()),
            ("rotates_phones", pa.bool_()),
            ("never_shows_phone", pa.bool_()),
            ("first_posted", pa.string()),
            ("last_posted", pa.string()),
            ("n_images", pa.int32()),
            ("aliases", strings),
            ("emails", strings),
            ("social_handles", strings),
            ("urls", strings),
            ("casing", pa.string()),
            ("spelling_habits", strings),
            ("emojis", strings),
            ("end_marks", strings),
            ("templates", pa.list_(pa.int32())),
            ("phone_styles", strings),
            ("signature_phrases", strings),
            ("n_stock_phrases", pa.int32()),
            ("image_texture", pa.string()),
            ("image_palette", strings),
            ("image_objects", strings),
            ("image_frame", pa.string()),
            ("image_watermark", pa.string()),
            ("image_format", pa.string()),
        ]
    )


def _style_columns(
    rows: list[list[int]], image_size: int, first: int = 0, emails: dict[int, str] | None = None
) -> dict[str, list]:
    """Style and contact columns of the vendors ``first, first + 1, ...`` (``rows``);
    ``emails``: the table's email overrides by vendor index."""
    C = COLUMNS
    cols: dict[str, list] = {
        name: []
        for name in (
            "aliases", "emails", "social_handles", "urls", "casing", "spelling_habits", "emojis",
            "end_marks", "templates", "phone_styles", "signature_phrases", "n_stock_phrases",
            "image_texture", "image_palette", "image_objects", "image_frame", "image_watermark",
            "image_format",
        )
    }  # fmt: skip
    overrides = emails or {}
    for index, row in enumerate(rows, start=first):
        aliases = aliases_of(row)
        email, social, url = contacts_of(row, aliases[0])
        email = overrides.get(index, email)
        cols["aliases"].append(aliases)
        cols["emails"].append([email] if email else [])
        cols["social_handles"].append([f"{social[0]}:{social[1]}"] if social else [])
        cols["urls"].append([f"{url[0]}/{url[1]}".lower()] if url else [])
        cols["casing"].append(CASINGS[row[C["casing"]]])
        cols["spelling_habits"].append(list(habits_of(row[C["habits"]])))
        e = C["emoji"]
        cols["emojis"].append([EMOJIS[i] for i in row[e : e + row[C["n_emoji"]]]])
        m = C["end_mark"]
        cols["end_marks"].append(list(dict.fromkeys(END_MARKS[i] for i in row[m : m + 2])))
        t = C["template"]
        cols["templates"].append(list(dict.fromkeys(row[t : t + row[C["n_templates"]]])))
        ps = C["phone_style"]
        cols["phone_styles"].append(list(dict.fromkeys(PHONE_STYLES[i] for i in row[ps : ps + 2])))
        cols["signature_phrases"].append(list(signatures_of(row)))
        cols["n_stock_phrases"].append(row[C["n_stock"]])
        style = vendor_image_style(row, image_size)
        cols["image_texture"].append(style.texture)
        cols["image_palette"].append(style.palette_hex())
        cols["image_objects"].append(list(style.objects))
        cols["image_frame"].append(style.frame)
        mark = style.watermark_text if style.watermark == "text" else style.symbol
        cols["image_watermark"].append(
            "none" if style.watermark == "none" else f"{style.watermark}:{mark}"
        )
        cols["image_format"].append("png" if row[C["img_png"]] else "jpeg")
    return cols


def write_vendors_table(
    path: Path,
    cfg: GeneratorConfig,
    plan: AdPlan,
    table: VendorTable,
    vendor_ids: list[str],
    dates: list[str],
) -> dict[str, int]:
    """Write ``vendors.parquet`` in blocks of vendors; returns vendors per region."""
    n = plan.n_vendors
    regions = Groups(plan.vendor, plan.region, n)
    cities = Groups(plan.vendor, plan.city, n)
    shown = plan.phones.ravel()
    keep = shown >= 0
    phones = Groups(np.repeat(plan.vendor, 2)[keep], shown[keep], n)
    first = np.full(n, np.iinfo(np.int32).max, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, plan.vendor, plan.day)
    np.maximum.at(last, plan.vendor, plan.day)
    if plan.files is not None:
        slot_vendor = np.repeat(plan.vendor, np.diff(plan.image_offsets))
        n_images = Groups(slot_vendor, plan.image_files, n).counts().astype(np.int32)
    else:
        n_images = np.zeros(n, dtype=np.int32)
    stream = ParquetStream(path, vendors_schema())
    try:
        for b0 in range(0, n, VENDOR_BLOCK):
            b1 = min(n, b0 + VENDOR_BLOCK)
            rows = table.genomes[b0:b1].tolist()
            stream.write(
                {
                    "vendor_id": vendor_ids[b0:b1],
                    "n_ads": plan.ads_per_vendor[b0:b1].astype(np.int32),
                    "regions": [[REGIONS[r] for r in rs] for rs in regions.lists(b0, b1)],
                    "cities": [[CITIES[c] for c in cs] for cs in cities.lists(b0, b1)],
                    "home_region": [REGIONS[r] for r in plan.home_region[b0:b1].tolist()],
                    "home_city": [CITIES[c] for c in plan.home_city[b0:b1].tolist()],
                    "phones": [[phone_code_e164(c) for c in ps] for ps in phones.lists(b0, b1)],
                    "assigned_phones": [
                        [phone_code_e164(c) for c in row if c >= 0]
                        for row in plan.vendor_phones[b0:b1].tolist()
                    ],
                    "shares_phone": plan.shares_phone[b0:b1],
                    "rotates_phones": plan.rotating[b0:b1],
                    "never_shows_phone": plan.never_phone[b0:b1],
                    "first_posted": [dates[d] for d in first[b0:b1].tolist()],
                    "last_posted": [dates[d] for d in last[b0:b1].tolist()],
                    "n_images": n_images[b0:b1],
                    **_style_columns(rows, cfg.image_size, b0, table.email_overrides),
                }
            )
    finally:
        stream.close()
    per_region = np.bincount(regions.values, minlength=len(REGIONS))
    return {r: int(per_region[i]) for i, r in enumerate(REGIONS)}
