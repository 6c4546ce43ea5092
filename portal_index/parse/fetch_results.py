"""File formats for crawl, probe and audit results, ours or another tool's.

- crawl: a portal WARC file of ours, or JSON Lines, one object per line, `"record": "page"` (the
  crawl_pages columns) or `"record": "signal"` (the crawl_signals columns).
- audits: JSON Lines, `"record": "audit"` (a11y_audits) or `"record": "violation"` (a11y_violations).
- probes: CSV with the probes columns (header row; empty cell = null).
The columns are the raw-table contracts in `portal_index.land.warehouse.RAW_TABLES`.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pyarrow as pa

from portal_index.core.periods import earliest_test_date, utc_offset_hours, vietnam_date
from portal_index.core.periods import today as vietnam_today
from portal_index.core.problems import InputRejected, Problem
from portal_index.core.raw_tables import MAX_MAGNITUDE, MAX_PROBE_MS, RAW_TABLES
from portal_index.core.registry import portals as registry_portals
from portal_index.core.registry import registry_file, validity_problem

REQUIRED = {
    "crawl_pages": ("crawl_id", "portal_id", "url", "fetched_at"),
    "crawl_signals": ("crawl_id", "portal_id", "crawled_at", "signal_id"),
    "a11y_audits": ("portal_id", "url", "audited_at"),
    "a11y_violations": ("portal_id", "url", "audited_at", "rule_id"),
}
PROBE_REQUIRED = ("portal_id", "url", "probed_at")
HEADER_CHARS = 4096
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
JSONL_LINE_CHARS = 1_000_000  # one record of another tool's crawl or audit
TIME_COLUMN = {
    "crawl_pages": "fetched_at",
    "crawl_signals": "crawled_at",
    "a11y_audits": "audited_at",
    "a11y_violations": "audited_at",
}
CRAWL_RECORDS = {"page": "crawl_pages", "signal": "crawl_signals"}
AUDIT_RECORDS = {"audit": "a11y_audits", "violation": "a11y_violations"}


def write_records(path: Path, records: dict[str, str], tables: dict[str, list[dict]]) -> None:
    """JSON Lines: each row of each table as one object tagged with its record kind."""
    with open(path, "w", encoding="utf-8") as f:
        for kind, table in records.items():
            for row in tables.get(table, []):
                f.write(json.dumps({"record": kind, **row}, ensure_ascii=False, default=str) + "\n")


def write_crawl(path: Path, pages: list[dict], signals: list[dict]) -> None:
    write_records(path, CRAWL_RECORDS, {"crawl_pages": pages, "crawl_signals": signals})


def record_kinds(path: Path) -> set[str]:
    """The record kinds of a JSON Lines file's first lines (to tell crawl rows from audits)."""
    kinds = set()
    with open(path, encoding="utf-8", errors="replace") as f:
        for line, _ in zip(f, range(20)):
            try:
                kinds.add(json.loads(line).get("record"))
            except (ValueError, AttributeError):
                continue
    return kinds


def is_warc(path: Path) -> bool:
    return path.name.lower().endswith((".warc", ".warc.gz"))


def parse_crawl(path: Path, portals=None) -> dict[str, list[dict]]:
    """A WARC file (signals extracted now): our crawler's, or another tool's whose pages are matched to
    the registry portals by host (`portals`, {portal_id: base_url}, replaces the registry); or JSON
    Lines rows."""
    if is_warc(path):
        return _parse_warc(path, portals)
    return parse_records(path, CRAWL_RECORDS)


def parse_audits(path: Path) -> dict[str, list[dict]]:
    return parse_records(path, AUDIT_RECORDS)


def _parse_warc(path: Path, portals=None) -> dict[str, list[dict]]:
    from warcio.exceptions import ArchiveLoadFailed

    # selectolax and warcio only when a WARC comes in
    from portal_index.parse.portal_signals import extract_warc
    from portal_index.parse.warc import WarcError

    try:
        return extract_warc(path, portals=portals)
    except WarcError as e:  # cut mid-record, an incomplete crawl of ours, no page of a known portal
        raise InputRejected([Problem(path.name, None, None, None, v[:600], x) for v, x in e.problems]) from e
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, KeyError) as e:
        expected = "a WARC file of portal-index fetch records, or of HTTP response records"
        raise InputRejected([Problem(path.name, None, None, None, str(e)[:200], expected)]) from e


