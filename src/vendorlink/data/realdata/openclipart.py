"""Openclipart (multimodal authorship): ~7.4k SVG clip-art drawings; the creator is the vendor.

Source: the Debian package ``openclipart-svg`` (``apt-get install -y openclipart-svg``),
which puts the drawings under ``/usr/share/openclipart/svg/<category>/…/*.svg`` (7,458
files, plus 663 symbolic links that list a drawing in a second category). Each SVG carries
RDF / Dublin Core metadata in ``<metadata>``: ``cc:Work`` with ``dc:title``,
``dc:description``, ``dc:subject/rdf:Bag/rdf:li`` (keywords) and
``dc:creator/cc:Agent/dc:title`` (the creator).

Mapping to the ingest format:

- ``VENDOR``: the creator, normalised (HTML entities and mis-decoded UTF-8 repaired, e-mail
  addresses and URLs removed, spelling variants that differ only in case, accents or
  punctuation merged; the manifest lists each merge). Items with no creator or an
  anonymous one (``Anonymous``, ``unknown``, ``Public Domain``) are rejected.
- ``TEXT``: cleaned title ``" [SEP] "`` cleaned description (see leak removal).
- ``IMAGES``: one PNG, rendered with cairosvg at ``image_size`` x ``image_size`` on white,
  aspect ratio kept, centred; named ``<16 hex digits>.png`` from a hash of the path.
- ``ID``: ``oc-`` + 16 hex digits of SHA-256(path relative to the SVG root): stable.
- ``KEYWORDS``: cleaned keywords, sorted, joined with ``|`` (for a multi-label task; not in
  ``TEXT``, so that task is not given its answers).
- ``CATEGORY``: the top-level folder (``animals``, ``computer``, …). Deeper folders are
  dropped: some name a creator's series (``lemon-theme``, ``flat-theme``).

Leak removal (DESIGN.md: file names and series titles leak the creator):

1. File names are never used: not in any column, not in image names (names often end in
   the creator's name: ``bat_orlando_karam_.svg``).
2. Creator names and handles are removed from titles, descriptions and keywords: the
   item's own creator (full name and each name part of 3+ letters) and every other
   creator's full name (co-authors, "based on X's work"), with any separator between the
   parts (``nicu_buculei``, ``Nicu.Buculei``); also e-mail addresses and URLs.
3. Attribution phrases are removed ("Clipart by", "Created by", "©", "copyright",
   "public domain", …), as are dates and time stamps ("(Wed Aug 25 23:29:46 2004)") and
   upload-script residue ("HASH(0x89f8058)").
4. Series numbering is normalised: underscores become spaces, stand-alone numbers go
   ("Woman Fashion 02" → "Woman Fashion") and so do trailing digits on words of 3+
   letters ("baloon1_04" → "baloon").
5. Series titles are dropped: a cleaned title (or description) that at least
   ``series_min_items`` items share, 90 % of them by one creator, names a series, not
   the drawing ("Part of the Flat Icon Collection", "Lemon SVG theme", "gramastar"); it
   is blanked for those items. A description equal to the title is blanked too.
6. Signatures in the drawings: ``<text>`` elements that contain a creator's name, an
   e-mail, a URL or an attribution phrase ("Created by Andrew Fitzsimon") are removed
   before rendering.
7. The same drawing filed twice (a copy, not a link) renders to identical pixels; only
   the first path is kept (``duplicate_image``), so a picture cannot be in both a
   training and a test split.

Rendering is cached per (SVG bytes, size, removed elements, renderer version) in a cache
folder, so an interrupted run resumes where it stopped; ``workers`` processes render in
parallel and the output does not depend on their number.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import unicodedata
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

import pandas as pd

from vendorlink.data.realdata.common import (
    ADS_FILE,
    EMAIL_RE,
    IMAGES_DIR,
    MANIFEST_FILE,
    REJECTS_FILE,
    SEP,
    URL_RE,
    LeakStep,
    LoadedDataset,
    base_manifest,
    check_target,
    stable_id,
    staging_dir,
    vendor_counts,
    write_ads_csv,
    write_manifest,
    write_rejects_csv,
)
from vendorlink.errors import InputError
from vendorlink.progress import progress_bar

DEBIAN_PACKAGE = "openclipart-svg"
INSTALL_COMMAND = f"apt-get install -y {DEBIAN_PACKAGE}"
DEFAULT_SVG_ROOTS: tuple[Path, ...] = (
    Path("/usr/share/openclipart/svg"),
    Path("/usr/local/share/openclipart/svg"),
)
RENDER_VERSION = "2"  # bump when the rendering changes, to invalidate caches
REJECT_HEADER = ("path", "reason", "detail")
MAX_SVG_BYTES = 20_000_000
SERIES_SHARE = 0.9  # share of a series text's items that one creator must have

NS_DC = "http://purl.org/dc/elements/1.1/"
NS_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"

ANONYMOUS_CREATORS = frozenset(
    {"", "anonymous", "anon", "unknown", "none", "na", "publicdomain", "nobody", "various"}
)
JUNK_KEYWORDS = frozenset(
    {"", "hash", "unsorted", "svg", "clipart", "clip art", "openclipart", "inkscape", "image"}
)
_NAME_STOPWORDS = frozenset({"and", "the", "of", "et", "al", "de", "del", "la", "le", "van", "von"})


# --- safe XML ---------------------------------------------------------------------------


class SvgError(Exception):
    """An SVG that cannot be used; ``reason`` is the rejects.csv reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


MAX_ENTITY_CHARS = 200


