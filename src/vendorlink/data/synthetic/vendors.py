"""Vendor populations: each vendor's writing style, personas and image style.

A vendor is stored as one row of small integers (its *genome*, :class:`VendorTable`), drawn
for all vendors at once with numpy. That keeps a million-ad population in a few tens of
megabytes; :meth:`VendorTable.profiles` decodes the rows a chunk of ads needs into
:class:`VendorProfile` objects (plain look-ups, no randomness), which the text renderer
reads. Phone numbers, regions and the number of ads live in :mod:`.plan`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from operator import itemgetter

import numpy as np

from vendorlink import lexicon

from . import fields, identifiers, vocabulary
from .seeding import numpy_rng

GENE_DTYPE = np.int16  # every gene fits; 412 bytes per vendor
N_TEMPLATES = 24  # 8 section orders x 3 layouts, see text.TEMPLATE_ORDERS
MAX_PERSONAS = 3
MAX_STOCK = 14
MAX_SIGNATURES = 4
MAX_TITLES = 4
MAX_EMOJI = 5

_PERSONA_GENES = (
    "alias",
    "age",
    "eth_a",
    "eth_b",
    "eth_var_a",
    "eth_var_b",
    "hair",
    "hair_var",
    "eye",
    "eye_var",
    "skin",
    "skin_var",
    "height_in",
    "weight_lb",
    "bust",
    "cup",
    "waist",
    "hips",
)

_GENES: list[tuple[str, int]] = [
    ("casing", 1),
    ("casing_rate", 1),
    ("end_mark", 2),
    ("end_mark_rate", 1),
    ("sep", 1),
    ("title_decor", 1),
    ("title_casing", 1),
    ("bullet", 1),
    ("n_templates", 1),
    ("template", 4),
    ("n_emoji", 1),
    ("emoji", MAX_EMOJI),
    ("emoji_rate", 1),
    ("habits", 1),
    ("habit_rate", 1),
    ("n_stock", 1),
    ("stock", MAX_STOCK),
    ("n_sig", 1),
    ("sig_op", MAX_SIGNATURES),
    ("sig_adj", MAX_SIGNATURES),
    ("sig_noun", MAX_SIGNATURES),
    ("sig_close", MAX_SIGNATURES),
    ("n_title", 1),
    ("title", MAX_TITLES),
    ("greeting", 2),
    ("intro", 2),
    ("signoff", 2),
    ("lead", 2),
    ("mark", 1),
    ("rate_label", 1),
    ("appearance", 1),
    ("p_age", 1),
    ("p_eth", 1),
    ("p_hair", 1),
    ("p_eye", 1),
    ("p_skin", 1),
    ("p_height", 1),
    ("p_weight", 1),
    ("p_meas", 1),
    ("p_rates", 1),
    ("p_restr", 1),
    ("p_name", 1),
    ("p_city", 1),
    ("p_greeting", 1),
    ("p_signoff", 1),
    ("p_extra", 1),
    ("age_form", 1),
    ("height_form", 1),
    ("weight_form", 1),
    ("meas_form", 1),
    ("rate_form", 2),
    ("hair_form", 1),
    ("eye_form", 1),
    ("skin_form", 1),
    ("eth_form", 1),
    ("phone_style", 2),
    ("phone_style_rate", 1),
    ("phone_in_title", 1),
    ("qv", 1),
    ("hh", 1),
    ("h", 1),
    ("p_special", 1),
    ("restrictions", 1),
    ("restriction_var", 1),
    ("has_email", 1),
    ("email_style", 2),
    ("email_word", 1),
    ("email_num", 1),
    ("email_domain", 1),
    ("email_fmt", 1),
    ("email_lead", 1),
    ("p_email", 1),
    ("has_social", 1),
    ("social_platform", 1),
    ("social_fmt", 1),
    ("social_word", 1),
    ("social_num", 1),
    ("social_label", 1),
    ("social_join", 1),
    ("p_social", 1),
    ("has_url", 1),
    ("url_host", 1),
    ("url_fmt", 1),
    ("url_style", 1),
    ("url_lead", 1),
    ("p_url", 1),
    ("n_personas", 1),
    ("p_duo", 1),
    *[(f"persona_{g}", MAX_PERSONAS) for g in _PERSONA_GENES],
    # image style
    ("img_texture", 1),
    ("img_hue", 1),
    ("img_sat", 1),
    ("img_val", 1),
    ("img_hue_spread", 1),
    ("img_period", 1),
    ("img_angle", 1),
    ("img_frame", 1),
    ("img_frame_w", 1),
    ("img_wm_kind", 1),
    ("img_wm_corner", 1),
    ("img_wm_symbol", 1),
    ("img_objects", 1),
    ("img_obj_min", 1),
    ("img_obj_span", 1),
    ("img_obj_size", 1),
    ("img_aspect", 1),
    ("img_png", 1),
    ("img_quality", 1),
    ("img_contrast", 1),
    ("img_mean_images", 1),
]

COLUMNS: dict[str, int] = {}
_offset = 0
for _name, _width in _GENES:
    COLUMNS[_name] = _offset
    _offset += _width
N_GENES = _offset


def _col(name: str) -> int:
    return COLUMNS[name]


@dataclass(frozen=True, slots=True)
class Persona:
    """One advertised person of a vendor (an agency has several)."""

    alias: str
    age: int
    ethnicities: tuple[str, ...]  # canonical keys
    ethnicity_variants: tuple[str, ...]  # preferred surface variants, same order
    hair: str
    hair_variant: str
    eye: str
    eye_variant: str
    skin: str
    skin_variant: str
    height_in: int
    weight_lb: int
    bust: int
    cup: int
    waist: int
    hips: int


@dataclass(frozen=True, slots=True)
class VendorProfile:
    """A vendor's decoded writing style, personas and contact details.

    Rates (``p_*``, ``*_rate``) are probabilities per ad; ``*_form`` and ``*_style`` fields
    are indices into the surface-form tables of :mod:`.fields` and :mod:`.identifiers`.
    """

    index: int
    vendor_id: str
    personas: tuple[Persona, ...]
    stock: tuple[str, ...]
    signatures: tuple[str, ...]
    titles: tuple[str, ...]
    templates: tuple[int, ...]
    emojis: tuple[str, ...]
    end_marks: tuple[str, str]
    habits: tuple[str, ...]
    habit_mask: int
    spelling: dict[str, str]
    restrictions: tuple[tuple[str, str], ...]  # (canonical, preferred variant)
    email: str | None
    social: tuple[str, str] | None  # (platform, handle)
    url: tuple[str, str] | None  # (host, path)
    casing: str
    title_casing: str
    casing_rate: float
    end_mark_rate: float
    emoji_rate: float
    habit_rate: float
    sep: int
    title_decor: str
    bullet: str
    greetings: tuple[str, str]
    intros: tuple[str, str]
    signoffs: tuple[str, str]
    leads: tuple[str, str]
    mark: str
    rate_label: str
    appearance: int
    p_age: float
    p_eth: float
    p_hair: float
    p_eye: float
    p_skin: float
    p_height: float
    p_weight: float
    p_meas: float
    p_rates: float
    p_restr: float
    p_name: float
    p_city: float
    p_greeting: float
    p_signoff: float
    p_extra: float
    p_special: float
    p_email: float
    p_social: float
    p_url: float
    p_duo: float
    age_form: int
    height_form: int
    weight_form: int
    meas_form: int
    rate_forms: tuple[int, int]
    hair_form: int
    eye_form: int
    skin_form: int
    eth_form: int
    phone_styles: tuple[str, str]
    phone_style_rate: float
    phone_in_title: float
    qv: int
    hh: int
    h: int
    email_styles: tuple[str, str]
    email_lead: str
    social_label: int
    social_join: int
    url_style: str
    url_lead: str

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.alias for p in self.personas))


_SPELLING_CACHE: dict[int, dict[str, str]] = {}


def spelling_map(mask: int) -> dict[str, str]:
    """Merged word -> respelling map of a habit bitmask (cached, shared between vendors)."""
    found = _SPELLING_CACHE.get(mask)
    if found is None:
        found = {}
        for bit, name in enumerate(vocabulary.SPELLING_HABIT_NAMES):
            if mask >> bit & 1:
                found.update(vocabulary.SPELLING_HABITS[name])
        _SPELLING_CACHE[mask] = found
    return found


def _gumbel_top_k(rng: np.random.Generator, n: int, weights: np.ndarray, k: int) -> np.ndarray:
    """For each of ``n`` rows, ``k`` distinct indices drawn with probability ~ ``weights``."""
    logw = np.log(weights)
    out = np.empty((n, k), dtype=np.int32)
    block = 20_000
    for start in range(0, n, block):
        m = min(block, n - start)
        keys = logw[None, :] + rng.gumbel(size=(m, weights.size))
        top = np.argpartition(-keys, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
        out[start : start + m] = np.take_along_axis(top, order, axis=1)
    return out


def _permille(rng: np.random.Generator, a: float, b: float, n: int) -> np.ndarray:
    return np.round(rng.beta(a, b, n) * 1000).astype(np.int32)


class VendorTable:
    """Genomes of all vendors (``n_vendors x N_GENES`` int16)."""

    def __init__(self, genomes: np.ndarray) -> None:
        self.genomes = genomes
        # Vendor index -> email address replacing the drawn one (see unique_emails); empty
        # unless the population outgrows the fictional phone numbers.
        self.email_overrides: dict[int, str] = {}

    def decode(self, index: int, row: tuple[int, ...] | list[int], width: int) -> VendorProfile:
        """:func:`decode_profile` with this table's email override applied."""
        profile = decode_profile(index, row, width)
        email = self.email_overrides.get(index)
        return profile if email is None else replace(profile, email=email)

    def __len__(self) -> int:
        return int(self.genomes.shape[0])

    def column(self, name: str, k: int = 0) -> np.ndarray:
        return self.genomes[:, COLUMNS[name] + k]

    @staticmethod
    def vendor_id(index: int, width: int = 5) -> str:
        return f"vendor-{index:0{width}d}"

    def id_width(self) -> int:
        return max(5, len(str(max(len(self) - 1, 0))))

    @classmethod
    def draw(cls, seed: int, n_vendors: int, ads_per_vendor: np.ndarray) -> VendorTable:
        """Draw all vendors' genomes; vendors with many ads tend to run several personas."""
        rng = numpy_rng(seed, "vendor-genomes")
        n = n_vendors
        g = np.zeros((n, N_GENES), dtype=GENE_DTYPE)

        def put(name: str, values: np.ndarray, k: int = 0) -> None:
            values = np.asarray(values)
            if values.size and (values.min() < -32768 or values.max() > 32767):
                raise OverflowError(f"gene {name} does not fit {GENE_DTYPE.__name__}")
            g[:, COLUMNS[name] + k] = values

        def ints(lo: int, hi: int) -> np.ndarray:
            return rng.integers(lo, hi, n, dtype=np.int32)

        def weighted(p: list[float] | np.ndarray) -> np.ndarray:
            p = np.asarray(p, dtype=float)
            return rng.choice(p.size, size=n, p=p / p.sum()).astype(np.int32)

        put("casing", weighted([0.5, 0.12, 0.16, 0.1, 0.08, 0.04]))
        put("casing_rate", ints(800, 1001))
        put("end_mark", ints(0, len(vocabulary.END_MARKS)), 0)
        put("end_mark", ints(0, len(vocabulary.END_MARKS)), 1)
        put("end_mark_rate", _permille(rng, 4, 2, n))
        put("sep", ints(0, len(vocabulary.SEPARATORS)))
        put("title_decor", ints(0, len(vocabulary.TITLE_DECORATIONS)))
        put("title_casing", weighted([0.3, 0.35, 0.1, 0.2, 0.05, 0.0]))
        put("bullet", ints(0, len(vocabulary.BULLETS)))
        put("n_templates", ints(2, 5))
        for k in range(4):
            put("template", ints(0, N_TEMPLATES), k)
        put("n_emoji", weighted([0.15, 0.15, 0.25, 0.25, 0.12, 0.08]))
        # Popular emoji are popular with everybody: Zipf-like weights.
        emoji_w = 1.0 / np.arange(1, len(vocabulary.EMOJIS) + 1) ** 0.8
        emoji = _gumbel_top_k(rng, n, emoji_w, MAX_EMOJI)
        for k in range(MAX_EMOJI):
            put("emoji", emoji[:, k], k)
        put("emoji_rate", _permille(rng, 1.5, 3, n))
        # Spelling habits: each vendor picks 0..4 habits.
        n_habits = len(vocabulary.SPELLING_HABIT_NAMES)
        habit_bits = rng.random((n, n_habits)) < rng.choice([0.0, 0.12, 0.25, 0.45], size=(n, 1))
        put("habits", (habit_bits * (1 << np.arange(n_habits))).sum(axis=1).astype(np.int32))
        put("habit_rate", ints(650, 1001))
        put("n_stock", ints(6, MAX_STOCK + 1))
        stock_w = 1.0 / np.arange(1, len(vocabulary.STOCK_PHRASES) + 1) ** 0.7
        stock = _gumbel_top_k(rng, n, stock_w, MAX_STOCK)
        for k in range(MAX_STOCK):
            put("stock", stock[:, k], k)
        put("n_sig", ints(1, MAX_SIGNATURES + 1))
        for k in range(MAX_SIGNATURES):
            put("sig_op", ints(0, len(vocabulary.SIGNATURE_OPENERS)), k)
            put("sig_adj", ints(0, len(vocabulary.SIGNATURE_ADJECTIVES)), k)
            put("sig_noun", ints(0, len(vocabulary.SIGNATURE_NOUNS)), k)
            put("sig_close", ints(0, len(vocabulary.SIGNATURE_CLOSERS)), k)
        put("n_title", ints(2, MAX_TITLES + 1))
        title_w = 1.0 / np.arange(1, len(vocabulary.TITLE_PHRASES) + 1) ** 0.6
        titles = _gumbel_top_k(rng, n, title_w, MAX_TITLES)
        for k in range(MAX_TITLES):
            put("title", titles[:, k], k)
        for k in range(2):
            put("greeting", ints(0, len(vocabulary.GREETINGS)), k)
            put("intro", ints(0, len(vocabulary.INTRO_TEMPLATES)), k)
            put("signoff", ints(0, len(vocabulary.SIGNOFFS)), k)
            put("lead", ints(0, len(vocabulary.CONTACT_LEADS)), k)
        put("mark", ints(0, len(vocabulary.CONTACT_MARKS)))
        put("rate_label", ints(0, len(vocabulary.RATE_LABELS)))
        put("appearance", weighted([0.4, 0.3, 0.3]))
        put("p_age", _permille(rng, 3, 1.5, n))
        put("p_eth", _permille(rng, 2, 2, n))
        put("p_hair", _permille(rng, 1.5, 2.5, n))
        put("p_eye", _permille(rng, 1, 3, n))
        put("p_skin", _permille(rng, 1, 4, n))
        put("p_height", _permille(rng, 1.5, 2.5, n))
        put("p_weight", _permille(rng, 1.2, 2.5, n))
        put("p_meas", _permille(rng, 1.2, 2.5, n))
        put("p_rates", _permille(rng, 2.5, 1.5, n))
        put("p_restr", _permille(rng, 2, 1.5, n))
        put("p_name", _permille(rng, 4, 1, n))
        put("p_city", _permille(rng, 1, 3, n))
        put("p_greeting", _permille(rng, 1.5, 1.5, n))
        put("p_signoff", _permille(rng, 2, 1.5, n))
        put("p_extra", _permille(rng, 1.5, 3, n))
        put("age_form", ints(0, len(fields.AGE_FORMS)))
        put("height_form", ints(0, len(fields.HEIGHT_FORMS)))
        put("weight_form", ints(0, len(fields.WEIGHT_FORMS)))
        put("meas_form", weighted([0.6, 0.25, 0.15]))
        put("rate_form", ints(0, len(fields.RATE_FORMS)), 0)
        put("rate_form", ints(0, len(fields.RATE_FORMS)), 1)
        put("hair_form", ints(0, len(fields.HAIR_FORMS)))
        put("eye_form", ints(0, len(fields.EYE_FORMS)))
        put("skin_form", ints(0, len(fields.SKIN_FORMS)))
        put("eth_form", ints(0, len(fields.ETHNICITY_FORMS)))
        # Phone styles: plain formats dominate, obfuscations are a vendor's habit.
        style_w = [10, 8, 12, 6, 3, 3, 3, 2, 2, 2, 1.5, 1, 3, 2, 1.5]
        put("phone_style", weighted(style_w), 0)
        put("phone_style", weighted(style_w), 1)
        put("phone_style_rate", ints(600, 1001))
        put("phone_in_title", _permille(rng, 1, 6, n))
        hh = rng.choice(np.array([80, 100, 120, 140, 150, 160, 180, 200, 250]), size=n)
        h = hh + rng.choice(np.array([50, 60, 80, 100, 120, 150]), size=n)
        qv = hh - rng.choice(np.array([20, 30, 40, 50]), size=n)
        put("qv", qv.astype(np.int32))
        put("hh", hh.astype(np.int32))
        put("h", h.astype(np.int32))
        put("p_special", _permille(rng, 1, 8, n))
        n_restr = len(fields.RESTRICTION_KEYS)
        restr_bits = rng.random((n, n_restr)) < rng.choice([0.0, 0.1, 0.25, 0.4], size=(n, 1))
        put("restrictions", (restr_bits * (1 << np.arange(n_restr))).sum(axis=1).astype(np.int32))
        put("restriction_var", ints(0, 1 << 14))
        put("has_email", (rng.random(n) < 0.24).astype(np.int32))
        put("email_style", weighted([5, 2, 2, 1.5, 1, 1, 0.5]), 0)
        put("email_style", ints(0, len(identifiers.EMAIL_STYLES)), 1)
        put("email_word", ints(0, len(vocabulary.HANDLE_WORDS)))
        put("email_num", ints(1, 1000))
        put("email_domain", ints(0, 3))
        put("email_fmt", ints(0, 5))
        put("email_lead", ints(0, len(identifiers.EMAIL_LEADS)))
        put("p_email", _permille(rng, 5, 2.5, n))
        put("has_social", (rng.random(n) < 0.2).astype(np.int32))
        put("social_platform", weighted([5, 4, 1, 2, 1, 0.5, 1]))
        put("social_fmt", ints(0, 5))
        put("social_word", ints(0, len(vocabulary.HANDLE_WORDS)))
        put("social_num", ints(1, 1000))
        put("social_label", ints(0, 4))
        put("social_join", ints(0, 5))
        put("p_social", _permille(rng, 4, 2, n))
        put("has_url", (rng.random(n) < 0.1).astype(np.int32))
        put("url_host", ints(0, 3))
        put("url_fmt", ints(0, 3))
        put("url_style", ints(0, len(identifiers.URL_STYLES)))
        put("url_lead", ints(0, len(identifiers.URL_LEADS)))
        put("p_url", _permille(rng, 4, 2, n))
        # Personas: agencies (more ads) run more of them.
        many = np.asarray(ads_per_vendor) >= 20
        n_personas = np.where(
            many,
            rng.choice([1, 2, 3], size=n, p=[0.4, 0.35, 0.25]),
            rng.choice([1, 2, 3], size=n, p=[0.8, 0.15, 0.05]),
        )
        put("n_personas", n_personas.astype(np.int32))
        put("p_duo", np.where(n_personas > 1, _permille(rng, 1, 12, n), 0))
        n_alias = len(vocabulary.ALIASES)
        alias_w = 1.0 / np.arange(1, n_alias + 1) ** 0.5
        aliases = _gumbel_top_k(rng, n, alias_w, MAX_PERSONAS)
        n_eth = len(fields.ETHNICITY_KEYS)
        eth_w = np.array([0.14, 0.26, 0.24, 0.18, 0.04, 0.03, 0.05, 0.06])
        hair_w = np.array([0.22, 0.38, 0.3, 0.05, 0.02, 0.01, 0.02])
        eye_w = np.array([0.12, 0.1, 0.55, 0.15, 0.03, 0.05])
        skin_w = np.ones(len(fields.SKIN_KEYS))
        for k in range(MAX_PERSONAS):
            put("persona_alias", aliases[:, k], k)
            age = np.clip(np.round(19 + rng.gamma(2.0, 3.5, n)), 19, 45).astype(np.int32)
            put("persona_age", age, k)
            eth_a = rng.choice(n_eth, size=n, p=eth_w / eth_w.sum()).astype(np.int32)
            eth_b = rng.choice(n_eth, size=n, p=eth_w / eth_w.sum()).astype(np.int32)
            eth_b = np.where((rng.random(n) < 0.1) & (eth_b != eth_a), eth_b, -1)
            put("persona_eth_a", eth_a, k)
            put("persona_eth_b", eth_b, k)
            put("persona_eth_var_a", ints(0, 30_000), k)
            put("persona_eth_var_b", ints(0, 30_000), k)
            put("persona_hair", rng.choice(hair_w.size, size=n, p=hair_w / hair_w.sum()), k)
            put("persona_hair_var", ints(0, 30_000), k)
            put("persona_eye", rng.choice(eye_w.size, size=n, p=eye_w / eye_w.sum()), k)
            put("persona_eye_var", ints(0, 30_000), k)
            put("persona_skin", rng.choice(skin_w.size, size=n, p=skin_w / skin_w.sum()), k)
            put("persona_skin_var", ints(0, 30_000), k)
            put("persona_height_in", np.clip(np.round(rng.normal(65, 2.8, n)), 58, 74), k)
            put("persona_weight_lb", np.clip(np.round(rng.normal(128, 18, n)), 95, 200), k)
            put("persona_bust", rng.choice(np.array([32, 34, 34, 36, 36, 38, 40]), size=n), k)
            put("persona_cup", weighted([0.25, 0.08, 0.17, 0.2, 0.17, 0.1, 0.03]), k)
            put("persona_waist", ints(22, 33), k)
            put("persona_hips", ints(32, 43), k)
        # image style
        put("img_texture", ints(0, 5))
        put("img_hue", ints(0, 360))
        put("img_sat", ints(250, 950))
        put("img_val", ints(450, 1000))
        put("img_hue_spread", ints(10, 160))
        put("img_period", ints(4, 24))
        put("img_angle", ints(0, 180))
        put("img_frame", weighted([0.35, 0.3, 0.2, 0.15]))
        put("img_frame_w", ints(2, 9))
        put("img_wm_kind", weighted([0.35, 0.4, 0.25]))
        put("img_wm_corner", ints(0, 4))
        put("img_wm_symbol", ints(0, 6))
        obj_bits = rng.random((n, 6)) < 0.35
        obj_bits[np.arange(n), rng.integers(0, 6, n)] = True  # at least one kind
        put("img_objects", (obj_bits * (1 << np.arange(6))).sum(axis=1).astype(np.int32))
        put("img_obj_min", ints(1, 5))
        put("img_obj_span", ints(1, 8))
        put("img_obj_size", ints(8, 30))
        put("img_aspect", weighted([0.45, 0.3, 0.15, 0.1]))
        put("img_png", (rng.random(n) < 0.1).astype(np.int32))
        put("img_quality", ints(60, 96))
        put("img_contrast", ints(300, 1001))
        put("img_mean_images", ints(1000, 4200))
        return cls(g)

    def profiles(self, indices: np.ndarray | list[int]) -> dict[int, VendorProfile]:
        """Decode the vendors ``indices`` (deduplicated) into profiles."""
        idx = np.unique(np.asarray(indices, dtype=np.int64))
        rows = self.genomes[idx].tolist()
        width = self.id_width()
        return {
            int(i): self.decode(int(i), row, width)
            for i, row in zip(idx.tolist(), rows, strict=True)
        }


