"""Expectation suites as code, one per published table.

Bands, pillar weights and the coverage threshold are read from the warehouse's methodology seeds
(`portal_index.core.methodology`), and the set of portals expected in each period from the model
`int_portal_periods`, so the suites check the marts against the methodology as data rather than
against copies of it.
"""

from __future__ import annotations

import duckdb
import great_expectations as gx
from great_expectations.expectations.row_conditions import Column

from portal_index.core.methodology import Methodology

E = gx.expectations


def portal_scores(m: Methodology, reasons: list[str]) -> list:
    grades = [g for g, _ in m.bands]
    out = [
        E.ExpectCompoundColumnsToBeUnique(column_list=["portal_id", "period"]),
        *[E.ExpectColumnValuesToNotBeNull(column=c) for c in ("portal_id", "period", "grade", "coverage")],
        *[
            E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100)
            for c in ("total", "function_score", "performance_score", "access_score")
        ],
        E.ExpectColumnValuesToBeBetween(column="coverage", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeInSet(column="grade", value_set=grades + ["insufficient_data"]),
        E.ExpectColumnValuesToBeBetween(column="rank", min_value=1),
        # a letter only with enough coverage; insufficient_data only without it
        E.ExpectColumnValuesToBeBetween(
            column="coverage", min_value=m.coverage_min, row_condition=Column("grade").is_in(grades)
        ),
        E.ExpectColumnValuesToBeBetween(
            column="coverage",
            max_value=m.coverage_min,
            strict_max=True,
            row_condition=Column("grade") == "insufficient_data",
        ),
        E.ExpectColumnValuesToNotBeNull(column="rank", row_condition=Column("grade").is_in(grades)),
        E.ExpectColumnValuesToBeNull(column="rank", row_condition=Column("grade") == "insufficient_data"),
        # a portal not graded says why (the reason for most of its missing weight); a graded one does not
        E.ExpectColumnValuesToNotBeNull(column="status_reason", row_condition=Column("grade") == "insufficient_data"),
        E.ExpectColumnValuesToBeNull(column="status_reason", row_condition=Column("grade").is_in(grades)),
        E.ExpectColumnValuesToBeInSet(column="status_reason", value_set=reasons),
    ]
    upper = 100.0
    for grade, lower in m.bands:  # the letter agrees with the published total and the bands
        out.append(
            E.ExpectColumnValuesToBeBetween(
                column="total",
                min_value=lower,
                max_value=upper,
                strict_max=upper < 100,
                row_condition=Column("grade") == grade,
            )
        )
        upper = lower
    # every portal the registry holds for a period is scored in it, and no other: checked against
    # the dbt model that states which portals a period assesses, as one anti-join each way in DuckDB
    out.append(
        gx.expectations.UnexpectedRowsExpectation(
            description="Every portal of the registry valid during a period has one row in that period, "
            "and no other portal has.",
            unexpected_rows_query=REGISTRY_COVERAGE,
        )
    )
    return out


REGISTRY_COVERAGE = """
with expected as (
    select portal_id, period from intermediate.int_portal_periods
    where period in (select distinct period from {batch})
)
select 'missing' as problem, e.portal_id, e.period from expected as e anti join {batch} as b using (portal_id, period)
union all
select 'not in the registry for the period', b.portal_id, b.period
from {batch} as b anti join expected as e using (portal_id, period)
"""


