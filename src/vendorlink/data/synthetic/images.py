"""Synthetic ad images: abstract pictures in a vendor's visual style (no people, nothing explicit).

A vendor's :class:`ImageStyle` fixes a palette, a background texture (noise, stripes,
gradient, dots, checker), a frame, a watermark (an alias or a symbol in one corner), the
kinds of drawn objects (flowers, hearts, stars, circles, polygons, diamonds), the aspect
ratio and the file format. Each image is that style plus random content drawn from the
file's own seed. Near duplicates re-encode, crop, shift brightness, rotate or resize an
original; copies re-use another vendor's original, byte for byte or re-encoded. Every file
depends only on (global seed, file index), so any number of worker processes writes the
same bytes.
"""

from __future__ import annotations

import colorsys
import io
import math
import os
import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from .indicators import MARK_LOGO, MARK_OUTDOOR, MARK_PAIR, MARK_PRICE_TAG
from .plan import KIND_COPIED, KIND_NEAR_DUPLICATE, KIND_ORIGINAL
from .seeding import item_seed

TEXTURES: tuple[str, ...] = ("noise", "stripes", "gradient", "dots", "checker")
OBJECT_KINDS: tuple[str, ...] = ("flower", "heart", "star", "circle", "polygon", "diamond")
FRAMES: tuple[str, ...] = ("none", "solid", "double", "rounded")
WATERMARKS: tuple[str, ...] = ("none", "text", "symbol")
SYMBOLS: tuple[str, ...] = ("heart", "star", "crown", "diamond", "flower", "xo")
# (width, height) as multiples of image_size
ASPECTS: tuple[tuple[float, float], ...] = ((1.0, 1.25), (1.0, 1.0), (0.75, 1.0), (1.25, 1.0))


@dataclass(frozen=True)
class ImageStyle:
    """A vendor's visual signature."""

    texture: str
    palette: tuple[tuple[int, int, int], ...]  # background a, background b, object a, object b
    period: int
    angle: float
    contrast: float
    frame: str
    frame_width: int
    watermark: str
    watermark_text: str
    watermark_corner: int
    symbol: str
    objects: tuple[str, ...]
    objects_min: int
    objects_span: int
    object_size: int
    width: int
    height: int
    quality: int

    def palette_hex(self) -> list[str]:
        return ["#{:02x}{:02x}{:02x}".format(*c) for c in self.palette]


def _hsv(h: float, s: float, v: float) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def style_from_genes(genes: dict[str, int], alias: str, image_size: int) -> ImageStyle:
    """Build a vendor's image style from its ``img_*`` genes (see :mod:`.vendors`)."""
    hue = genes["img_hue"] / 360.0
    spread = genes["img_hue_spread"] / 360.0
    sat = genes["img_sat"] / 1000.0
    val = genes["img_val"] / 1000.0
    palette = (
        _hsv(hue, sat * 0.55, val),
        _hsv(hue + spread * 0.3, sat * 0.8, val * 0.75),
        _hsv(hue + spread, sat, min(1.0, val * 1.1)),
        _hsv(hue - spread, sat * 0.9, val * 0.9),
    )
    aw, ah = ASPECTS[genes["img_aspect"] % len(ASPECTS)]
    objects = tuple(k for b, k in enumerate(OBJECT_KINDS) if genes["img_objects"] >> b & 1)
    symbol = SYMBOLS[genes["img_wm_symbol"] % len(SYMBOLS)]
    return ImageStyle(
        texture=TEXTURES[genes["img_texture"] % len(TEXTURES)],
        palette=palette,
        period=genes["img_period"],
        angle=float(genes["img_angle"]),
        contrast=genes["img_contrast"] / 1000.0,
        frame=FRAMES[genes["img_frame"] % len(FRAMES)],
        frame_width=genes["img_frame_w"],
        watermark=WATERMARKS[genes["img_wm_kind"] % len(WATERMARKS)],
        watermark_text=alias.upper() if genes["img_wm_symbol"] % 2 else alias,
        watermark_corner=genes["img_wm_corner"] % 4,
        symbol=symbol,
        objects=objects or ("circle",),
        objects_min=genes["img_obj_min"],
        objects_span=genes["img_obj_span"],
        object_size=genes["img_obj_size"],
        width=max(16, round(image_size * aw)),
        height=max(16, round(image_size * ah)),
        quality=genes["img_quality"],
    )


