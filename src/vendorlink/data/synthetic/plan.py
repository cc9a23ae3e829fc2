"""The ad plan: who posts which ad, where, when, with which phone numbers and images.

Everything that links ads to each other is decided here, vectorised with numpy, before
any text or image is rendered: the number of ads per vendor (long-tailed), regions and
cities, posting days, exact duplicates, the phone numbers an ad shows (shared, rotating,
missing) and which image files each ad carries (originals, reposts, near duplicates and
copies of other vendors' images). The renderers only turn this plan into bytes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from .config import GeneratorConfig
from .geography import (
    CITIES,
    CITY_AREA_CODES,
    EXTRA_AREA_CODES,
    REGION_CITIES,
    REGIONS,
    SPILL_AREA_CODES,
    phone_number_code,
)
from .indicators import IndicatorPlan, plan_indicators
from .seeding import numpy_rng
from .vendors import VendorTable, unique_emails

MAX_PHONES = 4
KIND_ORIGINAL, KIND_NEAR_DUPLICATE, KIND_COPIED = 0, 1, 2
FILE_KINDS = ("original", "near_duplicate", "copied")
NEAR_DUPLICATE_TRANSFORMS = ("crop", "brightness", "jpeg_quality", "rotate", "resize")

_CITY_INDEX = {c: i for i, c in enumerate(CITIES)}
_REGION_CITY_IDX = [
    np.array([_CITY_INDEX[c] for c, _ in REGION_CITIES[r]], dtype=np.int8) for r in REGIONS
]
_REGION_CITY_W = [np.array([w for _, w in REGION_CITIES[r]], dtype=float) for r in REGIONS]


@dataclass
class FilePlan:
    """Image files: one entry per file (``n_files``)."""

    style_vendor: np.ndarray  # vendor whose image style the file has
    owner_vendor: np.ndarray  # vendor whose ads use the file
    kind: np.ndarray  # KIND_* code
    source: np.ndarray  # file index the file derives from, or -1
    transform: list[str | None]  # near-duplicate / copy transform names
    ext: list[str]
    paths: list[str]  # relative to images/

    @property
    def n_files(self) -> int:
        return int(self.kind.size)


@dataclass
class AdPlan:
    """Per-ad arrays in final ad order (ad ``i`` has id :meth:`ad_id` ``(i)``)."""

    n_ads: int
    n_vendors: int
    vendor: np.ndarray  # int32
    day: np.ndarray  # int32, days since config.start_date
    region: np.ndarray  # int8 index into REGIONS
    city: np.ndarray  # int8 index into CITIES
    phones: np.ndarray  # int32 [n_ads, 2] phone codes, -1 for none
    dup_of: np.ndarray  # int32, root ad this ad is an exact duplicate of, or -1
    empty_text: np.ndarray  # bool
    render_seed: np.ndarray  # uint64 seed of the text (duplicates share their root's)
    # vendors
    ads_per_vendor: np.ndarray
    home_region: np.ndarray
    home_city: np.ndarray
    vendor_phones: np.ndarray  # int32 [n_vendors, MAX_PHONES], -1 padded
    rotating: np.ndarray  # bool
    shares_phone: np.ndarray  # bool (has a booker number shared with other vendors)
    never_phone: np.ndarray  # bool
    # Populations beyond the fictional phone numbers only (else None): vendors left without
    # a number, and the ads that show such a vendor's email where they would show a phone.
    email_only: np.ndarray | None = None  # bool per vendor
    email_ad: np.ndarray | None = None  # bool per ad
    # images (empty when text_only)
    image_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    image_files: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    files: FilePlan | None = None
    id_width: int = 6
    indicators: IndicatorPlan | None = None

    def ad_id(self, i: int) -> str:
        return f"ad-{i:0{self.id_width}d}"

    def ad_images(self, i: int) -> np.ndarray:
        return self.image_files[self.image_offsets[i] : self.image_offsets[i + 1]]


AWAY_AD_FRACTION = 0.4  # share of a multi-region vendor's ads posted away from home


def _home_shares(target: np.ndarray, away: float) -> np.ndarray:
    """Home-region shares such that ads (home and away) land near the ``target`` shares."""
    home = target.copy()
    for _ in range(50):
        conditional = np.zeros_like(target)
        for r in range(target.size):
            rest = target.copy()
            rest[r] = 0.0
            if rest.sum() > 0:
                conditional += home[r] * rest / rest.sum()
        overall = (1 - away) * home + away * conditional
        home = np.clip(home + (target - overall), 0.0, None)
        home = home / home.sum()
    return home


def ads_per_vendor(rng: np.random.Generator, n_vendors: int, n_ads: int) -> np.ndarray:
    """Long-tailed ads per vendor summing to ``n_ads``: most 2-15, a few 100+ at scale."""
    minimum = 2 if n_ads >= 2 * n_vendors else 1
    counts = np.full(n_vendors, minimum, dtype=np.int64)
    extra = n_ads - minimum * n_vendors
    if extra > 0:
        weights = rng.lognormal(0.0, 1.35, n_vendors)
        counts += rng.multinomial(extra, weights / weights.sum())
    return counts


def _choose_weighted_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One column index per row of a non-negative weight matrix."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(weights.shape[0]) * cum[:, -1]
    return np.minimum((cum < u[:, None]).sum(axis=1), weights.shape[1] - 1)


class _NumberPool:
    """Hands out fictional numbers, unique while the pool lasts (see geography notes).

    With ``overflow="spill"`` a number never goes to two vendors through :meth:`take`: after
    the city blocks and the spill codes come the extra area codes (``overflowed`` turns
    true), then ``-1`` (no number left). ``"reuse"`` reuses the city's numbers at random.
    """

    def __init__(self, rng: np.random.Generator, overflow: str, seed: int = 0) -> None:
        self.rng = rng
        self.overflow = overflow
        self.seed = seed
        self.overflowed = False
        self.extra_queue: list[int] = []
        self.city_queues: dict[int, list[int]] = {}
        for ci, city in enumerate(CITIES):
            codes = [
                phone_number_code(a, line) for a in CITY_AREA_CODES[city] for line in range(100)
            ]
            self.city_queues[ci] = [codes[i] for i in rng.permutation(len(codes))]
        spill = [phone_number_code(a, line) for a in SPILL_AREA_CODES for line in range(100)]
        self.spill_queue = [spill[i] for i in rng.permutation(len(spill))]
        self.city_pools = {
            ci: np.array(sorted(q), dtype=np.int32) for ci, q in self.city_queues.items()
        }

    def chance(self, city: int) -> int:
        """A number drawn at random from the city's block (may already be someone's)."""
        pool = self.city_pools[city]
        return int(pool[self.rng.integers(0, pool.size)])

    def take(self, city: int) -> int:
        """A number for a vendor of ``city``; ``-1`` when none is left (spill mode)."""
        queue = self.city_queues[city]
        if queue:
            return queue.pop()
        if self.overflow == "spill":
            if self.spill_queue:
                return self.spill_queue.pop()
            return self._take_extra()
        # Reuse mode: every number of the city is taken, reuse one at random.
        pool = self.city_pools[city]
        return int(pool[self.rng.integers(0, pool.size)])

    def _take_extra(self) -> int:
        if not self.overflowed:
            # Its own random stream: the draws of smaller populations stay as they were.
            self.overflowed = True
            extra = [phone_number_code(a, line) for a in EXTRA_AREA_CODES for line in range(100)]
            order = numpy_rng(self.seed, "phone-pool-extra").permutation(len(extra))
            self.extra_queue = [extra[i] for i in order]
        return self.extra_queue.pop() if self.extra_queue else -1


def build_plan(cfg: GeneratorConfig) -> tuple[AdPlan, VendorTable]:
    """Plan all ads of ``cfg`` and draw the vendor population."""
    seed, n_ads, n_vendors = cfg.seed, cfg.n_ads, cfg.vendors
    rng = numpy_rng(seed, "plan")
    counts = ads_per_vendor(numpy_rng(seed, "ads-per-vendor"), n_vendors, n_ads)
    table = VendorTable.draw(seed, n_vendors, counts)
    n_days = (cfg.end_date - cfg.start_date).days + 1

    # --- vendors: home region / city, other regions ---------------------------------
    shares = np.array([cfg.region_shares.get(r, 0.0) for r in REGIONS], dtype=float)
    shares = shares / shares.sum()
    home_shares = _home_shares(shares, cfg.multi_region_vendor_rate * AWAY_AD_FRACTION)
    home_region = rng.choice(len(REGIONS), size=n_vendors, p=home_shares).astype(np.int8)
    # Preferred city of every vendor in every region.
    pref_city = np.zeros((n_vendors, len(REGIONS)), dtype=np.int8)
    for r in range(len(REGIONS)):
        w = _REGION_CITY_W[r]
        pref_city[:, r] = _REGION_CITY_IDX[r][rng.choice(w.size, size=n_vendors, p=w / w.sum())]
    home_city = pref_city[np.arange(n_vendors), home_region]
    eligible = counts >= 2
    n_eligible = int(eligible.sum())
    # Calibrated: duplicates of a vendor's only away ad put some back home.
    p_multi = min(1.0, 1.1 * cfg.multi_region_vendor_rate * n_vendors / max(n_eligible, 1))
    active_regions = int((shares > 0).sum())
    multi = eligible & (rng.random(n_vendors) < p_multi) & (active_regions > 1)
    # Up to two other regions, drawn by share, never the home region.
    other = np.full((n_vendors, 2), -1, dtype=np.int8)
    share_rows = np.tile(shares, (n_vendors, 1))
    share_rows[np.arange(n_vendors), home_region] = 0.0
    first = _choose_weighted_rows(rng, share_rows)
    other[:, 0] = np.where(multi, first, -1)
    share_rows[np.arange(n_vendors), first] = 0.0
    two = multi & (rng.random(n_vendors) < 0.3) & (share_rows.sum(axis=1) > 0)
    second = _choose_weighted_rows(
        rng, np.where(share_rows.sum(axis=1, keepdims=True) > 0, share_rows, 1.0)
    )
    other[:, 1] = np.where(two, second, -1)

    # --- ads in vendor-major order ----------------------------------------------------
    vm_vendor = np.repeat(np.arange(n_vendors, dtype=np.int32), counts)
    window = np.maximum(1, np.round(n_days * rng.beta(0.9, 1.4, n_vendors))).astype(np.int64)
    window = np.maximum(window, np.minimum(counts // 2, n_days))
    start = (rng.random(n_vendors) * (n_days - window + 1)).astype(np.int64)
    vm_day = start[vm_vendor] + (rng.random(n_ads) * window[vm_vendor]).astype(np.int64)
    vm_day = np.minimum(vm_day, n_days - 1)
    vm_region = home_region[vm_vendor].copy()
    away = multi[vm_vendor] & (rng.random(n_ads) < AWAY_AD_FRACTION)
    n_other = (other[vm_vendor] >= 0).sum(axis=1)
    pick = np.minimum((rng.random(n_ads) * np.maximum(n_other, 1)).astype(np.int64), 1)
    away_region = other[vm_vendor, pick]
    vm_region = np.where(away & (away_region >= 0), away_region, vm_region)
    # Every multi-region vendor posts at least one ad away from home: its last ad here.
    vendor_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    last = vendor_start + counts - 1
    vm_region[last[multi]] = other[multi, 0]
    vm_city = pref_city[vm_vendor, vm_region]
    stray = rng.random(n_ads) < 0.12
    for r in range(len(REGIONS)):
        sel = stray & (vm_region == r)
        w = _REGION_CITY_W[r]
        vm_city[sel] = _REGION_CITY_IDX[r][rng.choice(w.size, size=int(sel.sum()), p=w / w.sum())]

    # --- final order: by day, ties at random; ids follow posting order ----------------
    order = np.lexsort((rng.random(n_ads), vm_day))
    vendor = vm_vendor[order]
    day = vm_day[order].astype(np.int32)
    region = vm_region[order].astype(np.int8)
    city = vm_city[order].astype(np.int8)
    by_vendor = np.lexsort((np.arange(n_ads), vendor))  # positions grouped by vendor
    rank = np.empty(n_ads, dtype=np.int64)
    rank[by_vendor] = np.arange(n_ads) - vendor_start[vendor[by_vendor]]

    # --- exact duplicates: re-posts of an earlier ad of the same vendor ---------------
    n_later = int((rank >= 1).sum())
    p_dup = min(1.0, cfg.duplicate_rate * n_ads / max(n_later, 1))
    is_dup = (rank >= 1) & (rng.random(n_ads) < p_dup)
    src_rank = (rng.random(n_ads) * rank).astype(np.int64)
    src = np.where(is_dup, by_vendor[vendor_start[vendor] + src_rank], -1)
    root = src.copy()
    while True:
        chained = (root >= 0) & is_dup[np.maximum(root, 0)]
        if not chained.any():
            break
        root[chained] = src[root[chained]]
    dup_of = root.astype(np.int32)
    has_dup = dup_of >= 0
    region[has_dup] = region[dup_of[has_dup]]
    city[has_dup] = city[dup_of[has_dup]]

    # --- phone numbers ------------------------------------------------------------------
    n_numbers = rng.choice([1, 2, 3], size=n_vendors, p=[0.6, 0.3, 0.1])
    n_numbers = np.where(counts >= 20, np.minimum(n_numbers + 1, 3), n_numbers)
    pool = _NumberPool(numpy_rng(seed, "phone-pool"), cfg.phone_overflow, seed)
    vendor_phones = np.full((n_vendors, MAX_PHONES), -1, dtype=np.int32)
    chance = rng.random((n_vendors, 3)) < cfg.phone_chance_collision_rate
    for v in range(n_vendors):
        hc = int(home_city[v])
        for k in range(int(n_numbers[v])):
            vendor_phones[v, k] = pool.chance(hc) if chance[v, k] else pool.take(hc)
    # Bookers: ~shared_phone_vendor_rate of vendors share one number in groups of 2-3.
    shares_phone = np.zeros(n_vendors, dtype=bool)
    n_share = round(cfg.shared_phone_vendor_rate * n_vendors)
    if n_share >= 2:
        chosen = rng.choice(n_vendors, size=n_share, replace=False)
        chosen = chosen[np.argsort(home_region[chosen], kind="stable")]  # neighbours team up
        groups: list[np.ndarray] = []
        i = 0
        while i < chosen.size:
            size = 3 if rng.random() < 0.3 else 2
            if chosen.size - i - size == 1:
                size += 1
            groups.append(chosen[i : i + size])
            i += size
        for group in groups:
            if group.size < 2:
                continue
            code = pool.take(int(home_city[group[0]]))
            if code < 0:
                continue  # every fictional number is taken: no booker number
            for v in group:
                k = int(n_numbers[v])
                vendor_phones[v, k] = code
                n_numbers[v] = k + 1
                shares_phone[v] = True
    email_only = None
    if pool.overflowed:
        # Numbers ran out part way: valid numbers first in each row, and vendors left
        # without any show an email of their own instead (see unique_emails).
        order = np.argsort(vendor_phones < 0, axis=1, kind="stable")
        vendor_phones = np.take_along_axis(vendor_phones, order, axis=1)
        email_only = (vendor_phones < 0).all(axis=1)
        table.email_overrides = unique_emails(table, email_only)
    n_slots = (vendor_phones >= 0).sum(axis=1)
    can_rotate = (n_slots >= 2) & ~shares_phone & (counts >= 4)
    p_rotate = min(1.0, cfg.rotating_phone_vendor_rate / max(float(can_rotate.mean()), 1e-9))
    rotating = can_rotate & (rng.random(n_vendors) < p_rotate)
    # Slot weights: the first number is the main one; a booker number shows up often.
    w = np.where(vendor_phones >= 0, 0.3 / np.maximum(n_slots - 1, 1)[:, None], 0.0)
    w[:, 0] = np.where(n_slots > 1, 0.7, 1.0)
    booker_slot = np.where(shares_phone, n_slots - 1, -1)
    w[shares_phone, booker_slot[shares_phone]] = 0.45
    ad_w = w[vendor]
    slot = _choose_weighted_rows(rng, ad_w)
    ad_slots = n_slots[vendor]
    rot_slot = np.minimum(rank * ad_slots // np.maximum(counts[vendor], 1), ad_slots - 1)
    slot = np.where(rotating[vendor], rot_slot, slot)
    second = (ad_slots >= 2) & (rng.random(n_ads) < 0.06)
    slot2 = (
        slot + 1 + (rng.random(n_ads) * np.maximum(ad_slots - 1, 1)).astype(np.int64)
    ) % np.maximum(ad_slots, 1)
    phones = np.full((n_ads, 2), -1, dtype=np.int32)
    phones[:, 0] = vendor_phones[vendor, slot]
    phones[:, 1] = np.where(second & (slot2 != slot), vendor_phones[vendor, slot2], -1)
    # About a third of the ads without a number come from vendors who never show one.
    never_rate = 0.3 * cfg.no_phone_rate
    never_phone = rng.random(n_vendors) < never_rate
    p_missing = (cfg.no_phone_rate - never_rate) / (1.0 - never_rate)
    missing = never_phone[vendor] | (rng.random(n_ads) < p_missing)
    phones[missing] = -1
    email_ad = None if email_only is None else email_only[vendor] & ~missing

    # --- text seeds, empty-text ads ------------------------------------------------------
    text_seed = rng.integers(0, 2**63 - 1, size=n_ads, dtype=np.int64).astype(np.uint64)
    empty_text = np.zeros(n_ads, dtype=bool)
    plan = AdPlan(
        n_ads=n_ads,
        n_vendors=n_vendors,
        vendor=vendor.astype(np.int32),
        day=day,
        region=region,
        city=city,
        phones=phones,
        dup_of=dup_of,
        empty_text=empty_text,
        render_seed=text_seed,
        ads_per_vendor=counts,
        home_region=home_region,
        home_city=home_city,
        vendor_phones=vendor_phones,
        rotating=rotating,
        shares_phone=shares_phone,
        never_phone=never_phone,
        email_only=email_only,
        email_ad=email_ad,
        id_width=max(6, len(str(n_ads - 1))),
    )
    if not cfg.text_only and cfg.max_images_per_ad > 0:
        _plan_images(cfg, plan, table, numpy_rng(seed, "images-plan"))
        # ~1% image-only ads: empty text (and so no phone), never a duplicate's root.
        roots = np.unique(dup_of[has_dup])
        candidates = (~has_dup) & (np.diff(plan.image_offsets) > 0)
        candidates[roots] = False
        plan.empty_text = candidates & (rng.random(n_ads) < cfg.empty_text_rate)
        plan.phones[plan.empty_text] = -1
        if plan.email_ad is not None:
            plan.email_ad[plan.empty_text] = False
    # Duplicates copy everything rendered from their root.
    plan.phones[has_dup] = plan.phones[dup_of[has_dup]]
    if plan.email_ad is not None:
        plan.email_ad[has_dup] = plan.email_ad[dup_of[has_dup]]
    plan.render_seed[has_dup] = plan.render_seed[dup_of[has_dup]]
    plan.empty_text[has_dup] = plan.empty_text[dup_of[has_dup]]
    files = plan.files
    plan.indicators = plan_indicators(
        seed,
        plan.vendor,
        plan.dup_of,
        plan.empty_text,
        n_vendors,
        plan.image_offsets if files is not None else None,
        plan.image_files if files is not None else None,
        files.style_vendor if files is not None else None,
        files.owner_vendor if files is not None else None,
        files.kind if files is not None else None,
        files.source if files is not None else None,
    )
    return plan, table


def near_duplicate_transform(code: int) -> str:
    """One or two transforms ("crop", "crop+brightness") chosen by an integer code."""
    n = len(NEAR_DUPLICATE_TRANSFORMS)
    first = NEAR_DUPLICATE_TRANSFORMS[code % n]
    second = NEAR_DUPLICATE_TRANSFORMS[(code // n) % n]
    if (code // (n * n)) % 2 and second != first:
        return f"{first}+{second}"
    return first


def image_file_name(seed: int, file_index: int, ext: str) -> str:
    """A path under images/ that leaks nothing: a keyed hash of the file's index."""
    digest = hashlib.blake2b(
        f"{file_index}".encode(), digest_size=8, key=f"vendorlink-synthetic-{seed}".encode()[:64]
    ).hexdigest()
    return f"{digest[:2]}/{digest}.{ext}"