class ProfileCache:
    """Decoded profiles of recently used vendors (least recently used ones are dropped).

    Ads are rendered in posting order and a vendor's ads cluster in its active weeks, so a
    bounded cache decodes most vendors once while memory stays bounded at any scale.
    """

    def __init__(self, table: VendorTable, max_size: int = 40_000) -> None:
        self.table = table
        self.max_size = max_size
        self._cache: OrderedDict[int, VendorProfile] = OrderedDict()
        self._width = table.id_width()

    def get_many(self, indices: np.ndarray) -> dict[int, VendorProfile]:
        wanted = np.unique(np.asarray(indices, dtype=np.int64)).tolist()
        cache = self._cache
        missing = [i for i in wanted if i not in cache]
        if missing:
            rows = self.table.genomes[np.asarray(missing, dtype=np.int64)].tolist()
            for i, row in zip(missing, rows, strict=True):
                cache[i] = self.table.decode(i, row, self._width)
        out = {}
        for i in wanted:
            cache.move_to_end(i)
            out[i] = cache[i]
        while len(cache) > max(self.max_size, len(wanted)):
            cache.popitem(last=False)
        return out


_ETH_VARIANTS = [fields.variants(lexicon.ETHNICITY, k) for k in fields.ETHNICITY_KEYS]
_HAIR_VARIANTS = [fields.variants(lexicon.HAIR_COLOUR, k) for k in fields.HAIR_KEYS]
_EYE_VARIANTS = [fields.variants(lexicon.EYE_COLOUR, k) for k in fields.EYE_KEYS]
_SKIN_VARIANTS = [fields.variants(lexicon.SKIN_COLOUR, k) for k in fields.SKIN_KEYS]
_RESTRICTION_VARIANTS = [fields.variants(lexicon.RESTRICTIONS, k) for k in fields.RESTRICTION_KEYS]
_C = COLUMNS
# One getter per persona slot returns that persona's genes in _PERSONA_GENES order.
_PERSONA_GETTERS = [
    itemgetter(*[COLUMNS[f"persona_{g}"] + k for g in _PERSONA_GENES]) for k in range(MAX_PERSONAS)
]