# --- drawing --------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy.setflags(write=False)
    xx.setflags(write=False)
    return yy, xx


def _texture(style: ImageStyle, rng: np.random.Generator, r: random.Random) -> np.ndarray:
    """Background as float32 HxWx3 in 0..255 (vectorised)."""
    h, w = style.height, style.width
    a = np.array(style.palette[0], dtype=np.float32)
    b = np.array(style.palette[1], dtype=np.float32)
    yy, xx = _grid(h, w)
    theta = math.radians(style.angle + r.uniform(-6, 6))
    period = max(3.0, style.period * r.uniform(0.85, 1.15))
    texture = style.texture
    if texture == "noise":
        cells = max(2, round(max(h, w) / period))
        low = rng.random((cells + 1, cells + 1), dtype=np.float32)
        small = Image.fromarray((low * 255).astype(np.uint8), mode="L")
        t = np.asarray(small.resize((w, h), Image.BILINEAR), dtype=np.float32) * (1 / 255.0)
    elif texture == "stripes":
        proj = xx * math.cos(theta) + yy * math.sin(theta)
        t = 0.5 + 0.5 * np.sin(proj * (2 * math.pi / period) + r.uniform(0, 2 * math.pi))
    elif texture == "gradient":
        proj = xx * math.cos(theta) + yy * math.sin(theta)
        lo = float(proj.min())
        t = (proj - lo) * (1.0 / max(float(proj.max()) - lo, 1.0))
    elif texture == "dots":
        ox, oy = r.uniform(0, period), r.uniform(0, period)
        dx = np.mod(xx + ox, period) - period / 2
        dy = np.mod(yy + oy, period) - period / 2
        t = (dx * dx + dy * dy < (period * 0.3) ** 2).astype(np.float32)
    else:  # checker
        ox, oy = r.randint(0, int(period)), r.randint(0, int(period))
        t = ((np.floor((xx + ox) / period) + np.floor((yy + oy) / period)) % 2).astype(np.float32)
    t = 0.5 + (t - 0.5) * style.contrast
    img = a + t[..., None] * (b - a)
    img += rng.standard_normal((h, w, 1), dtype=np.float32) * 4.0  # grain
    return img


def _jitter(
    colour: tuple[int, int, int], r: random.Random, amount: int = 18
) -> tuple[int, int, int]:
    rnd = r.random
    span = 2 * amount + 1
    red, green, blue = (min(255, max(0, c + int(rnd() * span) - amount)) for c in colour)
    return red, green, blue


def _star_points(
    cx: float, cy: float, rad: float, rot: float, n: int = 5
) -> list[tuple[float, float]]:
    pts = []
    for k in range(2 * n):
        radius = rad if k % 2 == 0 else rad * 0.45
        ang = rot + k * math.pi / n
        pts.append((cx + radius * math.cos(ang), cy + radius * math.sin(ang)))
    return pts


