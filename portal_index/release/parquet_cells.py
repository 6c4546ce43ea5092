"""Frictionless reading a release's Parquet tables in linear time, and checking their stored types.

Frictionless 5 reads a Parquet file through pandas (`formats/parquet/parser.py`, then
`formats/pandas/parser.py`): for every cell of every row it calls the row's `to_dict()`, so a row of
n columns costs n dictionaries of n entries (the demo release's whole validation: 3.8 s with it,
1.0 s with ours), growing with columns squared times rows at a national release.
`ArrowParquetParser` gives Frictionless the same cells from pyarrow, a record batch at a time
(`to_pylist`: None for a null, `datetime` and `date` and `Decimal` as they are), and Frictionless
checks them as before: types, constraints, keys. It adds one check neither parser made: each
column's stored Arrow type must hold the schema's type (numbers stored as text passed, their text
read as numbers). Only where `arrow_parquet()` is in force (verify); a remote file or one read
with row filters is left to Frictionless's own parser.
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
    kinds = _HOLDS.get(declared, ())
    if not kinds or any(getattr(pa.types, f"is_{kind}")(arrow_type) for kind in kinds):
        return None
    return "expected " + ", ".join(kinds)


_HOLDS = {  # the schema's type: the kinds of Arrow type that hold it (`pyarrow.types.is_<kind>`)
    "string": ("string", "large_string", "string_view"),
    "integer": ("integer",),
    "year": ("integer",),
    "number": ("integer", "floating", "decimal"),
    "boolean": ("boolean",),
    "date": ("date",),
    "datetime": ("timestamp",),
    "time": ("time",),
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
