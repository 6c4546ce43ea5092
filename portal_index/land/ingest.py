"""Landing inputs: inbox files become snapshots, snapshots are parsed into the raw tables."""

from __future__ import annotations

import csv
import json
import stat
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from portal_index.config import Home
from portal_index.core.problems import Problem
from portal_index.land.snapshots import SIDECAR, Snapshot, land, list_snapshots
from portal_index.land.warehouse import LoadReport, Parser, connect, load_snapshot, loaded_shas, sync_source, unload
from portal_index.parse import fetch_results, papi, surveys
from portal_index.parse.confined import confined
from portal_index.parse.spreadsheets import SPREADSHEETS


def _parse_crawl_file(path: Path, landed_on):
    return _parse_crawl(path)


def _parse_probes(path: Path, landed_on):
    return fetch_results.parse_probes(path, landed_on=landed_on)


# a probe file with no problem goes straight from the file into the warehouse (see load_snapshot)
_parse_probes.load_into = fetch_results.load_probes_into


def _parse_audits(path: Path, landed_on):
    return fetch_results.parse_audits(path)


def _ours_only(records: dict[str, str]):
    """The JSON Lines fast path, for the files our own fetchers and `synth` wrote. Another tool's
    file goes through the parser: DuckDB's JSON reader allows what `json.loads` does not (trailing
    commas, `inf`, a lone carriage return inside an object, lines over the limit, gzip), and the
    parser is the one that says so, line by line."""

    def load_into(con, files):
        return fetch_results.load_records_into(con, [f for f in files if is_ours(f[0])], records)

    return load_into


# JSON Lines crawl and audit files of ours with no problem go straight into the warehouse too
_parse_crawl_file.load_into = _ours_only(fetch_results.CRAWL_RECORDS)
_parse_audits.load_into = _ours_only(fetch_results.AUDIT_RECORDS)

# Each parser takes the file and the day it landed (what "in the future" means for its dates).
PARSERS: dict[str, Parser] = {
    "crawl": _parse_crawl_file,
    "probes": _parse_probes,
    "audits": _parse_audits,
    "surveys": lambda path, landed_on: surveys.parse(path, landed_on=landed_on),
    "papi": lambda path, landed_on: papi.parse(path, landed_on=landed_on),
}


def _parse_crawl(path: Path) -> dict:
    """A crawl file: ours (a WARC our crawler wrote, by its snapshot's origin) in this process; any
    other tool's in a confined child process (docs/inputs.md, "Limits")."""
    if is_ours(path):
        return fetch_results.parse_crawl(path)
    return confined("portal_index.parse.fetch_results:parse_crawl", path)


def is_ours(path: Path) -> bool:
    """A snapshot our own fetchers landed (its sidecar's origin names portal-index)."""
    sidecar = path.parent / SIDECAR
    try:
        return json.loads(sidecar.read_text(encoding="utf-8")).get("origin", "").startswith("portal-index ")
    except (OSError, ValueError):
        return False


def detect_source(path: Path) -> str:
    """Guess which source a file belongs to from its name and first line."""
    suffix = path.suffix.lower()
    if suffix in SPREADSHEETS:
        return "papi" if "papi" in path.name.lower() else "surveys"
    if suffix in (".jsonl", ".ndjson"):
        return "audits" if fetch_results.record_kinds(path) & set(fetch_results.AUDIT_RECORDS) else "crawl"
    if suffix == ".warc" or path.name.lower().endswith(".warc.gz"):
        return "crawl"
    if suffix == ".csv":
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            header = {h.strip().lower() for h in next(csv.reader([f.readline(65536)]), [])}
        if {"province", "year", "dimension", "score"} <= header:
            return "papi"
        if "probed_at" in header:
            return "probes"
        return "surveys"
    raise ValueError(f"{path.name}: cannot tell which source this is; pass --source (crawl, probes, surveys or papi)")


def land_inbox(home: Home, source: str, skipped: list[str] | None = None) -> list[tuple[Snapshot, bool]]:
    """Land every regular file waiting in `inbox/<source>/`; a landed file leaves the inbox. Symbolic
    links and special files (FIFOs, devices) are never followed or read, and a file that changes
    while it is copied (still being written) waits for the next run; both are named in `skipped`."""
    landed = []
    skipped = [] if skipped is None else skipped
    for path in sorted(home.inbox(source).iterdir()):
        if path.name.startswith("."):
            continue
        mode = path.lstat().st_mode
        if not stat.S_ISREG(mode):
            if not stat.S_ISDIR(mode):
                skipped.append(f"{source}/{path.name!r}: not a regular file (a link or a special file); not read")
            continue
        try:
            snapshot, new = land(home.snapshots, source, path, origin=f"inbox/{source}/{path.name}")
        except OSError as e:
            skipped.append(f"{source}/{path.name!r}: {e}; left in the inbox for the next run")
            continue
        path.unlink()
        landed.append((snapshot, new))
    return landed