def _draw_object(
    draw: ImageDraw.ImageDraw,
    kind: str,
    cx: float,
    cy: float,
    rad: float,
    fill: tuple[int, int, int],
    accent: tuple[int, int, int],
    r: random.Random,
) -> None:
    if kind == "flower":
        petals = r.randint(5, 7)
        rot = r.uniform(0, math.pi)
        for k in range(petals):
            ang = rot + 2 * math.pi * k / petals
            px, py = cx + rad * 0.55 * math.cos(ang), cy + rad * 0.55 * math.sin(ang)
            draw.ellipse(
                (px - rad * 0.42, py - rad * 0.42, px + rad * 0.42, py + rad * 0.42), fill=fill
            )
        draw.ellipse((cx - rad * 0.3, cy - rad * 0.3, cx + rad * 0.3, cy + rad * 0.3), fill=accent)
    elif kind == "heart":
        q = rad * 0.5
        draw.ellipse((cx - rad, cy - q * 1.6, cx, cy + q * 0.4), fill=fill)
        draw.ellipse((cx, cy - q * 1.6, cx + rad, cy + q * 0.4), fill=fill)
        draw.polygon(
            [(cx - rad * 0.97, cy - q * 0.3), (cx + rad * 0.97, cy - q * 0.3), (cx, cy + rad)],
            fill=fill,
        )
    elif kind == "star":
        draw.polygon(_star_points(cx, cy, rad, r.uniform(0, math.pi)), fill=fill, outline=accent)
    elif kind == "circle":
        draw.ellipse(
            (cx - rad, cy - rad, cx + rad, cy + rad),
            fill=fill,
            outline=accent,
            width=max(1, int(rad / 6)),
        )
    elif kind == "polygon":
        n = r.randint(3, 6)
        rot = r.uniform(0, math.pi)
        pts = [
            (
                cx + rad * math.cos(rot + 2 * math.pi * k / n),
                cy + rad * math.sin(rot + 2 * math.pi * k / n),
            )
            for k in range(n)
        ]
        draw.polygon(pts, fill=fill, outline=accent)
    else:  # diamond
        draw.polygon(
            [(cx, cy - rad), (cx + rad * 0.65, cy), (cx, cy + rad), (cx - rad * 0.65, cy)],
            fill=fill,
            outline=accent,
        )


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def _corner_xy(corner: int, w: int, h: int, bw: int, bh: int, margin: int) -> tuple[int, int]:
    x = margin if corner in (0, 2) else w - bw - margin
    y = margin if corner in (0, 1) else h - bh - margin
    return x, y


def _outdoor(arr: np.ndarray) -> np.ndarray:
    """Blend a sky band into the top and a green ground strip into the bottom."""
    h = arr.shape[0]
    out = arr.astype(np.float32, copy=True)
    sky_rows = max(1, int(h * 0.4))
    ramp = np.linspace(0.85, 0.35, sky_rows, dtype=np.float32)[:, None, None]
    sky = np.array((110, 170, 235), dtype=np.float32)
    out[:sky_rows] = out[:sky_rows] * (1 - ramp) + sky * ramp
    ground_rows = max(1, int(h * 0.22))
    ground = np.array((60, 150, 60), dtype=np.float32)
    out[h - ground_rows :] = out[h - ground_rows :] * 0.2 + ground * 0.8
    return out


def _draw_marks(draw: ImageDraw.ImageDraw, style: ImageStyle, marks: int, r: random.Random) -> None:
    """Draw the indicator marks of :mod:`.indicators` (pair, logo, price tag, sun)."""
    w, h = style.width, style.height
    scale = min(w, h) / 128.0
    if marks & MARK_OUTDOOR:
        rad = 9 * scale
        draw.ellipse((w * 0.78 - rad, h * 0.14 - rad, w * 0.78 + rad, h * 0.14 + rad),
                     fill=(255, 225, 90))  # fmt: skip
    if marks & MARK_PAIR:
        cy = h * 0.55
        pw, ph = w * 0.56, h * 0.34
        draw.rounded_rectangle((w * 0.22, cy - ph / 2, w * 0.22 + pw, cy + ph / 2),
                               radius=round(6 * scale), fill=(235, 235, 235))  # fmt: skip
        rad = 11 * scale
        kind = style.objects[0]
        for cx in (w * 0.38, w * 0.62):
            _draw_object(draw, kind, cx, cy, rad, style.palette[2], style.palette[3], r)
    if marks & MARK_LOGO:
        s = 8 * scale
        cx, cy = w * 0.5, h * 0.16
        draw.rectangle((cx - s, cy - s, cx + s, cy + s), fill=(20, 20, 30))
        d = s * 0.65
        draw.polygon([(cx, cy - d), (cx + d, cy), (cx, cy + d), (cx - d, cy)],
                     fill=(240, 240, 240))  # fmt: skip
    if marks & MARK_PRICE_TAG:
        x0, y0 = w * 0.12, h * 0.66
        tw, th = 26 * scale, 14 * scale
        draw.polygon(
            [(x0, y0 + th / 2), (x0 + 7 * scale, y0), (x0 + tw, y0), (x0 + tw, y0 + th),
             (x0 + 7 * scale, y0 + th)],
            fill=(250, 215, 0), outline=(120, 40, 0),
        )  # fmt: skip
        hr = 2 * scale
        draw.ellipse((x0 + 6 * scale - hr, y0 + th / 2 - hr, x0 + 6 * scale + hr, y0 + th / 2 + hr),
                     fill=(120, 40, 0))  # fmt: skip
        draw.line((x0 + 11 * scale, y0 + th / 2, x0 + tw - 3 * scale, y0 + th / 2),
                  fill=(200, 0, 0), width=max(1, round(2 * scale)))  # fmt: skip