def parse_records(path: Path, records: dict[str, str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in records.values()}
    problems: list[Problem] = []
    validity = _validity_memo()
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(iter(lambda: f.readline(JSONL_LINE_CHARS + 1), ""), start=1):
            if len(line) > JSONL_LINE_CHARS:
                problems.append(
                    Problem(
                        path.name,
                        None,
                        n,
                        None,
                        f"more than {JSONL_LINE_CHARS:,} characters",
                        f"lines of at most {JSONL_LINE_CHARS:,} characters",
                    )
                )
                break
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(Problem(path.name, None, n, None, line[:80], f"a JSON object ({e.msg})"))
                continue
            table = records.get(obj.pop("record", None))
            if table is None:
                problems.append(Problem(path.name, None, n, "record", None, " or ".join(f"'{k}'" for k in records)))
                continue
            for col in REQUIRED[table]:
                if obj.get(col) in (None, ""):
                    problems.append(Problem(path.name, None, n, col, obj.get(col), "a value"))
            for col in _NUMBERS[table]:
                if _out_of_range(obj.get(col)):
                    problems.append(Problem(path.name, None, n, col, obj.get(col), NUMBER_EXPECTED))
            problems += _unknown_portal(path, n, obj, TIME_COLUMN[table], validity)
            out[table].append({k: v for k, v in obj.items() if k in RAW_TABLES[table]})
            if len(problems) > MAX_LISTED:
                break
    if problems:
        raise InputRejected(problems)
    return out


_NUMBERS = {t: [c for c, kind in columns.items() if kind == "DOUBLE"] for t, columns in RAW_TABLES.items()}
NUMBER_EXPECTED = f"a finite number of at most {MAX_MAGNITUDE:,.0f} either side of 0"


def _out_of_range(value) -> bool:
    """A number that is no measurement: nan, inf, or beyond MAX_MAGNITUDE (json reads all three)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False  # a value of another type is its column's type problem
    return not abs(value) <= MAX_MAGNITUDE  # nan compares false


def load_records_into(con, files: list[tuple[Path, date, str, str]], records: dict[str, str]) -> dict[str, int]:
    """JSON Lines files of `records` (crawl or audit rows; a WARC is not one) read by DuckDB into the
    warehouse connection, inside the caller's open transaction, as `load_probes_into` does for probe
    files: all of them by one `read_json`, checked file by file with the checks of `parse_records`
    (a known record kind, the required values, times with their offset, portals of the registry on
    the row's day), the good files' rows appended by one statement per table. Returns {sha256: rows}
    of those files; the others go to `parse_records`, which names every problem. A value of a type
    its column cannot hold fails the read, and the caller then tries the files one by one."""
    import duckdb

    files = _once_per_file(
        f for f in files if not is_warc(f[0]) and not f[0].name.lower().endswith((".gz", ".zst", ".bz2", ".xz"))
    )
    columns: dict[str, str] = {"record": "VARCHAR"}
    for table in records.values():
        for column, kind in RAW_TABLES[table].items():
            kind = "VARCHAR" if kind == "TIMESTAMPTZ" else kind  # times are checked as written, then cast
            if columns.setdefault(column, kind) != kind or column == FILE_COLUMN:
                return {}  # one name, two types: the parser reads such files
    if not files:
        return {}
    zone = con.execute("select current_setting('TimeZone')").fetchall()[0][0]
    con.execute("set TimeZone = 'UTC'")
    try:
        return _load_record_group(con, files, records, columns)
    finally:  # see load_probes_into
        with contextlib.suppress(duckdb.Error):
            _drop_temps(con, _RECORD_TEMPS)
            con.execute(f"set TimeZone = '{zone}'")


# an ISO 8601 time with its offset that `datetime.fromisoformat` reads too (DuckDB alone also takes
# hour 24, offsets past a day and year 0)
_ISO_WITH_OFFSET = (
    r"(000[1-9]|00[1-9]\d|0[1-9]\d\d|[1-9]\d{3})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])"
    r"[T ]([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,6})?)?([+-]([01]\d|2[0-3])(:?[0-5]\d)?|Z)"
)


def _load_record_group(con, files, records: dict[str, str], columns: dict[str, str]) -> dict[str, int]:
    spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
    _drop_temps(con, _RECORD_TEMPS)
    con.execute(
        f"create temp table record_file as select * from read_json(?, format = 'newline_delimited', "
        f"columns = {{{spec}}}, filename = '{FILE_COLUMN}', maximum_object_size = {JSONL_LINE_CHARS})",
        [[str(path) for path, *_ in files]],
    )
    con.execute(f"create temp table record_files ({FILE_COLUMN} varchar, sha256 varchar, landed_at varchar)")
    con.executemany(
        "insert into temp.record_files values (?, ?, ?)", [[str(path), sha, landed] for path, _, sha, landed in files]
    )
    kinds = ", ".join(f"'{k}'" for k in records)
    problems = [f"record is null or record not in ({kinds})"]
    offset = utc_offset_hours()
    days = []
    for kind, table in records.items():
        required = " or ".join(f"{c} is null or cast({c} as varchar) = ''" for c in REQUIRED[table])
        problems.append(f"record = '{kind}' and ({required})")
        for column in _NUMBERS[table]:
            problems.append(
                f"record = '{kind}' and {column} is not null "
                f"and (not isfinite({column}) or abs({column}) > {MAX_MAGNITUDE})"
            )
        for column, type_ in RAW_TABLES[table].items():
            if type_ == "TIMESTAMPTZ":
                problems.append(
                    f"record = '{kind}' and {column} is not null and (not regexp_full_match({column}, "
                    f"'{_ISO_WITH_OFFSET}') or try_cast({column} as timestamptz) is null)"
                )
        moment = TIME_COLUMN[table]
        days.append(
            f"select {FILE_COLUMN}, portal_id, cast(try_cast({moment} as timestamptz) + to_hours({offset}) as date) "
            f"as day from temp.record_file where record = '{kind}' and portal_id <> '' and {moment} <> ''"
        )
    bad = {
        row[0]
        for row in con.execute(
            f"select distinct {FILE_COLUMN} from temp.record_file where {' or '.join(f'({p})' for p in problems)}"
        ).fetchall()
    }
    bad |= _outside_registry(con, f"select *, day as first_day, day as last_day from ({' union '.join(days)})")
    good = {str(path): sha for path, _, sha, _ in files if str(path) not in bad}
    if not good:
        return {}
    con.execute(f"delete from temp.record_files where {FILE_COLUMN} not in (select unnest(?))", [list(good)])
    loaded = dict.fromkeys(good.values(), 0)
    for kind, table in records.items():
        names = [
            f"cast(r.{c} as timestamptz) as {c}" if t == "TIMESTAMPTZ" else f"r.{c}"
            for c, t in RAW_TABLES[table].items()
        ]
        counts = con.execute(
            f"select f.sha256, count(*) from temp.record_file as r join temp.record_files as f using ({FILE_COLUMN}) "
            f"where r.record = '{kind}' group by all"
        ).fetchall()
        inserted = con.execute(
            f"insert into raw.{table} by name select f.sha256 as snapshot_sha256, "
            f"cast(f.landed_at as timestamptz) as snapshot_landed_at, {', '.join(names)} "
            f"from temp.record_file as r join temp.record_files as f using ({FILE_COLUMN}) where r.record = '{kind}'"
        ).fetchall()[0][0]
        if inserted != sum(n for _, n in counts):
            raise RuntimeError(f"{inserted} {table} rows inserted, {sum(n for _, n in counts)} expected")
        for sha, n in counts:
            loaded[sha] += n
    return loaded


def _validity_memo():
    """`validity_problem` remembered per (portal, day) for one file: a crawl file has hundreds of rows
    per portal and day, a probe file thousands of portals a day."""
    memo: dict[tuple[str, date], str | None] = {}

    def check(portal_id: str, day: date) -> str | None:
        key = (portal_id, day)
        if key not in memo:
            memo[key] = validity_problem(portal_id, day)
        return memo[key]

    return check


def _unknown_portal(path: Path, line: int, obj: dict, time_column: str, validity=validity_problem) -> list[Problem]:
    """A row of another tool's crawl or audit must belong to a registry portal valid at its time."""
    portal_id, moment = obj.get("portal_id"), obj.get(time_column)
    if not portal_id or not moment:
        return []
    try:
        day = vietnam_date(datetime.fromisoformat(str(moment)))
    except ValueError:
        return [Problem(path.name, None, line, time_column, moment, "an ISO 8601 time")]
    why = validity(str(portal_id), day)
    return [Problem(path.name, None, line, "portal_id", portal_id, why)] if why else []


def write_probes(path: Path, probes: list[dict]) -> None:
    columns = list(RAW_TABLES["probes"])
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in probes:
            writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})