def _plan_images(
    cfg: GeneratorConfig, plan: AdPlan, table: VendorTable, rng: np.random.Generator
) -> None:
    """Decide every ad's image files (walks the ads in posting order)."""
    n_ads = plan.n_ads
    mean_images = table.column("img_mean_images") / 1000.0
    png_vendor = table.column("img_png").astype(bool)
    counts = 1 + rng.poisson(np.maximum(mean_images[plan.vendor] - 1.0, 0.0))
    counts = np.minimum(counts, cfg.max_images_per_ad)
    counts[rng.random(n_ads) < cfg.no_image_rate] = 0
    u_kind = rng.random(int(counts.sum()) + 1)
    u_pick = rng.random(int(counts.sum()) + 1)
    u_ext = rng.random(int(counts.sum()) + 1)
    u_transform = rng.integers(0, 1 << 30, int(counts.sum()) + 1)

    style_vendor: list[int] = []
    owner_vendor: list[int] = []
    kind: list[int] = []
    source: list[int] = []
    transform: list[str | None] = []
    ext: list[str] = []
    vendor_files: dict[int, list[int]] = {}
    vendor_originals: dict[int, list[int]] = {}
    all_originals: list[int] = []
    offsets = np.zeros(n_ads + 1, dtype=np.int64)
    ad_files: list[int] = []
    p_repost = cfg.repost_rate
    p_near = p_repost + cfg.near_duplicate_rate
    p_copy = p_near + cfg.copied_image_rate
    j = 0  # index into the per-slot random streams

    def new_file(style: int, owner: int, k: int, src: int, tr: str | None, e: str) -> int:
        style_vendor.append(style)
        owner_vendor.append(owner)
        kind.append(k)
        source.append(src)
        transform.append(tr)
        ext.append(e)
        return len(kind) - 1

    for i in range(n_ads):
        root = int(plan.dup_of[i])
        if root >= 0:
            ad_files.extend(ad_files[offsets[root] : offsets[root + 1]])
            offsets[i + 1] = len(ad_files)
            continue
        v = int(plan.vendor[i])
        mine = vendor_files.setdefault(v, [])
        originals = vendor_originals.setdefault(v, [])
        chosen: list[int] = []
        for _ in range(int(counts[i])):
            u = u_kind[j]
            pick = u_pick[j]
            e = "png" if (u_ext[j] < 0.85 if png_vendor[v] else u_ext[j] < 0.03) else "jpg"
            tr_code = int(u_transform[j])
            j += 1
            f = -1
            if u < p_repost and mine:
                candidate = mine[int(pick * len(mine))]
                if candidate not in chosen:
                    f = candidate
            elif u < p_near and originals:
                src = originals[int(pick * len(originals))]
                f = new_file(
                    v,
                    v,
                    KIND_NEAR_DUPLICATE,
                    src,
                    near_duplicate_transform(tr_code),
                    ext[src] if ext[src] == "png" and tr_code >> 12 & 1 else "jpg",
                )
            elif u < p_copy and len(all_originals) > len(originals):
                for attempt in range(4):
                    src = all_originals[int(((pick + attempt * 0.618) % 1.0) * len(all_originals))]
                    if style_vendor[src] != v:
                        exact = tr_code % 2 == 0
                        f = new_file(
                            style_vendor[src],
                            v,
                            KIND_COPIED,
                            src,
                            "identical" if exact else "reencode",
                            ext[src] if exact else "jpg",
                        )
                        break
            if f < 0:
                f = new_file(v, v, KIND_ORIGINAL, -1, None, e)
                originals.append(f)
                all_originals.append(f)
            if f not in mine:
                mine.append(f)
            chosen.append(f)
        ad_files.extend(chosen)
        offsets[i + 1] = len(ad_files)

    plan.image_offsets = offsets
    plan.image_files = np.asarray(ad_files, dtype=np.int32)
    plan.files = FilePlan(
        style_vendor=np.asarray(style_vendor, dtype=np.int32),
        owner_vendor=np.asarray(owner_vendor, dtype=np.int32),
        kind=np.asarray(kind, dtype=np.int8),
        source=np.asarray(source, dtype=np.int32),
        transform=transform,
        ext=ext,
        paths=[image_file_name(cfg.seed, f, e) for f, e in enumerate(ext)],
    )


