"""Read-only access to the portal registry.

The registry is the seed `portals_registry.csv`, unless `$PORTAL_INDEX_REGISTRY` names another file
of the same columns (a synthetic registry from `portal-index synth`, say); the dbt model
`stg_registry__portals` follows the same variable, so Python and the warehouse see one registry.
Which portals a period assesses is `portal_index.core.periods.valid_between`, the rule of the dbt
model `int_portal_periods`.
"""

from __future__ import annotations

import csv
from datetime import date
from functools import lru_cache
from pathlib import Path

from portal_index.config import SEEDS_DIR, registry_override
from portal_index.core.periods import period_bounds, valid_between

SEED_REGISTRY = SEEDS_DIR / "registry" / "portals_registry.csv"


def registry_file() -> Path:
    return registry_override() or SEED_REGISTRY


def portals() -> list[dict]:
    path = registry_file()
    return [dict(p) for p in _read(path, path.stat().st_mtime_ns)]


@lru_cache(maxsize=4)
def _read(path: Path, mtime_ns: int) -> tuple[dict, ...]:
    with open(path, encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def active_portals(period: str) -> list[dict]:
    """Portals valid at any time during the period."""
    start, end = period_bounds(period)
    return [p for p in portals() if valid_between(p, start, end)]


def find_portal(owner_type: str, code: str, era: str | None, kind: str, day: date) -> dict | None:
    """The registry portal of a province (code in `era`) or ministry, of `kind`, valid on `day`."""
    column = "ministry_code" if owner_type == "ministry" else f"province_code_{era}"
    for p in portals():
        if p[column] == code and p["kind"] == kind and p["owner_type"] == owner_type and valid_between(p, day, day):
            return p
    return None


def validity_problem(portal_id: str, day: date) -> str | None:
    """None when `portal_id` is a registry portal valid on `day`; else what was expected."""
    path = registry_file()
    return _validity_problem(path, path.stat().st_mtime_ns, portal_id, day)


@lru_cache(maxsize=65536)
def _validity_problem(path: Path, mtime_ns: int, portal_id: str, day: date) -> str | None:
    rows = _by_id(path, mtime_ns).get(portal_id)
    if not rows:
        return "a portal_id of the registry"
    if any(valid_between(p, day, day) for p in rows):
        return None
    spans = "; ".join(f"{p['valid_from'] or '…'} to {p['valid_to'] or '…'}" for p in rows)
    return f"a portal valid on {day.isoformat()} (the registry has it from {spans})"


@lru_cache(maxsize=4)
def _by_id(path: Path, mtime_ns: int) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p in _read(path, mtime_ns):
        out.setdefault(p["portal_id"], []).append(p)
    return out
