"""The DuckDB warehouse's raw layer: fixed table contracts, and loading snapshots into them.

Each raw row carries the sha256 of the snapshot it came from. `meta.snapshot_loads` records every
snapshot's outcome (accepted with a row count, or rejected with its problems), so loading is
incremental and idempotent: a snapshot is parsed once, and a rejected one is kept and reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from portal_index.config import SEEDS_DIR, duckdb_memory_limit
from portal_index.core.periods import vietnam_date
from portal_index.core.problems import NOTES, InputRejected, Problem
from portal_index.core.raw_tables import RAW_TABLES
from portal_index.land.snapshots import Snapshot, list_snapshots

PACKAGE_DIR = Path(__file__).resolve().parents[1]

# Which raw tables each source fills.
SOURCE_TABLES = {
    "crawl": ("crawl_pages", "crawl_signals"),
    "probes": ("probes",),
    "audits": ("a11y_audits", "a11y_violations"),
    "surveys": ("survey_responses",),
    "papi": ("papi_scores",),
}

# A parser gives each table's rows as dicts, or as an Arrow table typed to the contract (a file
# DuckDB reads itself, with no Python object per row).
Parser = Callable[[Path, date], dict[str, list[dict] | pa.Table]]


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        # the loader reads many files at once (see _load_direct): it keeps to the pipeline's memory
        # limit (a setting, not a connect option: another connection to the file may be open)
        con.execute(f"set memory_limit = '{duckdb_memory_limit()}'")
        ensure_raw_tables(con)
    return con


def ensure_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists meta")
    for table, columns in RAW_TABLES.items():
        columns = {"snapshot_sha256": "VARCHAR", "snapshot_landed_at": "TIMESTAMPTZ", **columns}
        con.execute(f"create table if not exists raw.{table} ({', '.join(f'{n} {t}' for n, t in columns.items())})")
        for name, typ in columns.items():  # a contract that gained a column: older warehouses get it too
            con.execute(f"alter table raw.{table} add column if not exists {name} {typ}")
    con.execute(
        """create table if not exists meta.snapshot_loads (
            sha256 VARCHAR primary key, source VARCHAR, original_name VARCHAR, origin VARCHAR,
            landed_at TIMESTAMPTZ, loaded_at TIMESTAMPTZ, status VARCHAR, rows BIGINT,
            problems VARCHAR)"""
    )
    # what the snapshot was parsed with: a rejected snapshot is tried again when this changes
    con.execute("alter table meta.snapshot_loads add column if not exists parsed_with VARCHAR")
    con.execute("alter table meta.snapshot_loads add column if not exists notes VARCHAR")  # JSON list


@dataclass
class LoadReport:
    source: str
    accepted: list[tuple[Snapshot, int]] = field(default_factory=list)
    rejected: list[tuple[Snapshot, list[Problem]]] = field(default_factory=list)
    repeats: list[Snapshot] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # inbox entries not landed (links, special files, growing)
    # what an accepted file left out
    notes: list[tuple[Snapshot, list[str]]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.accepted)


def parser_fingerprint() -> str:
    """What a parse depends on besides the file: the parsers' and the shared vocabulary's code, the
    registry and the name lists. A snapshot rejected under another fingerprint is parsed again."""
    from portal_index.core.registry import registry_file

    files = sorted(
        [
            *(PACKAGE_DIR / "parse").rglob("*.py"),
            *(PACKAGE_DIR / "parse").rglob("*.yml"),
            *(PACKAGE_DIR / "core").rglob("*.py"),
            *(SEEDS_DIR / "registry").glob("*.csv"),
            registry_file(),
        ]
    )
    return _fingerprint(tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.exists()))


@lru_cache(maxsize=8)
def _fingerprint(files: tuple) -> str:
    digest = hashlib.sha256()
    for name, _, _ in files:
        digest.update(Path(name).read_bytes())
    return digest.hexdigest()[:16]


def loaded_shas(con: duckdb.DuckDBPyConnection, source: str, retry_rejected: bool = False) -> set[str]:
    """The snapshots of `source` that need no parsing: accepted ones, and rejected ones parsed with
    today's parsers and registry (unless `retry_rejected`)."""
    rows = con.execute(
        "select sha256, status, parsed_with from meta.snapshot_loads where source = ?", [source]
    ).fetchall()
    current = parser_fingerprint()
    return {
        sha
        for sha, status, parsed_with in rows
        if status == "accepted" or (parsed_with == current and not retry_rejected)
    }


