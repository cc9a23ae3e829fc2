"""Render one ad's text from its vendor's style, and the truth of what the text contains.

An ad is ``title + " [SEP] " + description``. The description is a sequence of sections
(greeting, intro, body, appearance, rates, restrictions, contact, signoff) in the order of
one of the vendor's templates and in one of three layouts (lines, paragraph, bullets).
Stock phrases, spelling habits, casing, punctuation and emoji give each vendor a style
that varies from ad to ad and overlaps with other vendors. Field values enter the text
only through :mod:`.fields` and :mod:`.identifiers`, which return their canonical form;
those forms are collected into the per-ad truth (:data:`vendorlink.lexicon.FIELD_NAMES`),
sorted and de-duplicated.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from vendorlink import lexicon

from . import fields, identifiers, vocabulary
from .vendors import Persona, VendorProfile

SEP = " [SEP] "

SECTION_ORDERS: tuple[tuple[str, ...], ...] = (
    ("greeting", "intro", "body", "appearance", "rates", "restrictions", "contact", "signoff"),
    ("intro", "appearance", "body", "contact", "rates", "signoff"),
    ("body", "appearance", "rates", "restrictions", "contact"),
    ("greeting", "body", "intro", "appearance", "contact", "rates", "restrictions", "signoff"),
    ("appearance", "body", "rates", "contact", "restrictions", "signoff"),
    ("intro", "body", "rates", "restrictions", "appearance", "contact", "signoff"),
    ("greeting", "intro", "appearance", "rates", "contact", "body", "signoff"),
    ("body", "intro", "contact", "appearance", "rates"),
)
SECTION_NAMES: tuple[str, ...] = SECTION_ORDERS[0]
LAYOUTS: tuple[str, ...] = ("lines", "paragraph", "bullets")
APPEARANCE_STYLES: tuple[str, ...] = ("list", "labelled", "prose")
_RESTRICTION_JOINS: tuple[str, ...] = (" / ", ", ", " ~ ", " | ", ". ")
_PHONE_JOINS: tuple[str, ...] = (" or ", " | ", "\nalt: ", " & ", "\nor ")
_LIST_JOINS: tuple[str, ...] = (", ", " | ", " / ", " - ", "\n")
_TITLE_JOINS: tuple[str, ...] = (" ", " ~ ", " - ", " | ")
_PROSE_NOUNS: tuple[str, ...] = ("cutie", "beauty", "sweetheart", "lady", "doll")
_PROSE_HEIGHT: tuple[str, ...] = ("standing", "I am", "height")
_TITLE_PHONE_STYLES: tuple[str, ...] = ("dashes", "dots", "plain", "paren")
_TRUTH_FIELDS = lexicon.FIELD_NAMES
_N_STOCK = len(vocabulary.STOCK_PHRASES)
_DIGIT_START = frozenset("0123456789$")
_ETH_VARIANTS = {k: fields.variants(lexicon.ETHNICITY, k) for k in fields.ETHNICITY_KEYS}
_HAIR_VARIANTS = {k: fields.variants(lexicon.HAIR_COLOUR, k) for k in fields.HAIR_KEYS}
_RESTRICTION_VARIANTS = {
    k: fields.variants(lexicon.RESTRICTIONS, k) for k in fields.RESTRICTION_KEYS
}


def template_parts(template: int) -> tuple[tuple[str, ...], str]:
    """Section order and layout of a template id (0..23)."""
    n = len(SECTION_ORDERS)
    return SECTION_ORDERS[template % n], LAYOUTS[template // n % 3]


# Each template's order plus the sections it does not place (a greeting or intro first, the
# rest at the end), so that everything in the truth is in the text.
_OPENING = ("greeting", "intro")
_FULL_TEMPLATES: tuple[tuple[tuple[str, ...], str], ...] = tuple(
    (
        (
            *[n for n in _OPENING if n not in order],
            *order,
            *[n for n in SECTION_NAMES if n not in order and n not in _OPENING],
        ),
        layout,
    )
    for order, layout in (template_parts(t) for t in range(len(SECTION_ORDERS) * len(LAYOUTS)))
)


@dataclass(slots=True)
class RenderedAd:
    """An ad's text and the canonical field values it contains (sorted, de-duplicated).

    ``truth`` maps field names to values; fields the ad does not contain may be missing.
    """

    text: str
    truth: dict[str, list]


def empty_truth() -> dict[str, list]:
    """Truth of an ad with no text: every field empty."""
    return {name: [] for name in _TRUTH_FIELDS}


def _capwords(text: str) -> str:
    return " ".join([w[:1].upper() + w[1:] for w in text.split(" ")])


# Styled (spelled and cased) phrases are pure functions of (phrase, casing, habits): cached.
_STYLE_CACHE: dict[tuple[str, str, int], str] = {}
_STYLE_CACHE_MAX = 100_000


def _style(
    text: str, casing: str, spelling: dict[str, str] | None, mask: int, rng: random.Random
) -> str:
    if casing == "shouty_words":
        if spelling:
            text = " ".join([spelling.get(w, w) for w in text.split(" ")])
        return " ".join(
            [w.upper() if len(w) > 3 and rng.random() < 0.35 else w for w in text.split(" ")]
        )
    key = (text, casing, mask if spelling else 0)
    found = _STYLE_CACHE.get(key)
    if found is not None:
        return found
    out = text
    if spelling:
        out = " ".join([spelling.get(w, w) for w in out.split(" ")])
    if casing == "upper":
        out = out.upper()
    elif casing == "lower":
        out = out.lower()
    elif casing == "title":
        out = _capwords(out)
    else:  # sentence, upper_title
        out = out[:1].upper() + out[1:]
    if len(_STYLE_CACHE) >= _STYLE_CACHE_MAX:
        _STYLE_CACHE.clear()
    _STYLE_CACHE[key] = out
    return out


class _Writer:
    """Per-ad styling state (casing, spelling, punctuation, emoji)."""

    __slots__ = (
        "casing",
        "emoji_rate",
        "emojis",
        "end_rate",
        "mark0",
        "mark1",
        "mask",
        "rng",
        "spelling",
    )

    def __init__(self, p: VendorProfile, rng: random.Random) -> None:
        self.rng = rng
        self.casing = p.casing if rng.random() < p.casing_rate else "sentence"
        use_habits = p.habit_rate > 0.0 and rng.random() < p.habit_rate
        self.spelling = p.spelling if use_habits else None
        self.mask = p.habit_mask if use_habits else 0
        self.mark0, self.mark1 = p.end_marks
        self.end_rate = p.end_mark_rate
        self.emojis = p.emojis
        self.emoji_rate = p.emoji_rate

    def style(self, text: str) -> str:
        return _style(text, self.casing, self.spelling, self.mask, self.rng)

    def case(self, text: str) -> str:
        """Casing only (for text that carries field values: no respelling)."""
        return _style(text, self.casing, None, 0, self.rng)

    def finish(self, text: str) -> str:
        """End a phrase with the vendor's punctuation and, sometimes, an emoji."""
        rnd = self.rng.random
        if rnd() < self.end_rate:
            text += self.mark0 if rnd() < 0.75 else self.mark1
        if self.emoji_rate and rnd() < self.emoji_rate:
            emojis = self.emojis
            text += " " + emojis[int(rnd() * len(emojis))]
        return text

    def with_name(self, template: str, *names: str) -> str:
        """Style a template holding ``{name}`` / ``{name2}`` and insert the names after."""
        text = self.style(template.replace("{name2}", "\x01").replace("{name}", "\x00"))
        if self.casing == "upper":
            names = tuple(n.upper() for n in names)
        elif self.casing == "lower":
            names = tuple(n.lower() for n in names)
        text = text.replace("\x00", names[0])
        return text.replace("\x01", names[1]) if len(names) > 1 else text


