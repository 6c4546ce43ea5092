"""Frictionless reading a release's Parquet tables in linear time.

Frictionless 5 reads a Parquet file through pandas (`formats/parquet/parser.py`, then
`formats/pandas/parser.py`): for every cell of every row it calls the row's `to_dict()`, so a row of
n columns costs n dictionaries of n entries. On the demo's release that is 4.7 s of verify's 7.9 s,
and it grows with columns squared times rows at a national release. `ArrowParquetParser` gives
Frictionless the same cells from pyarrow, a record batch at a time (`to_pylist`: None for a null,
`datetime` and `date` and `Decimal` as they are), and Frictionless checks them as before: types,
constraints, keys. Only the reading changes, and only where `arrow_parquet()` is in force (verify).
A remote file or one read with row filters is left to Frictionless's own parser.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from frictionless import FrictionlessException, Plugin, errors, system
from frictionless.formats.parquet import ParquetControl, ParquetParser

BATCH_ROWS = 10_000  # rows in memory at once, whatever the file's size
_NAME = "portal-index-arrow-parquet"


class ArrowParquetParser(ParquetParser):
    def read_cell_stream_create(self):
        control = ParquetControl.from_dialect(self.resource.dialect)
        if self.resource.remote or control.filters or control.categories:
            yield from super().read_cell_stream_create()
            return
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.resource.normpath) as source:
            declared = {f.name: f.type for f in self.resource.schema.fields} if self.resource.schema else {}
            for column in source.schema_arrow:
                problem = _type_problem(column.type, declared.get(column.name))
                if problem:
                    note = f'column "{column.name}" is stored as {column.type}, where the schema says '
                    raise FrictionlessException(errors.SourceError(note=f"{note}{declared[column.name]}: {problem}"))
            yield list(control.columns or source.schema_arrow.names)
            for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=control.columns):
                yield from (list(row) for row in zip(*(column.to_pylist() for column in batch.columns), strict=True))


def _type_problem(arrow_type, declared: str | None) -> str | None:
    """Why a column stored as `arrow_type` cannot hold the schema's type `declared` (None: it can).
    The cells of a column all have its stored type, so this is checked once, before the rows: a
    number stored as text, say, would otherwise pass as each cell's text is read as a number."""
    import pyarrow as pa

    if declared is None or pa.types.is_null(arrow_type):  # a column the schema lacks, or nothing but nulls
        return None
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    accepted = _ACCEPTED.get(declared)
    if accepted is None or any(check(arrow_type) for check in accepted(pa.types)):
        return None
    return "expected " + ", ".join(f.__name__.removeprefix("is_") for f in accepted(pa.types))


_ACCEPTED = {  # the schema's type: the Arrow types that hold it
    "string": lambda t: (t.is_string, t.is_large_string, t.is_string_view),
    "integer": lambda t: (t.is_integer,),
    "year": lambda t: (t.is_integer,),
    "number": lambda t: (t.is_integer, t.is_floating, t.is_decimal),
    "boolean": lambda t: (t.is_boolean,),
    "date": lambda t: (t.is_date,),
    "datetime": lambda t: (t.is_timestamp,),
    "time": lambda t: (t.is_time,),
}


class ArrowParquetPlugin(Plugin):
    def create_parser(self, resource):
        if resource.format in ("parq", "parquet"):
            return ArrowParquetParser(resource)
        return None


_users = 0
_users_lock = threading.Lock()


@contextlib.contextmanager
def arrow_parquet() -> Iterator[None]:
    """Frictionless reads Parquet with `ArrowParquetParser` inside this block: a plugin of the
    process's Frictionless system, registered before the built-in ones while any such block is open
    (blocks may nest, or run in several threads; the plugin then serves every Frictionless call of
    the process, which only reads Parquet in linear time as well)."""
    global _users
    with _users_lock:
        if _users == 0:
            system.register(_NAME, ArrowParquetPlugin())
        _users += 1
    try:
        yield
    finally:
        with _users_lock:
            _users -= 1
            if _users == 0:
                system.deregister(_NAME)
