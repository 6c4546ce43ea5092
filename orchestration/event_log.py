"""The local Dagster instance's event log: Dagster's own SQLite storage, the same files and tables,
with each database's connection kept open between writes (docs/architecture.md, "The Dagster
instance").

Dagster's `SqliteEventLogStorage` makes a new SQLAlchemy engine for every read and every write, and
disposes it after: each of a run's events (about 800 in a release run, most of them dbt's tests as
asset checks) opens the run's database file, compiles its SQL statement again (SQLAlchemy caches
compiled statements per engine) and closes the file, often twice (the run's database and the index).
Storing a warm demo run's 811 events took 4.4 s of CPU that way, 1.3 s with one engine kept per
database (docs/performance.md, "A cheaper event log").

What is kept is only the engines: every write is still its own transaction, committed at once, with
Dagster's journal (WAL) and its durability settings; several processes can still write one run's
database (Dagster's multiprocess executor), as SQLite serialises them. A long-lived process reading
many runs (`dagster dev`) keeps at most `KEEP` databases open, the least recently used closed first.

Watching a run (the Dagster UI's live run log) polls the run's events, as Dagster's PostgreSQL
storage does: Dagster's SQLite watcher waits for the database file to change, and with connections
kept open the events stay in the write-ahead log (`-wal`) until the last connection closes.

The folder is the instance's own: `register_instance` refuses a configuration naming another
folder's event log (a working folder copied with its `dagster.yaml`, opened before `portal-index`
wrote the file again). The cluster's instance (deploy/dagster.yaml) stores its events in PostgreSQL
and does not use this.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as db
from dagster._core.storage.event_log.polling_event_watcher import SqlPollingEventWatcher
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

from portal_index.config import DAGSTER_EVENT_LOGS


class ForeignEventLog(RuntimeError):
    """The instance's configuration names another folder's event log."""


class KeptConnectionsSqliteEventLogStorage(SqliteEventLogStorage):
    """`SqliteEventLogStorage` whose databases' engines (and their one connection each) outlive a
    single read or write. Configured in the working folder's `dagster.yaml` (written by `portal-index`,
    with `base_dir` its `dagster/history/runs`)."""

    KEEP = 8  # databases kept open: the index, the run being written, and a few a reader moves between

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, db.Engine] = OrderedDict()
        self._tables: set[str] = set()
        self._watcher: SqlPollingEventWatcher | None = None
        self._watcher_lock = threading.Lock()
        self._disposed = False
        instance_folder = Path(os.path.abspath(base_dir)).parents[len(DAGSTER_EVENT_LOGS.parts) - 1]
        if not instance_folder.is_dir():  # checked before Dagster creates the folders and the index in it
            raise ForeignEventLog(
                f"the event log's folder {base_dir} is in {instance_folder}, which does not exist: was the "
                "working folder moved? Any portal-index command on it writes its dagster.yaml again"
            )
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)  # Dagster's names its own class

    def register_instance(self, instance) -> None:
        super().register_instance(instance)
        own = Path(instance.root_directory) / DAGSTER_EVENT_LOGS
        if not (own.exists() and os.path.samefile(self._base_dir, own)):
            self.dispose()
            raise ForeignEventLog(
                f"{Path(instance.root_directory) / 'dagster.yaml'} stores this instance's events in "
                f"{self._base_dir}, not in its own folder {own}: was the working folder copied? Any "
                f"portal-index command on it writes the file again, or, if you edited it, set base_dir to {own}"
            )

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
                try:
                    self._initdb(engine)  # as Dagster's own `_connect` does
                except BaseException:
                    engine.dispose()
                    raise
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

    def watch(self, run_id: str, cursor: str | None, callback) -> None:
        with self._watcher_lock:
            if self._disposed:
                raise RuntimeError("the event log was disposed of: no run can be watched")
            if self._watcher is None:
                self._watcher = SqlPollingEventWatcher(self)
            watcher = self._watcher
        watcher.watch_run(run_id, cursor, callback)

    def end_watch(self, run_id: str, handler) -> None:
        with self._watcher_lock:
            watcher = self._watcher
        if watcher is not None:
            watcher.unwatch_run(run_id, handler)

    def _close_all(self) -> None:
        """Called under `_db_lock`."""
        while self._engines:
            self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        with self._db_lock:
            self._close_all()
            self._tables.clear()
        super().wipe()  # deletes the run databases' files
        with self._db_lock:
            self._close_all()  # any reopened meanwhile by another thread: its file is gone

    def dispose(self) -> None:
        with self._watcher_lock:
            watcher, self._watcher, self._disposed = self._watcher, None, True
        if watcher is not None:
            watcher.close()  # its threads read through `_connect`: stopped before the engines close
        super().dispose()
        with self._db_lock:
            self._close_all()