def _variant(options: tuple[str, ...], choice: int) -> str:
    # The canonical word is the most common surface form; other variants share the rest.
    return options[0] if choice % 100 < 45 else options[choice % len(options)]


def _persona(row: tuple[int, ...] | list[int], k: int) -> Persona:
    (alias, age, eth_a, eth_b, eth_var_a, eth_var_b, hair, hair_var, eye, eye_var, skin,
     skin_var, height_in, weight_lb, bust, cup, waist, hips) = _PERSONA_GETTERS[k](row)  # fmt: skip
    eth_keys = [fields.ETHNICITY_KEYS[eth_a]]
    eth_vars = [_variant(_ETH_VARIANTS[eth_a], eth_var_a)]
    if eth_b >= 0:
        eth_keys.append(fields.ETHNICITY_KEYS[eth_b])
        eth_vars.append(_variant(_ETH_VARIANTS[eth_b], eth_var_b))
    return Persona(
        alias=vocabulary.ALIASES[alias],
        age=age,
        ethnicities=tuple(eth_keys),
        ethnicity_variants=tuple(eth_vars),
        hair=fields.HAIR_KEYS[hair],
        hair_variant=_variant(_HAIR_VARIANTS[hair], hair_var),
        eye=fields.EYE_KEYS[eye],
        eye_variant=_variant(_EYE_VARIANTS[eye], eye_var),
        skin=fields.SKIN_KEYS[skin],
        skin_variant=_variant(_SKIN_VARIANTS[skin], skin_var),
        height_in=height_in,
        weight_lb=weight_lb,
        bust=bust,
        cup=cup,
        waist=waist,
        hips=hips,
    )


