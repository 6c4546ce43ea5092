"""The local Dagster instance's event log: Dagster's own SQLite storage, the same files and tables,
with each database's connection kept open between writes (docs/architecture.md, "The Dagster
instance").

Dagster's `SqliteEventLogStorage` makes a new SQLAlchemy engine for every read and every write, and
disposes it after: each of a run's events (about 800 in a release run, most of them dbt's tests as
asset checks) opens the run's database file, compiles its SQL statement again (SQLAlchemy caches
compiled statements per engine) and closes the file, often twice (the run's database and the index).
On this project's release run that was 5 to 5.3 s of CPU in 811 writes, 7 to 7.4 s of wall time; with
one engine kept per database, 1.9 to 2.1 s (docs/performance.md, "The event log's connections").

What is kept is only the engines: every write is still its own transaction, committed at once, with
Dagster's journal (WAL) and its durability settings; several processes can still write one run's
database (Dagster's multiprocess executor), as SQLite serialises them. A long-lived process reading
many runs (`dagster dev`) keeps at most `KEEP` databases open, the least recently used closed first.

The cluster's instance (deploy/dagster.yaml) stores its events in PostgreSQL and does not use this.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as db
from dagster import Field, StringSource
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

from portal_index.config import dagster_home


class KeptConnectionsSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose databases' engines (and their one connection each) outlive a
    single read or write. Configured in the working folder's `dagster.yaml` (written by
    `portal-index`); `base_dir` defaults to Dagster's own place, `$DAGSTER_HOME/history/runs`."""

    KEEP = 8  # databases kept open: the index, the run being written, and a few a reader moves between

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"base_dir": Field(StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        base_dir = config_value.get("base_dir")
        if not base_dir:  # Dagster's own place in the instance's folder, which DAGSTER_HOME names
            home = dagster_home()
            if home is None:
                raise ValueError(
                    f"{cls.__name__} without a base_dir stores under $DAGSTER_HOME/history/runs, and DAGSTER_HOME "
                    "is not set: set it to the instance's folder (portal-index does, for its working folder)"
                )
            base_dir = str(home / "history" / "runs")
        return cls(base_dir=base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> db.Engine:
        """The shard's engine, made (and its database created) on first use; called under `_db_lock`."""
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = db.create_engine(
                self.conn_string_for_shard(shard),
                pool_size=1,  # kept: `_db_lock` lets one read or write at a time use the database
                max_overflow=2,  # closed after use: Dagster's `_initdb` opens a second connection
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)  # as Dagster's own `_connect` does
                self._initialized_dbs.add(shard)
        self._engines[shard] = engine  # the most recently used last
        while len(self._engines) > self.KEEP:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[db.Connection]:
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def has_table(self, table_name: str) -> bool:
        """Asked before every asset check event is stored, with the index's connection in use (so not
        through `_engine`, under the lock it holds); a table, once there, stays."""
        if table_name not in self._tables and super().has_table(table_name):
            self._tables.add(table_name)
        return table_name in self._tables

    def _close_all(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._close_all()  # before the run databases' files are deleted
        self._tables.clear()
        super().wipe()

    def dispose(self) -> None:
        self._close_all()
        super().dispose()
