"""Run the suites (one Great Expectations Checkpoint per table) and record the outcome.

Each outcome is stored in `meta.validation_runs` with a fingerprint of the table's contents;
publishing refuses a table whose current contents do not have a passing validation.

A validation is a function of what it reads and what runs it: the suites (their expectations, as
built from the methodology seeds), the table's rows and column types, the other tables the suites'
queries name (`intermediate.int_portal_periods`, `seeds.methodology_versions`), the versions of
Great Expectations, DuckDB and the SQLAlchemy layer, and the code of the suites and of this gate.
`inputs_key` is a hash of all of these. When every table asked for has a passing validation under
the same key (and the data docs, when asked for, are those of that validation), the suites are not
run again: the stored outcome stands, is recorded again as a run that reuses it (`reused_from`), and
says when it was made (`TableOutcome.validated_at`, `reused`). A rebuild that changes nothing (a
second run in the same hour) so skips the checkpoint's 10-15 s; any change to one of these runs it.
A failure is never reused.
`not_validated_as_they_are` names the tables whose inputs as they are have no passing validation.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
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
    validated_at: datetime | None = None
    reused: bool = False  # the stored outcome of an earlier validation of the same inputs


def fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """A hash of a mart's contents, independent of row order."""
    return digest(con, f"marts.{table}")