def _local_part(fmt: int, alias: str, word: str, num: int) -> str:
    a = alias.lower()
    return (
        f"{a}{num}",
        f"{a}.{word}",
        f"{word}{a}",
        f"{a}_{word}{num % 100}",
        f"{word}.{a}{num % 10}",
    )[fmt % 5]


_HABIT_NAMES_CACHE: dict[int, tuple[str, ...]] = {}

_PERMILLE = (
    "casing_rate", "end_mark_rate", "emoji_rate", "habit_rate", "p_age", "p_eth", "p_hair",
    "p_eye", "p_skin", "p_height", "p_weight", "p_meas", "p_rates", "p_restr", "p_name",
    "p_city", "p_greeting", "p_signoff", "p_extra", "p_special", "p_email", "p_social", "p_url",
    "p_duo", "phone_style_rate", "phone_in_title",
)  # fmt: skip
_PLAIN = (
    "sep", "appearance", "age_form", "height_form", "weight_form", "meas_form", "hair_form",
    "eye_form", "skin_form", "eth_form", "qv", "hh", "h", "social_label", "social_join",
)  # fmt: skip
_GET_PERMILLE = itemgetter(*[_C[n] for n in _PERMILLE])
_GET_PLAIN = itemgetter(*[_C[n] for n in _PLAIN])


