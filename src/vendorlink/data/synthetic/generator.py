"""Generate a synthetic dataset: plan, render text and images, write the output folder."""

from __future__ import annotations

import datetime as dt
import gc
import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from vendorlink import lexicon

from . import images as image_mod
from .config import GENERATOR_VERSION, GeneratorConfig
from .geography import CITIES, REGIONS, phone_code_e164
from .indicators import INDICATORS, MODALITIES, ad_labels, cue_sentence
from .plan import AdPlan, build_plan, phone_components
from .seeding import py_rng
from .tables import truth_images_table, vendor_image_style, write_vendors_table
from .text import SEP, render_ad
from .vendors import ProfileCache, VendorTable
from .writer import (
    IMAGE_SEPARATOR,
    AdsWriter,
    OutputFolder,
    ParquetStream,
    ads_indicator_column,
    ads_schema,
    truth_ads_schema,
    write_json,
    write_parquet,
)

ProgressCallback = Callable[[str, int, int], None]
"""Called as ``callback(stage, done, total)``; stages: plan, text, images, tables."""

IMAGE_BATCH = 200
_COVERAGE_KEYS = (*lexicon.FIELD_NAMES, *(f"ind_{name}" for name in INDICATORS))
POOL_MIN_FILES = 1_500  # fewer image files render faster in-process than with a pool
TEXT_POOL_MIN_ADS = 100_000  # text-only runs this large render text in worker processes


@dataclass(frozen=True)
class GeneratedDataset:
    """Where a generated dataset was written, and its sizes."""

    out_dir: Path
    ads_path: Path
    images_dir: Path
    truth_ads_path: Path
    truth_images_path: Path
    vendors_path: Path
    manifest_path: Path
    n_ads: int
    n_vendors: int
    n_images: int
    seconds: float
    config: GeneratorConfig


@contextmanager
def _progress(progress: bool | ProgressCallback | None) -> Iterator[ProgressCallback]:
    if callable(progress):
        yield progress
        return
    if not progress:
        yield lambda stage, done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Rendering builds millions of small acyclic objects; the cyclic GC only slows it down."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- text ---------------------------------------------------------------------------------


def _date_strings(cfg: GeneratorConfig) -> list[str]:
    n_days = (cfg.end_date - cfg.start_date).days + 1
    return [(cfg.start_date + dt.timedelta(days=d)).isoformat() for d in range(n_days)]


@dataclass
class _TextContext:
    """What rendering a chunk of ads needs besides the plan (rebuilt in each worker)."""

    cfg: GeneratorConfig
    plan: AdPlan
    cache: ProfileCache
    vendor_ids: list[str]
    dates: list[str]

    @classmethod
    def build(cls, cfg: GeneratorConfig, plan: AdPlan, table: VendorTable) -> _TextContext:
        width = table.id_width()
        return cls(
            cfg=cfg,
            plan=plan,
            cache=ProfileCache(table),
            vendor_ids=[VendorTable.vendor_id(v, width) for v in range(plan.n_vendors)],
            dates=_date_strings(cfg),
        )


def _ad_images_column(plan: AdPlan, start: int, stop: int) -> list[str]:
    if plan.files is None:
        return [""] * (stop - start)
    paths = plan.files.paths
    offsets = plan.image_offsets[start : stop + 1].tolist()
    files = plan.image_files[offsets[0] : offsets[-1]].tolist()
    base = offsets[0]
    return [
        IMAGE_SEPARATOR.join([paths[f] for f in files[offsets[k] - base : offsets[k + 1] - base]])
        for k in range(stop - start)
    ]