def parse_probes(path: Path, landed_on: date | None = None) -> dict[str, pa.Table]:
    """A probe CSV read by DuckDB into typed columns (hourly files of thousands of rows, and days of
    them at national scale). A file with a missing value, a value of the wrong type or an
    implausible probe (docs/inputs.md) is rejected with every problem: row, column, value and what
    was expected."""
    import duckdb

    header = _probe_header(path)
    contract = RAW_TABLES["probes"]
    known = ", ".join(c for c in header if c in contract)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")  # a time without an offset is UTC, as everywhere in the warehouse
        table = con.sql(
            f"select {known} from {_probe_csv(header, extra=', store_rejects = true')}",
            params=[str(path)],
        ).to_arrow_table()
        problems = [
            Problem(
                path.name,
                None,
                int(line),
                column,
                _bad_value(error, csv_line),
                f"a value of type {contract.get(column, 'VARCHAR')}",
            )
            for line, column, csv_line, error in con.execute(
                "select line, column_name, csv_line, error_message from reject_errors order by line"
            ).fetchall()
        ]
        if problems or any(table.column(c).null_count for c in PROBE_REQUIRED):  # rejected rows too
            blanks = " or ".join(f"{c} is null" for c in PROBE_REQUIRED)
            for line, *values in con.execute(
                f"select * from (select row_number() over () + 1 as line, {', '.join(PROBE_REQUIRED)} "
                f"from {_probe_csv(header, as_text=True)}) "
                f"where {blanks} order by line",
                [str(path)],
            ).fetchall():
                problems += [
                    Problem(path.name, None, int(line), c, None, "a value")
                    for c, v in zip(PROBE_REQUIRED, values)
                    if v is None
                ]
        if not problems:
            problems += _repeated_probes(con, path, table, header)
        if not problems:
            problems += _implausible_probes(con, path, table, landed_on or vietnam_today())
    if problems:
        raise InputRejected(sorted(problems, key=lambda p: p.row or 0))
    return {"probes": table}


