"""Canonical vocabularies of the extracted ad fields.

These are the values a field may take after extraction and normalisation.
The synthetic generator writes its per-ad truth in these canonical forms and
the extractor maps every surface variant it recognises onto them, so that
precision and recall can be measured by plain set comparison.

Each mapping goes from canonical value to the surface variants (lower case)
that mean it. The canonical value is always one of its own variants.
"""

from __future__ import annotations

ETHNICITY: dict[str, tuple[str, ...]] = {
    "asian": ("asian", "japanese", "korean", "chinese", "thai", "filipina", "vietnamese"),
    "black": ("black", "ebony", "african american"),
    "white": ("white", "caucasian"),
    "latina": ("latina", "latin", "hispanic", "mexican", "colombian", "puerto rican", "cuban"),
    "indian": ("indian", "desi"),
    "middle eastern": ("middle eastern", "arab", "persian"),
    "mixed": ("mixed", "biracial", "mulatto", "exotic"),
    "european": ("european", "russian", "ukrainian", "polish", "italian"),
}

HAIR_COLOUR: dict[str, tuple[str, ...]] = {
    "blonde": ("blonde", "blond", "golden"),
    "brunette": ("brunette", "brown", "chestnut"),
    "black": ("black", "jet black", "raven"),
    "red": ("red", "redhead", "ginger", "auburn"),
    "pink": ("pink",),
    "purple": ("purple",),
    "grey": ("grey", "gray", "silver"),
}

EYE_COLOUR: dict[str, tuple[str, ...]] = {
    "blue": ("blue",),
    "green": ("green",),
    "brown": ("brown",),
    "hazel": ("hazel",),
    "grey": ("grey", "gray"),
    "black": ("black", "dark"),
}

SKIN_COLOUR: dict[str, tuple[str, ...]] = {
    "fair": ("fair", "pale", "porcelain"),
    "tan": ("tan", "tanned", "bronze"),
    "olive": ("olive",),
    "caramel": ("caramel",),
    "chocolate": ("chocolate", "mocha"),
    "light": ("light",),
    "dark": ("dark",),
}

# Restrictions on clientele or service, as advertised. Canonical values name the restriction.
RESTRICTIONS: dict[str, tuple[str, ...]] = {
    "no law enforcement": ("no law enforcement", "no le", "no cops", "no police"),
    "no rush": ("no rush", "no rushing"),
    "no games": ("no games", "no time wasters", "no timewasters"),
    "no blocked calls": ("no blocked calls", "no private numbers", "no blocked numbers"),
    "no explicit talk": ("no explicit talk", "no explicit texts", "no sex talk"),
    "outcall only": ("outcall only",),
    "incall only": ("incall only",),
    "mature clients only": ("mature clients only", "mature gentlemen only", "gentlemen only"),
    "screening required": ("screening required", "screening is required", "must screen"),
    "no bareback": ("no bareback", "no bbfs"),
}

# Spelled-out digits and the common misspellings used to dodge filters.
DIGIT_WORDS: dict[str, tuple[str, ...]] = {
    "0": ("zero", "oh", "zer0", "o"),
    "1": ("one", "won", "0ne"),
    "2": ("two", "too", "tw0"),
    "3": ("three", "thre", "tree"),
    "4": ("four", "for", "fore", "f0ur"),
    "5": ("five", "fiv", "f1ve"),
    "6": ("six", "sicks", "s1x"),
    "7": ("seven", "sevn", "sev3n"),
    "8": ("eight", "ate", "e1ght"),
    "9": ("nine", "nein", "n1ne"),
}

# Letters that stand for digits ("leet" style): letter -> digit.
LETTER_DIGITS: dict[str, str] = {
    "o": "0",
    "O": "0",
    "l": "1",
    "I": "1",
    "i": "1",
    "Z": "2",
    "E": "3",
    "A": "4",
    "S": "5",
    "s": "5",
    "G": "6",
    "T": "7",
    "B": "8",
    "g": "9",
}

# Keycap emoji digits ("5️⃣"): digit + U+FE0F + U+20E3. Some sources omit U+FE0F.
KEYCAP_SUFFIX = "\ufe0f\u20e3"
KEYCAP_DIGITS: dict[str, str] = {str(d): f"{d}{KEYCAP_SUFFIX}" for d in range(10)}
# Full-width digits (U+FF10..U+FF19) and circled digits (①..⑨, ⓪) also appear in ads.
FULLWIDTH_DIGITS: dict[str, str] = {str(d): chr(0xFF10 + d) for d in range(10)}
CIRCLED_DIGITS: dict[str, str] = {
    "0": "\u24ea",
    **{str(d): chr(0x2460 + d - 1) for d in range(1, 10)},
}

# Fictional-only identifiers: the generator draws phone numbers from the
# 555-0100..555-0199 block reserved for fiction, and emails at example.com/.org/.net.
FICTIONAL_PHONE_LINE_RANGE = range(100, 200)
FICTIONAL_EMAIL_DOMAINS = ("example.com", "example.org", "example.net")
FICTIONAL_URL_DOMAINS = ("example.com", "example.org", "example.net")

# Social platforms whose handles are extracted ("IG: @name", "snap: name").
SOCIAL_PLATFORMS: dict[str, tuple[str, ...]] = {
    "instagram": ("instagram", "insta", "ig"),
    "snapchat": ("snapchat", "snap", "sc"),
    "twitter": ("twitter", "x"),
    "kik": ("kik",),
    "telegram": ("telegram", "tg"),
    "whatsapp": ("whatsapp", "wa"),
    "onlyfans": ("onlyfans", "of"),
}

FIELD_NAMES: tuple[str, ...] = (
    "phones",
    "emails",
    "urls",
    "social_handles",
    "ages",
    "rates",
    "names",
    "ethnicities",
    "hair_colours",
    "eye_colours",
    "skin_colours",
    "heights_cm",
    "weights_kg",
    "measurements",
    "restrictions",
)
"""Field names of an extraction result and of the generator's per-ad truth.

Value formats (both sides):
- phones: E.164 strings, "+1NPA55501XX" for US numbers.
- emails: lower-case addresses.
- urls: lower-case, scheme and leading "www." removed, no trailing slash ("example.com/ads/123").
- social_handles: "platform:handle" with the canonical platform key of SOCIAL_PLATFORMS and
  the handle lower-case without "@" ("instagram:sweet.rose").
- ages: ints (years). rates: ints (US dollars, any duration). names: title-case strings.
- ethnicities, hair_colours, eye_colours, skin_colours, restrictions: canonical keys above.
- heights_cm: ints (5'6" -> 168). weights_kg: ints (120 lbs -> 54).
- measurements: "36-24-36" style strings, bust cup letters upper case ("34DD-26-36").
All list fields are sorted and de-duplicated.
"""


def variant_to_canonical(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Invert a canonical -> variants table into variant -> canonical."""
    out: dict[str, str] = {}
    for canonical, variants in table.items():
        for variant in (canonical, *variants):
            out.setdefault(variant.lower(), canonical)
    return out