@functools.cache
def _safe_parser_class() -> type:
    """A defusedxml parser that allows only plain internal entities (built on first use)."""
    from defusedxml import EntitiesForbidden
    from defusedxml.ElementTree import DefusedXMLParser

    class SafeSvgParser(DefusedXMLParser):  # type: ignore[misc]
        def defused_entity_decl(
            self,
            name: str,
            is_parameter_entity: bool,
            value: str | None,
            base: str | None,
            sysid: str | None,
            pubid: str | None,
            notation_name: str | None,
        ) -> None:
            if (
                is_parameter_entity
                or value is None
                or sysid
                or pubid
                or notation_name
                or "&" in value
                or "%" in value
                or len(value) > MAX_ENTITY_CHARS
            ):
                raise EntitiesForbidden(name, value, base, sysid, pubid, notation_name)

    return SafeSvgParser


def parse_svg_bytes(data: bytes) -> ET.Element:
    """Parse SVG bytes safely: no external entities, no DTD fetching, no entity bombs.

    Plain internal entities (``<!ENTITY ns_svg "http://www.w3.org/2000/svg">``, written by
    Adobe Illustrator) are allowed: their value may not refer to other entities and has
    at most ``MAX_ENTITY_CHARS`` characters, so they cannot nest into a bomb (and expat's
    own amplification limit still applies). Anything else is refused (``unsafe_xml``).
    """
    from defusedxml import DefusedXmlException

    if len(data) > MAX_SVG_BYTES:
        raise SvgError("too_large", f"{len(data)} bytes (limit {MAX_SVG_BYTES})")
    if data[:2] == b"\x1f\x8b":
        raise SvgError("unparsable_svg", "compressed SVG (svgz) is not supported")
    parser = _safe_parser_class()(
        target=ET.TreeBuilder(), forbid_dtd=False, forbid_entities=True, forbid_external=True
    )
    try:
        parser.feed(data)
        root = parser.close()
    except DefusedXmlException as exc:
        raise SvgError("unsafe_xml", f"{type(exc).__name__}: {exc}") from exc
    except ET.ParseError as exc:
        raise SvgError("unparsable_svg", str(exc)) from exc
    if _local(root.tag) != "svg":
        raise SvgError("unparsable_svg", f"root element is <{_local(root.tag)}>, not <svg>")
    return root


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text_of(element: ET.Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())


# --- metadata ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipartMeta:
    """Dublin Core metadata of one drawing, as written in the file."""

    creator: str
    title: str
    description: str
    keywords: tuple[str, ...]


def read_metadata(root: ET.Element) -> ClipartMeta:
    """The first ``cc:Work`` (any namespace) of the RDF block: creator, title, etc."""
    works = [e for e in root.iter() if _local(e.tag) == "Work"]
    if not works:
        raise SvgError("no_metadata", "no RDF cc:Work element")
    # Prefer a Work with a creator, then the Work about this file (rdf:about="").
    works.sort(
        key=lambda w: (w.find(f"{{{NS_DC}}}creator") is None, w.get(f"{{{NS_RDF}}}about", "") != "")
    )
    work = works[0]
    creator_el = work.find(f"{{{NS_DC}}}creator")
    creator = ""
    if creator_el is not None:
        titles = [e for e in creator_el.iter() if _local(e.tag) == "title"]
        creator = _text_of(titles[0]) if titles else _text_of(creator_el)
    subject = work.find(f"{{{NS_DC}}}subject")
    keywords: list[str] = []
    if subject is not None:
        items = [_text_of(e) for e in subject.iter() if _local(e.tag) == "li"]
        keywords = items or re.split(r"[,;]", _text_of(subject))
    return ClipartMeta(
        creator=creator,
        title=_text_of(work.find(f"{{{NS_DC}}}title")),
        description=_text_of(work.find(f"{{{NS_DC}}}description")),
        keywords=tuple(k.strip() for k in keywords),
    )


# --- creators ---------------------------------------------------------------------------

_BRACKETED_RE = re.compile(r"[(\[<{][^)\]>}]*[)\]>}]")
_EDGE_PUNCT = " \t-–—_:;,.|/\\'\"*#~"
_NAME_EDGE_PUNCT = _EDGE_PUNCT.replace(".", "")  # keep "Gerald G." as written


def repair_text(text: str) -> str:
    """Decode HTML entities and repair UTF-8 that was read as Latin-1 ("SÃ¡nchez")."""
    text = html.unescape(html.unescape(text))
    if re.search("[ÃÂ][\x80-\xbf¡-¿]", text):
        with contextlib.suppress(UnicodeError):
            text = text.encode("latin-1").decode("utf-8")
    return unicodedata.normalize("NFC", text)


def creator_display(raw: str) -> str:
    """The creator as shown in VENDOR: repaired, without e-mails, URLs or bracketed notes."""
    text = repair_text(raw)
    text = _BRACKETED_RE.sub(
        lambda m: " " if EMAIL_RE.search(m.group(0)) or URL_RE.search(m.group(0)) else m.group(0),
        text,
    )
    text = EMAIL_RE.sub(" ", text)
    text = URL_RE.sub(" ", text)
    text = " ".join(text.split()).strip(_NAME_EDGE_PUNCT)
    # A creator known only by an e-mail address or a web site keeps it as the label.
    return text or " ".join(repair_text(raw).split()).strip(_NAME_EDGE_PUNCT)


def creator_key(display: str) -> str:
    """Grouping key: no accents, no case, letters and digits only ("A.J. Ashton" = "AJ Ashton")."""
    folded = unicodedata.normalize("NFKD", display)
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[\W_]+", "", folded.casefold())