def render_original(style: ImageStyle, seed: int, marks: int = 0) -> Image.Image:
    """Draw one original image of ``style`` from ``seed`` (with indicator ``marks`` bits)."""
    rng = np.random.default_rng(seed)  # arrays
    r = random.Random(seed)  # scalar decisions
    arr = _texture(style, rng, r)
    if marks & MARK_OUTDOOR:
        arr = _outdoor(arr)
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), mode="RGB")
    draw = ImageDraw.Draw(img)
    w, h = style.width, style.height
    scale = min(w, h) / 128.0
    n_obj = style.objects_min + r.randint(0, style.objects_span)
    objects = style.objects
    for _ in range(n_obj):
        kind = objects[r.randrange(len(objects))]
        rad = style.object_size * scale * r.uniform(0.6, 1.5)
        cx, cy = r.uniform(0, w), r.uniform(0, h)
        fill = _jitter(style.palette[2 + r.randint(0, 1)], r)
        accent = _jitter(style.palette[3], r, 30)
        _draw_object(draw, kind, cx, cy, rad, fill, accent, r)
    fw = max(1, round(style.frame_width * scale))
    frame_colour = style.palette[3]
    if style.frame == "solid":
        draw.rectangle((0, 0, w - 1, h - 1), outline=frame_colour, width=fw)
    elif style.frame == "double":
        half = max(1, fw // 2)
        draw.rectangle((0, 0, w - 1, h - 1), outline=frame_colour, width=half)
        draw.rectangle(
            (fw + 2, fw + 2, w - fw - 3, h - fw - 3), outline=style.palette[2], width=half
        )
    elif style.frame == "rounded":
        draw.rounded_rectangle(
            (fw, fw, w - fw - 1, h - fw - 1), radius=4 * fw, outline=frame_colour, width=fw
        )
    margin = fw + max(2, round(3 * scale))
    if style.watermark == "text":
        font = _font(max(8, round(11 * scale)))
        left, top, right, bottom = draw.textbbox((0, 0), style.watermark_text, font=font)
        x, y = _corner_xy(style.watermark_corner, w, h, right - left, bottom - top, margin)
        draw.text(
            (x - left, y - top), style.watermark_text, font=font, fill=(255, 255, 255),
            stroke_width=1, stroke_fill=(40, 40, 40),
        )  # fmt: skip
    elif style.watermark == "symbol":
        size = max(5, round(9 * scale))
        x, y = _corner_xy(style.watermark_corner, w, h, 2 * size, 2 * size, margin)
        kind = {"crown": "star", "xo": "circle"}.get(style.symbol, style.symbol)
        _draw_object(
            draw, kind, x + size, y + size, size, (255, 255, 255), (30, 30, 30), random.Random(0)
        )
    if marks:
        _draw_marks(draw, style, marks, random.Random(seed ^ 0x5EED))
    return img


def encode(img: Image.Image, ext: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if ext == "png":
        img.save(buf, format="PNG", optimize=False, compress_level=6)
    else:
        img.save(buf, format="JPEG", quality=int(quality), optimize=False, subsampling=2)
    return buf.getvalue()


def _decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img.convert("RGB")


def near_duplicate(
    img: Image.Image, transform: str, seed: int, fill: tuple[int, int, int]
) -> tuple[Image.Image, int | None]:
    """Apply the named transforms ("crop+brightness"); returns the image and a JPEG quality
    override (for "jpeg_quality")."""
    rng = np.random.default_rng(seed)
    quality: int | None = None
    w, h = img.size
    for name in transform.split("+"):
        if name == "crop":
            keep = rng.uniform(0.8, 0.95)
            cw, ch = max(8, round(w * keep)), max(8, round(h * keep))
            x0 = int(rng.integers(0, w - cw + 1))
            y0 = int(rng.integers(0, h - ch + 1))
            img = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((w, h), Image.BILINEAR)
        elif name == "brightness":
            factor = rng.uniform(0.72, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 1.3)
            img = ImageEnhance.Brightness(img).enhance(factor)
        elif name == "jpeg_quality":
            quality = int(rng.integers(25, 60))
        elif name == "rotate":
            angle = rng.uniform(2, 8) * (1 if rng.random() < 0.5 else -1)
            img = img.rotate(angle, resample=Image.BILINEAR, fillcolor=fill)
        elif name == "resize":
            s = rng.uniform(0.6, 0.9)
            img = img.resize((max(8, round(w * s)), max(8, round(h * s))), Image.BILINEAR)
            w, h = img.size
        elif name not in ("identical", "reencode"):
            raise ValueError(f"unknown image transform {name!r}")
    return img, quality


@dataclass(frozen=True)
class FileJob:
    """Everything needed to write one image file (picklable, for worker processes)."""

    index: int
    path: str
    ext: str
    kind: int
    transform: str | None
    style: ImageStyle
    source_index: int
    source_ext: str
    source_style: ImageStyle | None
    marks: int = 0  # indicator marks of the file (a derived file shares its source's)


def _original_bytes(
    style: ImageStyle, seed: int, file_index: int, ext: str, marks: int = 0
) -> bytes:
    img = render_original(style, item_seed(seed, "image", file_index), marks)
    return encode(img, ext, style.quality)


def file_bytes(job: FileJob, seed: int) -> tuple[bytes, int, int]:
    """The bytes of one file, and its width and height."""
    if job.kind == KIND_ORIGINAL:
        img = render_original(job.style, item_seed(seed, "image", job.index), job.marks)
        return encode(img, job.ext, job.style.quality), img.width, img.height
    assert job.source_style is not None
    source = _original_bytes(job.source_style, seed, job.source_index, job.source_ext, job.marks)
    if job.kind == KIND_COPIED and job.transform == "identical":
        with Image.open(io.BytesIO(source)) as im:
            return source, im.width, im.height
    img = _decode(source)
    t_seed = item_seed(seed, "image-transform", job.index)
    quality = job.style.quality
    if job.kind == KIND_NEAR_DUPLICATE:
        img, override = near_duplicate(img, job.transform or "crop", t_seed, job.style.palette[0])
        quality = override or quality
    elif job.kind == KIND_COPIED:  # re-encoded copy, sometimes a little smaller
        rng = np.random.default_rng(t_seed)
        quality = int(rng.integers(45, 90))
        if rng.random() < 0.5:
            s = rng.uniform(0.8, 0.95)
            img = img.resize(
                (max(8, round(img.width * s)), max(8, round(img.height * s))), Image.BILINEAR
            )
    return encode(img, job.ext, quality), img.width, img.height


def write_files(jobs: list[FileJob], images_dir: str, seed: int) -> list[tuple[int, int, int, int]]:
    """Write ``jobs`` under ``images_dir``; returns (index, n_bytes, width, height) per file."""
    out = []
    root = Path(images_dir)
    for job in jobs:
        data, width, height = file_bytes(job, seed)
        target = root / job.path
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
        out.append((job.index, len(data), width, height))
    return out


def worker_count(requested: int | None) -> int:
    cpus = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    )
    if requested is not None:
        return max(1, requested)
    return max(1, min(4, cpus))
