"""The assessment calendar: half-year periods in Vietnam time, validity of registry rows in a period,
and the dates of the 2025 administrative reform.

The constants have one home, the `vars:` of `dbt_project/dbt_project.yml`, which the dbt macros
(`period_of`, `period_start`, `period_end`) and the model `int_portal_periods` read with `var()`;
this module reads the same file, so Python and SQL cannot drift (docs/methodology.md, "Periods").
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import yaml

from portal_index.config import DBT_PROJECT_DIR

_PERIOD = re.compile(r"^(\d{4})-H([12])$")


@lru_cache(maxsize=1)
def _vars() -> dict:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))["vars"]


def time_zone() -> str:
    """The time zone periods, schedules and hourly partitions are read in (Asia/Ho_Chi_Minh)."""
    return _vars()["assessment_time_zone"]


def merger_date() -> date:
    """The first day of the 34-province map (Resolution 202/2025/QH15)."""
    return date.fromisoformat(_vars()["province_merger_date"])


def ministry_restructuring_date() -> date:
    """The first day of the 17-ministry government (22 ministries and agencies before it)."""
    return date.fromisoformat(_vars()["ministry_restructuring_date"])


def earliest_test_date() -> date:
    """No assessment test can predate the decree the methodology rests on (Decree 42/2022/NĐ-CP)."""
    return date.fromisoformat(_vars()["earliest_test_date"])


def papi_first_year() -> int:
    """PAPI's first nationwide survey."""
    return int(_vars()["papi_first_year"])


def today() -> date:
    """Today in Vietnam time: the day that decides the current period and the portals active now."""
    return vietnam_date(datetime.now(UTC))


def utc_offset() -> str:
    """The UTC offset as SQL and ISO 8601 write it: '+07'."""
    return f"{utc_offset_hours():+03d}"


def utc_offset_hours() -> int:
    return int(_vars()["assessment_utc_offset_hours"])


def vietnam_date(moment: datetime) -> date:
    """The calendar day of a moment in Vietnam time; a moment without a time zone is UTC, as
    everywhere in the warehouse."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(UTC) + timedelta(hours=utc_offset_hours())).date()


def period_of(day: date) -> str:
    """The half-year a calendar day (in Vietnam time) falls in: 2026-06-30 -> '2026-H1'."""
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


def period_bounds(period: str) -> tuple[date, date]:
    """First and last day of a period: '2025-H2' -> (2025-07-01, 2025-12-31)."""
    m = _PERIOD.match(period)
    if not m:
        raise ValueError(f"period must look like 2026-H1 or 2026-H2, got {period!r}")
    year, half = int(m.group(1)), int(m.group(2))
    return (date(year, 1, 1), date(year, 6, 30)) if half == 1 else (date(year, 7, 1), date(year, 12, 31))


def valid_between(row: dict, first: date, last: date) -> bool:
    """A registry row (valid_from/valid_to as ISO dates or empty) valid at some time in [first, last]."""
    return (not row["valid_from"] or date.fromisoformat(row["valid_from"]) <= last) and (
        not row["valid_to"] or date.fromisoformat(row["valid_to"]) >= first
    )


def era_on(day: date) -> str:
    """'63' before the merger, '34' from it: which province map a day belongs to."""
    return "63" if day < merger_date() else "34"