def _name_variants(raw: str) -> set[str]:
    """Strings under which a creator may appear in text: full name, handle, e-mail user."""
    out = {creator_display(raw)}
    repaired = repair_text(raw)
    for bracket in _BRACKETED_RE.findall(repaired):
        inner = bracket[1:-1].strip()
        if inner and not EMAIL_RE.search(inner) and not URL_RE.search(inner):
            out.add(inner)
    for email in EMAIL_RE.findall(repaired):
        out.add(email.split("@", 1)[0])
    return {v for v in out if len(creator_key(v)) >= 3}


def _name_regex(names: Sequence[str]) -> re.Pattern | None:
    """Match any of ``names`` as whole words, with any separator between the name's parts."""
    parts = []
    for name in sorted(set(names), key=lambda s: (-len(s), s)):
        words = [w for w in re.split(r"[\s_.\-]+", name) if w]
        if not words:
            continue
        parts.append(r"[\s_.\-]*".join(re.escape(w) for w in words))
    if not parts:
        return None
    return re.compile(rf"(?<![^\W_])(?:{'|'.join(parts)})(?![^\W_])", re.IGNORECASE)


def _own_tokens(raw: str) -> list[str]:
    tokens = set()
    for variant in _name_variants(raw):
        for word in re.split(r"[^\w]+|_", variant):
            if len(word) >= 3 and word.casefold() not in _NAME_STOPWORDS:
                tokens.add(word)
    return sorted(tokens)


# --- text cleaning ----------------------------------------------------------------------

_ATTRIBUTION_RE = re.compile(
    r"(?:\b(?:clip\s*-?art|image|drawing|icon|artwork|vector|graphic|svg)\s+)?"
    r"\b(?:(?:originally\s+)?(?:created|drawn|designed|made|illustrated|vectori[sz]ed|"
    r"traced|converted|svg-?ified|uploaded|submitted|donated|contributed)\s+(?:by|from)"
    r"|clip\s*-?art\s+by|artwork\s+by|based\s+on(?:\s+an?)?(?:\s+\w+)?\s+(?:by|from)"
    r"|copyright(?:\s+by)?|all\s+rights\s+reserved|public\s+domain|released\s+into)\b"
    r"|©|\(c\)",
    re.IGNORECASE,
)
# Left by the upload scripts of some batches: "HASH(0x89f8058)" in descriptions.
_ARTEFACT_RE = re.compile(r"\bHASH\(0x[0-9a-f]+\)", re.IGNORECASE)
_DANGLING_BY_RE = re.compile(r"\b(?:by|from|of)\s*(?=$|[-–—:;,.()\[\]|/])", re.IGNORECASE)
_TIMESTAMP_RE = re.compile(
    r"\(?\b(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+[a-z]{3,9}\.?\s+\d{1,2},?\s+"
    r"(?:\d{1,2}:\d{2}(?::\d{2})?\s+)?(?:[A-Z]{3,4}\s+)?\d{4}\)?"
    r"|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?\b"
    r"|\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b"
    r"|\b\d{1,2}:\d{2}(?::\d{2})?\b",
    re.IGNORECASE,
)
_WORD_SEP_RE = re.compile(r"(?<=[^\W\d_])[_]+|[_]+(?=[^\W\d_])|(?<=\w)-(?=\d)|(?<=\d)-(?=\w)")
_NUMBER_RE = re.compile(r"(?<![\w.])[#№]?\d+(?:[.,]\d+)*(?:st|nd|rd|th|[a-z])?(?![\w])", re.I)
_TRAILING_DIGITS_RE = re.compile(r"\b([^\W\d_]{3,})\d+\b")
_EMPTY_BRACKETS_RE = re.compile(r"[(\[{]\s*[-–—:;,.\s]*\s*[)\]}]")
_PUNCT_RUN_RE = re.compile(r"\s*([-–—:;,|/])(?:\s*[-–—:;,|/])+")


@dataclass
class TextCleaner:
    """Removes creator names, contact details, attributions and series numbering."""

    all_names: re.Pattern | None
    counts: Counter[str] = field(default_factory=Counter)

    @classmethod
    def for_creators(cls, raw_creators: Sequence[str]) -> TextCleaner:
        names: set[str] = set()
        for raw in raw_creators:
            names |= _name_variants(raw)
        return cls(all_names=_name_regex(sorted(names)))

    def clean(self, text: str, own: re.Pattern | None) -> str:
        """One field (title, description or keyword), cleaned; counts what it removed."""
        text = repair_text(text)
        steps: list[tuple[str, re.Pattern | None, str]] = [
            ("tool_artefacts", _ARTEFACT_RE, " "),
            ("emails_urls", EMAIL_RE, " "),
            ("emails_urls", URL_RE, " "),
            ("creator_names", own, " "),
            ("creator_names", self.all_names, " "),
            ("attributions", _ATTRIBUTION_RE, " "),
            ("dates", _TIMESTAMP_RE, " "),
        ]
        for name, pattern, replacement in steps:
            if pattern is None:
                continue
            new = pattern.sub(replacement, text)
            if new != text:
                self.counts[name] += 1
                text = new
        numbered = _WORD_SEP_RE.sub(" ", text)
        numbered = _NUMBER_RE.sub(" ", numbered)
        numbered = _TRAILING_DIGITS_RE.sub(r"\1", numbered)
        if numbered != text:
            self.counts["series_numbering"] += 1
            text = numbered
        return tidy(text)


def is_useful_keyword(keyword: str) -> bool:
    """False for empty, one-letter, stop-word, tool-artefact ("hash") and id-like keywords."""
    return not (
        len(keyword) < 2
        or keyword in JUNK_KEYWORDS
        or keyword in _NAME_STOPWORDS
        or re.fullmatch(r"(?=\D*\d)(?:0x)?[0-9a-f]{6,}|[\d\W_]+", keyword) is not None
    )


