"""Read-only access to the portal registry, and the half-year assessment periods.

The registry is the seed `portals_registry.csv`, unless `$PORTAL_INDEX_REGISTRY` names another file
of the same columns (a synthetic registry from `portal-index synth`, say); the dbt model
`stg_registry__portals` follows the same variable, so Python and the warehouse see one registry.
"""

from __future__ import annotations

import csv
import os
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from portal_index.config import SEEDS_DIR

_PERIOD = re.compile(r"^(\d{4})-H([12])$")


def period_of(day: date) -> str:
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def period_bounds(period: str) -> tuple[date, date]:
    m = _PERIOD.match(period)
    if not m:
        raise ValueError(f"period must look like 2026-H1 or 2026-H2, got {period!r}")
    year, half = int(m.group(1)), int(m.group(2))
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


REGISTRY_ENV = "PORTAL_INDEX_REGISTRY"
SEED_REGISTRY = SEEDS_DIR / "registry" / "portals_registry.csv"


def registry_file() -> Path:
    return Path(os.environ.get(REGISTRY_ENV) or SEED_REGISTRY)


def portals() -> list[dict]:
    path = registry_file()
    return [dict(p) for p in _read(path, path.stat().st_mtime_ns)]


@lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> tuple[dict, ...]:
    with open(path, encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def active_portals(period: str) -> list[dict]:
    """Portals valid at any time during the period (same rule as the dbt model int_portal_periods)."""
    start, end = period_bounds(period)
    return [p for p in portals()
            if (not p["valid_from"] or date.fromisoformat(p["valid_from"]) <= end)
            and (not p["valid_to"] or date.fromisoformat(p["valid_to"]) >= start)]


def find_portal(owner_type: str, code: str, era: str | None, kind: str, day: date) -> dict | None:
    """The registry portal of a province (code in `era`) or ministry, of `kind`, valid on `day`."""
    column = "ministry_code" if owner_type == "ministry" else f"province_code_{era}"
    for p in portals():
        if p[column] == code and p["kind"] == kind and p["owner_type"] == owner_type \
                and (not p["valid_from"] or date.fromisoformat(p["valid_from"]) <= day) \
                and (not p["valid_to"] or date.fromisoformat(p["valid_to"]) >= day):
            return p
    return None