def _slice(row: tuple[int, ...] | list[int], name: str, count: int) -> list[int]:
    start = _C[name]
    return list(row[start : start + count])


def signatures_of(row: tuple[int, ...] | list[int]) -> tuple[str, ...]:
    """A vendor's own phrasings ("let me be your sweetest escape tonight")."""
    V = vocabulary
    n_sig = row[_C["n_sig"]]
    out = []
    for op, adj, noun, close in zip(
        _slice(row, "sig_op", n_sig),
        _slice(row, "sig_adj", n_sig),
        _slice(row, "sig_noun", n_sig),
        _slice(row, "sig_close", n_sig),
        strict=True,
    ):
        closer = V.SIGNATURE_CLOSERS[close]
        text = f"{V.SIGNATURE_OPENERS[op]} {V.SIGNATURE_ADJECTIVES[adj]} {V.SIGNATURE_NOUNS[noun]}"
        out.append(f"{text} {closer}" if closer else text)
    return tuple(out)


def contacts_of(
    row: tuple[int, ...] | list[int], alias: str
) -> tuple[str | None, tuple[str, str] | None, tuple[str, str] | None]:
    """A vendor's email address, (platform, handle) and (host, path), each or None."""
    C = _C
    email = None
    if row[C["has_email"]]:
        word = vocabulary.HANDLE_WORDS[row[C["email_word"]]]
        local = _local_part(row[C["email_fmt"]], alias, word, row[C["email_num"]])
        email = f"{local}@{lexicon.FICTIONAL_EMAIL_DOMAINS[row[C['email_domain']] % 3]}"
    social = None
    if row[C["has_social"]]:
        platform = identifiers.SOCIAL_PLATFORM_KEYS[row[C["social_platform"]]]
        word = vocabulary.HANDLE_WORDS[row[C["social_word"]]]
        social = (
            platform,
            _local_part(row[C["social_fmt"]] + 1, alias, word, row[C["social_num"]]),
        )
    url = None
    if row[C["has_url"]]:
        host = lexicon.FICTIONAL_URL_DOMAINS[row[C["url_host"]] % 3]
        path = (
            f"{alias.lower()}{row[C['email_num']]}",
            f"ads/{row[C['social_num']] * 37 + 1000}",
            f"~{alias.lower()}",
        )[row[C["url_fmt"]] % 3]
        url = (host, path)
    return email, social, url