def render_text_chunk(
    ctx: _TextContext, start: int, stop: int
) -> tuple[dict[str, list], dict[str, list], dict[str, int]]:
    """Columns of ``ads`` and ``truth_ads`` for ads ``start..stop``, and field coverage."""
    plan = ctx.plan
    vend = plan.vendor[start:stop].tolist()
    profiles = ctx.cache.get_many(plan.vendor[start:stop])
    cities = plan.city[start:stop].tolist()
    phones = plan.phones[start:stop].tolist()
    seeds = plan.render_seed[start:stop].tolist()
    empty = plan.empty_text[start:stop].tolist()
    ind = plan.indicators
    assert ind is not None
    cues = ind.text_cues[start:stop].tolist()
    email_ad = (
        [False] * (stop - start) if plan.email_ad is None else plan.email_ad[start:stop].tolist()
    )
    field_names = lexicon.FIELD_NAMES
    truth_cols: dict[str, list] = {name: [] for name in field_names}
    appenders = [(name, truth_cols[name].append) for name in field_names]
    texts: list[str] = []
    blank: dict[str, list] = {}
    none: list = []  # shared by every ad without a value for a field (read only)
    city_names = CITIES
    for k in range(stop - start):
        if empty[k]:
            texts.append("")
            truth = blank
        else:
            ad_phones = [phone_code_e164(c) for c in phones[k] if c >= 0]
            rng = py_rng(seeds[k])
            profile = profiles[vend[k]]
            if email_ad[k]:  # a vendor without a number shows its email in its place
                profile = replace(profile, p_email=1.0)
            rendered = render_ad(profile, city_names[cities[k]], ad_phones, rng)
            text = rendered.text
            if cues[k]:
                sentence = cue_sentence(cues[k], rng)
                title, _, description = text.partition(SEP)
                if not description or rng.random() < 0.5:
                    text = title + SEP + sentence + "\n" + description
                else:
                    text = title + SEP + description + "\n" + sentence
            texts.append(text)
            truth = rendered.truth
        get = truth.get
        for name, append in appenders:
            append(get(name, none))
    coverage = {name: sum(map(bool, truth_cols[name])) for name in field_names}
    restricted = np.fromiter(map(bool, truth_cols["restrictions"]), dtype=bool, count=stop - start)
    labels = ad_labels(ind, start, stop, restricted)
    ind_cols = {f"ind_{name}": labels[name].tolist() for name in INDICATORS}
    label_lists = [
        [name for name, on in zip(INDICATORS, row, strict=True) if on]
        for row in zip(*[ind_cols[f"ind_{n}"] for n in INDICATORS], strict=True)
    ]
    coverage.update({f"ind_{n}": int(labels[n].sum()) for n in INDICATORS})
    width = plan.id_width
    ids = [f"ad-{i:0{width}d}" for i in range(start, stop)]
    region_col = [REGIONS[r] for r in plan.region[start:stop].tolist()]
    city_col = [city_names[c] for c in cities]
    date_col = [ctx.dates[d] for d in plan.day[start:stop].tolist()]
    vendor_col = [ctx.vendor_ids[v] for v in vend]
    ads = {
        "ID": ids,
        "TEXT": texts,
        "IMAGES": _ad_images_column(plan, start, stop),
        "REGION": region_col,
        "CITY": city_col,
        "POSTED_AT": date_col,
        "VENDOR": vendor_col,
        **{ads_indicator_column(n): [int(b) for b in ind_cols[f"ind_{n}"]] for n in INDICATORS},
    }
    if plan.files is not None:
        n_images = np.diff(plan.image_offsets[start : stop + 1]).tolist()
    else:
        n_images = [0] * (stop - start)
    truth_ads = {
        "ad_id": ids,
        "vendor_id": vendor_col,
        "region": region_col,
        "city": city_col,
        "posted_at": date_col,
        **truth_cols,
        "is_exact_duplicate_of": [
            None if d < 0 else f"ad-{d:0{width}d}" for d in plan.dup_of[start:stop].tolist()
        ],
        "n_images": n_images,
        **ind_cols,
        "indicators": label_lists,
    }
    return ads, truth_ads, coverage


def _mp_context() -> multiprocessing.context.BaseContext:
    """Fork where it is safe and cheap (Linux; workers touch no threads of the parent), else
    spawn (scripts that call :func:`generate` then need an ``if __name__ == "__main__"`` guard)."""
    if sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