def tidy(text: str) -> str:
    """Collapse whitespace and the punctuation that removals leave behind."""
    for _ in range(3):
        text = _DANGLING_BY_RE.sub(" ", text)
        text = _EMPTY_BRACKETS_RE.sub(" ", text)
        text = _PUNCT_RUN_RE.sub(r" \1 ", text)
        text = " ".join(text.split()).strip(_EDGE_PUNCT)
    text = re.sub(r"\s+([,.;:!?)\]])", r"\1", text)
    text = re.sub(r"([(\[])\s+", r"\1", text)
    return text


def _series_key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.casefold()).strip()


def find_series(texts: Sequence[str], creators: Sequence[str], min_items: int) -> set[str]:
    """Keys of texts that name a series rather than a drawing.

    A text is a series text when at least ``min_items`` items carry it and at least
    ``SERIES_SHARE`` of them (90 %) are by one creator.
    """
    by_key: dict[str, Counter[str]] = defaultdict(Counter)
    for text, creator in zip(texts, creators, strict=True):
        key = _series_key(text)
        if key:
            by_key[key][creator] += 1
    series = set()
    for key, counts in by_key.items():
        top = counts.most_common(1)[0][1]
        if top >= min_items and top >= SERIES_SHARE * sum(counts.values()):
            series.add(key)
    return series


# --- signatures in drawings --------------------------------------------------------------

_SIGNATURE_RE = re.compile(
    r"©|\(c\)|copyright|\b(?:created|drawn|designed|made|illustrated|vectori[sz]ed|traced|"
    r"svg-?ified|artwork|clip\s*-?art|image|icon)\s+(?:by|from)\b",
    re.IGNORECASE,
)


def text_elements(root: ET.Element) -> tuple[tuple[int, str], ...]:
    """(position in ``root.iter()`` order, text) of every non-empty ``<text>`` element."""
    out = []
    for position, element in enumerate(root.iter()):
        if _local(element.tag) in ("text", "flowRoot"):
            content = _text_of(element)
            if content:
                out.append((position, content))
    return tuple(out)


def signature_positions(
    texts: Sequence[tuple[int, str]], own: re.Pattern | None, all_names: re.Pattern | None
) -> tuple[int, ...]:
    """Positions of the text elements that sign the drawing (a name, address, attribution)."""
    return tuple(
        position
        for position, content in texts
        if _SIGNATURE_RE.search(content)
        or EMAIL_RE.search(content)
        or URL_RE.search(content)
        or (own is not None and own.search(content))
        or (all_names is not None and all_names.search(content))
    )


_OPACITY_ATTRS = ("opacity", "fill-opacity", "stroke-opacity", "stop-opacity")
_PERCENT_OPACITY_RE = re.compile(r"((?:^|[;\s])(?:fill-|stroke-|stop-)?opacity\s*:\s*)([\d.]+)%")


def _percent(value: str) -> str:
    try:
        return f"{float(value) / 100:g}"
    except ValueError:
        return "1"


def repair_for_cairosvg(root: ET.Element) -> None:
    """Rewrite what cairosvg cannot read but browsers do: opacities given in percent."""
    for element in root.iter():
        for name in _OPACITY_ATTRS:
            value = element.get(name)
            if value is not None and value.strip().endswith("%"):
                element.set(name, _percent(value.strip()[:-1]))
        style = element.get("style")
        if style and "%" in style:
            element.set(
                "style",
                _PERCENT_OPACITY_RE.sub(lambda m: m.group(1) + _percent(m.group(2)), style),
            )


def _remove_elements(root: ET.Element, positions: Sequence[int]) -> None:
    wanted = set(positions)
    parents = {child: parent for parent in root.iter() for child in parent}
    targets = [e for i, e in enumerate(root.iter()) if i in wanted]
    for element in targets:
        parent = parents.get(element)
        if parent is not None:
            parent.remove(element)


# --- rendering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderTask:
    """One drawing to render into the cache (picklable, for worker processes)."""

    key: str
    svg_path: str
    remove: tuple[int, ...]
    size: int
    cache_dir: str
    timeout_s: float
    isolate: bool = False  # draws text: render in a fresh process (see render_all)


@dataclass(frozen=True)
class RenderResult:
    key: str
    reason: str | None = None  # None: rendered, PNG at <cache>/<key>.png
    detail: str = ""
    cached: bool = False


def render_key(svg_sha256: str, size: int, remove: Sequence[int]) -> str:
    """Cache key of one render: the SVG's bytes (by hash), size, removals, renderer version."""
    key = f"render-v{RENDER_VERSION}|size={size}|remove={list(remove)}|svg={svg_sha256}"
    return hashlib.sha256(key.encode()).hexdigest()[:40]


