"""Configuration of the synthetic ad generator, and its presets."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .geography import DEFAULT_END_DATE, DEFAULT_START_DATE, MATCHED_REGION_SHARES, REGIONS

GENERATOR_VERSION = "1.1.0"

PRESETS: dict[str, dict[str, Any]] = {
    # Unit tests: generates in well under 3 s.
    "tiny": {"n_vendors": 30, "n_ads": 150},
    "small": {"n_vendors": 300, "n_ads": 2_500},
    "medium": {"n_vendors": 1_000, "n_ads": 8_000},
    # The size of MATCHED: 3,549 vendors, 28,513 ads, ~55k images, four regions.
    "matched": {"n_vendors": 3_549, "n_ads": 28_513},
}

OutputFormat = Literal["csv", "parquet"]
PhoneOverflow = Literal["spill", "reuse"]


@dataclass(frozen=True)
class GeneratorConfig:
    """Everything that decides a generated dataset; same config and seed, same bytes.

    Sizes: ``n_ads`` ads from ``n_vendors`` vendors (default ``n_ads / 8``, the MATCHED
    ratio). ``text_only`` skips images and writes ``ads.parquet`` in chunks of
    ``chunk_size`` ads (bounded memory, any ``n_ads``). Rates are fractions of ads (``*_rate``)
    or of vendors (``*_vendor_rate``). ``workers`` is the number of processes that render
    images (``None``: up to 4, never more than the CPUs); it never changes the output.
    """

    n_ads: int = 2_500
    n_vendors: int | None = None
    seed: int = 0
    preset: str | None = None
    text_only: bool = False
    output_format: OutputFormat = "csv"
    include_vendor_column: bool = False
    indicator_columns: bool = False  # also write the indicator labels into the ads file
    image_size: int = 128
    workers: int | None = None
    chunk_size: int = 20_000
    # time and place
    start_date: dt.date = DEFAULT_START_DATE
    end_date: dt.date = DEFAULT_END_DATE
    region_shares: dict[str, float] = field(default_factory=lambda: dict(MATCHED_REGION_SHARES))
    multi_region_vendor_rate: float = 0.25
    # identifiers
    no_phone_rate: float = 0.10
    shared_phone_vendor_rate: float = 0.05
    rotating_phone_vendor_rate: float = 0.15
    phone_chance_collision_rate: float = 0.01
    phone_overflow: PhoneOverflow = "spill"
    # duplicates and images
    duplicate_rate: float = 0.03
    no_image_rate: float = 0.10
    empty_text_rate: float = 0.01
    max_images_per_ad: int = 6
    repost_rate: float = 0.18
    near_duplicate_rate: float = 0.07
    copied_image_rate: float = 0.03

    def __post_init__(self) -> None:
        if self.n_vendors is None:
            object.__setattr__(self, "n_vendors", max(1, round(self.n_ads / 8)))
        if isinstance(self.start_date, str):
            object.__setattr__(self, "start_date", dt.date.fromisoformat(self.start_date))
        if isinstance(self.end_date, str):
            object.__setattr__(self, "end_date", dt.date.fromisoformat(self.end_date))
        object.__setattr__(self, "region_shares", dict(self.region_shares))
        self.validate()

    @property
    def vendors(self) -> int:
        """``n_vendors`` as an int (always set after construction)."""
        assert self.n_vendors is not None
        return self.n_vendors

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first bad field."""
        if self.n_ads < 1:
            raise ValueError(f"n_ads must be at least 1, got {self.n_ads}")
        if not 1 <= self.vendors <= self.n_ads:
            raise ValueError(
                f"n_vendors must be between 1 and n_ads ({self.n_ads}), got {self.n_vendors}"
            )
        if self.output_format not in ("csv", "parquet"):
            raise ValueError(
                f"output_format must be 'csv' or 'parquet', got {self.output_format!r}"
            )
        if self.phone_overflow not in ("spill", "reuse"):
            raise ValueError(
                f"phone_overflow must be 'spill' or 'reuse', got {self.phone_overflow!r}"
            )
        if not 32 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be between 32 and 1024, got {self.image_size}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {self.chunk_size}")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"workers must be positive, got {self.workers}")
        if not 0 <= self.max_images_per_ad <= 20:
            raise ValueError(
                f"max_images_per_ad must be between 0 and 20, got {self.max_images_per_ad}"
            )
        if self.end_date < self.start_date:
            raise ValueError(f"end_date {self.end_date} is before start_date {self.start_date}")
        unknown = set(self.region_shares) - set(REGIONS)
        if unknown:
            raise ValueError(f"unknown regions in region_shares: {sorted(unknown)}; use {REGIONS}")
        if not self.region_shares or min(self.region_shares.values()) < 0:
            raise ValueError("region_shares must name at least one region with a share >= 0")
        if sum(self.region_shares.values()) <= 0:
            raise ValueError("region_shares must not all be zero")
        for f in dataclasses.fields(self):
            if f.name.endswith("_rate"):
                value = getattr(self, f.name)
                if not 0.0 <= value <= 1.0:
                    raise ValueError(f"{f.name} must be between 0 and 1, got {value}")
        if self.repost_rate + self.near_duplicate_rate + self.copied_image_rate > 1.0:
            raise ValueError("repost_rate + near_duplicate_rate + copied_image_rate must be <= 1")

    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> GeneratorConfig:
        """A preset ("tiny", "small", "medium", "matched") with field overrides."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
        values: dict[str, Any] = {**PRESETS[name], "preset": name}
        values.update(overrides)
        return cls.from_dict(values)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> GeneratorConfig:
        """Build from a plain mapping (e.g. YAML or JSON); unknown keys are an error."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown generator config keys: {', '.join(unknown)}")
        return cls(**values)

    @classmethod
    def from_file(cls, path: str | Path) -> GeneratorConfig:
        """Load from a YAML or JSON file; a ``preset`` key starts from that preset."""
        text = Path(path).read_text(encoding="utf-8")
        if Path(path).suffix.lower() == ".json":
            values = json.loads(text)
        else:
            import yaml

            values = yaml.safe_load(text) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path}: expected a mapping of config keys")
        preset = values.pop("preset", None)
        if preset is not None:
            return cls.from_preset(preset, **values)
        return cls.from_dict(values)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field (dates as ISO strings)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = value.isoformat() if isinstance(value, dt.date) else value
        return out

    def replace(self, **changes: Any) -> GeneratorConfig:
        return dataclasses.replace(self, **changes)

    @property
    def writes_parquet(self) -> bool:
        return self.text_only or self.output_format == "parquet"
