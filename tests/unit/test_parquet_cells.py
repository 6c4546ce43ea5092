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


def _package(tmp_path, columns: dict, schema=SCHEMA):
    table = pa.table(columns)
    pq.write_table(table, tmp_path / "t.parquet")
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
        (_with(rank=["1", "two", "3"]), ["type-error"]),
    ],
    ids=["valid", "enum", "maximum", "required", "duplicate-key", "type"],
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


def test_a_missing_column_is_found_by_both(tmp_path):
    columns = {k: v for k, v in GOOD.items() if k != "rank"}
    theirs, ours = _problems(_package(tmp_path, columns))
    assert theirs == ours and "missing-label" in ours[0]


def test_our_parser_reads_a_large_table_in_batches_and_is_the_one_used(tmp_path, monkeypatch):
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
    used = []
    real = ArrowParquetParser.read_cell_stream_create
    monkeypatch.setattr(
        ArrowParquetParser, "read_cell_stream_create", lambda self: used.append(1) or real(self), raising=True
    )
    theirs, ours = _problems(_package(tmp_path, columns))
    assert used and theirs == ours == (["constraint-error"], rows)
