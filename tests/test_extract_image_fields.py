"""Image fields: hashes, size and format, faces, and a batch that survives bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageEnhance

from vendorlink.extract.image_fields import (
    IMAGE_FIELD_NAMES,
    count_faces,
    hamming,
    image_fields,
    image_fields_batch,
)


def drawing(size: tuple[int, int] = (320, 240)) -> Image.Image:
    image = Image.new("RGB", size, (240, 230, 220))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.1, h * 0.2, w * 0.45, h * 0.8), fill=(200, 30, 60))
    draw.rectangle((w * 0.55, h * 0.1, w * 0.9, h * 0.6), fill=(30, 60, 200))
    draw.polygon([(w * 0.5, h * 0.9), (w * 0.7, h * 0.65), (w * 0.9, h * 0.9)], fill=(20, 160, 40))
    return image


def test_fields_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    drawing().save(path)
    fields = image_fields(path)
    assert set(fields) == set(IMAGE_FIELD_NAMES)
    assert (fields["width"], fields["height"], fields["format"]) == (320, 240, "PNG")
    assert len(fields["phash"]) == 16 and len(fields["dhash"]) == 16
    int(fields["phash"], 16)
    assert fields["n_faces"] == 0 and fields["has_face"] is False


def test_hashes_are_stable(tmp_path: Path) -> None:
    first = image_fields(drawing())
    second = image_fields(drawing())
    assert (first["phash"], first["dhash"]) == (second["phash"], second["dhash"])
    drawing().save(tmp_path / "a.png")
    from_file = image_fields(tmp_path / "a.png")
    assert from_file["phash"] == first["phash"]


def test_near_duplicates_are_close_and_others_far(tmp_path: Path) -> None:
    original = drawing()
    original.convert("RGB").save(tmp_path / "o.jpg", quality=95)
    near = ImageEnhance.Brightness(original.resize((300, 225))).enhance(1.08)
    near.save(tmp_path / "n.jpg", quality=60)
    other = drawing().transpose(Image.Transpose.FLIP_LEFT_RIGHT).rotate(90, expand=True)
    a, b, c = image_fields_batch([tmp_path / "o.jpg", tmp_path / "n.jpg", other])
    assert hamming(a["phash"], b["phash"]) <= 8
    assert hamming(a["dhash"], b["dhash"]) <= 10
    assert hamming(a["phash"], c["phash"]) > 16
    assert a["format"] == "JPEG"


def test_hamming() -> None:
    assert hamming("ff00", "ff00") == 0
    assert hamming("ff00", "00ff") == 16
    assert hamming("0", "1") == 1
    with pytest.raises(ValueError):
        hamming("ff", "fff")


def test_batch_reports_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "g.png"
    drawing().save(good)
    broken = tmp_path / "b.jpg"
    broken.write_bytes(b"\xff\xd8 this is not a jpeg")
    results = image_fields_batch([good, tmp_path / "missing.png", broken, good], workers=2)
    assert len(results) == 4
    assert results[0]["error"] is None and results[3]["phash"] == results[0]["phash"]
    assert "FileNotFoundError" in results[1]["error"] and results[1]["phash"] is None
    assert results[2]["error"] and results[2]["n_faces"] is None


def test_large_images_are_scaled_for_detection() -> None:
    big = drawing((3000, 2000))
    assert count_faces(big) == 0
    assert image_fields(big)["width"] == 3000


def test_modes_other_than_rgb() -> None:
    for mode in ("L", "RGBA", "P", "1", "CMYK"):
        fields = image_fields(drawing().convert(mode))
        assert fields["n_faces"] == 0 and len(fields["phash"]) == 16


def cartoon_face(size: int = 200, canvas: float = 2.0) -> Image.Image:
    """A drawn face (skin oval, hair, brows, eyes, nose, mouth) the Haar cascade finds."""
    from PIL import ImageFilter

    image = Image.new("RGB", (int(size * canvas), int(size * canvas)), (90, 90, 100))
    draw = ImageDraw.Draw(image)
    cx, cy, s = image.width // 2, image.height // 2, size / 200
    draw.ellipse((cx - 70 * s, cy - 95 * s, cx + 70 * s, cy + 95 * s), fill=(225, 190, 160))
    draw.ellipse((cx - 75 * s, cy - 110 * s, cx + 75 * s, cy - 50 * s), fill=(60, 40, 30))
    for dx in (-32, 32):
        x = cx + dx * s
        draw.rectangle((x - 20 * s, cy - 38 * s, x + 20 * s, cy - 30 * s), fill=(50, 35, 25))
        draw.ellipse((x - 14 * s, cy - 22 * s, x + 14 * s, cy - 6 * s), fill=(40, 30, 30))
    draw.polygon(
        [(cx, cy - 5 * s), (cx - 10 * s, cy + 25 * s), (cx + 10 * s, cy + 25 * s)],
        fill=(195, 160, 130),
    )
    draw.ellipse((cx - 30 * s, cy + 42 * s, cx + 30 * s, cy + 56 * s), fill=(150, 60, 60))
    return image.filter(ImageFilter.GaussianBlur(2 * s))


def test_a_face_is_found() -> None:
    fields = image_fields(cartoon_face())
    assert fields["n_faces"] == 1 and fields["has_face"] is True


def test_a_face_in_a_large_image_is_found_after_scaling() -> None:
    big = cartoon_face(size=1200, canvas=2.0)  # 2400 x 2400 pixels
    assert count_faces(big) == 1
