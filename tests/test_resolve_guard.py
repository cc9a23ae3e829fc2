"""Identifiers shared by implausibly many ads / names / cities create no links."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vendorlink.resolve.blocking import CandidatePairs
from vendorlink.resolve.guard import GuardSettings, guarded_set_matrix, implausible_values
from vendorlink.resolve.identifiers import identifier_components
from vendorlink.resolve.records import RecordTable
from vendorlink.resolve.settings import FieldSpec, SettingsError, TrainingSettings, ads_settings
from vendorlink.resolve.training_pairs import proxy_components, proxy_pairs

FIELDS = [
    FieldSpec("text", "text"),
    FieldSpec("phones", "string_list"),
    FieldSpec("emails", "string_list"),
    FieldSpec("names", "string_list"),
    FieldSpec("city", "category"),
]
AGENCY = "+13125550199"
CITIES = [f"city{c}" for c in range(40)]


def vendors_and_an_agency(n_vendors: int = 60, per: int = 6, agency_ads: int = 40) -> RecordTable:
    """``n_vendors`` vendors with a phone, a name and a city of their own; ``agency_ads``
    ads of as many different vendors (names, cities) also show one agency number."""
    rng = np.random.default_rng(0)
    rows = []
    for v in range(n_vendors):
        phone = f"+1{200 + v:03d}5550123"
        for i in range(per):
            rows.append((f"v{v}-{i}", f"w{v} ad {i}", [phone], [], [f"name{v}"], CITIES[v % 40], v))
    for k in range(agency_ads):
        rows.append(
            (f"a{k}", f"agency ad {k}", [AGENCY], [], [f"other{k}"], CITIES[k % 40], 1000 + k)
        )
    order = rng.permutation(len(rows))
    frame = pd.DataFrame(
        [rows[i] for i in order],
        columns=["record_id", "text", "phones", "emails", "names", "city", "vendor"],
    )
    return RecordTable.from_frame(frame, FIELDS)


def agency_ads(records: RecordTable) -> np.ndarray:
    return np.array([AGENCY in list(p) for p in records.values["phones"]])


def test_a_number_with_many_names_and_cities_is_dropped_and_reported() -> None:
    records = vendors_and_an_agency()
    drop, report = implausible_values(records, "phones")
    assert report.n_dropped == 1 == int(drop.sum())
    assert report.n_records_affected == 40
    assert report.dropped_by["names"] == 1 and report.dropped_by["cities"] == 1
    assert report.limits["names"] >= 10  # the floor holds on small data
    mat, _ = guarded_set_matrix(records, "phones")
    agency = agency_ads(records)
    assert mat[np.flatnonzero(agency)].nnz == 0  # the agency number links nothing
    assert mat[np.flatnonzero(~agency)].nnz == int((~agency).sum())


def test_guarded_components_do_not_chain_vendors_through_the_agency() -> None:
    records = vendors_and_an_agency()
    comp = proxy_components(records, "phones")
    agency = agency_ads(records)
    assert (comp[agency] == -1).all()  # no proxy label from the shared number
    assert len(np.unique(comp[~agency])) == 60  # one component per vendor
    reports: list = []
    ident = identifier_components(records, ["phones", "emails"], reports=reports)
    assert (ident[agency] == -1).all()
    assert [r.field for r in reports] == ["phones", "emails"] and reports[0].n_dropped == 1
    # switched off, the agency number is one community of 40 different vendors' ads
    off = proxy_components(records, "phones", GuardSettings(enabled=False))
    assert len(np.unique(off[agency])) == 1 and off[agency][0] >= 0


def test_clean_data_loses_nothing() -> None:
    records = vendors_and_an_agency(agency_ads=0)
    drop, report = implausible_values(records, "phones")
    assert report.n_dropped == 0 and not drop.any()
    assert report.n_values == 60


def test_proxy_pairs_report_the_dropped_values_and_take_no_positive_from_them() -> None:
    records = vendors_and_an_agency()
    left, right = np.triu_indices(len(records), 1)
    cands = CandidatePairs(left, right, np.ones(len(left), np.uint32), ["all"])
    pairs = proxy_pairs(records, cands, TrainingSettings(n_positive=400, n_negative=400), seed=0)
    assert pairs.report is not None and pairs.report.identifier_guard is not None
    assert pairs.report.identifier_guard["n_dropped"] == 1
    agency = agency_ads(records)
    pos = pairs.y == 1
    assert not (agency[pairs.left[pos]] | agency[pairs.right[pos]]).any()
    off = TrainingSettings(n_positive=400, n_negative=400, identifier_guard=False)
    unguarded = proxy_pairs(records, cands, off, seed=0)
    upos = unguarded.y == 1
    assert (agency[unguarded.left[upos]] & agency[unguarded.right[upos]]).any()


def test_guard_factors_are_validated() -> None:
    settings = ads_settings(with_images=False)
    settings.training.guard_factor = 0.0
    with pytest.raises(SettingsError, match="guard_factor"):
        settings.validate()


def test_one_busy_vendor_keeps_its_number_unless_the_ads_count_is_asked_for() -> None:
    rows = [(f"b{i}", f"busy ad {i}", ["+12125550150"], [], ["mia"], "city0") for i in range(300)]
    for v in range(60):
        rows += [(f"v{v}-{i}", f"w{v} {i}", [f"+1{200 + v:03d}5550123"], [], [f"n{v}"], "city1")
                 for i in range(3)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["record_id", "text", "phones", "emails", "names", "city"])
    records = RecordTable.from_frame(frame, FIELDS)
    drop, report = implausible_values(records, "phones")
    assert not drop.any() and "ads" not in report.limits  # off by default
    drop, report = implausible_values(records, "phones", GuardSettings(ads_factor=3.0, min_ads=10))
    assert int(drop.sum()) == report.dropped_by["ads"] == 1 and report.n_records_affected == 300
