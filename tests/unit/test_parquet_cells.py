"""Frictionless finds the same problems in a Parquet table whichever parser reads it: its own
(through pandas) or ours (pyarrow record batches, `portal_index.release.parquet_cells`)."""

import datetime as dt
import json
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from frictionless import validate

from portal_index.release.parquet_cells import ArrowParquetParser, arrow_parquet

SCHEMA = {
    "fields": [
        {"name": "portal_id", "type": "string", "constraints": {"required": True}},
        {"name": "grade", "type": "string", "constraints": {"enum": ["A", "B", "C", "D", "E"]}},
        {"name": "total", "type": "number", "constraints": {"minimum": 0, "maximum": 100}},
        {"name": "rank", "type": "integer"},
        {"name": "assessed_on", "type": "date"},
        {"name": "scored_at", "type": "datetime"},
    ],
    "primaryKey": ["portal_id"],
}
GOOD = {
    "portal_id": ["a", "b", "c"],
    "grade": ["A", None, "E"],
    "total": [Decimal("91.50"), None, Decimal("12.25")],
    "rank": [1, 2, 3],
    "assessed_on": [dt.date(2026, 6, 30), dt.date(2026, 6, 30), None],
    "scored_at": [dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)] * 3,
}


def _package(tmp_path, columns: dict, schema=SCHEMA, write=True):
    if write:
        pq.write_table(pa.table(columns), tmp_path / "t.parquet")
    descriptor = {
        "name": "p",
        "resources": [{"name": "t", "path": "t.parquet", "format": "parquet", "schema": schema}],
    }
    (tmp_path / "datapackage.json").write_text(json.dumps(descriptor))
    return str(tmp_path / "datapackage.json")


def _problems(path: str) -> tuple[list, list]:
    """(types of the errors, rows validated) by Frictionless's own parser, then by ours."""
    found = []
    for fast in (False, True):
        if fast:
            with arrow_parquet():
                report = validate(path)
        else:
            report = validate(path)
        [task] = report.tasks
        found.append((sorted(e.type for e in task.errors), task.stats.get("rows")))
    return found


def _with(**changes) -> dict:
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    "columns, expected",
    [
        (GOOD, []),
        (_with(grade=["A", "F", "E"]), ["constraint-error"]),
        (_with(total=[Decimal("91.5"), Decimal("101"), None]), ["constraint-error"]),
        (_with(portal_id=["a", None, "c"]), ["constraint-error", "primary-key"]),
        (_with(portal_id=["a", "a", "c"]), ["primary-key"]),
    ],
    ids=["valid", "enum", "maximum", "required", "duplicate-key"],
)
def test_both_parsers_find_the_same_problems(tmp_path, columns, expected):
    theirs, ours = _problems(_package(tmp_path, columns))
    assert theirs == ours
    assert ours == (expected, 3)


def test_a_null_integer_is_a_missing_value_not_a_type_error(tmp_path):
    """Where the parsers differ: pandas turns a null in an integer column into NaN, which
    Frictionless's own parser reports as a type error in a valid table; ours reads it as missing."""
    theirs, ours = _problems(_package(tmp_path, _with(rank=[1, None, 3])))
    assert theirs == (["type-error"], 3)
    assert ours == ([], 3)


@pytest.mark.parametrize(
    "column, values, stored",
    [
        ("rank", ["1", "2", "3"], "string"),  # each cell's text reads as an integer: Frictionless's parser passed it
        ("total", ["91.5", None, "12.25"], "string"),
        ("rank", [Decimal(1), Decimal(2), Decimal(3)], "decimal128(1, 0)"),
        ("assessed_on", ["2026-06-30"] * 3, "string"),
        ("grade", [1, 2, 3], "int64"),
    ],
)
def test_a_column_stored_as_another_type_than_the_schema_says_is_a_problem(tmp_path, column, values, stored):
    _, ours = _problems(_package(tmp_path, _with(**{column: values})))
    assert ours == (["source-error"], None)
    with arrow_parquet():
        [task] = validate(_package(tmp_path, _with(**{column: values}))).tasks
    declared = next(f["type"] for f in SCHEMA["fields"] if f["name"] == column)
    assert f'column "{column}" is stored as {stored}, where the schema says {declared}' in task.errors[0].message


def test_the_publishers_parquet_files_read_the_same_by_both(tmp_path):
    """Written as a release writes them (`write_parquet`: nullable pandas dtypes in the metadata,
    decimals, dates, booleans, integers with nulls)."""
    from portal_index.release.files import write_parquet

    schema = {
        "fields": [*SCHEMA["fields"], {"name": "uncertain", "type": "boolean"}],
        "primaryKey": ["portal_id"],
    }
    table = pa.table(
        {
            **_with(rank=[1, None, 3]),
            "total": pa.array([Decimal("91.50"), None, Decimal("12.25")], pa.decimal128(5, 2)),
            "uncertain": [True, None, False],
        }
    )
    write_parquet(table, tmp_path / "t.parquet")
    path = _package(tmp_path, {}, schema=schema, write=False)
    theirs, ours = _problems(path)
    assert theirs == ours == ([], 3)


def test_the_plugin_stays_while_any_block_is_open_and_goes_after(tmp_path):
    from frictionless import Resource, system

    path = _package(tmp_path, GOOD)

    def ours() -> bool:
        parser = system.create_parser(Resource(path.replace("datapackage.json", "t.parquet")))
        return isinstance(parser, ArrowParquetParser)

    assert not ours()
    with arrow_parquet():
        with arrow_parquet():
            assert ours()
        assert ours()  # the inner block's end leaves the outer one's plugin
    assert not ours()
    with pytest.raises(RuntimeError), arrow_parquet():
        raise RuntimeError("a validation that fails")
    assert not ours()


def test_a_missing_column_is_found_by_both(tmp_path):
    columns = {k: v for k, v in GOOD.items() if k != "rank"}
    theirs, ours = _problems(_package(tmp_path, columns))
    assert theirs == ours and "missing-label" in ours[0]


def test_our_parser_reads_a_large_table_in_batches(tmp_path, monkeypatch):
    monkeypatch.setattr("portal_index.release.parquet_cells.BATCH_ROWS", 7)
    rows = 50
    columns = {
        "portal_id": [f"p{i}" for i in range(rows)],
        "grade": ["A"] * rows,
        "total": [Decimal(i) for i in range(rows)],
        "rank": list(range(rows)),
        "assessed_on": [dt.date(2026, 6, 30)] * rows,
        "scored_at": [dt.datetime(2026, 7, 1, tzinfo=dt.UTC)] * rows,
    }
    columns["total"][43] = Decimal(101)  # in the seventh batch
    batches = []
    real = pq.ParquetFile.iter_batches

    def counted(self, *args, **kwargs):
        for batch in real(self, *args, **kwargs):
            batches.append(batch.num_rows)
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counted)
    theirs, ours = _problems(_package(tmp_path, columns))
    assert theirs == ours == (["constraint-error"], rows)
    assert batches == [7] * 7 + [1]  # our parser's reads, never more than BATCH_ROWS rows at once