def digest(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """A hash of a table's or view's contents (`schema.name`), independent of row order, and of its
    columns' names and types (a value's text is the same as a number and as a string)."""
    schema, name = relation.split(".")
    columns = con.execute(
        """select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position)
           from information_schema.columns where table_schema = ? and table_name = ?""",
        [schema, name],
    ).fetchall()[0][0]
    rows = con.execute(
        f"select coalesce(md5(string_agg(md5(cast(t as varchar)), '' order by md5(cast(t as varchar)))), md5('')) "
        f"from {relation} as t"
    ).fetchall()[0][0]
    return hashlib.md5(f"{columns}\n{rows}".encode()).hexdigest()


_NAMED = re.compile(r"\b(?:marts|seeds|intermediate|staging|raw|meta)\.[a-z_][a-z0-9_]*")


def inputs_key(con: duckdb.DuckDBPyConnection, made: list[str], suite: str, table: str, digests: dict) -> str:
    """A hash of everything a validation of `table` reads and what runs it (`made`: `made_with`): its
    suite (`suite_texts`), the table and every other table its suite's queries name (their digests
    kept in `digests` for the next table)."""
    named = sorted(set(_NAMED.findall(suite)) | {f"marts.{table}"})
    for relation in named:
        if relation not in digests:
            digests[relation] = digest(con, relation)
    parts = [*made, suite] + [f"{relation}={digests[relation]}" for relation in named]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def made_with() -> list[str]:
    """The versions of what runs a validation (Great Expectations, DuckDB and the SQLAlchemy layer
    between them) and the code of the suites and of this gate."""
    from portal_index.core import methodology

    made = [f"{p}=={version(p)}" for p in ("great_expectations", "duckdb", "duckdb_engine", "sqlalchemy")]
    return made + [hashlib.sha256(path.read_bytes()).hexdigest() for path in (*_CODE, Path(methodology.__file__))]


def suite_texts(con: duckdb.DuckDBPyConnection, made: list[str]) -> dict[str, str]:
    """{table: its suite as JSON}. The suites are built from their code (`expectations/`, the
    methodology loader), the Great Expectations version and the seeds; the texts are kept in
    `meta.validation_suites` under a hash of those, so that a validation found reusable does not
    import Great Expectations (about 5 s) to build the suites again."""
    seeds = con.execute(
        "select table_name from information_schema.tables where table_schema = 'seeds' order by 1"
    ).fetchall()
    made_of = made + [f"seeds.{name}={digest(con, f'seeds.{name}')}" for (name,) in seeds]
    source = hashlib.sha256("\n".join(made_of).encode()).hexdigest()
    kept = con.execute("select suites from meta.validation_suites where source_key = ?", [source]).fetchall()
    if kept:
        return json.loads(kept[0][0])
    from expectations.suites import build_all

    texts = {
        table: json.dumps([e.configuration.to_json_dict() for e in expectations], sort_keys=True, default=str)
        for table, expectations in build_all(con).items()
    }
    con.execute("insert or replace into meta.validation_suites values (?, ?)", [source, json.dumps(texts)])
    return texts


_CODE = sorted(Path(__file__).parent.glob("*.py"))  # the suites' code, and this gate's


def ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists meta")
    con.execute("""create table if not exists meta.validation_runs (
        table_name VARCHAR, fingerprint VARCHAR, success BOOLEAN, validated_at TIMESTAMPTZ, failures VARCHAR)""")
    # added since: the key of the inputs validated and the number of expectations evaluated
    con.execute("alter table meta.validation_runs add column if not exists inputs_key VARCHAR")
    con.execute("alter table meta.validation_runs add column if not exists evaluated INTEGER")
    # a reuse is recorded as a run of its own (the publisher reads the latest run of a fingerprint)
    con.execute("alter table meta.validation_runs add column if not exists reused_from TIMESTAMPTZ")
    # the suites' texts, by a hash of what they are built from (suite_texts)
    con.execute("create table if not exists meta.validation_suites (source_key VARCHAR primary key, suites VARCHAR)")
    # which validations the data docs in a folder show: {table: inputs key}
    con.execute("create table if not exists meta.validation_docs (folder VARCHAR primary key, keys VARCHAR)")


def _earlier(
    con: duckdb.DuckDBPyConnection, keys: dict[str, str], docs_dir: Path | None
) -> dict[str, TableOutcome] | None:
    """The stored passing outcomes of these tables under these inputs, if every one has one (and
    the data docs show them); else None."""
    if docs_dir is not None:  # the data docs there must show these validations
        shown = con.execute("select keys from meta.validation_docs where folder = ?", [str(docs_dir)]).fetchall()
        if not (docs_dir / "index.html").is_file() or not shown or json.loads(shown[0][0]) != keys:
            return None
    outcomes = {}
    for table, key in keys.items():
        outcome = _passed(con, table, key)
        if outcome is None:
            return None
        outcomes[table] = outcome
    return outcomes


def _passed(con: duckdb.DuckDBPyConnection, table: str, key: str) -> TableOutcome | None:
    """The stored passing outcome of `table` under the inputs `key`, the latest, if there is one."""
    row = con.execute(
        """select fingerprint, evaluated, coalesce(reused_from, validated_at) from meta.validation_runs
           where table_name = ? and inputs_key = ? and success and evaluated is not null
           order by validated_at desc limit 1""",
        [table, key],
    ).fetchall()
    if not row:
        return None
    fp, evaluated, at = row[0]
    return TableOutcome(table, True, evaluated, [], fp, at, reused=True)


def not_validated_as_they_are(warehouse: Path, tables: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The tables (of `tables`, else every published one) whose inputs as they are now, their own
    rows and whatever their suites read (`inputs_key`), have no passing validation: those a
    validation of these tables would have to run, rather than reuse. It writes to the warehouse
    (the gate's tables, the suites' texts), and when the seeds the suites are built from changed,
    builds the suites again, importing Great Expectations."""
    no_usage_statistics()  # before Great Expectations is imported, if the suites must be built
    with duckdb.connect(str(warehouse)) as con:
        keys, _ = _inputs_keys(con, tables or published_tables())
        return tuple(table for table, key in keys.items() if _passed(con, table, key) is None)


def _inputs_keys(con: duckdb.DuckDBPyConnection, tables: tuple[str, ...]) -> tuple[dict[str, str], dict[str, str]]:
    """{table: the key of its inputs as they are now (`inputs_key`)}, and the digests of the relations
    those keys read, by name."""
    ensure_table(con)
    made = made_with()
    texts = suite_texts(con, made)
    digests: dict[str, str] = {}
    return {table: inputs_key(con, made, texts[table], table, digests) for table in tables}, digests


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
    these runs there. When every table's inputs were validated before and passed (and `docs_dir`
    shows that validation), return those outcomes instead (see the module's docstring)."""
    no_usage_statistics()  # before Great Expectations is imported, if it is

    wanted = tables or published_tables()
    with duckdb.connect(str(warehouse)) as con:
        keys, digests = _inputs_keys(con, wanted)
        earlier = _earlier(con, keys, docs_dir)
        if earlier is not None:
            now = datetime.now(UTC)
            for table, outcome in earlier.items():
                con.execute(
                    """insert into meta.validation_runs (table_name, fingerprint, success, validated_at, failures,
                       inputs_key, evaluated, reused_from) values (?, ?, true, ?, '[]', ?, ?, ?)""",
                    [table, outcome.fingerprint, now, keys[table], outcome.evaluated, outcome.validated_at],
                )
            return earlier
        from expectations.suites import build_all

        suites = build_all(con)
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = _duckdb_datasource(context, warehouse)
    definitions = []
    for table in wanted:
        batch = source.add_query_asset(
            name=table, query=f"select * from marts.{table}"
        ).add_batch_definition_whole_table("all")
        suite = context.suites.add(gx.ExpectationSuite(name=table, expectations=suites[table]))
        definitions.append(
            context.validation_definitions.add(gx.ValidationDefinition(name=table, data=batch, suite=suite))
        )
    # one checkpoint for every table, and the data docs built once after it: Great Expectations'
    # UpdateDataDocsAction builds them once per table, the index page each time (33 pages rendered
    # for 11 tables instead of 23, each with its templates compiled again)
    checkpoint = context.checkpoints.add(gx.Checkpoint(name="gate", validation_definitions=definitions))
    runs = checkpoint.run().run_results
    results: dict[str, tuple[bool, list]] = {run.suite_name: (bool(run.success), run.results) for run in runs.values()}
    if docs_dir is not None:
        context.build_data_docs(
            resource_identifiers=[*runs, *(ExpectationSuiteIdentifier(name=run.suite_name) for run in runs.values())]
        )
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
            fp = digests[f"marts.{table}"]  # nothing wrote to the warehouse since: one command at a time
            outcome = TableOutcome(table, success, len(run), failures, fp, datetime.now(UTC))
            con.execute(
                """insert into meta.validation_runs
                   (table_name, fingerprint, success, validated_at, failures, inputs_key, evaluated)
                   values (?, ?, ?, ?, ?, ?, ?)""",
                [
                    table,
                    outcome.fingerprint,
                    outcome.success,
                    outcome.validated_at,
                    json.dumps(failures, ensure_ascii=False, default=str),
                    keys[table],
                    outcome.evaluated,
                ],
            )
            outcomes[table] = outcome
        if docs_dir is not None:
            con.execute("insert or replace into meta.validation_docs values (?, ?)", [str(docs_dir), json.dumps(keys)])
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
