"""Expectation suites as code, one per published table.

Bands, pillar weights and the coverage threshold of every methodology version are read from the
warehouse's methodology seeds (`portal_index.core.methodology`), and the set of portals expected in
each period from the model `int_portal_periods`, so the suites check the marts against the
methodology as data rather than against copies of it.
"""

from __future__ import annotations

import duckdb
import great_expectations as gx
from great_expectations.expectations.row_conditions import Column

from portal_index.core.methodology import Methodology

E = gx.expectations


def portal_scores(versions: list[Methodology], reasons: list[str]) -> list:
    out = [
        E.ExpectCompoundColumnsToBeUnique(column_list=["methodology_version", "portal_id", "period"]),
        *[
            E.ExpectColumnValuesToNotBeNull(column=c)
            for c in ("methodology_version", "portal_id", "period", "grade", "coverage")
        ],
        E.ExpectColumnValuesToBeInSet(column="methodology_version", value_set=[m.version for m in versions]),
        E.ExpectColumnValuesToBeBetween(column="rank", min_value=1),
        E.ExpectColumnValuesToBeInSet(column="status_reason", value_set=reasons),
        *[
            E.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=100)
            for c in ("total", "function_score", "performance_score", "access_score")
        ],
        E.ExpectColumnValuesToBeBetween(column="coverage", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="evaluator_agreement", min_value=0, max_value=1),
        gx.expectations.UnexpectedRowsExpectation(
            description="An interval contains its total and its rank; a total has an interval; only a graded "
            "portal has a rank interval and a grade_uncertain flag.",
            unexpected_rows_query="""
                select * from {batch}
                where not (total_low <= total and total <= total_high)
                   or (total is not null and (total_low is null or total_high is null))
                   or not (rank_best <= rank and rank <= rank_worst)
                   or ((rank is null) <> (rank_best is null)) or ((rank is null) <> (rank_worst is null))
                   or ((grade = 'insufficient_data') <> (grade_uncertain is null))""",
        ),
    ]
    for m in versions:  # each version's rows against that version's rules
        out += _graded_by(m)
    # every portal the registry holds for a period is scored in it, and no other: checked against
    # the dbt model that states which portals a period assesses, as one anti-join each way in DuckDB
    out.append(
        gx.expectations.UnexpectedRowsExpectation(
            description="Every portal of the registry valid during a period has one row in that period "
            "under every methodology version, and no other portal has.",
            unexpected_rows_query=REGISTRY_COVERAGE,
        )
    )
    return out


def _graded_by(m: Methodology) -> list:
    version = Column("methodology_version") == m.version
    grades = [g for g, _ in m.bands]
    graded, not_graded = version & Column("grade").is_in(grades), version & (Column("grade") == "insufficient_data")
    out = [
        E.ExpectColumnValuesToBeInSet(column="grade", value_set=grades + ["insufficient_data"], row_condition=version),
        # a letter only with enough coverage; insufficient_data only without it
        E.ExpectColumnValuesToBeBetween(column="coverage", min_value=m.coverage_min, row_condition=graded),
        E.ExpectColumnValuesToBeBetween(
            column="coverage", max_value=m.coverage_min, strict_max=True, row_condition=not_graded
        ),
        E.ExpectColumnValuesToNotBeNull(column="rank", row_condition=graded),
        E.ExpectColumnValuesToBeNull(column="rank", row_condition=not_graded),
        # a portal not graded says why (the reason for most of its missing weight); a graded one does not
        E.ExpectColumnValuesToNotBeNull(column="status_reason", row_condition=not_graded),
        E.ExpectColumnValuesToBeNull(column="status_reason", row_condition=graded),
    ]
    upper = 100.0
    for grade, lower in m.bands:  # the letter agrees with the published total and the bands
        out.append(
            E.ExpectColumnValuesToBeBetween(
                column="total",
                min_value=lower,
                max_value=upper,
                strict_max=upper < 100,
                row_condition=version & (Column("grade") == grade),
            )
        )
        upper = lower
    return out


REGISTRY_COVERAGE = """
with expected as (
    select v.methodology_version, pp.portal_id, pp.period
    from intermediate.int_portal_periods as pp
    cross join seeds.methodology_versions as v
    where pp.period in (select distinct period from {batch})
)
select 'missing' as problem, e.methodology_version, e.portal_id, e.period
from expected as e anti join {batch} as b using (methodology_version, portal_id, period)
union all
select 'not in the registry for the period, or no such methodology version',
       b.methodology_version, b.portal_id, b.period
from {batch} as b anti join expected as e using (methodology_version, portal_id, period)
"""