def _body(phrases: list[str], w: _Writer) -> list[str]:
    """Style and finish the body phrases (the hot loop of rendering, kept inline)."""
    casing = w.casing
    if casing == "shouty_words":
        return [w.finish(w.style(b)) for b in phrases]
    cache_get = _STYLE_CACHE.get
    mask = w.mask
    spelling = w.spelling
    rng = w.rng
    rnd = rng.random
    end_rate = w.end_rate
    mark0, mark1 = w.mark0, w.mark1
    emoji_rate = w.emoji_rate
    emojis = w.emojis
    n_emojis = len(emojis)
    out = []
    for b in phrases:
        text = cache_get((b, casing, mask))
        if text is None:
            text = _style(b, casing, spelling, mask, rng)
        if rnd() < end_rate:
            text += mark0 if rnd() < 0.75 else mark1
        if emoji_rate and rnd() < emoji_rate:
            text += " " + emojis[int(rnd() * n_emojis)]
        out.append(text)
    return out


def _sample(pool: tuple[str, ...], k: int, rnd: Callable[[], float]) -> list[str]:
    """``k`` distinct items of ``pool`` in random order (a partial Fisher-Yates shuffle;
    ``random.sample`` pays for an ABC check per call)."""
    items = list(pool)
    n = len(items)
    for i in range(k):
        j = i + int(rnd() * (n - i))
        items[i], items[j] = items[j], items[i]
    return items[:k]


