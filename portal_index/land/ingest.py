"""Landing inputs: inbox files become snapshots, snapshots are parsed into the raw tables."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from portal_index.config import Home
from portal_index.core.problems import Problem
from portal_index.land.snapshots import Snapshot, land, list_snapshots
from portal_index.land.warehouse import LoadReport, Parser, connect, load_snapshot, loaded_shas, sync_source, unload
from portal_index.parse import fetch_results as results_files
from portal_index.parse import papi, surveys

PARSERS: dict[str, Parser] = {
    "crawl": results_files.parse_crawl,
    "probes": results_files.parse_probes,
    "audits": results_files.parse_audits,
    "surveys": surveys.parse,
    "papi": papi.parse,
}


def detect_source(path: Path) -> str:
    """Guess which source a file belongs to from its name and first line."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".ods"):
        return "papi" if "papi" in path.name.lower() else "surveys"
    if suffix in (".jsonl", ".ndjson"):
        return "audits" if results_files.record_kinds(path) & set(results_files.AUDIT_RECORDS) else "crawl"
    if suffix == ".warc" or path.name.lower().endswith(".warc.gz"):
        return "crawl"
    if suffix == ".csv":
        with open(path, encoding="utf-8-sig", errors="replace", newline="") as f:
            header = {h.strip().lower() for h in next(csv.reader(f), [])}
        if {"province", "year", "dimension", "score"} <= header:
            return "papi"
        if "probed_at" in header:
            return "probes"
        return "surveys"
    raise ValueError(f"{path.name}: cannot tell which source this is; pass --source (crawl, probes, surveys or papi)")


def land_inbox(home: Home, source: str) -> list[tuple[Snapshot, bool]]:
    """Land every file waiting in `inbox/<source>/`; a landed file leaves the inbox."""
    landed = []
    for path in sorted(home.inbox(source).glob("*")):
        if path.is_file() and not path.name.startswith("."):
            snapshot, new = land(home.snapshots, source, path, origin=f"inbox/{source}/{path.name}")
            path.unlink()
            landed.append((snapshot, new))
    return landed


def ingest_source(home: Home, source: str) -> LoadReport:
    """Land the inbox of one source, then load every snapshot the warehouse has not seen."""
    home.ensure()
    land_inbox(home, source)
    with connect(home.warehouse) as con:
        return sync_source(con, home.snapshots, source, PARSERS[source])


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
            if results_files.is_warc(snapshot.path):
                con.execute("begin")
                unload(con, snapshot)
                con.execute("commit")
                load_snapshot(con, snapshot, PARSERS["crawl"], report)
    return report