def indicator_values(catalog_ids: list[str], reasons: list[str]) -> list:
    measured, not_measurable = (
        Column("measurement_status") == "measured",
        Column("measurement_status") == "not_measurable",
    )
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["methodology_version", "portal_id", "period", "indicator_id"]),
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


def indicators(versions: list[Methodology]) -> list:
    out = [E.ExpectCompoundColumnsToBeUnique(column_list=["methodology_version", "indicator_id"])]
    for m in versions:
        version = Column("methodology_version") == m.version
        out.append(
            E.ExpectColumnValuesToBeInSet(column="pillar", value_set=sorted(m.pillar_weights), row_condition=version)
        )
        for pillar, weight in m.pillar_weights.items():  # catalog weights sum to the pillar weights
            out.append(
                E.ExpectColumnSumToBeBetween(
                    column="weight",
                    min_value=weight,
                    max_value=weight,
                    row_condition=version & (Column("pillar") == pillar),
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
        E.ExpectCompoundColumnsToBeUnique(column_list=["methodology_version", "period", "province_id"]),
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


def portal_changes() -> list:
    kinds = ["new", "removed", "grade_changed", "same_grade"]
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["methodology_version", "period", "portal_id"]),
        *[
            E.ExpectColumnValuesToNotBeNull(column=c)
            for c in ("methodology_version", "period", "previous_period", "portal_id", "change_kind")
        ],
        E.ExpectColumnValuesToBeInSet(column="change_kind", value_set=kinds),
        # a new portal has nothing before, a removed one nothing after; a change is explained
        E.ExpectColumnValuesToBeNull(column="previous_grade", row_condition=Column("change_kind") == "new"),
        E.ExpectColumnValuesToNotBeNull(column="grade", row_condition=Column("change_kind") == "new"),
        E.ExpectColumnValuesToBeNull(column="grade", row_condition=Column("change_kind") == "removed"),
        E.ExpectColumnValuesToNotBeNull(column="previous_grade", row_condition=Column("change_kind") == "removed"),
        gx.expectations.UnexpectedRowsExpectation(
            description="The kind of change agrees with the grades, and the change of the total with the totals.",
            unexpected_rows_query="""
                select * from {batch}
                where (change_kind = 'grade_changed' and grade is not distinct from previous_grade)
                   or (change_kind = 'same_grade' and grade is distinct from previous_grade)
                   or total_change is distinct from total - previous_total""",
        ),
        E.ExpectColumnValuesToBeBetween(column="total_change", min_value=-100, max_value=100),
        E.ExpectColumnValuesToBeNull(
            column="merged_into_province_id", row_condition=Column("change_kind") != "removed"
        ),
    ]


def evaluator_agreement() -> list:
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["period", "question"]),
        E.ExpectColumnValuesToBeBetween(column="pairs", min_value=1),
        E.ExpectColumnValuesToBeBetween(column="percent_agreement", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="fleiss_kappa", min_value=-1, max_value=1),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="pairs", column_B="agreed_pairs", or_equal=True),
    ]


def probe_vantages() -> list:
    return [
        E.ExpectCompoundColumnsToBeUnique(column_list=["portal_id", "period", "vantage"]),
        *[E.ExpectColumnValuesToNotBeNull(column=c) for c in ("portal_id", "period", "vantage", "scoring", "probes")],
        E.ExpectColumnValuesToBeBetween(column="availability", min_value=0, max_value=1),
        E.ExpectColumnValuesToBeBetween(column="probes", min_value=1),
        E.ExpectColumnPairValuesAToBeGreaterThanB(column_A="probes", column_B="attempts", or_equal=True),
        E.ExpectColumnValuesToBeBetween(column="ttfb_median_ms", min_value=0),
        E.ExpectColumnValuesToNotBeNull(column="geo_block_suspected"),
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
    versions = Methodology.load_all(con)
    catalog = [r[0] for r in con.execute("select indicator_id from seeds.indicator_catalog order by 1").fetchall()]
    reasons = [
        r[0] for r in con.execute("select distinct status_reason from seeds.status_reasons order by 1").fetchall()
    ]
    return {
        "portal_scores": portal_scores(versions, reasons),
        "indicator_values": indicator_values(catalog, reasons),
        "indicators": indicators(versions),
        "papi_scores": papi_scores(),
        "province_summary": province_summary(),
        "portal_changes": portal_changes(),
        "evaluator_agreement": evaluator_agreement(),
        "probe_vantages": probe_vantages(),
        "provinces": provinces(),
        "portals": portals(),
        "ministries": ministries(),
    }