# Text workers of large text-only runs: a forked worker inherits the parent's context; a
# spawned one rebuilds the plan from the config (deterministic, so the same plan).
_WORKER_CONTEXT: list[_TextContext] = []


def _text_worker_init(config: dict[str, Any]) -> None:
    gc.disable()
    cfg = GeneratorConfig.from_dict(config)
    if _WORKER_CONTEXT and _WORKER_CONTEXT[0].cfg == cfg:
        return
    plan, table = build_plan(cfg)
    _WORKER_CONTEXT[:] = [_TextContext.build(cfg, plan, table)]


def _text_worker_chunk(start: int, stop: int) -> tuple[pa.Table, pa.Table, dict[str, int]]:
    ctx = _WORKER_CONTEXT[0]
    ads, truth, coverage = render_text_chunk(ctx, start, stop)
    schema = ads_schema(ctx.cfg.include_vendor_column, ctx.cfg.indicator_columns)
    ads_table = pa.table(
        {k: ads[k] for k in schema.names},
        schema=schema,
    )
    return ads_table, pa.table(truth, schema=truth_ads_schema()), coverage


def _chunks(cfg: GeneratorConfig) -> list[tuple[int, int]]:
    return [(s, min(cfg.n_ads, s + cfg.chunk_size)) for s in range(0, cfg.n_ads, cfg.chunk_size)]


def _write_text(
    cfg: GeneratorConfig,
    ctx: _TextContext,
    ads_writer: AdsWriter,
    truth_writer: ParquetStream,
    report: ProgressCallback,
) -> dict[str, int]:
    coverage = dict.fromkeys(_COVERAGE_KEYS, 0)
    chunks = _chunks(cfg)
    workers = image_mod.worker_count(cfg.workers)
    if cfg.text_only and workers > 1 and cfg.n_ads >= TEXT_POOL_MIN_ADS and len(chunks) > 1:
        _WORKER_CONTEXT[:] = [ctx]  # inherited by forked workers
        try:
            coverage = _write_text_in_pool(cfg, workers, ads_writer, truth_writer, report)
        finally:
            _WORKER_CONTEXT.clear()
        return coverage
    for start, stop in chunks:
        ads, truth, cov = render_text_chunk(ctx, start, stop)
        ads_writer.write(ads)
        truth_writer.write(truth)
        for k, v in cov.items():
            coverage[k] += v
        report("text", stop, cfg.n_ads)
    return coverage


def _write_text_in_pool(
    cfg: GeneratorConfig,
    workers: int,
    ads_writer: AdsWriter,
    truth_writer: ParquetStream,
    report: ProgressCallback,
) -> dict[str, int]:
    coverage = dict.fromkeys(_COVERAGE_KEYS, 0)
    chunks = _chunks(cfg)
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=_mp_context(), initializer=_text_worker_init,
        initargs=(cfg.to_dict(),),
    ) as pool:  # fmt: skip
        pending: deque[tuple[int, Future]] = deque()
        queue = iter(chunks)
        for start, stop in queue:
            pending.append((stop, pool.submit(_text_worker_chunk, start, stop)))
            if len(pending) >= 2 * workers:
                break
        while pending:
            stop, future = pending.popleft()
            ads_table, truth_table, cov = future.result()
            ads_writer.write_table(ads_table)
            truth_writer.write_table(truth_table)
            for k, v in cov.items():
                coverage[k] += v
            report("text", stop, cfg.n_ads)
            nxt = next(queue, None)
            if nxt is not None:
                pending.append((nxt[1], pool.submit(_text_worker_chunk, *nxt)))
    return coverage


# --- images -------------------------------------------------------------------------------


