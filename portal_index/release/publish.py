"""Publishing a release: a versioned Frictionless data package, written atomically.

`releases/<version>/` holds datapackage.json, data/<table>.csv and data/<table>.parquet for every
published table, an Excel workbook for people, CHANGELOG.md, DATA_DICTIONARY.md and README.md.
A release is refused unless every table's current contents passed validation. It is never
overwritten; `releases/latest` points at the newest. Its version follows from what changed since
the previous release (see portal_index.release.changelog); identical data files make no new release.
One publisher at a time (a lock file); whatever an interrupted publish left behind is removed by
the next one, and a release folder only ever appears whole (staged, then renamed).

Integrity: the last file written into a release is SHA256SUMS (`sha256sum -c` format), the sha256
of every other file, the descriptor and README.md included. Once the release is in place, the
sha256 of its SHA256SUMS and of its descriptor are appended to the release index
`releases/index.jsonl`, and only then does `latest` move. A publish killed between the rename and
the move of `latest` is finished by the next one (`heal`), under the same lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from expectations.gate import unvalidated  # the gate: nothing unvalidated is published
from portal_index import __version__
from portal_index.config import REPO_ROOT
from portal_index.core.methodology import Methodology
from portal_index.core.provenance import demo_snapshot_sql
from portal_index.land.snapshots import sha256_file
from portal_index.release import changes as explained
from portal_index.release import report
from portal_index.release.catalog import MARTS_DIR, mart_docs, package_metadata, primary_keys, published_tables
from portal_index.release.changelog import compare
from portal_index.release.files import copy_build_docs, data_dictionary, export_tables
from portal_index.release.workbook import written_aside

WORKBOOK = "portal-index.xlsx"
REPORT = "report.html"
SUMS = "SHA256SUMS"  # the sha256 of every other file of a release, written last
INDEX = "index.jsonl"  # releases/index.jsonl: one line per published release, appended, never rewritten
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")
_TYPES = {
    "VARCHAR": "string",
    "INTEGER": "integer",
    "BIGINT": "integer",
    "HUGEINT": "integer",
    "DOUBLE": "number",
    "FLOAT": "number",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "datetime",
    "TIMESTAMP WITH TIME ZONE": "datetime",
}


class NotValidated(RuntimeError):
    pass


class UnfinishedRelease(RuntimeError):
    """A release folder newer than `latest` that the next publish cannot adopt (see `heal`)."""


@dataclass(frozen=True)
class PublishResult:
    version: str | None
    path: Path | None
    unchanged_since: str | None = None


def _frictionless_type(duck_type: str) -> str:
    return "number" if duck_type.startswith("DECIMAL") else _TYPES.get(duck_type, "string")


def table_schema(con: duckdb.DuckDBPyConnection, table: str, doc: dict) -> dict:
    meta = doc.get("config", {}).get("meta", {})
    docs = {c["name"]: c for c in doc.get("columns", [])}
    pk = meta.get("primary_key", [])
    fields = []
    for name, duck_type in con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall():
        col = docs.get(name)
        if col is None:
            raise ValueError(f"{MARTS_DIR.name}/{table}.yml: column {table}.{name} is published but not documented")
        cmeta = col.get("config", {}).get("meta", {})
        field = {"name": name, "type": _frictionless_type(duck_type)}
        if cmeta.get("title"):
            field["title"] = cmeta["title"]
        field["description"] = f"{cmeta.get('vi', '')} / {col.get('description', '')}".strip(" /")
        constraints = {"required": True} if name in pk else {}
        constraints |= {k: cmeta[k] for k in ("enum", "minimum", "maximum", "pattern") if k in cmeta}
        if constraints:
            field["constraints"] = constraints
        if "example" in cmeta:
            field["example"] = cmeta["example"]
        fields.append(field)
    schema = {"fields": fields, "missingValues": [""]}
    if pk:
        schema["primaryKey"] = pk
    fks = [
        {
            "fields": fk["fields"],
            "reference": {"resource": "" if fk["resource"] == table else fk["resource"], "fields": fk["reference"]},
        }
        for fk in meta.get("foreign_keys", [])
    ]
    if fks:
        schema["foreignKeys"] = fks
    return schema


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if out.returncode == 0:
            return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def latest_release(releases: Path) -> Path | None:
    link = releases / "latest"
    return link.resolve() if link.exists() else None


def data_hashes(folder: Path) -> dict[str, str]:
    """sha256 of the machine-readable data files (CSV and Parquet) of a release or staging folder."""
    return {p.name: sha256_file(p) for p in sorted((folder / "data").glob("*")) if p.suffix in (".csv", ".parquet")}


@contextmanager
def publishing_lock(releases: Path, log=print):
    """One publisher at a time; on entry, clear whatever an interrupted publish left behind and
    finish one that was interrupted after its release was in place (`heal`)."""
    releases.mkdir(parents=True, exist_ok=True)
    with open(releases / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for leftover in releases.glob(".staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in [*releases.glob(".latest-*"), *releases.glob(".index-*")]:
            leftover.unlink(missing_ok=True)
        heal(releases, log)
        yield


def build(
    con: duckdb.DuckDBPyConnection, folder: Path, previous: Path | None, build_docs: Path | None = None
) -> dict | None:
    """Write a complete release into `folder`; None when its data equal the previous release's."""
    meta, docs = package_metadata(), mart_docs()
    tables, pks = list(published_tables()), primary_keys(docs)
    export_tables(con, tables, pks, folder / "data")
    if previous is not None and data_hashes(previous) == data_hashes(folder):
        return None
    schemas = {t: table_schema(con, t, docs[t]) for t in tables}
    periods = [r[0] for r in con.execute("select distinct period from marts.portal_scores order by 1").fetchall()]
    if not periods:
        raise NotValidated("release refused: portal_scores has no period to publish")
    methodology = Methodology.load(con)
    demo = con.execute(
        f"select count(*) > 0 from meta.snapshot_loads where status = 'accepted' and {demo_snapshot_sql()}"
    ).fetchone()[0]  # demo-ness is a property of the data
    descriptor = _descriptor(con, meta, docs, tables, schemas, folder, periods, methodology, demo)
    previous_descriptor = json.loads((previous / "datapackage.json").read_text()) if previous else None
    changes = compare(previous, previous_descriptor, folder, descriptor, pks)
    descriptor["version"] = changes.next_version()
    descriptor["changes"] = changes.as_dict()
    for table in tables:
        docs[table]["_schema"] = schemas[table]
    with written_aside(folder / WORKBOOK, folder / "data", tables, docs, methodology.version):
        (folder / "DATA_DICTIONARY.md").write_text(data_dictionary(descriptor, docs), encoding="utf-8")
        entry = changes.markdown(
            descriptor["version"], descriptor["created"][:10], descriptor["period"], methodology.version
        )
        previous_period, period_changes = explained.load(folder / "data", methodology.version, descriptor["period"])
        entry += "".join(
            f"{line}\n" for line in explained.changelog_lines(previous_period, descriptor["period"], period_changes)
        )
        earlier = (
            (previous / "CHANGELOG.md").read_text(encoding="utf-8").split("\n", 2)[2]
            if previous and (previous / "CHANGELOG.md").exists()
            else ""
        )
        (folder / "CHANGELOG.md").write_text(f"# Nhật ký thay đổi / Changelog\n\n{entry}\n{earlier}", encoding="utf-8")
        if build_docs is not None and build_docs.is_dir():  # the build's dbt docs and GX data docs
            copy_build_docs(build_docs, folder / "docs")
        report_page = report.page(folder, descriptor, methodology)  # all but its list of the files
    descriptor["files"] = _files(folder)
    (folder / REPORT).write_text(report_page(descriptor["files"]), encoding="utf-8")
    descriptor["files"] = _files(folder)
    (folder / "README.md").write_text(_readme(con, descriptor), encoding="utf-8")
    (folder / "datapackage.json").write_text(
        json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    write_checksums(folder)  # the very last file
    return descriptor


def _files(folder: Path) -> list[dict]:
    return [
        {"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def publish(warehouse: Path, releases: Path, log=print, build_docs: Path | None = None) -> PublishResult:
    with publishing_lock(releases, log), duckdb.connect(str(warehouse)) as con:
        problems = unvalidated(con, published_tables())
        if problems:
            raise NotValidated("release refused: " + "; ".join(f"{t}: {why}" for t, why in problems.items()))
        previous = latest_release(releases)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=releases))
        try:
            descriptor = build(con, staging, previous, build_docs)
            if descriptor is None:
                shutil.rmtree(staging)
                log(f"nothing changed since release {previous.name}; no new release written")
                return PublishResult(None, previous, unchanged_since=previous.name)
            target = releases / descriptor["version"]
            if target.exists():
                raise FileExistsError(f"release {target} exists already; releases are never overwritten")
            os.chmod(staging, 0o755)  # mkdtemp makes it private; a release is for everyone to read
            _fsync_tree(staging)  # on disk before it is renamed into place, so a power cut cannot half-empty it
            os.rename(staging, target)  # atomic: a release appears whole or not at all
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _fsync_dir(releases)
        # a kill from here on leaves a whole release that `latest` does not point at: `heal` finishes it
        record_release(releases, target)
        _switch_latest(releases, descriptor["version"])
    log(f"release {descriptor['version']} written to {target}")
    return PublishResult(descriptor["version"], target)


# Integrity: SHA256SUMS in each release, the release index beside them, finishing an interrupted publish


def version_key(name: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a release folder's name; None for anything that is not a version."""
    m = _VERSION.fullmatch(name)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


def release_folders(releases: Path) -> list[Path]:
    """The release folders under `releases`, oldest version first."""
    found = [p for p in releases.iterdir() if version_key(p.name) and p.is_dir() and not p.is_symlink()]
    return sorted(found, key=lambda p: version_key(p.name))


def write_checksums(folder: Path) -> None:
    """SHA256SUMS: `<sha256>  <path>` for every other file of the release, sorted by path, the
    format `sha256sum -c SHA256SUMS` reads."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.relative_to(folder).as_posix() != SUMS):
        rel = path.relative_to(folder).as_posix()
        if "\n" in rel or "\\" in rel:  # sha256sum would escape such a name; a release has none
            raise ValueError(f"{rel!r}: a release file name may not hold a newline or a backslash")
        lines.append(f"{sha256_file(path)}  {rel}\n")
    (folder / SUMS).write_text("".join(lines), encoding="utf-8")


def read_checksums(path: Path) -> dict[str, str]:
    """path -> sha256 from a SHA256SUMS file; ValueError on a line that is not `<sha256>  <path>`."""
    out = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = re.fullmatch(r"([0-9a-f]{64}) [ *](.+)", line)
        if m is None or m[2] in out:
            raise ValueError(f"{path.name} line {n}: " + ("not `<sha256>  <path>`" if m is None else "listed twice"))
        out[m[2]] = m[1]
    return out


def file_problems(folder: Path, hashes: dict[str, str] | None = None) -> list[str]:
    """Every file of a release against what describes it: the size and sha256 the descriptor lists
    for each data and documentation file, the sha256 SHA256SUMS lists for every file (the
    descriptor and README.md included), and files that neither lists. `hashes` caches sha256 by
    path for the caller. Says nothing of who wrote SHA256SUMS (see portal_index.release.verify)."""
    hashes = {} if hashes is None else hashes

    def sha(rel: str) -> str:
        if rel not in hashes:
            hashes[rel] = sha256_file(folder / rel)
        return hashes[rel]

    descriptor_path = folder / "datapackage.json"
    if not descriptor_path.is_file():
        return [f"{folder}: no datapackage.json"]
    try:
        descriptor = json.loads(descriptor_path.read_text(encoding="utf-8"))
        files = descriptor.get("files", [])
        checksums = descriptor.get("checksums")
    except (ValueError, AttributeError) as e:
        return [f"datapackage.json: not a JSON descriptor ({e})"]
    problems, reported = [], set()
    listed = set()
    for f in files if isinstance(files, list) else []:
        try:
            rel, size, digest = f["path"], f["bytes"], f["sha256"]
        except (KeyError, TypeError):
            problems.append(f"datapackage.json: a `files` entry is not {{path, bytes, sha256}}: {str(f)[:80]}")
            continue
        listed.add(rel)
        path = folder / rel
        if not _inside(rel):
            problems.append(f"{rel}: the descriptor lists a path outside the release")
        elif not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{rel}: {path.stat().st_size} bytes, the descriptor says {size}")
        elif sha(rel) != digest:
            problems.append(f"{rel}: sha256 {sha(rel)[:16]}…, the descriptor says {str(digest)[:16]}…")
        else:
            continue
        reported.add(rel)
    sums: dict[str, str] | None = None
    if (folder / SUMS).is_file():
        try:
            sums = read_checksums(folder / SUMS)
        except (ValueError, UnicodeDecodeError) as e:
            problems.append(f"{SUMS}: {e}")
            sums = {}
    elif checksums:
        problems.append(f"{SUMS}: missing (the descriptor says the release has one)")
    for rel, expected in (sums or {}).items():
        if rel in reported:
            continue
        if not _inside(rel):
            problems.append(f"{rel}: {SUMS} lists a path outside the release")
        elif not (folder / rel).is_file():
            problems.append(f"{rel}: missing (listed in {SUMS})")
        elif sha(rel) != expected:
            problems.append(f"{rel}: sha256 {sha(rel)[:16]}…, {SUMS} says {expected[:16]}…")
    exempt = {"datapackage.json", "README.md", SUMS}  # the files that describe the others
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if path.is_symlink() or not (path.is_dir() or path.is_file()):  # a release holds plain files only
            problems.append(f"{rel}: not a regular file (a link or a special file) in the release")
            continue
        if not path.is_file() or rel == SUMS:
            continue
        unlisted = [] if rel in listed or rel in exempt else ["the descriptor"]
        if sums is not None and rel not in sums:
            unlisted.append(SUMS)
        if unlisted:
            problems.append(f"{rel}: not listed in {' or in '.join(unlisted)}")
    return problems


def _inside(rel: object) -> bool:
    return isinstance(rel, str) and bool(rel) and not rel.startswith("/") and ".." not in rel.split("/")


def read_index(releases: Path) -> list[dict]:
    """The release index's entries, oldest first; ValueError when a line is not an entry."""
    path = releases / INDEX
    if not path.exists():
        return []
    entries = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or not {"version", "sha256sums", "datapackage"} <= entry.keys():
                raise ValueError("not an entry")
        except ValueError as e:
            raise ValueError(f"{path} line {n}: {e}") from None
        entries.append(entry)
    return entries


def record_release(releases: Path, folder: Path) -> dict:
    """Append `folder`'s entry to the release index: the sha256 of its SHA256SUMS and of its
    descriptor, so that `verify` can tell later whether either was rewritten. The earlier lines are
    kept byte for byte; the new file replaces the old atomically. Recording the same release again
    changes nothing; recording other checksums for a recorded version is refused."""
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    entry = {
        "version": folder.name,
        "sha256sums": sha256_file(folder / SUMS),
        "datapackage": sha256_file(folder / "datapackage.json"),
        "created": descriptor.get("created"),
        "recorded": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    for known in read_index(releases):
        if known["version"] == entry["version"]:
            if (known["sha256sums"], known["datapackage"]) == (entry["sha256sums"], entry["datapackage"]):
                return known
            raise UnfinishedRelease(
                f"release {folder.name} is recorded in {releases / INDEX} with other checksums: "
                "its files were changed after it was published; releases are never overwritten"
            )
    index = releases / INDEX
    before = index.read_bytes() if index.exists() else b""
    if before and not before.endswith(b"\n"):
        before += b"\n"
    tmp = releases / f".index-{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(before + (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, 0o644)
    os.replace(tmp, index)
    _fsync_dir(releases)
    return entry


def heal(releases: Path, log=print) -> list[str]:
    """Finish a publish that was interrupted after its release folder was renamed into place but
    before `latest` moved (otherwise every later publish would compute that same version and find
    its folder taken). Call it holding the publishing lock.

    Release folders newer than `latest` (every one, when there is no `latest`) are adopted in
    version order when each is whole (its files match SHA256SUMS and the descriptor) and was built
    on the release before it (its changes name that one as the previous version): each is recorded
    in the release index, and `latest` moves to the newest. Anything else is left alone and
    refused with `UnfinishedRelease`, as nothing but a person can say what it is. Returns the
    versions adopted."""
    latest = latest_release(releases)
    current = latest.name if latest is not None and version_key(latest.name) else None
    newer = [p for p in release_folders(releases) if current is None or version_key(p.name) > version_key(current)]
    adopted = []
    for folder in newer:
        problems = file_problems(folder)
        if not problems:
            d = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
            built_on = (d.get("changes") or {}).get("previous_version")
            if d.get("version") != folder.name:
                problems.append(f"its descriptor says version {d.get('version')}")
            if built_on != current:
                problems.append(f"it was built on {built_on or 'no release'}, not on {current or 'no release'}")
        if problems:
            raise UnfinishedRelease(
                f"{folder} is newer than releases/latest ({current or 'none'}) but cannot be adopted: "
                + "; ".join(problems[:5])
                + f". Look at it, move it out of {releases}, and publish again."
            )
        if (folder / SUMS).exists():  # a release written before SHA256SUMS existed is not indexed
            record_release(releases, folder)
        adopted.append(folder.name)
        current = folder.name
    if adopted:
        _switch_latest(releases, current)
        log(f"finished an interrupted publish: releases/latest now points at {current} (adopted {', '.join(adopted)})")
    return adopted


def _switch_latest(releases: Path, version: str) -> None:
    tmp_link = releases / f".latest-{version}"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(version)
    os.replace(tmp_link, releases / "latest")  # atomic
    _fsync_dir(releases)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):  # files before the folders that hold them
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        elif path.is_dir():
            _fsync_dir(path)
    _fsync_dir(folder)


def _descriptor(con, meta, docs, tables, schemas, folder: Path, periods, methodology, demo) -> dict:
    resources = []
    for table in tables:
        description = f"{docs[table]['config']['meta'].get('vi', '')} / {docs[table].get('description', '')}"
        for fmt, name in (("csv", table), ("parquet", f"{table}-parquet")):
            path = folder / "data" / f"{table}.{fmt}"
            resource = {
                "name": name,
                "type": "table",
                "path": f"data/{table}.{fmt}",
                "format": fmt,
                "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
                "description": description,
            }
            if fmt == "csv":  # Frictionless checks bytes and hash while it streams a CSV
                resource |= {"encoding": "utf-8", "bytes": path.stat().st_size, "hash": f"sha256:{sha256_file(path)}"}
            resources.append(resource | {"schema": schemas[table]})
    snapshots = [
        dict(zip(("sha256", "source", "original_name", "origin", "landed_at"), r))
        for r in con.execute(
            """select sha256, source, original_name, origin, strftime(landed_at, '%Y-%m-%dT%H:%M:%SZ')
           from meta.snapshot_loads where status = 'accepted' order by source, landed_at, sha256"""
        ).fetchall()
    ]
    return {
        "name": meta["name"],
        "title": meta["title"] + (" (DEMO: simulated portals and synthetic inputs)" if demo else ""),
        "description": meta["description"].strip(),
        "version": None,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "homepage": meta["homepage"],
        "keywords": meta["keywords"],
        "licenses": meta["licenses"],
        "sources": meta["sources"],
        "period": periods[-1],
        "periods": periods,
        "methodology_version": methodology.version,  # the current one: the report's and the workbook's
        "methodology_versions": [  # every period is scored under each of these (docs/methodology.md)
            dict(zip(("version", "adopted_on", "summary_vi", "summary_en"), r))
            for r in con.execute(
                """select methodology_version, strftime(adopted_on, '%Y-%m-%d'), summary_vi, summary_en
                   from seeds.methodology_versions order by adopted_on, methodology_version"""
            ).fetchall()
        ],
        "code_version": code_version(),
        "demo": bool(demo),
        "snapshots": snapshots,  # provenance: every input this release was built from
        "checksums": SUMS,  # says the release has one: deleting SHA256SUMS means editing this file too
        "resources": resources,
    }


# Tested: tests/integration/test_pipeline.py runs every block in a release folder.
README_SNIPPETS = [
    "DuckDB (SQL on the Parquet files):",
    "",
    "```python",
    "import duckdb",
    "",
    "top = duckdb.sql(",
    "    \"select portal_id, total, total_low, total_high, grade, rank from 'data/portal_scores.parquet' \"",
    "    \"where grade <> 'insufficient_data' and methodology_version = '{version}' order by total desc limit 5\"",
    ")",
    "print(top)",
    "```",
    "",
    "Polars (grades per period, under each methodology version):",
    "",
    "```python",
    "import polars as pl",
    "",
    "scores = pl.read_parquet('data/portal_scores.parquet')",
    "by = ['methodology_version', 'period', 'grade']",
    "print(scores.group_by(by).len().sort(by))",
    "```",
    "",
    "pandas (why indicators could not be measured; the CSV is UTF-8):",
    "",
    "```python",
    "import pandas as pd",
    "",
    "values = pd.read_csv('data/indicator_values.csv', encoding='utf-8', dtype={{'methodology_version': str}})",
    "values = values[values['methodology_version'] == '{version}']",
    "print(values[values['measurement_status'] == 'not_measurable'].groupby('status_reason').size())",
    "```",
]


def _readme(con, d: dict) -> str:
    current = [d["period"], d["methodology_version"]]  # the current methodology version's rows
    grades = con.execute(
        """select grade, count(*) from marts.portal_scores where period = ? and methodology_version = ?
           group by 1 order by 1""",
        current,
    ).fetchall()
    top = con.execute(
        """select peer_group, portal_id, total, grade from marts.portal_scores
                         where period = ? and methodology_version = ? and rank = 1 order by peer_group, portal_id""",
        current,
    ).fetchall()
    lines = [
        f"# {d['title']}",
        "",
        f"Phiên bản / version **{d['version']}** · kỳ / period **{d['period']}** · "
        f"phương pháp / methodology v{d['methodology_version']} · code {d['code_version']}",
        "",
        f"Báo cáo / report: `{REPORT}`. Tài liệu của lần xây dựng / build docs: `docs/dbt.html`, "
        f"`docs/great_expectations/index.html`. Mở bằng Excel / open in Excel: `{WORKBOOK}`. "
        "Dữ liệu cho máy / for machines: `data/*.csv` (UTF-8), "
        "`data/*.parquet`. Từ điển dữ liệu / data dictionary: `DATA_DICTIONARY.md`. "
        "Thay đổi / changes: `CHANGELOG.md`.",
        "",
        "## Xếp loại / Grades",
        "",
        "| grade | portals |",
        "|---|---|",
    ]
    lines += [f"| {g} | {n} |" for g, n in grades]
    lines += [
        "",
        "## Đứng đầu mỗi nhóm / First in each peer group",
        "",
        "| peer group | portal | total | grade |",
        "|---|---|---|---|",
    ]
    lines += [f"| {g} | {p} | {t} | {gr} |" for g, p, t, gr in top]
    lines += ["", "## Dùng dữ liệu / Using the data", ""]
    lines += [
        "Chạy trong thư mục này / run in this folder (Python 3 with `duckdb`, `polars` or `pandas`):",
        "",
        *(line.format(version=d["methodology_version"]) for line in README_SNIPPETS),
    ]
    lines += ["", "## Tệp / Files", "", "| file | bytes | sha256 |", "|---|---|---|"]
    lines += [f"| {f['path']} | {f['bytes']} | {f['sha256'][:12]}… |" for f in d["files"]]
    lines += [
        "",
        "Kiểm tra / check: `portal-index verify <this folder>` recomputes every hash and validates the descriptor; "
        f"`sha256sum -c {SUMS}` checks every file, this one and `datapackage.json` included, with standard tools.",
        "",
    ]
    return "\n".join(lines)