def _probe_header(path: Path) -> list[str]:
    """A probe CSV's column names, or InputRejected when they cannot go into a query or lack a required one."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
        first = f.readline(HEADER_CHARS)
    header = next(csv.reader([first]), [])
    odd = [c for c in header if not _IDENTIFIER.match(c)]  # names go into the query: plain names only
    if odd or len(first) >= HEADER_CHARS:
        raise InputRejected(
            [Problem(path.name, None, 1, None, c[:80], "a column name of letters, digits and _") for c in odd[:20]]
            or [Problem(path.name, None, 1, None, f"{len(first):,}+ characters", "a header line under 4,096")]
        )
    missing = [c for c in PROBE_REQUIRED if c not in header]
    if missing:
        raise InputRejected([Problem(path.name, None, 1, c, None, "a header with this column") for c in missing])
    return header


FILE_COLUMN = "load_file"  # the column naming each row's file when several files are read at once
_RECORD_TEMPS = ("record_file", "record_files")


def _once_per_file(files) -> list[tuple[Path, date, str, str]]:
    """Each path and each sha256 once: the fast paths join rows to their file by its name, and the
    probes' checks find a file's rows by its sha256. A second file of the same bytes is left to the
    parser."""
    first: dict[str, tuple[Path, date, str, str]] = {}
    for file in {str(f[0]): f for f in files}.values():
        first.setdefault(file[2], file)
    return list(first.values())


def _drop_temps(con, tables: tuple[str, ...]) -> None:
    """The fast paths' temporary tables, gone before a read and after it."""
    for table in tables:
        con.execute(f"drop table if exists temp.{table}")