def unique_email(row: tuple[int, ...] | list[int], alias: str, index: int) -> str:
    """An address only vendor ``index`` has: ``alias.word.index@example.*`` (two dots in
    the local part, a form :func:`contacts_of` never makes)."""
    word = vocabulary.HANDLE_WORDS[row[_C["email_word"]]]
    domain = lexicon.FICTIONAL_EMAIL_DOMAINS[row[_C["email_domain"]] % 3]
    return f"{alias.lower()}.{word}.{index}@{domain}"


def unique_emails(
    table: VendorTable, needs_email: np.ndarray, block: int = 20_000
) -> dict[int, str]:
    """Email overrides that give every vendor an address of its own.

    A vendor whose drawn address an earlier vendor already has, and a vendor flagged in
    ``needs_email`` that has none, get :func:`unique_email`. Used only at populations beyond
    the fictional phone numbers, where phone-less vendors show an email instead and drawn
    addresses start to repeat (smaller populations keep their drawn addresses unchanged).
    """
    seen: set[str] = set()
    out: dict[int, str] = {}
    needs = np.asarray(needs_email, dtype=bool)
    for b0 in range(0, len(table), block):
        rows = table.genomes[b0 : b0 + block].tolist()
        for i, row in enumerate(rows, start=b0):
            alias = vocabulary.ALIASES[row[_C["persona_alias"]]]
            email, _, _ = contacts_of(row, alias)
            if email is not None and email not in seen:
                seen.add(email)
            elif email is not None or needs[i]:
                out[i] = unique_email(row, alias, i)
    return out