def _pick(rng: random.Random, preferred: int, n: int, keep: float = 0.8) -> int:
    return preferred if rng.random() < keep else int(rng.random() * n)


def _appearance(
    p: VendorProfile, persona: Persona, w: _Writer, truth: dict[str, list]
) -> str | None:
    rng = w.rng
    rnd = rng.random
    style = APPEARANCE_STYLES[p.appearance]
    labelled = style == "labelled"
    prose = style == "prose"
    items: list[str] = []
    head: list[str] = []
    tail: list[str] = []
    if rnd() < p.p_age:
        age = persona.age + (1 if rnd() < 0.08 and persona.age < 45 else 0)
        truth["ages"].append(age)
        if prose:
            head.append(fields.age_text(age, p.age_form, prose=True))
        elif labelled:
            items.append(f"{fields.LABELS['age'][p.age_form % 2]}{age}")
        else:
            items.append(fields.age_text(age, _pick(rng, p.age_form, len(fields.AGE_FORMS))))
    if rnd() < p.p_eth:
        truth["ethnicities"].extend(persona.ethnicities)
        variants = tuple(
            v if rnd() < 0.85 else rng.choice(_ETH_VARIANTS[k])
            for k, v in zip(persona.ethnicities, persona.ethnicity_variants, strict=True)
        )
        form = 0 if prose else _pick(rng, p.eth_form, len(fields.ETHNICITY_FORMS))
        (head if prose else items).append(fields.ethnicity_text(variants, form))
    colours: list[str] = []
    if rnd() < p.p_hair:
        truth["hair_colours"].append(persona.hair)
        variant = persona.hair_variant if rnd() < 0.85 else rng.choice(_HAIR_VARIANTS[persona.hair])
        form = 0 if prose else _pick(rng, p.hair_form, len(fields.HAIR_FORMS))
        colours.append(fields.hair_text(variant, form))
    if rnd() < p.p_eye:
        truth["eye_colours"].append(persona.eye)
        form = 0 if prose else _pick(rng, p.eye_form, len(fields.EYE_FORMS))
        colours.append(fields.eye_text(persona.eye_variant, form))
    if rnd() < p.p_skin:
        truth["skin_colours"].append(persona.skin)
        form = 0 if prose else _pick(rng, p.skin_form, len(fields.SKIN_FORMS))
        colours.append(fields.skin_text(persona.skin_variant, form))
    if prose and colours:
        joined = (
            colours[0] if len(colours) == 1 else ", ".join(colours[:-1]) + " and " + colours[-1]
        )
        tail.append("with " + joined)
    else:
        items.extend(colours)
    if rnd() < p.p_height:
        text, cm = fields.height_text(
            persona.height_in, _pick(rng, p.height_form, len(fields.HEIGHT_FORMS))
        )
        truth["heights_cm"].append(cm)
        if prose:
            tail.append(f"{rng.choice(_PROSE_HEIGHT)} {text}")
        elif labelled:
            items.append(fields.LABELS["height"][p.height_form % 3] + text)
        else:
            items.append(text)
    if rnd() < p.p_weight:
        text, kg = fields.weight_text(
            persona.weight_lb, _pick(rng, p.weight_form, len(fields.WEIGHT_FORMS))
        )
        truth["weights_kg"].append(kg)
        if labelled:
            items.append(fields.LABELS["weight"][p.weight_form % 2] + text)
        else:
            (tail if prose else items).append(text)
    if rnd() < p.p_meas:
        text, canonical = fields.measurements_text(
            persona.bust, persona.cup, persona.waist, persona.hips, p.meas_form
        )
        truth["measurements"].append(canonical)
        if prose or labelled:
            items.append(fields.LABELS["measurements"][p.meas_form % 3] + text)
        else:
            items.append(text)
    if prose and (head or tail):
        noun = _PROSE_NOUNS[int(rnd() * len(_PROSE_NOUNS))]
        sentence = ("I'm a " + " ".join(head) + " " + noun) if head else f"I'm a {noun}"
        if tail:
            sentence += " " + ", ".join(tail)
        items.insert(0, w.finish(w.case(sentence)))
        return "\n".join(items)
    if not items:
        return None
    if prose:
        return "\n".join(items)
    return w.finish(w.case(_LIST_JOINS[p.sep % len(_LIST_JOINS)].join(items)))


