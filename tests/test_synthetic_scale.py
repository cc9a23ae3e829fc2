"""Populations beyond the fictional phone numbers: numbers stay one vendor's, emails fill in.

The city blocks and spill codes hold 26,100 fictional numbers (~16k vendors). A population of
20k vendors runs past them; only the plan is built (no text for most ads), which takes about
a second.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import phonenumbers
import pytest

from vendorlink.data.synthetic import GeneratorConfig
from vendorlink.data.synthetic.generator import _TextContext, render_text_chunk
from vendorlink.data.synthetic.geography import (
    CITY_AREA_CODES,
    EXTRA_AREA_CODES,
    SPILL_AREA_CODES,
    fictional_e164,
)
from vendorlink.data.synthetic.plan import AdPlan, build_plan
from vendorlink.data.synthetic.vendors import VendorTable, aliases_of, contacts_of

OLD_POOL = 100 * (sum(len(c) for c in CITY_AREA_CODES.values()) + len(SPILL_AREA_CODES))
N_VENDORS = 20_000


def _owners(plan: AdPlan) -> dict[int, set[int]]:
    owners: dict[int, set[int]] = defaultdict(set)
    for v, row in enumerate(plan.vendor_phones.tolist()):
        for code in row:
            if code >= 0:
                owners[code].add(v)
    return owners


def _emails(table: VendorTable) -> list[str | None]:
    out: list[str | None] = []
    for i, row in enumerate(table.genomes.tolist()):
        email, _, _ = contacts_of(row, aliases_of(row)[0])
        out.append(table.email_overrides.get(i, email))
    return out


@pytest.fixture(scope="module")
def strict_plan() -> tuple[AdPlan, VendorTable]:
    """20k vendors, no booker numbers and no chance collisions."""
    cfg = GeneratorConfig(
        n_ads=2 * N_VENDORS,
        n_vendors=N_VENDORS,
        text_only=True,
        seed=3,
        shared_phone_vendor_rate=0.0,
        phone_chance_collision_rate=0.0,
    )
    return build_plan(cfg)


def test_extra_area_codes_are_geographic_and_new() -> None:
    old = set(SPILL_AREA_CODES) | {c for codes in CITY_AREA_CODES.values() for c in codes}
    assert len(set(EXTRA_AREA_CODES)) == len(EXTRA_AREA_CODES)
    assert not old & set(EXTRA_AREA_CODES)
    kinds = phonenumbers.PhoneNumberType
    geographic = {kinds.FIXED_LINE, kinds.MOBILE, kinds.FIXED_LINE_OR_MOBILE}
    for code in EXTRA_AREA_CODES:
        for line in (0, 99):
            number = phonenumbers.parse(fictional_e164(code, line))
            assert phonenumbers.is_valid_number(number), code
            assert phonenumbers.number_type(number) in geographic, code
            assert fictional_e164(code, line)[5:10] == "55501"


def test_beyond_the_old_pool_no_number_is_given_to_two_vendors(strict_plan) -> None:
    plan, _ = strict_plan
    owners = _owners(plan)
    assert len(owners) > OLD_POOL  # the population did run past the old pool
    assert max(len(v) for v in owners.values()) == 1
    shown = plan.phones[plan.phones >= 0]
    assert all(len(owners[c]) == 1 for c in np.unique(shown).tolist())
    # every number handed out is on a known area code (fictional lines 555-0100..0199)
    known = set(SPILL_AREA_CODES) | set(EXTRA_AREA_CODES)
    known |= {c for codes in CITY_AREA_CODES.values() for c in codes}
    assert {c // 100 for c in owners} <= known
    given = [e for e in _emails(strict_plan[1]) if e is not None]
    assert len(set(given)) == len(given)


def test_vendors_past_every_number_show_an_email_of_their_own() -> None:
    cfg = GeneratorConfig(n_ads=400_000, n_vendors=50_000, text_only=True, seed=5)
    plan, table = build_plan(cfg)
    assert plan.email_only is not None and plan.email_ad is not None
    assert plan.email_only.sum() > 0
    owners = _owners(plan)
    # booker groups (2-4 vendors) and the configured chance collisions are the only sharing
    shared = [c for c, v in owners.items() if len(v) > 1]
    assert len(shared) < 0.05 * len(owners)
    emails = _emails(table)
    given = [e for e in emails if e is not None]
    assert len(set(given)) == len(given)  # no address is two vendors'
    assert all(emails[v] is not None for v in np.flatnonzero(plan.email_only).tolist())
    assert not (plan.phones[plan.email_ad] >= 0).any()
    # the share of ads with an identifier (phone, or email in its place) stays ~90%
    with_id = (plan.phones >= 0).any(axis=1) | plan.email_ad
    assert 0.85 < with_id.mean() < 0.95
    # rendered ads of email-only vendors carry that vendor's email, and no phone
    ctx = _TextContext.build(cfg, plan, table)
    start = int(np.flatnonzero(plan.email_ad)[0])
    _, truth, _ = render_text_chunk(ctx, start, start + 300)
    for k in range(300):
        if plan.email_ad[start + k] and not plan.empty_text[start + k]:
            vendor = int(plan.vendor[start + k])
            assert truth["emails"][k] == [emails[vendor]]
            assert truth["phones"][k] == []
