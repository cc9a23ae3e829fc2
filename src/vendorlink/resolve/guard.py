"""Guard against identifiers shared by many vendors.

A phone number or email that appears with implausibly many distinct names or cities, or in
implausibly many ads, is not one vendor's: a booking agency, a placeholder number copied
into many ads, a number read wrongly. Linking through it would glue unrelated vendors
together, both in the proxy labels the match function is trained on and in the identifier
communities the final clusters join. :func:`guarded_set_matrix` leaves such values out.

"Implausible" is relative to the data: for each statistic (ads holding the value, distinct
``names`` and distinct ``city`` values among them) a value is dropped when it exceeds
``factor`` times the statistic's ``quantile`` over the values held by two or more records,
and also a floor (:class:`GuardSettings`), so small or clean data lose nothing. The ads
count alone is off by default (``ads_factor=0``): one busy vendor legitimately posts
thousands of ads under one number or email (on the generated 1M ads, 10 times the 99th
percentile dropped the emails of the two largest vendors, 2,432 and 664 ads, each one
vendor's), while an identifier shared by many vendors shows many names and cities.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import TrainingSettings


@dataclass
class GuardSettings:
    """Limits of :func:`implausible_values` (``enabled=False`` keeps every value)."""

    enabled: bool = True
    quantile: float = 0.99
    factor: float = 3.0  # names and cities
    ads_factor: float = 0.0  # ads held (0: not used, see the module doc)
    min_names: int = 10
    min_cities: int = 10
    min_ads: int = 200
    names_field: str | None = "names"
    city_field: str | None = "city"

    @classmethod
    def from_training(cls, training: TrainingSettings) -> GuardSettings:
        """The guard of a training configuration (its ``identifier_guard`` fields)."""
        return cls(
            enabled=training.identifier_guard,
            factor=training.guard_factor,
            ads_factor=training.guard_ads_factor,
        )


@dataclass
class GuardReport:
    """What the guard dropped from one identifier field."""

    field: str
    n_values: int = 0  # distinct values held by two or more records
    n_dropped: int = 0
    n_records_affected: int = 0  # records holding a dropped value
    limits: dict[str, float] = field(default_factory=dict)
    dropped_by: dict[str, int] = field(default_factory=dict)  # statistic -> values over it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _distinct_per_value(mat: sparse.csr_matrix, codes: np.ndarray) -> np.ndarray:
    """Distinct codes (``-1`` = none) among the records holding each column of ``mat``."""
    ok = codes >= 0
    if not ok.any():
        return np.zeros(mat.shape[1], dtype=np.int64)
    rows = np.flatnonzero(ok)
    onehot = sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, codes[ok])),
        shape=(mat.shape[0], int(codes[ok].max()) + 1),
    )
    return _distinct_items(mat, onehot)


def _distinct_items(mat: sparse.csr_matrix, items: sparse.csr_matrix) -> np.ndarray:
    """Distinct items (columns of ``items``) among the records holding each column of ``mat``."""
    both = (mat.T.tocsr() @ items).tocsr()
    return np.diff(both.indptr)


def _category_codes(records: RecordTable, name: str) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(list(records.values[name]), dtype=object))
    return codes.astype(np.int64)


def implausible_values(
    records: RecordTable, field_name: str, settings: GuardSettings | None = None
) -> tuple[np.ndarray, GuardReport]:
    """Boolean mask over the columns of ``records.set_matrix(field_name)``: values shared
    by implausibly many ads, names or cities (module doc), and the report."""
    settings = settings or GuardSettings()
    mat = records.set_matrix(field_name).tocsr()
    report = GuardReport(field=field_name)
    drop = np.zeros(mat.shape[1], dtype=bool)
    n_ads = np.diff(mat.tocsc().indptr)
    shared = n_ads >= 2
    report.n_values = int(shared.sum())
    if not settings.enabled or not shared.any():
        return drop, report
    stats: dict[str, tuple[np.ndarray, float, float]] = {}
    if settings.ads_factor > 0:
        stats["ads"] = (n_ads, settings.ads_factor, settings.min_ads)
    if settings.names_field and settings.names_field in records.specs:
        names = records.set_matrix(settings.names_field).tocsr()
        stats["names"] = (_distinct_items(mat, names), settings.factor, settings.min_names)
    if settings.city_field and settings.city_field in records.specs:
        codes = _category_codes(records, settings.city_field)
        stats["cities"] = (_distinct_per_value(mat, codes), settings.factor, settings.min_cities)
    for stat, (values, factor, floor) in stats.items():
        tail = float(np.quantile(values[shared], settings.quantile, method="lower"))
        limit = max(float(floor), factor * tail)
        over = shared & (values > limit)
        report.limits[stat] = round(limit, 2)
        report.dropped_by[stat] = int(over.sum())
        drop |= over
    report.n_dropped = int(drop.sum())
    if report.n_dropped:
        report.n_records_affected = int((mat[:, np.flatnonzero(drop)].getnnz(axis=1) > 0).sum())
    return drop, report


def guarded_set_matrix(
    records: RecordTable, field_name: str, settings: GuardSettings | None = None
) -> tuple[sparse.csr_matrix, GuardReport]:
    """``records.set_matrix(field_name)`` without the implausible values' columns."""
    drop, report = implausible_values(records, field_name, settings)
    mat = records.set_matrix(field_name).tocsr()
    if report.n_dropped:
        mat = mat[:, np.flatnonzero(~drop)]
    return mat, report