class _RenderTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Raise _RenderTimeout after ``seconds`` (main thread of a process only, else no limit)."""
    usable = seconds > 0 and threading.current_thread() is threading.main_thread()
    if not usable:
        yield
        return

    def on_alarm(signum: int, frame: Any) -> None:
        raise _RenderTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def render_png(svg: bytes, size: int) -> bytes:
    """Render SVG bytes to a ``size`` x ``size`` RGB PNG: white background, aspect kept, centred.

    cairosvg is run in its safe mode (no external files, no entities); with both output
    sizes given, the drawing's viewBox is fitted inside the square (``xMidYMid meet``).
    """
    import cairosvg
    from PIL import Image

    png = cairosvg.svg2png(
        bytestring=svg,
        output_width=size,
        output_height=size,
        background_color="white",
        unsafe=False,
    )
    with Image.open(BytesIO(png)) as image:
        image.load()
        rgb = image.convert("RGB")
    if rgb.size != (size, size):
        canvas = Image.new("RGB", (size, size), "white")
        canvas.paste(rgb, ((size - rgb.width) // 2, (size - rgb.height) // 2))
        rgb = canvas
    out = BytesIO()
    rgb.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _is_blank(png: bytes) -> bool:
    from PIL import Image

    with Image.open(BytesIO(png)) as image:
        extrema = image.getextrema()
    return all(low == high for low, high in extrema)


def cached_result(task: RenderTask) -> RenderResult | None:
    """The result of an earlier render of the same task, if the cache has one."""
    cache = Path(task.cache_dir)
    if (cache / f"{task.key}.png").is_file():
        return RenderResult(task.key, cached=True)
    err_path = cache / f"{task.key}.err.json"
    if err_path.is_file():
        with contextlib.suppress(OSError, ValueError, KeyError):
            error = json.loads(err_path.read_text(encoding="utf-8"))
            return RenderResult(task.key, error["reason"], error["detail"], cached=True)
    return None


def run_render_task(task: RenderTask) -> RenderResult:
    """Render one drawing into the cache, or record why it failed; reuse earlier results."""
    earlier = cached_result(task)
    if earlier is not None:
        return earlier
    cache = Path(task.cache_dir)
    png_path = cache / f"{task.key}.png"
    err_path = cache / f"{task.key}.err.json"
    reason: str | None = None
    detail = ""
    try:
        root = parse_svg_bytes(Path(task.svg_path).read_bytes())
        _remove_elements(root, task.remove)
        repair_for_cairosvg(root)
        svg = ET.tostring(root, encoding="utf-8")
        with _time_limit(task.timeout_s):
            png = render_png(svg, task.size)
        if _is_blank(png):
            reason, detail = "blank_render", "nothing visible on a white background"
    except SvgError as exc:
        reason, detail = exc.reason, exc.detail
    except _RenderTimeout:
        return RenderResult(task.key, "render_timeout", f"took over {task.timeout_s:g} s")
    except MemoryError:
        return RenderResult(task.key, "render_failed", "out of memory")
    except Exception as exc:  # cairosvg raises many kinds of error on odd drawings
        reason, detail = "render_failed", f"{type(exc).__name__}: {exc}"[:300]
    if reason is None:
        _atomic_bytes(png_path, png)
    else:
        payload = json.dumps({"reason": reason, "detail": detail})
        _atomic_bytes(err_path, payload.encode("utf-8"))
    return RenderResult(task.key, reason, detail)


def _init_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def render_all(
    tasks: Sequence[RenderTask], *, workers: int = 2, progress: bool = True
) -> dict[str, RenderResult]:
    """Render ``tasks`` into their cache (``workers`` processes when > 1); results by key.

    Results do not depend on ``workers`` or on the order of the work. Drawings without
    text render the same in any process. Drawings with text do not: cairo caches font
    state from earlier renders (even of empty ``<text>`` elements), so a text render
    depends on what the same process rendered before. Those tasks (``isolate``) therefore
    run one per fresh worker process, forked from this process, which never renders
    anything itself (all renders happen in workers, also with ``workers=1``). Workers are
    forked where the platform allows it (no ``if __name__ == "__main__"`` guard needed in
    the calling script); elsewhere they are spawned.
    """
    import cairosvg  # noqa: F401  (imported once here, not in every forked worker)

    todo = list({t.key: t for t in tasks}.values())
    results = {t.key: r for t in todo if (r := cached_result(t)) is not None}
    plain = [t for t in todo if t.key not in results and not t.isolate]
    isolated = [t for t in todo if t.key not in results and t.isolate]
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with progress_bar("rendering SVGs", len(todo), enabled=progress) as advance:
        advance(len(results))
        if plain:
            n = max(1, min(workers, len(plain)))
            with context.Pool(n, initializer=_init_worker) as pool:
                for result in pool.imap_unordered(run_render_task, plain, chunksize=4):
                    results[result.key] = result
                    advance()
        if isolated:
            n = max(1, min(workers, len(isolated)))
            with context.Pool(n, initializer=_init_worker, maxtasksperchild=1) as pool:
                for result in pool.imap_unordered(run_render_task, isolated, chunksize=1):
                    results[result.key] = result
                    advance()
    return results


# --- locating the source -------------------------------------------------------------------


def find_svg_root(svg_root: str | Path | None = None) -> Path:
    """The folder of the drawings: ``svg_root`` if given, else the Debian package's folder."""
    if svg_root is not None:
        path = Path(svg_root)
        if not path.is_dir():
            raise InputError(f"{path}: no such folder of SVG files")
        return path
    for candidate in DEFAULT_SVG_ROOTS:
        if candidate.is_dir():
            return candidate
    raise InputError(
        "the Openclipart drawings are not installed (looked in "
        + ", ".join(str(p) for p in DEFAULT_SVG_ROOTS)
        + f"); install the Debian package with `{INSTALL_COMMAND}` "
        "(run `apt-get update` first; needs root), or pass svg_root"
    )


