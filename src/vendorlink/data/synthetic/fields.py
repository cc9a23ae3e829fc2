"""Surface forms of the descriptive ad fields, each returned with its canonical truth.

Every renderer returns ``(text, canonical)`` where ``canonical`` is exactly the value (or
values) a perfect extractor returns for ``text`` in the formats of
:data:`vendorlink.lexicon.FIELD_NAMES`: ages in years, heights in cm
(``round(inches * 2.54)``), weights in kg (``round(lbs * 0.45359237)``), measurements as
``"34DD-26-36"``, rates in US dollars, colours / ethnicities / restrictions as lexicon keys.
"""

from __future__ import annotations

from vendorlink import lexicon

# The generator never writes these lexicon entries (a slur, and explicit wording); extractors
# still map them, the benchmark just does not test them.
EXCLUDED_VARIANTS: frozenset[str] = frozenset({"mulatto"})
EXCLUDED_RESTRICTIONS: frozenset[str] = frozenset({"no bareback"})

ETHNICITY_KEYS: tuple[str, ...] = tuple(lexicon.ETHNICITY)
HAIR_KEYS: tuple[str, ...] = tuple(lexicon.HAIR_COLOUR)
EYE_KEYS: tuple[str, ...] = tuple(lexicon.EYE_COLOUR)
SKIN_KEYS: tuple[str, ...] = tuple(lexicon.SKIN_COLOUR)
RESTRICTION_KEYS: tuple[str, ...] = tuple(
    k for k in lexicon.RESTRICTIONS if k not in EXCLUDED_RESTRICTIONS
)


def variants(table: dict[str, tuple[str, ...]], key: str) -> tuple[str, ...]:
    """The canonical key and the surface variants the generator writes, canonical first."""
    out = [key]
    out.extend(v for v in table[key] if v != key and v not in EXCLUDED_VARIANTS)
    return tuple(out)


def cm_from_inches(inches: int) -> int:
    """Height in cm as the lexicon defines it."""
    return round(inches * 2.54)


def kg_from_lbs(lbs: int) -> int:
    """Weight in kg as the lexicon defines it."""
    return round(lbs * 0.45359237)


# --- ages -------------------------------------------------------------------------------

AGE_FORMS: tuple[str, ...] = (
    "{a} yrs",
    "{a} years old",
    "age {a}",
    "{a}yo",
    "{a} y/o",
    "{a} years young",
    "age: {a}",
    "{a} yrs old",
)
AGE_PROSE_FORMS: tuple[str, ...] = ("{a} year old", "{a} yr old", "{a}yo", "{a} y/o")


def age_text(age: int, form: int, prose: bool = False) -> str:
    forms = AGE_PROSE_FORMS if prose else AGE_FORMS
    return forms[form % len(forms)].format(a=age)


# --- height -----------------------------------------------------------------------------

HEIGHT_FORMS: tuple[str, ...] = (
    "{f}'{i}\"",
    "{f}'{i}",
    "{f} ft {i}",
    "{f}ft{i}in",
    "{f} foot {i}",
    "{cm}cm",
    "{cm} cm",
    "{f}\u2019{i}\u201d",
    "{f}ft {i}in",
)