def load_probes_into(con, files: list[tuple[Path, date, str, str]]) -> dict[str, int]:
    """Probe CSVs read by DuckDB into the warehouse connection, inside the caller's open transaction:
    `files` are (path, day it landed, sha256, landed_at). Files with the same header are read by one
    `read_csv` straight into `raw.probes`, then the rows this statement added (found by their row
    ids, which DuckDB skips to) are checked there, file by file, with the checks of `parse_probes`
    (values of the right types, no missing value, no repeated probe, no implausible one); the rows
    of a file that fails one are deleted again. Returns {sha256: rows inserted} of the files kept. A
    file not in it has a problem (or something failed): the caller loads it through `parse_probes`,
    which names every problem (row, column, value, expected) exactly as it always has. One statement
    per check over many files instead of a few per file, one commit for them all, and the rows
    written once (not into a temporary table first) is what makes a national half-year load in
    minutes. (Checking the rows in `raw.probes` filtered by snapshot was tried: its zone maps skip
    few row groups, so each file re-scanned most of the table; the row ids do not have that flaw.)"""
    import duckdb

    by_header: dict[tuple[str, ...], list[tuple[Path, date, str, str]]] = {}
    for file in _once_per_file(files):
        try:
            header = _probe_header(file[0])
        except InputRejected:
            continue
        if FILE_COLUMN not in header:
            by_header.setdefault(tuple(header), []).append(file)
    zone = con.execute("select current_setting('TimeZone')").fetchall()[0][0]
    con.execute("set TimeZone = 'UTC'")  # a time without an offset is UTC, as in parse_probes
    loaded: dict[str, int] = {}
    try:
        for header, group in by_header.items():
            loaded.update(_load_probe_group(con, list(header), group))
    finally:  # in a transaction that failed these fail too: its rollback drops the tables, and
        # the caller (`warehouse._load_direct`) sets the zone back after it
        with contextlib.suppress(duckdb.Error):
            _drop_temps(con, _PROBE_TEMPS)
            con.execute(f"set TimeZone = '{zone}'")
    return loaded


_PROBE_TEMPS = ("probe_files", "probe_load_rejects", "probe_load_scans")