def debian_package_version() -> str | None:
    try:
        done = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", DEBIAN_PACKAGE],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def scan_svg_files(
    root: Path, limit: int | None = None
) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Relative paths of the regular SVG files (sorted) and rejects for links and others.

    With ``limit``, only the first ``limit`` ``*.svg`` paths (sorted) are looked at.
    """
    files: list[str] = []
    rejects: list[tuple[str, str, str]] = []
    paths = sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.name.lower().endswith(".svg") and not p.is_dir()
    )
    if limit is not None:
        paths = paths[: max(0, limit)]
    for rel in paths:
        path = root / rel
        if path.is_symlink():
            target = path.resolve()
            inside = target.is_relative_to(root.resolve())
            where = target.relative_to(root.resolve()).as_posix() if inside else str(target)
            rejects.append((rel, "duplicate_link", f"symbolic link to {where}"))
        elif path.is_file():
            files.append(rel)
        else:
            rejects.append((rel, "not_a_file", "not a regular file"))
    return files, rejects


# --- building the dataset ------------------------------------------------------------------


@dataclass
class _Item:
    rel: str
    raw_creator: str
    meta: ClipartMeta
    svg_sha: str
    texts: tuple[tuple[int, str], ...] = ()  # <text> elements, for signature removal
    remove: tuple[int, ...] = ()
    vendor: str = ""
    title: str = ""
    description: str = ""
    keywords: tuple[str, ...] = ()


@dataclass
class OpenclipartItems:
    """Parsed and cleaned drawings (nothing rendered or written yet)."""

    root: Path
    # ID, TEXT, IMAGES, VENDOR, KEYWORDS, CATEGORY, plus RAW_TEXT (the title [SEP]
    # description as written, for leak checks) and _rel (the file's path): never written.
    ads: pd.DataFrame
    tasks: dict[str, RenderTask]  # by ID
    rejects: list[tuple[str, str, str]]
    steps: list[LeakStep]
    stats: dict[str, Any]


def build_openclipart_items(
    svg_root: str | Path | None = None,
    *,
    min_items_per_creator: int = 5,
    max_creators: int | None = None,
    image_size: int = 224,
    limit: int | None = None,
    series_min_items: int = 3,
    cache_dir: str | Path | None = None,
    render_timeout_s: float = 120.0,
    progress: bool = False,
) -> OpenclipartItems:
    """Parse, filter and clean the drawings' metadata; plan the renders (nothing written).

    ``ads`` also carries ``RAW_TEXT`` (title ``[SEP]`` description as written in the file,
    for leak checks; never written to ``ads.csv``).
    """
    if min_items_per_creator < 1:
        raise InputError(f"min_items_per_creator must be at least 1, got {min_items_per_creator}")
    if image_size < 16:
        raise InputError(f"image_size must be at least 16 pixels, got {image_size}")
    root = find_svg_root(svg_root)
    files, rejects = scan_svg_files(root, limit=limit)
    n_files = len(files)
    if not files:
        raise InputError(f"{root}: no SVG files found")

    parsed: list[_Item] = []
    with progress_bar("reading SVG metadata", len(files), enabled=progress) as advance:
        for rel in files:
            advance()
            try:
                data = (root / rel).read_bytes()
            except OSError as exc:
                rejects.append((rel, "unreadable", str(exc)))
                continue
            try:
                element = parse_svg_bytes(data)
                meta = read_metadata(element)
            except SvgError as exc:
                rejects.append((rel, exc.reason, exc.detail))
                continue
            sha = hashlib.sha256(data).hexdigest()
            parsed.append(_Item(rel, meta.creator, meta, sha, texts=text_elements(element)))

    # Creators: normalise, merge variants, reject anonymous ones.
    variants: dict[str, Counter[str]] = defaultdict(Counter)
    items: list[_Item] = []
    for item in parsed:
        display = creator_display(item.raw_creator)
        key = creator_key(display)
        if key in ANONYMOUS_CREATORS:
            reason = "no_creator" if not key else "anonymous_creator"
            rejects.append((item.rel, reason, f"creator {item.raw_creator!r}"))
            continue
        variants[key][display] += 1
        item.vendor = key
        items.append(item)
    label_of = {
        key: sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for key, c in variants.items()
    }
    merges = {label_of[key]: sorted(c) for key, c in sorted(variants.items()) if len(c) > 1}
    for item in items:
        item.vendor = label_of[item.vendor]

    # Creators with too few items (and beyond max_creators) are left out, with the reason.
    counts = Counter(item.vendor for item in items)
    for item in items:
        if counts[item.vendor] < min_items_per_creator:
            detail = f"{counts[item.vendor]} usable item(s), fewer than {min_items_per_creator}"
            rejects.append((item.rel, "creator_too_few_items", detail))
    items = [item for item in items if counts[item.vendor] >= min_items_per_creator]
    if max_creators is not None:
        ranked = sorted(Counter(i.vendor for i in items).items(), key=lambda kv: (-kv[1], kv[0]))
        chosen = {vendor for vendor, _ in ranked[:max_creators]}
        for item in items:
            if item.vendor not in chosen:
                rejects.append((item.rel, "creator_not_selected", f"max_creators={max_creators}"))
        items = [item for item in items if item.vendor in chosen]

    # Text cleaning, with every creator name known in the collection.
    cleaner = TextCleaner.for_creators([item.raw_creator for item in parsed])
    for item in items:
        own = _name_regex(_own_tokens(item.raw_creator) + sorted(_name_variants(item.raw_creator)))
        item.title = cleaner.clean(item.meta.title, own)
        item.description = cleaner.clean(item.meta.description, own)
        keywords = {cleaner.clean(k.replace("_", " "), own).casefold() for k in item.meta.keywords}
        item.keywords = tuple(sorted(k for k in keywords if is_useful_keyword(k)))
        item.remove = signature_positions(item.texts, own, cleaner.all_names)
    n_signatures = sum(bool(item.remove) for item in items)

    # Series titles and descriptions (see find_series).
    vendors = [item.vendor for item in items]
    series_titles = find_series([i.title for i in items], vendors, series_min_items)
    series_descriptions = find_series([i.description for i in items], vendors, series_min_items)
    n_series_title = n_series_desc = n_same = 0
    for item in items:
        if item.title and _series_key(item.title) in series_titles:
            item.title = ""
            n_series_title += 1
        if item.description and _series_key(item.description) in series_descriptions:
            item.description = ""
            n_series_desc += 1
        if item.description and _series_key(item.description) == _series_key(item.title):
            item.description = ""
            n_same += 1

    cache = Path(cache_dir) if cache_dir is not None else Path(".")
    rows = []
    tasks: dict[str, RenderTask] = {}
    for item in items:
        item_id = stable_id("oc", item.rel)
        image_name = f"{item_id.removeprefix('oc-')}.png"
        tasks[item_id] = RenderTask(
            key=render_key(item.svg_sha, image_size, item.remove),
            svg_path=str(root / item.rel),
            remove=item.remove,
            size=image_size,
            cache_dir=str(cache),
            timeout_s=render_timeout_s,
            isolate=len(item.texts) > len(item.remove),
        )
        text = (
            f"{item.title}{SEP}{item.description}".strip() if item.title or item.description else ""
        )
        raw = f"{item.meta.title}{SEP}{item.meta.description}".strip()
        rows.append(
            {
                "ID": item_id,
                "TEXT": text,
                "IMAGES": image_name,
                "VENDOR": item.vendor,
                "KEYWORDS": "|".join(item.keywords),
                "CATEGORY": item.rel.split("/", 1)[0] if "/" in item.rel else "",
                "RAW_TEXT": raw,
                "_rel": item.rel,
            }
        )
    ads = pd.DataFrame(
        rows, columns=["ID", "TEXT", "IMAGES", "VENDOR", "KEYWORDS", "CATEGORY", "RAW_TEXT", "_rel"]
    )
    steps = [
        LeakStep(
            "drop_file_names", "file names are not used in any column or image name", len(ads)
        ),
        LeakStep(
            "strip_creator_names",
            "creator names / handles (own: full name and parts; others: full names) removed "
            "from title, description and keywords",
            cleaner.counts["creator_names"],
        ),
        LeakStep(
            "strip_emails_urls", "e-mail addresses and URLs removed", cleaner.counts["emails_urls"]
        ),
        LeakStep(
            "strip_attributions",
            "attribution phrases ('Clipart by', 'Created by', ©, copyright, public domain) removed",
            cleaner.counts["attributions"],
        ),
        LeakStep("strip_dates", "dates and time stamps removed", cleaner.counts["dates"]),
        LeakStep(
            "strip_tool_artefacts",
            "upload-script artefacts ('HASH(0x89f8058)') removed",
            cleaner.counts["tool_artefacts"],
        ),
        LeakStep(
            "normalise_series_numbering",
            "underscores to spaces; stand-alone numbers and trailing digits removed",
            cleaner.counts["series_numbering"],
        ),
        LeakStep(
            "drop_series_titles",
            f"titles shared by >= {series_min_items} items, 90 % of them by one creator, blanked",
            n_series_title,
        ),
        LeakStep(
            "drop_series_descriptions",
            f"descriptions shared by >= {series_min_items} items, 90 % by one creator, blanked; "
            "descriptions equal to the title blanked",
            n_series_desc + n_same,
        ),
        LeakStep(
            "remove_signature_text",
            "<text> elements naming a creator or an attribution removed from the drawing "
            "before rendering",
            n_signatures,
        ),
    ]
    stats = {
        "svg_files": n_files,
        "svg_files_considered": len(files),
        "creator_merges": merges,
        "series_titles": len(series_titles),
        "series_descriptions": len(series_descriptions),
    }
    return OpenclipartItems(root, ads, tasks, rejects, steps, stats)


def openclipart_frame(
    svg_root: str | Path | None = None,
    *,
    min_items_per_creator: int = 5,
    max_creators: int | None = None,
    limit: int | None = None,
    image_size: int = 224,
) -> pd.DataFrame:
    """The cleaned ads table without rendering or writing anything.

    Columns: ID, TEXT, IMAGES (the PNG name the drawing would get), VENDOR, KEYWORDS,
    CATEGORY and RAW_TEXT (title [SEP] description as written in the file, for leak
    checks only).
    """
    built = build_openclipart_items(
        svg_root,
        min_items_per_creator=min_items_per_creator,
        max_creators=max_creators,
        limit=limit,
        image_size=image_size,
    )
    return built.ads.drop(columns=["_rel"])


def load_openclipart(
    out_dir: str | Path,
    *,
    svg_root: str | Path | None = None,
    min_items_per_creator: int = 5,
    max_creators: int | None = None,
    image_size: int = 224,
    workers: int = 2,
    overwrite: bool = False,
    limit: int | None = None,
    series_min_items: int = 3,
    dedupe_images: bool = True,
    cache_dir: str | Path | None = None,
    render_timeout_s: float = 120.0,
    progress: bool = True,
) -> LoadedDataset:
    """Write the drawings as an ingest folder at ``out_dir`` (atomically) and describe it.

    Rendered PNGs go to a cache first: ``cache_dir`` if given (kept), else a hidden sibling
    of ``out_dir`` that is removed once the folder is written. An interrupted run leaves
    the cache, and the next run renders only what is missing.
    """
    out_dir = Path(out_dir)
    check_target(out_dir, overwrite)
    own_cache = cache_dir is None
    cache = (
        Path(cache_dir)
        if cache_dir is not None
        else out_dir.parent / f".{out_dir.name}.render-cache"
    )
    started = time.perf_counter()
    built = build_openclipart_items(
        svg_root,
        min_items_per_creator=min_items_per_creator,
        max_creators=max_creators,
        image_size=image_size,
        limit=limit,
        series_min_items=series_min_items,
        cache_dir=cache,
        render_timeout_s=render_timeout_s,
        progress=progress,
    )
    parse_s = time.perf_counter() - started
    cache.mkdir(parents=True, exist_ok=True)
    render_started = time.perf_counter()
    results = render_all(list(built.tasks.values()), workers=workers, progress=progress)
    render_s = time.perf_counter() - render_started
    n_cached = sum(r.cached for r in results.values())

    ads = built.ads
    rejects = list(built.rejects)
    failed = {
        item_id: results[task.key]
        for item_id, task in built.tasks.items()
        if results[task.key].reason is not None
    }
    for item_id, result in failed.items():
        rel = ads.loc[ads["ID"] == item_id, "_rel"].iloc[0]
        rejects.append((rel, str(result.reason), result.detail))
    ads = ads[~ads["ID"].isin(failed)]
    n_duplicates = 0
    if dedupe_images:
        # The same drawing filed twice (copies, not links): keep the first path only, so
        # one picture cannot sit in both a training and a test split.
        digests = [
            hashlib.sha256((cache / f"{built.tasks[i].key}.png").read_bytes()).hexdigest()
            for i in ads["ID"]
        ]
        first: dict[str, str] = {}
        repeated = []
        for rel, digest in zip(ads["_rel"], digests, strict=True):
            if digest in first:
                repeated.append(True)
                rejects.append((rel, "duplicate_image", f"renders the same as {first[digest]}"))
            else:
                first[digest] = rel
                repeated.append(False)
        n_duplicates = sum(repeated)
        ads = ads[[not r for r in repeated]]
    # A creator may fall below the minimum once failed renders and duplicates are gone.
    counts = ads["VENDOR"].map(ads["VENDOR"].value_counts())
    short = counts < min_items_per_creator
    for rel, n in zip(ads.loc[short, "_rel"], counts[short], strict=True):
        rejects.append(
            (
                rel,
                "creator_too_few_items",
                f"{n} usable item(s) after rendering, fewer than {min_items_per_creator}",
            )
        )
    ads = ads[~short].reset_index(drop=True)
    rejects.sort()

    with staging_dir(out_dir, overwrite) as tmp:
        images = tmp / IMAGES_DIR
        images.mkdir()
        for item_id, image_name in zip(ads["ID"], ads["IMAGES"], strict=True):
            source = cache / f"{built.tasks[item_id].key}.png"
            target = images / image_name
            try:
                os.link(source, target)
            except OSError:
                shutil.copyfile(source, target)
        write_ads_csv(ads.drop(columns=["RAW_TEXT", "_rel"]), tmp / ADS_FILE)
        write_rejects_csv(rejects, REJECT_HEADER, tmp / REJECTS_FILE)
        reasons = Counter(reason for _, reason, _ in rejects)
        manifest = base_manifest("openclipart")
        manifest.update(
            {
                "source": {
                    "name": "Openclipart 0.18 (Debian package)",
                    "package": DEBIAN_PACKAGE,
                    "package_version": (
                        debian_package_version() if built.root in DEFAULT_SVG_ROOTS else None
                    ),
                    "install": INSTALL_COMMAND,
                    "svg_root": str(built.root),
                },
                "options": {
                    "min_items_per_creator": min_items_per_creator,
                    "max_creators": max_creators,
                    "image_size": image_size,
                    "limit": limit,
                    "series_min_items": series_min_items,
                    "dedupe_images": dedupe_images,
                    "render_timeout_s": render_timeout_s,
                    "render_version": RENDER_VERSION,
                },
                "counts": {
                    "svg_files": built.stats["svg_files"],
                    "svg_files_considered": built.stats["svg_files_considered"],
                    "items": len(ads),
                    "vendors": int(ads["VENDOR"].nunique()),
                    "rejects": len(rejects),
                    "rejects_by_reason": dict(sorted(reasons.items())),
                    "items_with_text": int((ads["TEXT"] != "").sum()),
                    "items_with_keywords": int((ads["KEYWORDS"] != "").sum()),
                    "series_titles": built.stats["series_titles"],
                    "series_descriptions": built.stats["series_descriptions"],
                    "items_per_vendor": vendor_counts(ads["VENDOR"]),
                },
                "creator_merges": built.stats["creator_merges"],
                "leak_removal": [s.as_dict() for s in built.steps]
                + (
                    [
                        LeakStep(
                            "drop_duplicate_images",
                            "items whose rendered image is identical to an earlier item's "
                            "are left out (rejects.csv: duplicate_image)",
                            n_duplicates,
                        ).as_dict()
                    ]
                    if dedupe_images
                    else []
                ),
                "rendering": {
                    "size": [image_size, image_size],
                    "background": "white",
                    "fit": "aspect ratio kept, centred (viewBox xMidYMid meet)",
                    "renderer": "cairosvg (safe mode)",
                    "workers": workers,
                    "parse_seconds": round(parse_s, 1),
                    "render_seconds": round(render_s, 1),
                    "renders_from_cache": n_cached,
                },
                "id_scheme": "oc- + first 16 hex digits of SHA-256(path relative to the SVG root); "
                "the PNG is named by the same 16 hex digits",
            }
        )
        write_manifest(manifest, tmp / MANIFEST_FILE)
    if own_cache:
        shutil.rmtree(cache, ignore_errors=True)
    return LoadedDataset(
        path=out_dir,
        n_items=len(ads),
        n_vendors=int(ads["VENDOR"].nunique()),
        n_rejects=len(rejects),
        manifest=manifest,
    )