def ingest_source(home: Home, source: str, retry_rejected: bool = False) -> LoadReport:
    """Land the inbox of one source, then load every snapshot the warehouse has not seen (and the
    rejected ones again when the parsers or the registry changed, or all of them with `retry_rejected`)."""
    home.ensure()
    skipped: list[str] = []
    land_inbox(home, source, skipped)
    with connect(home.warehouse) as con:
        report = sync_source(con, home.snapshots, source, PARSERS[source], retry_rejected)
    report.skipped = skipped
    return report


@dataclass
class InputSummary:
    """What the inputs of one command gave: files loaded (with rows) and files rejected (with problems)."""

    loaded: list[tuple[str, str, int]] = field(default_factory=list)  # (source, file, rows)
    notes: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (source, file, notes)
    rejected: list[tuple[str, str, list[Problem]]] = field(default_factory=list)  # (source, file, problems)

    def lines(self, shown: int = 3) -> list[str]:
        rows = sum(n for _, _, n in self.loaded)
        out = [f"inputs: {len(self.loaded)} file(s) loaded ({rows:,} rows), {len(self.rejected)} rejected"]
        for source, name, notes in self.notes:
            out += [f"  NOTE {source}/{name}: {note}" for note in notes]
        for source, name, problems in self.rejected:
            out.append(f"  REJECTED {source}/{name}: {len(problems)} problem(s)")
            out += [f"    - {p}" for p in problems[:shown]]
            if len(problems) > shown:
                out.append(f"    … and {len(problems) - shown} more")
        if self.rejected:
            out.append("  every problem of every rejected file: portal-index rejections")
        return out


def summary_since(home: Home, since: datetime) -> InputSummary:
    """The snapshots loaded or rejected since `since` (one command's inputs)."""
    summary = InputSummary()
    if not home.warehouse.exists():
        return summary
    with connect(home.warehouse, read_only=True) as con:  # a reader: on a cluster, from any machine
        rows = con.execute(
            """select source, original_name, status, rows, problems, notes from meta.snapshot_loads
               where loaded_at >= ? order by source, original_name""",
            [since],
        ).fetchall()
    for source, name, status, n, problems, notes in rows:
        if status == "accepted":
            summary.loaded.append((source, name, n))
            if notes:
                summary.notes.append((source, name, json.loads(notes)))
        else:
            summary.rejected.append((source, name, [Problem(**p) for p in json.loads(problems)]))
    return summary


def rejections(home: Home, source: str | None = None) -> list[tuple[str, str, str, str, list[Problem]]]:
    """Every snapshot the warehouse holds as rejected: (source, file, sha256, loaded_at, problems)."""
    if not home.warehouse.exists():
        return []
    with connect(home.warehouse, read_only=True) as con:
        rows = con.execute(
            """select source, original_name, sha256, strftime(loaded_at, '%Y-%m-%d %H:%M:%S'), problems
               from meta.snapshot_loads where status = 'rejected' and (? is null or source = ?)
               order by loaded_at, original_name""",
            [source, source],
        ).fetchall()
    return [(s, n, sha, at, [Problem(**p) for p in json.loads(ps)]) for s, n, sha, at, ps in rows]


def ingest_file(
    home: Home, path: Path, source: str | None = None, origin: str | None = None
) -> tuple[Snapshot, LoadReport]:
    """Land and load one file. The report says whether it was accepted (a repeat is a no-op)."""
    home.ensure()
    source = source or detect_source(path)
    snapshot, _ = land(home.snapshots, source, path, origin=origin or str(Path(path).resolve()))
    report = LoadReport(source)
    with connect(home.warehouse) as con:
        if snapshot.sha256 not in loaded_shas(con, source):
            load_snapshot(con, snapshot, PARSERS[source], report)
        else:
            row = con.execute(
                "select status, rows, problems from meta.snapshot_loads where sha256 = ?", [snapshot.sha256]
            ).fetchone()
            report.repeats.append(snapshot)
            if row[0] == "accepted":
                report.accepted.append((snapshot, 0))
            else:
                report.rejected.append((snapshot, [Problem(**p) for p in json.loads(row[2])]))
    return snapshot, report


def reextract(home: Home) -> LoadReport:
    """Load every crawl WARC snapshot again with today's keyword lists (no network)."""
    report = LoadReport("crawl")
    with connect(home.warehouse) as con:
        for snapshot in list_snapshots(home.snapshots, "crawl"):
            if fetch_results.is_warc(snapshot.path):
                con.execute("begin")
                unload(con, snapshot)
                con.execute("commit")
                load_snapshot(con, snapshot, PARSERS["crawl"], report)
    return report