def _load_probe_group(con, header: list[str], files: list[tuple[Path, date, str, str]]) -> dict[str, int]:
    """`load_probes_into` for files with one header."""
    contract = RAW_TABLES["probes"]
    known = [c for c in header if c in contract]
    _drop_temps(con, _PROBE_TEMPS)
    offset = utc_offset_hours()
    con.execute(
        f"create temp table probe_files ({FILE_COLUMN} varchar, sha256 varchar, landed_at varchar, "
        "not_after timestamptz, rows bigint, good boolean)"
    )
    con.executemany(
        "insert into temp.probe_files values (?, ?, ?, cast(? as timestamptz), 0, true)",
        [
            [str(path), sha256, landed_at, f"{landed_on + timedelta(days=1)} 00:00:00{offset:+03d}"]
            for path, landed_on, sha256, landed_at in files
        ],
    )
    # every row this group adds has a larger row id than any row before it (committed rows, and
    # rows added earlier in this transaction), and a scan filtered by row id reads only their row groups
    before = con.execute("select coalesce(max(rowid), -1) from raw.probes").fetchall()[0][0]
    con.execute(
        "insert into raw.probes by name select f.sha256 as snapshot_sha256, "
        f"cast(f.landed_at as timestamptz) as snapshot_landed_at, {', '.join('p.' + c for c in known)} "
        "from "
        + _probe_csv(
            header,
            extra=f", filename = '{FILE_COLUMN}', store_rejects = true, rejects_table = 'probe_load_rejects', "
            "rejects_scan = 'probe_load_scans'",
        )
        + f" as p join temp.probe_files as f using ({FILE_COLUMN})",
        [[str(path) for path, *_ in files]],
    )
    added = f"(select * from raw.probes where rowid > {int(before)})"
    # a repeated probe has a repeated hash; a repeated hash of different probes (a collision) only
    # sends its file to the parser, which finds no repeat and loads it
    key_hash = f"hash({', '.join(PROBE_REQUIRED)})"
    blanks = " or ".join(f"{c} is null" for c in PROBE_REQUIRED)
    con.execute(
        f"""update temp.probe_files as f set rows = c.stored, good = c.blank = 0 and c.distinct_keys = c.stored
            from (select snapshot_sha256, count(*) as stored, count(*) filter (where {blanks}) as blank,
                         count(distinct {key_hash}) as distinct_keys
                  from {added} group by all) as c
            where f.sha256 = c.snapshot_sha256"""
    )
    con.execute(
        f"""update temp.probe_files set good = false where {FILE_COLUMN} in (
                select s.file_path from temp.probe_load_rejects as r
                join temp.probe_load_scans as s using (scan_id, file_id))"""
    )
    checked = (
        f"(select p.*, f.{FILE_COLUMN}, f.not_after from {added} as p "
        "join temp.probe_files as f on p.snapshot_sha256 = f.sha256 where f.good)"
    )
    bad = _implausible_files(con, checked, set(known))
    if bad:
        con.execute(f"update temp.probe_files set good = false where {FILE_COLUMN} in (select unnest(?))", [list(bad)])
    good = dict(con.execute("select sha256, rows from temp.probe_files where good").fetchall())
    if len(good) < len(files):  # the rows of the files that failed a check go again
        con.execute(
            f"delete from raw.probes where rowid > {int(before)} and snapshot_sha256 in "
            "(select sha256 from temp.probe_files where not good)"
        )
    kept = con.execute(f"select count(*) from raw.probes where rowid > {int(before)}").fetchall()[0][0]
    if kept != sum(good.values()):
        raise RuntimeError(f"{kept} probe rows kept, {sum(good.values())} expected")
    return good