def _image_jobs(cfg: GeneratorConfig, plan: AdPlan, table: VendorTable) -> list[image_mod.FileJob]:
    files = plan.files
    assert files is not None
    style_vendors = np.unique(files.style_vendor).tolist()
    rows = (
        table.genomes[np.asarray(style_vendors, dtype=np.int64)].tolist() if style_vendors else []
    )
    styles = {
        v: vendor_image_style(row, cfg.image_size)
        for v, row in zip(style_vendors, rows, strict=True)
    }
    sv = files.style_vendor.tolist()
    src = files.source.tolist()
    kinds = files.kind.tolist()
    ind = plan.indicators
    marks = ind.file_marks.tolist() if ind is not None else [0] * files.n_files
    return [
        image_mod.FileJob(
            index=f,
            path=files.paths[f],
            ext=files.ext[f],
            kind=kinds[f],
            transform=files.transform[f],
            style=styles[sv[f]],
            source_index=src[f],
            source_ext=files.ext[src[f]] if src[f] >= 0 else "",
            source_style=styles[sv[src[f]]] if src[f] >= 0 else None,
            marks=marks[f],
        )
        for f in range(files.n_files)
    ]


# --- main -----------------------------------------------------------------------------------


def generate(
    config: GeneratorConfig,
    out_dir: str | Path,
    *,
    overwrite: bool = False,
    progress: bool | ProgressCallback | None = False,
) -> GeneratedDataset:
    """Generate the dataset of ``config`` into ``out_dir`` (see the package docstring).

    ``out_dir`` must not exist or be empty unless ``overwrite``; the folder appears only when
    everything is written. ``progress`` is ``True`` for a rich progress bar, or a callback
    ``(stage, done, total)``. The output depends only on ``config`` (never on ``workers``).
    """
    cfg = config
    t0 = time.perf_counter()
    folder = OutputFolder(out_dir, overwrite=overwrite)
    pool: ProcessPoolExecutor | None = None
    try:
        with _progress(progress) as report, _gc_paused():
            report("plan", 0, 1)
            plan, table = build_plan(cfg)
            report("plan", 1, 1)
            ctx = _TextContext.build(cfg, plan, table)
            vendor_ids, dates = ctx.vendor_ids, ctx.dates
            images_dir = folder.path("images")
            images_dir.mkdir()
            jobs = _image_jobs(cfg, plan, table) if plan.files is not None else []
            batches = [jobs[i : i + IMAGE_BATCH] for i in range(0, len(jobs), IMAGE_BATCH)]
            workers = image_mod.worker_count(cfg.workers)
            futures: list[Future] = []
            if workers > 1 and len(jobs) >= POOL_MIN_FILES:
                # Images render in worker processes while this process writes the text.
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context())
                futures = [
                    pool.submit(image_mod.write_files, b, str(images_dir), cfg.seed)
                    for b in batches
                ]

            parquet = cfg.writes_parquet
            ads_path = folder.path("ads.parquet" if parquet else "ads.csv")
            ads_writer = AdsWriter(
                ads_path, parquet, cfg.include_vendor_column, cfg.indicator_columns
            )
            truth_writer = ParquetStream(folder.path("truth_ads.parquet"), truth_ads_schema())
            try:
                coverage = _write_text(cfg, ctx, ads_writer, truth_writer, report)
            finally:
                ads_writer.close()
                truth_writer.close()
            del ctx

            file_stats: dict[int, tuple[int, int, int]] = {}
            if jobs:
                report("images", 0, len(jobs))
                done = 0
                for k, batch in enumerate(batches):
                    if futures:
                        results = futures[k].result()
                    else:
                        results = image_mod.write_files(batch, str(images_dir), cfg.seed)
                    for index, n_bytes, w, h in results:
                        file_stats[index] = (n_bytes, w, h)
                    done += len(batch)
                    report("images", done, len(jobs))
            if pool is not None:
                pool.shutdown()
                pool = None

            report("tables", 0, 3)
            images_table, image_kinds = truth_images_table(plan, vendor_ids, file_stats)
            write_parquet(folder.path("truth_images.parquet"), images_table)
            report("tables", 1, 3)
            vendors_per_region = write_vendors_table(
                folder.path("vendors.parquet"), cfg, plan, table, vendor_ids, dates
            )
            report("tables", 2, 3)
            manifest = _manifest(
                cfg, plan, ads_path.name, coverage, image_kinds, vendors_per_region
            )
            write_json(folder.path("manifest.json"), manifest)
            report("tables", 3, 3)
        final = folder.commit()
    except BaseException:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        folder.abort()
        raise
    return GeneratedDataset(
        out_dir=final,
        ads_path=final / ads_path.name,
        images_dir=final / "images",
        truth_ads_path=final / "truth_ads.parquet",
        truth_images_path=final / "truth_images.parquet",
        vendors_path=final / "vendors.parquet",
        manifest_path=final / "manifest.json",
        n_ads=plan.n_ads,
        n_vendors=plan.n_vendors,
        n_images=plan.files.n_files if plan.files is not None else 0,
        seconds=time.perf_counter() - t0,
        config=cfg,
    )