def indicator_values(catalog_ids: list[str], reasons: list[str]) -> list:
    measured, not_measurable = (
        Column("measurement_status") == "measured",
        Column("measurement_status") == "not_measurable",
    )
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["portal_id", "period", "indicator_id"]),
        E.ExpectColumnValuesToBeInSet(column="indicator_id", value_set=catalog_ids),
        E.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="weight", min_value=0, strict_min=True),
        E.ExpectColumnValuesToNotBeNull(column="has_data"),
        # missing is reported as missing, never as a score
        E.ExpectColumnValuesToBeNull(column="score", row_condition=Column("has_data") == False),  # noqa: E712
        E.ExpectColumnValuesToNotBeNull(column="score", row_condition=Column("has_data") == True),  # noqa: E712
        E.ExpectColumnValuesToNotBeNull(column="evidence", row_condition=Column("has_data") == True),  # noqa: E712
        # nothing measured is guessed: measured <=> has_data <=> a score; not measurable says why, from
        # the seed status_reasons, and is never scored
        E.ExpectColumnValuesToNotBeNull(column="measurement_status"),
        E.ExpectColumnValuesToBeInSet(column="measurement_status", value_set=["measured", "not_measurable"]),
        E.ExpectColumnValuesToBeInSet(
            column="measurement_status",
            value_set=["measured"],
            row_condition=Column("has_data") == True,  # noqa: E712
        ),
        E.ExpectColumnValuesToBeInSet(
            column="measurement_status",
            value_set=["not_measurable"],
            row_condition=Column("has_data") == False,  # noqa: E712
        ),
        E.ExpectColumnValuesToNotBeNull(column="score", row_condition=measured),
        E.ExpectColumnValuesToBeNull(column="score", row_condition=not_measurable),
        E.ExpectColumnValuesToBeNull(column="status_reason", row_condition=measured),
        E.ExpectColumnValuesToNotBeNull(column="status_reason", row_condition=not_measurable),
        E.ExpectColumnValuesToBeInSet(column="status_reason", value_set=reasons),
    ]


def indicators(m: Methodology) -> list:
    out = [
        E.ExpectColumnValuesToBeUnique(column="indicator_id"),
        E.ExpectColumnValuesToBeInSet(column="pillar", value_set=sorted(m.pillar_weights)),
    ]
    for pillar, weight in m.pillar_weights.items():  # catalog weights sum to the pillar weights
        out.append(
            E.ExpectColumnSumToBeBetween(
                column="weight", min_value=weight, max_value=weight, row_condition=Column("pillar") == pillar
            )
        )
    return out


def papi_scores() -> list:
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["province_id", "year", "dimension"]),
        E.ExpectColumnValuesToBeBetween(column="score", min_value=0, max_value=10),
        E.ExpectColumnValuesToBeBetween(column="dimension", min_value=1, max_value=8),
        E.ExpectColumnValuesToBeBetween(column="rank", min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="province_id"),
    ]


def provinces() -> list:
    return [
        E.ExpectColumnValuesToBeUnique(column="province_id"),
        E.ExpectTableRowCountToEqual(value=63 + 34),
        E.ExpectColumnValuesToNotBeNull(column="successor_province_id", row_condition=Column("era") == "63"),
    ]


def province_summary() -> list:
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["period", "province_id"]),
        *[E.ExpectColumnValuesToNotBeNull(column=c) for c in ("period", "province_id", "era", "portals")],
        E.ExpectColumnValuesToBeInSet(column="era", value_set=["63", "34"]),
        *[
            E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100)
            for c in ("mean_total", "min_total", "max_total")
        ],
        E.ExpectColumnValuesToBeBetween(column="portals", min_value=1),
        # an old province says which new one it became part of; a new one has none
        E.ExpectColumnValuesToNotBeNull(column="successor_province_id", row_condition=Column("era") == "63"),
        E.ExpectColumnValuesToBeNull(column="successor_province_id", row_condition=Column("era") == "34"),
    ]


def portals() -> list:
    return [
        E.ExpectColumnValuesToBeUnique(column="portal_id"),
        E.ExpectColumnValuesToBeInSet(column="kind", value_set=["info", "service"]),
    ]


def ministries() -> list:
    return [E.ExpectColumnValuesToBeUnique(column="ministry_code")]


def build_all(con: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """{published table: expectations} built from the warehouse's methodology and registry."""
    m = Methodology.load(con)
    catalog = [r[0] for r in con.execute("select indicator_id from seeds.indicator_catalog order by 1").fetchall()]
    reasons = [
        r[0] for r in con.execute("select distinct status_reason from seeds.status_reasons order by 1").fetchall()
    ]
    return {
        "portal_scores": portal_scores(m, reasons),
        "indicator_values": indicator_values(catalog, reasons),
        "indicators": indicators(m),
        "papi_scores": papi_scores(),
        "province_summary": province_summary(),
        "provinces": provinces(),
        "portals": portals(),
        "ministries": ministries(),
    }