def load_snapshot(
    con: duckdb.DuckDBPyConnection, snapshot: Snapshot, parser: Parser, report: LoadReport, direct: bool = True
) -> None:
    """Parse one snapshot and insert its rows in one transaction, or record its rejection. A parser
    with a fast path (`load_into`) tries it first, unless `direct` is False (it was tried already)."""
    load_into = getattr(parser, "load_into", None) if direct else None
    loaded = {} if load_into is None else _load_direct(con, [snapshot], load_into)
    if snapshot.sha256 in loaded:
        report.accepted.append((snapshot, loaded[snapshot.sha256]))
        return
    try:
        tables = parser(snapshot.path, vietnam_date(datetime.fromisoformat(snapshot.landed_at)))
        notes = tables.pop(NOTES, [])
        unknown = set(tables) - set(SOURCE_TABLES[snapshot.source])
        if unknown:
            raise ValueError(f"parser for {snapshot.source} returned unexpected tables {sorted(unknown)}")
    except InputRejected as rejected:
        _reject(con, snapshot, rejected.problems, report)
        return
    except Exception as e:  # any failure of a parser or a library is a property of this file, never a crash
        _reject(con, snapshot, [parser_failure(snapshot, e)], report)
        return
    con.execute("begin")
    try:
        total = 0
        for table, rows in tables.items():
            if not len(rows):
                continue
            if not isinstance(rows, pa.Table):
                # every row shaped to the table's contract: pyarrow infers columns from the first row only
                rows = pa.Table.from_pylist([{c: r.get(c) for c in RAW_TABLES[table]} for r in rows])
            con.register("incoming", rows)
            con.execute(
                f"insert into raw.{table} by name select ? as snapshot_sha256, "
                f"cast(? as timestamptz) as snapshot_landed_at, * from incoming",
                [snapshot.sha256, snapshot.landed_at],
            )
            con.unregister("incoming")
            total += rows.num_rows
        _record(con, snapshot, "accepted", total, [], notes)
        con.execute("commit")
    except Exception as e:  # a value DuckDB or pyarrow cannot hold (a bad conversion, an overflowing number)
        con.execute("rollback")
        conversion = isinstance(e, (duckdb.ConversionException, duckdb.InvalidInputException))
        problem = Problem(
            snapshot.original_name,
            None,
            None,
            None,
            (str(e).splitlines()[0] if conversion else f"{type(e).__name__}: {e}")[:300],
            f"values that fit the {snapshot.source} column types ({', '.join(SOURCE_TABLES[snapshot.source])})",
        )
        _reject(con, snapshot, [problem], report)
        return
    report.accepted.append((snapshot, total))
    if notes:
        report.notes.append((snapshot, notes))


DIRECT_GROUP_BYTES = 256 * 1024 * 1024  # files loaded by one fast-path statement and commit


def _load_direct(con: duckdb.DuckDBPyConnection, snapshots: list[Snapshot], load_into) -> dict[str, int]:
    """A parser's fast path: files read by DuckDB straight into their raw table and checked there,
    up to `DIRECT_GROUP_BYTES` of files per transaction. Returns {sha256: rows} of the snapshots
    accepted; the others (a file with a problem, or a group in which anything failed, which is then
    tried file by file) are left to the parser, which names every problem."""
    loaded: dict[str, int] = {}
    for group in _by_size(snapshots, DIRECT_GROUP_BYTES):
        done = _load_direct_group(con, group, load_into)
        if done is None and len(group) > 1:
            for snapshot in group:
                loaded.update(_load_direct_group(con, [snapshot], load_into) or {})
        else:
            loaded.update(done or {})
    return loaded


