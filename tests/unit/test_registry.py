"""The registry seeds: the claims users will check first (dbt tests check the same in the warehouse)."""

import csv
from collections import Counter

from portal_index.config import SEEDS_DIR
from portal_index.core.periods import period_bounds, period_of
from portal_index.core.registry import active_portals

REG = SEEDS_DIR / "registry"


def rows(name):
    with open(REG / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_63_and_34_provinces_and_every_old_one_maps_to_exactly_one_new_one():
    old, new, cw = rows("provinces_63.csv"), rows("provinces_34.csv"), rows("province_crosswalk.csv")
    assert len(old) == 63 and len(new) == 34
    assert Counter(r["old_province_code"] for r in cw) == Counter({r["province_code"]: 1 for r in old})
    assert {r["new_province_code"] for r in cw} == {r["province_code"] for r in new}
    assert all(r["valid_to"] == "2025-06-30" for r in old) and all(r["valid_from"] == "2025-07-01" for r in new)


def test_merged_units_have_the_design_cards_sizes():
    cw = rows("province_crosswalk.csv")
    sizes = Counter(r["new_province_code"] for r in cw)
    assert sorted(Counter(sizes.values()).items()) == [(1, 11), (2, 17), (3, 6)]


def test_active_portals_follow_the_administrative_map_of_the_period():
    after = active_portals("2026-H2")
    before = active_portals("2024-H2")
    assert len([p for p in after if p["owner_type"] == "province"]) == 34 * 2
    assert len([p for p in after if p["owner_type"] == "ministry"]) == 17 * 2
    assert len([p for p in before if p["owner_type"] == "province"]) == 63 * 2
    assert len([p for p in before if p["owner_type"] == "ministry"]) == 22 * 2


def test_periods():
    from datetime import date

    assert period_of(date(2026, 6, 30)) == "2026-H1" and period_of(date(2026, 7, 1)) == "2026-H2"
    assert period_bounds("2025-H2") == (date(2025, 7, 1), date(2025, 12, 31))


def test_the_reform_dates_are_the_ones_the_registry_seeds_switch_on():
    """The calendar's constants (dbt_project.yml vars, read by dbt and by core.periods) agree with
    the registry: the 63 provinces end the day before the merger, the 34 begin on it, and the
    ministries that ended were succeeded on the restructuring date."""
    from datetime import timedelta

    from portal_index.core.periods import era_on, merger_date, ministry_restructuring_date, time_zone

    assert {r["valid_from"] for r in rows("provinces_34.csv")} == {merger_date().isoformat()}
    assert {r["valid_to"] for r in rows("provinces_63.csv")} == {(merger_date() - timedelta(days=1)).isoformat()}
    ended = {r["valid_to"] for r in rows("ministries_registry.csv") if r["valid_to"]}
    assert ended == {(ministry_restructuring_date() - timedelta(days=1)).isoformat()}
    assert era_on(merger_date()) == "34" and era_on(merger_date() - timedelta(days=1)) == "63"
    assert time_zone() == "Asia/Ho_Chi_Minh"