def _rates(p: VendorProfile, w: _Writer, truth: dict[str, list]) -> str:
    rnd = w.rng.random
    form = p.rate_forms[0] if rnd() < 0.75 else p.rate_forms[1]
    text, values = fields.rates_text(p.qv, p.hh, p.h, form)
    truth["rates"].extend(values)
    if rnd() < p.p_special:
        amount = p.hh - (10, 20, 30)[int(rnd() * 3)]
        special, value = fields.special_text(amount, int(rnd() * 3))
        truth["rates"].append(value)
        text = f"{text} {('~', '|', '!!')[int(rnd() * 3)]} {special}"
    if rnd() < 0.5:
        text = p.rate_label + " " + text
    return w.finish(w.case(text))


def _restrictions(p: VendorProfile, w: _Writer, truth: dict[str, list]) -> str:
    rng = w.rng
    chosen = [r for r in p.restrictions if rng.random() < 0.7] or [p.restrictions[0]]
    parts = []
    for key, variant in chosen:
        if rng.random() > 0.85:
            variant = rng.choice(_RESTRICTION_VARIANTS[key])
        truth["restrictions"].append(key)
        parts.append(variant)
    return w.finish(w.case(_RESTRICTION_JOINS[p.sep % len(_RESTRICTION_JOINS)].join(parts)))


def _phone_style(p: VendorProfile, rng: random.Random) -> str:
    u = rng.random()
    if u < p.phone_style_rate:
        return p.phone_styles[0]
    if u < 0.97:
        return p.phone_styles[1]
    return identifiers.PHONE_STYLES[int(rng.random() * len(identifiers.PHONE_STYLES))]


def _contact(p: VendorProfile, phones: list[str], w: _Writer, truth: dict[str, list]) -> list[str]:
    rng = w.rng
    rnd = rng.random
    lines: list[str] = []
    if phones:
        lead = p.leads[0] if rnd() < 0.8 else p.leads[1]
        rendered = [identifiers.render_phone(e164, _phone_style(p, rng), rng) for e164 in phones]
        truth["phones"].extend(phones)
        join = _PHONE_JOINS[int(rnd() * len(_PHONE_JOINS))]
        lines.append(w.style(lead) + p.mark + join.join(rendered))
    if p.email is not None and rnd() < p.p_email:
        style = p.email_styles[0] if rnd() < 0.8 else p.email_styles[1]
        lines.append(p.email_lead + identifiers.render_email(p.email, style))
        truth["emails"].append(p.email)
    if p.social is not None and rnd() < p.p_social:
        platform, handle = p.social
        lines.append(identifiers.render_social(platform, handle, p.social_label, p.social_join))
        truth["social_handles"].append(f"{platform}:{handle}")
    if p.url is not None and rnd() < p.p_url:
        host, path = p.url
        lines.append(p.url_lead + identifiers.render_url(host, path, p.url_style))
        truth["urls"].append(identifiers.canonical_url(host, path))
    return lines


def _title(
    p: VendorProfile,
    persona: Persona,
    city: str,
    phones: list[str],
    w: _Writer,
    truth: dict[str, list],
) -> str:
    rng = w.rng
    rnd = rng.random
    titles = p.titles
    parts = [titles[int(rnd() * len(titles))]]
    if rnd() < 0.4:
        extra = titles[int(rnd() * len(titles))]
        if extra != parts[0]:
            parts.append(extra)
    title = _TITLE_JOINS[int(rnd() * 4)].join(parts)
    if w.spelling:
        title = " ".join([w.spelling.get(x, x) for x in title.split(" ")])
    casing = p.title_casing
    if casing == "upper":
        title = title.upper()
    elif casing == "lower":
        title = title.lower()
    elif casing == "title":
        title = _capwords(title)
    else:
        title = title[:1].upper() + title[1:]
    if rnd() < p.p_name * 0.5:
        alias = persona.alias.upper() if casing == "upper" else persona.alias
        title = f"{alias} {title}" if rnd() < 0.5 else f"{title} {alias}"
        truth["names"].append(persona.alias)
    if rnd() < p.p_city * 0.5:
        title += f" {('in', '@', '-')[int(rnd() * 3)]} {city}"
    if w.emojis and rnd() < min(1.0, 2 * w.emoji_rate):
        e = w.emojis[int(rnd() * len(w.emojis))]
        title = f"{e} {title} {e}" if rnd() < 0.5 else f"{title} {e}"
    title = p.title_decor.replace("{t}", title)
    if phones and rnd() < p.phone_in_title:
        style = _TITLE_PHONE_STYLES[int(rnd() * 4)]
        title += " " + identifiers.render_phone(phones[0], style, rng)
        truth["phones"].append(phones[0])
    return title