# (column, condition on a row that makes it implausible, what was expected); a check whose columns a
# file does not have is skipped. Timings are phases (DNS, connect, TLS) before the first byte.
_PROBE_TIMES = ("dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "total_ms")
PROBE_RULES = (
    *[(c, f"not isfinite({c})", "a finite number") for c in _PROBE_TIMES],
    *[(c, f"{c} < 0", "a time of 0 ms or more") for c in _PROBE_TIMES],
    *[(c, f"{c} > {MAX_PROBE_MS}", f"a time of at most an hour ({MAX_PROBE_MS:,} ms)") for c in _PROBE_TIMES],
    ("bytes", "bytes < 0", "a size of 0 bytes or more"),
    (
        "ttfb_ms",
        "ttfb_ms + 1 < coalesce(dns_ms, 0) + coalesce(connect_ms, 0) + coalesce(tls_ms, 0)",
        "at least the DNS, connect and TLS times that come before the first byte",
    ),
    ("total_ms", "total_ms + 1 < ttfb_ms", "at least the time to first byte"),
    ("status", "status < 100 or status > 599", "an HTTP status from 100 to 599"),
    ("status", "status is null and error is null", "an HTTP status, or an error saying why there is none"),
    # no probe belongs to an assessment before the decree it rests on: a year 0001 or -infinity is no
    # time of a measurement (and has no period)
    (
        "probed_at",
        f"probed_at < timestamptz '{earliest_test_date()} 00:00:00{utc_offset_hours():+03d}'",
        f"a time on or after {earliest_test_date()}, Vietnam time (Decree 42/2022/NĐ-CP in force)",
    ),
)
MAX_LISTED = 200  # problems listed for one file, at most: the file is rejected all the same, the rest unnamed


def _applicable_rules(columns: set[str]) -> list[tuple[str, str, str]]:
    """The PROBE_RULES whose columns a file has."""
    return [
        (column, condition, expected)
        for column, condition, expected in PROBE_RULES
        if {w for w in re.findall(r"[a-z_]+", condition) if w in RAW_TABLES["probes"]} <= columns
    ]


def _plausible(con, relation: str, columns: set[str], landed_on: date) -> bool:
    """True when no probe of `relation` (one file, which landed on `landed_on`) breaks a rule of
    `_implausible_probes`. When it says False, `_implausible_probes` finds and names the problems."""
    after = landed_on + timedelta(days=1)
    one_file = (
        f"(select *, '' as {FILE_COLUMN}, timestamptz '{after} 00:00:00{utc_offset_hours():+03d}' as not_after "
        f"from {relation})"
    )
    return not _implausible_files(con, one_file, columns)


def _implausible_files(con, relation: str, columns: set[str]) -> set[str]:
    """The files (column `load_file`) of `relation` with a probe that breaks a rule of
    `_implausible_probes`, a probe at or after its file's `not_after` (the day after it landed)
    included: every rule, the landing day and the registry checked in one scan and one join, instead
    of a query per rule and a registry look-up per portal and day."""
    conditions = [f"({condition})" for _, condition, _ in _applicable_rules(columns)]
    conditions.append("probed_at >= not_after")
    bad = {
        row[0]
        for row in con.execute(
            f"select distinct {FILE_COLUMN} from {relation} where {' or '.join(conditions)}"
        ).fetchall()
    }
    # a portal's first and last day in a file, not each of its days: one span of the registry holding
    # both holds the days between (a portal whose days fall in two spans sends its file to the parser,
    # which looks day by day)
    offset = utc_offset_hours()
    return bad | _outside_registry(
        con,
        f"select {FILE_COLUMN}, portal_id, cast(min(probed_at) + to_hours({offset}) as date) as first_day, "
        f"cast(max(probed_at) + to_hours({offset}) as date) as last_day from {relation} group by all",
    )


def _outside_registry(con, days: str) -> set[str]:
    """The files of `days` (a query of load_file, portal_id, first_day, last_day) with a portal that
    no single validity span of the registry has from its first to its last day."""
    con.register("registry_spans", registry_spans())
    try:
        return {
            row[0]
            for row in con.execute(
                f"""select distinct {FILE_COLUMN} from ({days}) as d
                    where first_day is not null and not exists (
                        select 1 from registry_spans as s where s.portal_id = d.portal_id
                        and (s.valid_from is null or s.valid_from <= d.first_day)
                        and (s.valid_to is null or s.valid_to >= d.last_day))"""
            ).fetchall()
        }
    finally:
        con.unregister("registry_spans")


def registry_spans() -> pa.Table:
    """The registry's validity spans (portal_id, valid_from, valid_to; null for an open end), as
    `validity_problem` reads them (`valid_between`)."""
    path = registry_file()
    return _registry_spans(path, path.stat().st_mtime_ns)


@lru_cache(maxsize=4)
def _registry_spans(path: Path, mtime_ns: int) -> pa.Table:
    rows = registry_portals()
    return pa.table(
        {
            "portal_id": pa.array([p["portal_id"] for p in rows], pa.string()),
            "valid_from": pa.array(
                [date.fromisoformat(p["valid_from"]) if p["valid_from"] else None for p in rows], pa.date32()
            ),
            "valid_to": pa.array(
                [date.fromisoformat(p["valid_to"]) if p["valid_to"] else None for p in rows], pa.date32()
            ),
        }
    )


def _implausible_probes(con, path: Path, table: pa.Table, landed_on: date) -> list[Problem]:
    """Probes that cannot be: negative or disordered times, impossible statuses, times after the
    day the file landed, portals the registry does not have on the probe's day."""
    con.register("incoming", table)
    try:
        if _plausible(con, "incoming", set(table.column_names), landed_on):
            return []
    finally:
        con.unregister("incoming")
    incoming = table.append_column("line", pa.array(range(2, table.num_rows + 2), pa.int64()))
    con.register("incoming", incoming)
    columns = set(table.column_names)
    found: list[Problem] = []
    for column, condition, expected in PROBE_RULES:
        needed = {w for w in re.findall(r"[a-z_]+", condition) if w in RAW_TABLES["probes"]}
        if not needed <= columns:
            continue
        for line, value in con.execute(
            f"select line, cast({column} as varchar) from incoming where {condition} order by line limit {MAX_LISTED}"
        ).fetchall():
            found.append(Problem(path.name, None, line, column, value, expected))
    after = landed_on + timedelta(days=1)
    for line, value in con.execute(
        f"select line, cast(probed_at as varchar) from incoming where probed_at >= timestamptz '{after} 00:00:00"
        f"{utc_offset_hours():+03d}' order by line limit {MAX_LISTED}"
    ).fetchall():
        found.append(
            Problem(
                path.name, None, line, "probed_at", value, f"a time no later than {landed_on}, the day the file landed"
            )
        )
    offset = utc_offset_hours()
    for portal_id, day, line in con.execute(
        f"select portal_id, cast(probed_at + to_hours({offset}) as date) as day, min(line) from incoming "
        "group by all order by 3"
    ).fetchall():
        why = validity_problem(portal_id, day)
        if why:
            found.append(
                Problem(path.name, None, line, "portal_id", portal_id, f"{why} (first row of that portal and day)")
            )
    con.unregister("incoming")
    return found[:MAX_LISTED]


def _probe_csv(header: list[str], as_text: bool = False, extra: str = "") -> str:
    """`read_csv(?, …)` of probe CSV files with this header: each column of the raw table's type (or
    all as text), an empty cell null; `extra`: more options."""
    contract = RAW_TABLES["probes"]
    columns = ", ".join(f"'{c}': '{'VARCHAR' if as_text else contract.get(c, 'VARCHAR')}'" for c in header)
    return f"read_csv(?, header = true, auto_detect = false, columns = {{{columns}}}, nullstr = ''{extra})"


def _repeated_probes(con, path: Path, table: pa.Table, header: list[str]) -> list[Problem]:
    """A probe (portal, URL, time) given twice in one file: each repeat, with the row it repeats.
    Compared as read (the time as an instant: 00:00Z and 07:00+07:00 are one probe); `table` has a
    row for each line of the file, in order (a file with an unreadable row is rejected before)."""
    key = ", ".join(PROBE_REQUIRED)
    lines = table.select(list(PROBE_REQUIRED)).append_column("line", pa.array(range(2, table.num_rows + 2), pa.int64()))
    con.register("incoming", lines)
    try:
        if not con.execute(f"select count(*) - count(distinct ({key})) from incoming").fetchall()[0][0]:
            return []
        repeats = con.execute(
            f"select line, first_line from (select line, min(line) over (partition by {key}) as first_line "
            f"from incoming) where line > first_line order by line limit {MAX_LISTED}"
        ).fetchall()
    finally:
        con.unregister("incoming")
    texts = dict(  # each repeat's time as the file writes it
        con.execute(
            f"select line, probed_at from (select row_number() over () + 1 as line, probed_at "
            f"from {_probe_csv(header, as_text=True)}) where line in (select unnest(?))",
            [str(path), [line for line, _ in repeats]],
        ).fetchall()
    )
    return [
        Problem(
            path.name,
            None,
            int(line),
            "probed_at",
            texts.get(line),
            f"one row per portal, URL and time (this probe repeats row {first})",
        )
        for line, first in repeats
    ]


def _bad_value(error: str, line: str) -> str:
    """The cell DuckDB could not convert, from its message (else the whole line)."""
    found = re.search(r'Could not convert string "(.*?)" to', error or "")
    return found.group(1) if found else line
