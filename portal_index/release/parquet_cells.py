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
from collections.abc import Iterator

from frictionless import Plugin, system
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
            yield list(control.columns or source.schema_arrow.names)
            for batch in source.iter_batches(batch_size=BATCH_ROWS, columns=control.columns):
                yield from (list(row) for row in zip(*(column.to_pylist() for column in batch.columns), strict=True))


class ArrowParquetPlugin(Plugin):
    def create_parser(self, resource):
        if resource.format in ("parq", "parquet"):
            return ArrowParquetParser(resource)
        return None


@contextlib.contextmanager
def arrow_parquet() -> Iterator[None]:
    """Frictionless reads Parquet with `ArrowParquetParser` inside this block (a plugin of the
    process's Frictionless system, registered before the built-in ones, removed after)."""
    system.register(_NAME, ArrowParquetPlugin())
    try:
        yield
    finally:
        system.deregister(_NAME)