def render_ad(p: VendorProfile, city: str, phones: list[str], rng: random.Random) -> RenderedAd:
    """Render one ad of vendor ``p`` posted in ``city`` showing ``phones`` (E.164)."""
    # Only the fields the ad contains get a key; readers use truth.get(name, []).
    truth: dict[str, list] = defaultdict(list)
    rnd = rng.random
    w = _Writer(p, rng)
    personas = p.personas
    persona = personas[0] if len(personas) == 1 or rnd() < 0.65 else rng.choice(personas)
    second: Persona | None = None
    if len(personas) > 1 and rnd() < p.p_duo:
        others = [q for q in personas if q.alias != persona.alias]
        second = rng.choice(others) if others else None
    names = truth["names"]
    title = _title(p, persona, city, phones, w, truth)

    sections: dict[str, list[str]] = {}
    if rnd() < p.p_greeting:
        sections["greeting"] = [w.finish(w.style(p.greetings[int(rnd() * 2)]))]
    if rnd() < p.p_name:
        if second is not None:
            template = vocabulary.DUO_INTRO_TEMPLATES[
                int(rnd() * len(vocabulary.DUO_INTRO_TEMPLATES))
            ]
            text = w.with_name(template, persona.alias, second.alias)
            names.append(second.alias)
        else:
            text = w.with_name(p.intros[0] if rnd() < 0.8 else p.intros[1], persona.alias)
        names.append(persona.alias)
        sections["intro"] = [w.finish(text)]
    # Body: a random subset of the vendor's phrases, its signature phrasings, a few extras.
    stock = p.stock
    body = _sample(stock, min(len(stock), 3 + int(rnd() * 6)), rnd)
    for sig in p.signatures:
        if rnd() < 0.7:
            body.insert(int(rnd() * (len(body) + 1)), sig)
    extra_p = p.p_extra
    for _ in range(3):
        if rnd() < extra_p:
            body.append(vocabulary.STOCK_PHRASES[int(rnd() * _N_STOCK)])
    style = w.style
    body_out = _body(body, w)
    if rnd() < p.p_city:
        mention = vocabulary.CITY_MENTIONS[int(rnd() * len(vocabulary.CITY_MENTIONS))]
        text = style(mention.replace("{city}", "\x00")).replace("\x00", city)
        body_out.insert(int(rnd() * (len(body_out) + 1)), w.finish(text))
    sections["body"] = body_out
    appearance = _appearance(p, persona, w, truth)
    if appearance:
        sections["appearance"] = [appearance]
    if rnd() < p.p_rates:
        sections["rates"] = [_rates(p, w, truth)]
    if p.restrictions and rnd() < p.p_restr:
        sections["restrictions"] = [_restrictions(p, w, truth)]
    contact = _contact(p, phones, w, truth)
    if contact:
        sections["contact"] = contact
    if rnd() < p.p_signoff:
        template = p.signoffs[int(rnd() * 2)]
        if "{name}" in template:
            names.append(persona.alias)
        sections["signoff"] = [w.with_name(template, persona.alias)]

    # Layout: the template's section order; sections it does not place go at the end.
    order, layout = _FULL_TEMPLATES[p.templates[int(rnd() * len(p.templates))]]
    sep = vocabulary.SEPARATORS[p.sep]
    joiner = sep if layout == "paragraph" else "\n"
    pieces: list[str] = []
    after_contact = False
    for name in order:
        parts = sections.get(name)
        if not parts:
            continue
        if layout == "bullets" and (
            name == "body" or name == "appearance" or name == "restrictions"
        ):
            bullet = p.bullet
            block = "\n".join([bullet + part for part in parts])
        elif layout == "paragraph":
            block = sep.join(parts)
        elif name == "body":
            block = " ".join(parts)
        else:
            block = "\n".join(parts)
        if pieces:
            # A number never runs into the next section: a newline, and a word first.
            if after_contact:
                pieces.append("\n")
                if block[0] in _DIGIT_START:
                    block = p.rate_label + " " + block
            else:
                pieces.append(joiner)
        pieces.append(block)
        after_contact = name == "contact"
    for key, values in truth.items():
        if len(values) > 1:
            truth[key] = sorted(set(values))
    return RenderedAd(title + SEP + "".join(pieces), truth)