def phone_components(plan: AdPlan) -> dict[str, int]:
    """How phone numbers alone would group the ads, against the true vendors.

    Ads sharing a number are linked; components are counted over ads that show at least one
    number. ``components_merging_vendors`` counts components holding more than one true
    vendor; ``vendors_split_across_components`` counts vendors whose phone-bearing ads fall
    into several components.
    """
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for code in np.unique(plan.phones[plan.phones >= 0]).tolist():
        parent[code] = code
    both = (plan.phones[:, 0] >= 0) & (plan.phones[:, 1] >= 0)
    for a, b in plan.phones[both].tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    has_phone = (plan.phones >= 0).any(axis=1)
    first_phone = np.where(plan.phones[:, 0] >= 0, plan.phones[:, 0], plan.phones[:, 1])
    codes = np.asarray(sorted(parent), dtype=np.int64)
    roots = np.asarray([find(int(c)) for c in codes.tolist()], dtype=np.int64)
    comp = roots[np.searchsorted(codes, first_phone[has_phone])] if codes.size else codes
    vend = plan.vendor[has_phone].astype(np.int64)
    pairs = np.unique(np.stack([comp, vend], axis=1), axis=0) if comp.size else np.zeros((0, 2))
    comps, vendors_per_comp = np.unique(pairs[:, 0], return_counts=True)
    _, comps_per_vendor = np.unique(pairs[:, 1], return_counts=True)
    return {
        "true_vendors": int(plan.n_vendors),
        "vendors_with_phone_ads": int(np.unique(vend).size),
        "phone_components": int(comps.size),
        "components_merging_vendors": int((vendors_per_comp > 1).sum()),
        "vendors_split_across_components": int((comps_per_vendor > 1).sum()),
        "largest_component_vendors": int(vendors_per_comp.max()) if comps.size else 0,
        "ads_without_phone": int((~has_phone).sum()),
        "distinct_numbers": len(parent),
    }
