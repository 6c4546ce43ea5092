"""Publishing a release: a versioned Frictionless data package, written atomically.

`releases/<version>/` holds datapackage.json, data/<table>.csv and data/<table>.parquet for every
published table, an Excel workbook for people, CHANGELOG.md, DATA_DICTIONARY.md and README.md.
A release is refused unless every table's current contents passed validation. It is never
overwritten; `releases/latest` points at the newest. Its version follows from what changed since
the previous release (see portal_index.release.changelog); identical data files make no new release.
One publisher at a time (a lock file); whatever an interrupted publish left behind is removed by
the next one, and a release folder only ever appears whole (staged, then renamed).
"""

from __future__ import annotations

import fcntl
import json
import os
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
from portal_index.release import report
from portal_index.release.catalog import MARTS_DIR, mart_docs, package_metadata, primary_keys, published_tables
from portal_index.release.changelog import compare
from portal_index.release.files import data_dictionary, export_tables, write_workbook

WORKBOOK = "portal-index.xlsx"
REPORT = "report.html"
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
def publishing_lock(releases: Path):
    """One publisher at a time; on entry, clear whatever an interrupted publish left behind."""
    releases.mkdir(parents=True, exist_ok=True)
    with open(releases / ".publish.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for leftover in releases.glob(".staging-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        for leftover in releases.glob(".latest-*"):
            leftover.unlink(missing_ok=True)
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
    write_workbook(folder / WORKBOOK, folder / "data", tables, docs)
    (folder / "DATA_DICTIONARY.md").write_text(data_dictionary(descriptor, docs), encoding="utf-8")
    entry = changes.markdown(
        descriptor["version"], descriptor["created"][:10], descriptor["period"], methodology.version
    )
    earlier = (
        (previous / "CHANGELOG.md").read_text(encoding="utf-8").split("\n", 2)[2]
        if previous and (previous / "CHANGELOG.md").exists()
        else ""
    )
    (folder / "CHANGELOG.md").write_text(f"# Nhật ký thay đổi / Changelog\n\n{entry}\n{earlier}", encoding="utf-8")
    if build_docs is not None and build_docs.is_dir():  # the build's dbt docs and GX data docs
        shutil.copytree(build_docs, folder / "docs")
    descriptor["files"] = _files(folder)
    (folder / REPORT).write_text(report.build(folder, descriptor, methodology), encoding="utf-8")
    descriptor["files"] = _files(folder)
    (folder / "README.md").write_text(_readme(con, descriptor), encoding="utf-8")
    (folder / "datapackage.json").write_text(
        json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return descriptor


def _files(folder: Path) -> list[dict]:
    return [
        {"path": p.relative_to(folder).as_posix(), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    ]


def publish(warehouse: Path, releases: Path, log=print, build_docs: Path | None = None) -> PublishResult:
    with publishing_lock(releases), duckdb.connect(str(warehouse)) as con:
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
            os.rename(staging, target)  # atomic: a release appears whole or not at all
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        tmp_link = releases / f".latest-{descriptor['version']}"
        tmp_link.symlink_to(descriptor["version"])
        os.replace(tmp_link, releases / "latest")
    log(f"release {descriptor['version']} written to {target}")
    return PublishResult(descriptor["version"], target)


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
        "methodology_version": methodology.version,
        "code_version": code_version(),
        "demo": bool(demo),
        "snapshots": snapshots,  # provenance: every input this release was built from
        "resources": resources,
    }


def _readme(con, d: dict) -> str:
    grades = con.execute(
        "select grade, count(*) from marts.portal_scores where period = ? group by 1 order by 1", [d["period"]]
    ).fetchall()
    top = con.execute(
        """select peer_group, portal_id, total, grade from marts.portal_scores
                         where period = ? and rank = 1 order by peer_group, portal_id""",
        [d["period"]],
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
    lines += ["", "## Tệp / Files", "", "| file | bytes | sha256 |", "|---|---|---|"]
    lines += [f"| {f['path']} | {f['bytes']} | {f['sha256'][:12]}… |" for f in d["files"]]
    lines += [
        "",
        "Kiểm tra / check: `portal-index verify <this folder>` recomputes every hash and validates the descriptor.",
        "",
    ]
    return "\n".join(lines)