def _manifest(
    cfg: GeneratorConfig,
    plan: AdPlan,
    ads_name: str,
    coverage: dict[str, int],
    image_kinds: dict[str, int],
    vendors_per_region: dict[str, int],
) -> dict[str, Any]:
    import PIL

    n_ads = plan.n_ads
    if plan.files is not None:
        n_img_per_ad = np.diff(plan.image_offsets)
    else:
        n_img_per_ad = np.zeros(n_ads, dtype=np.int64)
    per_vendor_regions = np.unique(
        np.stack([plan.vendor.astype(np.int64), plan.region.astype(np.int64)], axis=1), axis=0
    )
    regions_per_vendor = np.bincount(per_vendor_regions[:, 0], minlength=plan.n_vendors)
    config = cfg.to_dict()
    config.pop("workers")  # never changes the output
    fields = {k: v for k, v in coverage.items() if not k.startswith("ind_")}
    positives = {name: coverage.get(f"ind_{name}", 0) for name in INDICATORS}
    indicators = {
        "names": list(INDICATORS),
        "modality": dict(MODALITIES),
        "truth_columns": [f"ind_{name}" for name in INDICATORS],
        "list_column": "indicators",
        "in_ads_file": cfg.indicator_columns,
        "positives": positives,
        "positive_rates": {k: round(v / n_ads, 4) for k, v in positives.items()},
    }
    return {
        "generator": "vendorlink.data.synthetic",
        "generator_version": GENERATOR_VERSION,
        "seed": cfg.seed,
        "preset": cfg.preset,
        "config": config,
        "files": {
            "ads": ads_name,
            "images": "images/",
            "truth_ads": "truth_ads.parquet",
            "truth_images": "truth_images.parquet",
            "vendors": "vendors.parquet",
        },
        "counts": {
            "ads": n_ads,
            "vendors": plan.n_vendors,
            "images": plan.files.n_files if plan.files is not None else 0,
            "image_slots": int(n_img_per_ad.sum()),
            "image_kinds": image_kinds,
            "ads_without_images": int((n_img_per_ad == 0).sum()),
            "empty_text_ads": int(plan.empty_text.sum()),
            "exact_duplicates": int((plan.dup_of >= 0).sum()),
            "regions": {r: int((plan.region == i).sum()) for i, r in enumerate(REGIONS)},
            "cities": {c: int((plan.city == i).sum()) for i, c in enumerate(CITIES)},
            "vendors_per_region": vendors_per_region,
            "multi_region_vendors": int((regions_per_vendor > 1).sum()),
            "ads_per_vendor": {
                "min": int(plan.ads_per_vendor.min()),
                "median": float(np.median(plan.ads_per_vendor)),
                "mean": round(float(plan.ads_per_vendor.mean()), 3),
                "max": int(plan.ads_per_vendor.max()),
            },
            "ads_with_field": fields,
        },
        "indicators": indicators,
        "phone_linkage": phone_components(plan),
        # beyond the fictional phone numbers only: vendors showing an email in their place
        **(
            {}
            if plan.email_only is None
            else {
                "email_only_vendors": int(plan.email_only.sum()),
                "email_instead_of_phone_ads": int(np.asarray(plan.email_ad).sum()),
            }
        ),
        "library_versions": {
            "numpy": np.__version__,
            "pyarrow": pa.__version__,
            "pillow": PIL.__version__,
        },
    }