def height_text(inches: int, form: int) -> tuple[str, int]:
    """A height and its truth in cm (cm forms write the converted value, so both agree)."""
    cm = cm_from_inches(inches)
    text = HEIGHT_FORMS[form % len(HEIGHT_FORMS)].format(f=inches // 12, i=inches % 12, cm=cm)
    return text, cm


# --- weight -----------------------------------------------------------------------------

WEIGHT_FORMS: tuple[str, ...] = (
    "{lb} lbs",
    "{lb}lbs",
    "{lb} pounds",
    "{lb} lb",
    "{kg}kg",
    "{kg} kg",
)


def weight_text(lbs: int, form: int) -> tuple[str, int]:
    kg = kg_from_lbs(lbs)
    return WEIGHT_FORMS[form % len(WEIGHT_FORMS)].format(lb=lbs, kg=kg), kg


# --- measurements -----------------------------------------------------------------------

CUPS: tuple[str, ...] = ("", "A", "B", "C", "D", "DD", "DDD")
MEASUREMENT_FORMS: tuple[str, ...] = ("{b}{c}-{w}-{h}", "{b}{cl}-{w}-{h}", "{b}{c}/{w}/{h}")


def measurements_text(bust: int, cup: int, waist: int, hips: int, form: int) -> tuple[str, str]:
    c = CUPS[cup % len(CUPS)]
    text = MEASUREMENT_FORMS[form % len(MEASUREMENT_FORMS)].format(
        b=bust, c=c, cl=c.lower(), w=waist, h=hips
    )
    return text, f"{bust}{c}-{waist}-{hips}"


# --- rates ------------------------------------------------------------------------------

# Each form names which of (qv, hh, h) it writes.
RATE_FORMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("{hh} hh / {h} h", ("hh", "h")),
    ("${hh} hh ${h} hr", ("hh", "h")),
    ("{hh} roses hh, {h} roses hr", ("hh", "h")),
    ("${h}", ("h",)),
    ("{h} roses", ("h",)),
    ("hh {hh} | h {h}", ("hh", "h")),
    ("half hour ${hh}, hour ${h}", ("hh", "h")),
    ("{hh}/hh {h}/hr", ("hh", "h")),
    ("{qv} qv / {hh} hh / {h} h", ("qv", "hh", "h")),
    ("${h} per hour", ("h",)),
    ("{hh}hh {h}hr", ("hh", "h")),
)
SPECIAL_FORMS: tuple[str, ...] = ("special ${s} today", "${s} special", "{s} roses special")


def rates_text(qv: int, hh: int, h: int, form: int) -> tuple[str, list[int]]:
    template, used = RATE_FORMS[form % len(RATE_FORMS)]
    values = {"qv": qv, "hh": hh, "h": h}
    return template.format(**values), [values[k] for k in used]


def special_text(amount: int, form: int) -> tuple[str, int]:
    return SPECIAL_FORMS[form % len(SPECIAL_FORMS)].format(s=amount), amount


# --- colours and ethnicity --------------------------------------------------------------

HAIR_FORMS: tuple[str, ...] = ("{v} hair", "{v}-haired", "hair: {v}", "{v} locks")
EYE_FORMS: tuple[str, ...] = ("{v} eyes", "{v}-eyed", "eyes: {v}")
SKIN_FORMS: tuple[str, ...] = ("{v} skin", "{v}-skinned", "skin: {v}", "{v} complexion")
ETHNICITY_FORMS: tuple[str, ...] = ("{v}", "{v} beauty", "{v} cutie", "{v} girl", "ethnicity: {v}")
# Variants that read as nouns on their own ("sexy redhead").
STANDALONE_HAIR: frozenset[str] = frozenset({"redhead"})


def _cap_words(text: str) -> str:
    return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))


def ethnicity_text(variant_words: tuple[str, ...], form: int) -> str:
    """One or two ethnicity variants ("Colombian", "half Korean half Italian")."""
    names = [_cap_words(v) for v in variant_words]
    if len(names) == 2:
        mixed_forms = ("half {a} half {b}", "{a} and {b}", "{a} & {b} mix")
        return mixed_forms[form % len(mixed_forms)].format(a=names[0], b=names[1])
    return ETHNICITY_FORMS[form % len(ETHNICITY_FORMS)].format(v=names[0])


def hair_text(variant: str, form: int) -> str:
    if variant in STANDALONE_HAIR:
        return variant
    return HAIR_FORMS[form % len(HAIR_FORMS)].format(v=variant)


def eye_text(variant: str, form: int) -> str:
    return EYE_FORMS[form % len(EYE_FORMS)].format(v=variant)


def skin_text(variant: str, form: int) -> str:
    return SKIN_FORMS[form % len(SKIN_FORMS)].format(v=variant)


# Labelled "stats" lines ("Height: 5'6"") used by the list style of appearance.
LABELS: dict[str, tuple[str, ...]] = {
    "age": ("Age: ", "age - "),
    "height": ("Height: ", "ht: ", "height - "),
    "weight": ("Weight: ", "wt: "),
    "measurements": ("Stats: ", "Measurements: ", "meas: "),
}
