"""Run the suites (one Great Expectations Checkpoint per table) and record the outcome.

Each outcome is stored in `meta.validation_runs` with a fingerprint of the table's contents;
publishing refuses a table whose current contents do not have a passing validation.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from portal_index.config import no_usage_statistics
from portal_index.release.catalog import published_tables


@dataclass
class TableOutcome:
    table: str
    success: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)
    fingerprint: str = ""


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A hash of a mart's contents, independent of row order."""
    return con.execute(
        f"select coalesce(md5(string_agg(md5(cast(t as varchar)), '' order by md5(cast(t as varchar)))), md5('')) "
        f"from marts.{table} as t"
    ).fetchone()[0]


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    con.execute("""create table if not exists meta.validation_runs (
        table_name VARCHAR, fingerprint VARCHAR, success BOOLEAN, validated_at TIMESTAMPTZ, failures VARCHAR)""")


def _duckdb_datasource(context, warehouse: Path):
    """A Great Expectations SQL data source on the warehouse: every expectation runs as a query in
    DuckDB, and no table is read into pandas.

    Great Expectations has no DuckDB dialect of its own and reads a metric's rows after returning
    the connection to its pool, which for DuckDB drops them; it keeps one connection open for the
    dialects that need one (SQLite and others), and DuckDB is given the same treatment here.
    """
    import great_expectations.execution_engine.sqlalchemy_execution_engine as engine

    class _DuckDB(str):  # GX compares dialects by `.value`
        value = "duckdb"

    if "duckdb" not in [getattr(d, "value", d) for d in engine._PERSISTED_CONNECTION_DIALECTS]:
        engine._PERSISTED_CONNECTION_DIALECTS = (*engine._PERSISTED_CONNECTION_DIALECTS, _DuckDB("duckdb"))
    return context.data_sources.add_sql("warehouse", connection_string=f"duckdb:///{warehouse}")


def _close(source) -> None:
    """Close GX's connections to the warehouse before it is written to. GX keeps one connection
    open for the dialects it persists (DuckDB among them, above), and its `close()` only closes that
    one when it made a backup of the engine: otherwise it stays open (and a DuckDB connection alive
    at exit is what the binding reports as leaked objects)."""
    engine = source.get_execution_engine()
    connection = getattr(engine, "_connection", None)
    if connection is not None:
        connection.close()
        engine._connection = None
    engine.close()
    source.get_engine().dispose()


def validate(
    warehouse: Path, tables: tuple[str, ...] | None = None, docs_dir: Path | None = None
) -> dict[str, TableOutcome]:
    """Run each table's suite inside DuckDB; with `docs_dir`, write Great Expectations' data docs of
    these runs there."""
    no_usage_statistics()
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    from expectations.suites import build_all

    with duckdb.connect(str(warehouse)) as con:
        ensure_table(con)
        suites = build_all(con)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = _duckdb_datasource(context, warehouse)
    definitions = []
    for table in tables or published_tables():
        batch = source.add_query_asset(
            name=table, query=f"select * from marts.{table}"
        ).add_batch_definition_whole_table("all")
        suite = context.suites.add(gx.ExpectationSuite(name=table, expectations=suites[table]))
        definitions.append(
            context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
        )
    # one checkpoint for every table, so the data docs are built once, not once per table (each build
    # renders every result so far: building them per table took longer than validating)
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name="gate",
            validation_definitions=definitions,
            actions=[gx.checkpoint.UpdateDataDocsAction(name="docs")] if docs_dir else [],
        )
    )
    results: dict[str, tuple[bool, list]] = {
        run.suite_name: (bool(run.success), run.results) for run in checkpoint.run().run_results.values()
    }
    if docs_dir is not None:
        site = next(iter(context.get_docs_sites_urls()), {}).get("site_url", "")
        if site.startswith("file://"):
            shutil.rmtree(docs_dir, ignore_errors=True)
            shutil.copytree(Path(site.removeprefix("file://")).parent, docs_dir)
    _close(source)
    outcomes: dict[str, TableOutcome] = {}
    with duckdb.connect(str(warehouse)) as con:
        for table, (success, run) in results.items():
            failures = [
                {
                    "expectation": r.expectation_config.type,
                    "kwargs": {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"},
                    "unexpected_count": (r.result or {}).get("unexpected_count")
                    or (r.result or {}).get("observed_value"),
                    "partial_unexpected_list": (
                        (r.result or {}).get("partial_unexpected_list")
                        or ((r.result or {}).get("details") or {}).get("unexpected_rows")
                        or []
                    )[:5],
                    "exception": (r.exception_info or {}).get("exception_message"),
                }
                for r in run
                if not r.success
            ]
            failures = json.loads(json.dumps(failures, ensure_ascii=False, default=str))  # SQL gives Decimals and dates
            outcome = TableOutcome(table, success, len(run), failures, fingerprint(con, table))
            con.execute(
                "insert into meta.validation_runs values (?, ?, ?, ?, ?)",
                [
                    table,
                    outcome.fingerprint,
                    outcome.success,
                    datetime.now(UTC),
                    json.dumps(failures, ensure_ascii=False, default=str),
                ],
            )
            outcomes[table] = outcome
    return outcomes


def unvalidated(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> dict[str, str]:
    """{table: reason} for each table whose current contents lack a passing validation."""
    ensure_table(con)
    problems = {}
    for table in tables:
        fp = fingerprint(con, table)
        row = con.execute(
            """select success from meta.validation_runs where table_name = ? and fingerprint = ?
                             order by validated_at desc limit 1""",
            [table, fp],
        ).fetchone()
        if row is None:
            problems[table] = "its current contents have not been validated"
        elif not row[0]:
            problems[table] = "its current contents failed validation"
    return problems