def aliases_of(row: tuple[int, ...] | list[int]) -> list[str]:
    start = _C["persona_alias"]
    return list(
        dict.fromkeys(vocabulary.ALIASES[i] for i in row[start : start + row[_C["n_personas"]]])
    )


def habits_of(mask: int) -> tuple[str, ...]:
    habits = _HABIT_NAMES_CACHE.get(mask)
    if habits is None:
        habits = tuple(n for b, n in enumerate(vocabulary.SPELLING_HABIT_NAMES) if mask >> b & 1)
        _HABIT_NAMES_CACHE[mask] = habits
    return habits


def decode_profile(
    index: int, row: tuple[int, ...] | list[int], id_width: int = 5
) -> VendorProfile:
    """Decode one genome row into a :class:`VendorProfile` (deterministic look-ups only)."""
    C = _C
    V = vocabulary
    personas = tuple(_persona(row, k) for k in range(row[C["n_personas"]]))
    alias = personas[0].alias
    stock = tuple([V.STOCK_PHRASES[i] for i in _slice(row, "stock", row[C["n_stock"]])])
    titles = tuple([V.TITLE_PHRASES[i] for i in _slice(row, "title", row[C["n_title"]])])
    templates = tuple(dict.fromkeys(_slice(row, "template", row[C["n_templates"]])))
    emojis = tuple([V.EMOJIS[i] for i in _slice(row, "emoji", row[C["n_emoji"]])])
    mask = row[C["habits"]]
    habits = habits_of(mask)
    rmask = row[C["restrictions"]]
    restrictions: tuple[tuple[str, str], ...] = ()
    if rmask:
        rvar = row[C["restriction_var"]]
        restrictions = tuple(
            (key, _RESTRICTION_VARIANTS[b][(rvar >> b) % len(_RESTRICTION_VARIANTS[b])])
            for b, key in enumerate(fields.RESTRICTION_KEYS)
            if rmask >> b & 1
        )
    email, social, url = contacts_of(row, alias)
    pm = dict(zip(_PERMILLE, [v / 1000.0 for v in _GET_PERMILLE(row)], strict=True))
    if not emojis:
        pm["emoji_rate"] = 0.0
    if not habits:
        pm["habit_rate"] = 0.0
    plain = dict(zip(_PLAIN, _GET_PLAIN(row), strict=True))

    def two(name: str, table: tuple[str, ...]) -> tuple[str, str]:
        i = C[name]
        return table[row[i]], table[row[i + 1]]

    return VendorProfile(
        index=index,
        vendor_id=VendorTable.vendor_id(index, id_width),
        personas=personas,
        stock=stock,
        signatures=signatures_of(row),
        titles=titles,
        templates=templates,
        emojis=emojis,
        end_marks=two("end_mark", V.END_MARKS),
        habits=habits,
        habit_mask=mask,
        spelling=spelling_map(mask),
        restrictions=restrictions,
        email=email,
        social=social,
        url=url,
        casing=V.CASINGS[row[C["casing"]]],
        title_casing=V.CASINGS[row[C["title_casing"]]],
        title_decor=V.TITLE_DECORATIONS[row[C["title_decor"]]],
        bullet=V.BULLETS[row[C["bullet"]]],
        greetings=two("greeting", V.GREETINGS),
        intros=two("intro", V.INTRO_TEMPLATES),
        signoffs=two("signoff", V.SIGNOFFS),
        leads=two("lead", V.CONTACT_LEADS),
        mark=V.CONTACT_MARKS[row[C["mark"]]],
        rate_label=V.RATE_LABELS[row[C["rate_label"]]],
        rate_forms=(row[C["rate_form"]], row[C["rate_form"] + 1]),
        phone_styles=two("phone_style", identifiers.PHONE_STYLES),
        email_styles=two("email_style", identifiers.EMAIL_STYLES),
        email_lead=identifiers.EMAIL_LEADS[row[C["email_lead"]]],
        url_style=identifiers.URL_STYLES[row[C["url_style"]]],
        url_lead=identifiers.URL_LEADS[row[C["url_lead"]]],
        **pm,
        **plain,
    )
