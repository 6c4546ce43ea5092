"""File formats for crawl, probe and audit results, ours or another tool's.

- crawl: a portal WARC file of ours, or JSON Lines, one object per line, `"record": "page"` (the
  crawl_pages columns) or `"record": "signal"` (the crawl_signals columns).
- audits: JSON Lines, `"record": "audit"` (a11y_audits) or `"record": "violation"` (a11y_violations).
- probes: CSV with the probes columns (header row; empty cell = null).
The columns are the raw-table contracts in `portal_index.land.warehouse.RAW_TABLES`.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pyarrow as pa

from portal_index.core.problems import InputRejected, Problem
from portal_index.core.raw_tables import RAW_TABLES

REQUIRED = {
    "crawl_pages": ("crawl_id", "portal_id", "url", "fetched_at"),
    "crawl_signals": ("crawl_id", "portal_id", "crawled_at", "signal_id"),
    "a11y_audits": ("portal_id", "url", "audited_at"),
    "a11y_violations": ("portal_id", "url", "audited_at", "rule_id"),
}
PROBE_REQUIRED = ("portal_id", "url", "probed_at")
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


def parse_crawl(path: Path) -> dict[str, list[dict]]:
    """A portal WARC written by our crawler (signals extracted now), or JSON Lines rows."""
    if is_warc(path):
        return _parse_warc(path)
    return parse_records(path, CRAWL_RECORDS)


def parse_audits(path: Path) -> dict[str, list[dict]]:
    return parse_records(path, AUDIT_RECORDS)


def _parse_warc(path: Path) -> dict[str, list[dict]]:
    from warcio.exceptions import ArchiveLoadFailed

    from portal_index.parse.portal_signals import extract_warc  # selectolax and warcio only when a WARC comes in

    try:
        return extract_warc(path)
    except (ArchiveLoadFailed, OSError, EOFError, ValueError, KeyError) as e:
        raise InputRejected(
            [Problem(path.name, None, None, None, str(e)[:200], "a WARC file of portal-index fetch records")]
        ) from e


def parse_records(path: Path, records: dict[str, str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in records.values()}
    problems: list[Problem] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
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
            out[table].append({k: v for k, v in obj.items() if k in RAW_TABLES[table]})
    if problems:
        raise InputRejected(problems)
    return out


def write_probes(path: Path, probes: list[dict]) -> None:
    columns = list(RAW_TABLES["probes"])
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in probes:
            writer.writerow({c: ("" if row.get(c) is None else row.get(c)) for c in columns})


def parse_probes(path: Path) -> dict[str, pa.Table]:
    """A probe CSV read by DuckDB into typed columns (hourly files of thousands of rows, and days of
    them at national scale). A file with a missing value or a value of the wrong type is rejected
    with every problem: row, column, value and what was expected."""
    import duckdb

    with open(path, encoding="utf-8-sig", newline="") as f:
        header = next(csv.reader(f), [])
    missing = [c for c in PROBE_REQUIRED if c not in header]
    if missing:
        raise InputRejected([Problem(path.name, None, 1, c, None, "a header with this column") for c in missing])
    contract = RAW_TABLES["probes"]
    types = ", ".join(f"'{c}': '{contract.get(c, 'VARCHAR')}'" for c in header)
    text = ", ".join(f"'{c}': 'VARCHAR'" for c in header)
    known = ", ".join(c for c in header if c in contract)
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")  # a time without an offset is UTC, as everywhere in the warehouse
        table = con.sql(
            f"select {known} from read_csv(?, header = true, auto_detect = false, columns = {{{types}}}, "
            "nullstr = '', store_rejects = true)",
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
                f"from read_csv(?, header = true, auto_detect = false, columns = {{{text}}}, nullstr = '')) "
                f"where {blanks} order by line",
                [str(path)],
            ).fetchall():
                problems += [
                    Problem(path.name, None, int(line), c, None, "a value")
                    for c, v in zip(PROBE_REQUIRED, values)
                    if v is None
                ]
        if not problems:
            problems += _repeated_probes(con, path, table, text)
    if problems:
        raise InputRejected(sorted(problems, key=lambda p: p.row or 0))
    return {"probes": table}


def _repeated_probes(con, path: Path, table: pa.Table, text: str) -> list[Problem]:
    """A probe (portal, URL, time) given twice in one file: each repeat, with the row it repeats."""
    con.register("incoming", table)
    key = ", ".join(PROBE_REQUIRED)
    if not con.execute(f"select count(*) - count(distinct ({key})) from incoming").fetchone()[0]:
        return []
    repeats = con.execute(
        f"select line, first_line, probed_at from (select *, min(line) over (partition by {key}) as first_line "
        f"from (select row_number() over () + 1 as line, {key} from read_csv(?, header = true, auto_detect = false, "
        f"columns = {{{text}}}, nullstr = ''))) where line > first_line order by line",
        [str(path)],
    ).fetchall()
    return [
        Problem(
            path.name,
            None,
            int(line),
            "probed_at",
            value,
            f"one row per portal, URL and time (this probe repeats row {first})",
        )
        for line, first, value in repeats
    ]


def _bad_value(error: str, line: str) -> str:
    """The cell DuckDB could not convert, from its message (else the whole line)."""
    found = re.search(r'Could not convert string "(.*?)" to', error or "")
    return found.group(1) if found else line