def _by_size(snapshots: list[Snapshot], limit: int) -> list[list[Snapshot]]:
    groups: list[list[Snapshot]] = []
    size = 0
    for snapshot in snapshots:
        try:
            bytes_ = snapshot.path.stat().st_size
        except OSError:  # gone or unreadable: its load fails, and the parser's path says why
            bytes_ = 0
        if not groups or (groups[-1] and size + bytes_ > limit):
            groups.append([])
            size = 0
        groups[-1].append(snapshot)
        size += bytes_
    return groups


def _load_direct_group(con: duckdb.DuckDBPyConnection, group: list[Snapshot], load_into) -> dict[str, int] | None:
    """One transaction of the fast path; None when anything failed (nothing kept)."""
    zone = con.execute("select current_setting('TimeZone')").fetchall()[0][0]
    con.execute("begin")
    try:
        files = [(s.path, vietnam_date(datetime.fromisoformat(s.landed_at)), s.sha256, s.landed_at) for s in group]
        loaded = load_into(con, files)
        for snapshot in group:
            if snapshot.sha256 in loaded:
                _record(con, snapshot, "accepted", loaded[snapshot.sha256], [])
        con.execute("commit")
    except Exception:  # the parser's own path says what is wrong with the file
        con.execute("rollback")
        return None
    finally:  # the fast path may change the connection's time zone; a failure must not leave it so
        con.execute(f"set TimeZone = '{zone}'")
    return loaded


def parser_failure(snapshot: Snapshot, error: BaseException) -> Problem:
    return Problem(
        snapshot.original_name,
        None,
        None,
        None,
        f"{type(error).__name__}: {error}"[:300],
        f"a {snapshot.source} file its parser can read (the parser failed on this one; the snapshot is kept "
        "and parsed again when the parsers or the registry change, or with `portal-index ingest --retry`)",
    )


def _reject(con, snapshot: Snapshot, problems: list[Problem], report: LoadReport) -> None:
    con.execute("begin")
    for table in SOURCE_TABLES[snapshot.source]:  # a rejection replaces whatever an earlier parse loaded
        con.execute(f"delete from raw.{table} where snapshot_sha256 = ?", [snapshot.sha256])
    _record(con, snapshot, "rejected", 0, problems)
    con.execute("commit")
    report.rejected.append((snapshot, problems))


def _record(con, snapshot: Snapshot, status: str, rows: int, problems: list[Problem], notes=()) -> None:
    con.execute(
        "insert or replace into meta.snapshot_loads by name select ? as sha256, ? as source, ? as original_name, "
        "? as origin, ? as landed_at, ? as loaded_at, ? as status, ? as rows, ? as problems, ? as parsed_with, "
        "? as notes",
        [
            snapshot.sha256,
            snapshot.source,
            snapshot.original_name,
            snapshot.origin,
            snapshot.landed_at,
            datetime.now(UTC),
            status,
            rows,
            json.dumps([p.as_dict() for p in problems], ensure_ascii=False),
            parser_fingerprint(),
            json.dumps(list(notes), ensure_ascii=False) if notes else None,
        ],
    )


def unload(con: duckdb.DuckDBPyConnection, snapshot: Snapshot) -> None:
    """Forget a snapshot's rows and load record (the snapshot file itself is kept)."""
    for table in SOURCE_TABLES[snapshot.source]:
        con.execute(f"delete from raw.{table} where snapshot_sha256 = ?", [snapshot.sha256])
    con.execute("delete from meta.snapshot_loads where sha256 = ?", [snapshot.sha256])


def sync_source(
    con: duckdb.DuckDBPyConnection, snapshots_root: Path, source: str, parser: Parser, retry_rejected: bool = False
) -> LoadReport:
    """Load every snapshot of `source` that the warehouse has not seen yet, and the rejected ones
    whose parsers or registry changed since (all rejected ones with `retry_rejected`)."""
    report = LoadReport(source)
    seen = loaded_shas(con, source, retry_rejected)
    pending = [s for s in list_snapshots(snapshots_root, source) if s.sha256 not in seen]
    load_into = getattr(parser, "load_into", None)
    loaded = {} if load_into is None else _load_direct(con, pending, load_into)
    for snapshot in pending:
        if snapshot.sha256 in loaded:
            report.accepted.append((snapshot, loaded[snapshot.sha256]))
        else:
            load_snapshot(con, snapshot, parser, report, direct=False)
    return report
