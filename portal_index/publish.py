"""Publishing a release: a versioned Frictionless data package written atomically.

`releases/<version>/` holds datapackage.json, data/<table>.csv and data/<table>.parquet for every
published table, and README.md (a readable summary). A release is refused unless every table's
current contents passed validation; it is never overwritten; `releases/latest` points at the newest.
If the data files would be identical to the latest release's, nothing is written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from portal_index import __version__
from portal_index.config import DATAPACKAGE_DIR, DBT_PROJECT_DIR, REPO_ROOT
from portal_index.demo import demo_snapshot_sql
from portal_index.snapshots import sha256_file

MARTS_YAML = DBT_PROJECT_DIR / "models" / "marts" / "_marts.yml"
_TYPES = {"VARCHAR": "string", "INTEGER": "integer", "BIGINT": "integer", "HUGEINT": "integer",
          "DOUBLE": "number", "FLOAT": "number", "BOOLEAN": "boolean", "DATE": "date",
          "TIMESTAMP": "datetime", "TIMESTAMP WITH TIME ZONE": "datetime"}


class NotValidated(RuntimeError):
    pass


@dataclass(frozen=True)
class PublishResult:
    version: str | None
    path: Path | None
    unchanged_since: str | None = None


def package_metadata() -> dict:
    return yaml.safe_load((DATAPACKAGE_DIR / "package.yml").read_text(encoding="utf-8"))


def published_tables() -> tuple[str, ...]:
    """The published tables, in package order (datapackage/package.yml is the one list)."""
    return tuple(package_metadata()["tables"])


def mart_docs() -> dict[str, dict]:
    return {m["name"]: m for m in yaml.safe_load(MARTS_YAML.read_text(encoding="utf-8"))["models"]}


def _frictionless_type(duck_type: str) -> str:
    if duck_type.startswith("DECIMAL"):
        return "number"
    return _TYPES.get(duck_type, "string")


def table_schema(con: duckdb.DuckDBPyConnection, table: str, doc: dict) -> dict:
    meta = doc.get("config", {}).get("meta", {})
    docs = {c["name"]: c for c in doc.get("columns", [])}
    pk = meta.get("primary_key", [])
    fields = []
    for name, duck_type in con.execute(f"select column_name, data_type from information_schema.columns "
                                       f"where table_schema = 'marts' and table_name = ? order by ordinal_position",
                                       [table]).fetchall():
        col = docs.get(name)
        if col is None:
            raise ValueError(f"{MARTS_YAML.name}: column {table}.{name} is published but not documented")
        cmeta = col.get("config", {}).get("meta", {})
        field = {"name": name, "type": _frictionless_type(duck_type),
                 "description": f"{cmeta.get('vi', '')} / {col.get('description', '')}".strip(" /")}
        constraints = {}
        if name in pk:
            constraints["required"] = True
        for key in ("enum", "minimum", "maximum", "pattern"):
            if key in cmeta:
                constraints[key] = cmeta[key]
        if constraints:
            field["constraints"] = constraints
        if "example" in cmeta:
            field["example"] = cmeta["example"]
        fields.append(field)
    schema = {"fields": fields, "missingValues": [""]}
    if pk:
        schema["primaryKey"] = pk
    fks = []
    for fk in meta.get("foreign_keys", []):
        resource = "" if fk["resource"] == table else fk["resource"]
        fks.append({"fields": fk["fields"], "reference": {"resource": resource, "fields": fk["reference"]}})
    if fks:
        schema["foreignKeys"] = fks
    return schema


def code_version() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO_ROOT), "describe", "--always", "--dirty", "--abbrev=12"],
                             capture_output=True, text=True, timeout=10)
        if out.returncode == 0:
            return f"{__version__}+{out.stdout.strip()}"
    except (OSError, subprocess.SubprocessError):
        pass
    return __version__


def _nullable_dtype(arrow_type: pa.DataType):
    """pandas dtypes that keep nulls as nulls (not NaN) for readers that go through pandas."""
    if pa.types.is_integer(arrow_type):
        return pd.Int64Dtype()
    if pa.types.is_floating(arrow_type):
        return pd.Float64Dtype()
    if pa.types.is_boolean(arrow_type):
        return pd.BooleanDtype()
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return pd.StringDtype(na_value=pd.NA)
    return None


def write_parquet(arrow: pa.Table, path: Path) -> None:
    """zstd Parquet whose pandas metadata names nullable dtypes, so that readers going through
    pandas (Frictionless among them) see a null as null; the Arrow column types are unchanged."""
    frame = arrow.to_pandas(types_mapper=_nullable_dtype)
    table = pa.Table.from_pandas(frame, schema=arrow.schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def export_tables(con: duckdb.DuckDBPyConnection, tables: list[str], docs: dict, data_dir: Path) -> None:
    data_dir.mkdir(parents=True)
    for table in tables:
        order = ", ".join(docs[table]["config"]["meta"]["primary_key"])
        query = f"select * from marts.{table} order by {order}"
        con.execute(f"copy ({query}) to '{data_dir / f'{table}.csv'}' (header, delimiter ',', quote '\"')")
        write_parquet(con.sql(query).to_arrow_table(), data_dir / f"{table}.parquet")


def _latest(releases: Path) -> Path | None:
    link = releases / "latest"
    return link.resolve() if link.exists() else None


def _data_hashes(folder: Path) -> dict[str, str]:
    return {p.name: sha256_file(p) for p in sorted((folder / "data").glob("*"))}


def _next_version(releases: Path, period: str) -> str:
    n = 1
    while (releases / f"{period}-r{n}").exists():
        n += 1
    return f"{period}-r{n}"


def publish(warehouse: Path, releases: Path, log=print) -> PublishResult:
    from expectations.gate import unvalidated  # the gate: nothing unvalidated is published

    meta = package_metadata()
    docs = mart_docs()
    tables = list(published_tables())
    releases.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        problems = unvalidated(con, tuple(tables))
        if problems:
            raise NotValidated("release refused: " + "; ".join(f"{t}: {why}" for t, why in problems.items()))
        periods = [r[0] for r in con.execute("select distinct period from marts.portal_scores order by 1").fetchall()]
        if not periods:
            raise NotValidated("release refused: portal_scores has no period to publish")
        period = periods[-1]
        methodology = con.execute("select value from seeds.scoring_parameters where parameter = 'methodology_version'").fetchone()[0]
        demo = con.execute(f"select count(*) > 0 from meta.snapshot_loads where status = 'accepted' "
                           f"and {demo_snapshot_sql()}").fetchone()[0]  # demo-ness is a property of the data
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=releases))
        try:
            export_tables(con, tables, docs, staging / "data")
            latest = _latest(releases)
            if latest is not None and _data_hashes(latest) == _data_hashes(staging):
                shutil.rmtree(staging)
                log(f"nothing changed since release {latest.name}; no new release written")
                return PublishResult(None, latest, unchanged_since=latest.name)
            version = _next_version(releases, period)
            descriptor = _descriptor(con, meta, docs, tables, staging, version, period, periods, methodology, demo)
            (staging / "datapackage.json").write_text(json.dumps(descriptor, ensure_ascii=False, indent=2) + "\n",
                                                      encoding="utf-8")
            (staging / "README.md").write_text(_readme(con, descriptor), encoding="utf-8")
            target = releases / version
            os.rename(staging, target)  # atomic: a release appears whole or not at all
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    tmp_link = releases / f".latest-{version}"
    tmp_link.symlink_to(version)
    os.replace(tmp_link, releases / "latest")
    log(f"release {version} written to {target}")
    return PublishResult(version, target)


def _descriptor(con, meta, docs, tables, folder: Path, version, period, periods, methodology, demo) -> dict:
    resources, files = [], []
    for table in tables:
        schema = table_schema(con, table, docs[table])
        description = f"{docs[table]['config']['meta'].get('vi', '')} / {docs[table].get('description', '')}"
        for fmt, name in (("csv", table), ("parquet", f"{table}-parquet")):
            path = folder / "data" / f"{table}.{fmt}"
            resource = {"name": name, "type": "table", "path": f"data/{table}.{fmt}", "format": fmt,
                        "mediatype": "text/csv" if fmt == "csv" else "application/vnd.apache.parquet",
                        "description": description}
            if fmt == "csv":  # Frictionless checks bytes and hash while it streams a CSV
                resource |= {"encoding": "utf-8", "bytes": path.stat().st_size, "hash": f"sha256:{sha256_file(path)}"}
            resources.append(resource | {"schema": schema})
            files.append({"path": f"data/{table}.{fmt}", "bytes": path.stat().st_size, "sha256": sha256_file(path)})
    snapshots = [dict(zip(("sha256", "source", "original_name", "origin", "landed_at"), r)) for r in con.execute(
        """select sha256, source, original_name, origin, strftime(landed_at, '%Y-%m-%dT%H:%M:%SZ')
           from meta.snapshot_loads where status = 'accepted' order by source, landed_at, sha256""").fetchall()]
    title = meta["title"] + (" (DEMO: simulated portals and synthetic inputs)" if demo else "")
    return {
        "name": meta["name"],
        "title": title,
        "description": meta["description"].strip(),
        "version": version,
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "homepage": meta["homepage"],
        "keywords": meta["keywords"],
        "licenses": meta["licenses"],
        "sources": meta["sources"],
        "period": period,
        "periods": periods,
        "methodology_version": str(methodology),
        "code_version": code_version(),
        "demo": demo,
        "snapshots": snapshots,
        # every data file with its size and sha256 (Frictionless cannot hash a Parquet resource itself)
        "files": files,
        "resources": resources,
    }


def _readme(con, d: dict) -> str:
    grades = con.execute("""select grade, count(*) from marts.portal_scores where period = ? group by 1 order by 1""",
                         [d["period"]]).fetchall()
    top = con.execute("""select peer_group, portal_id, total, grade from marts.portal_scores
                         where period = ? and rank = 1 order by peer_group, portal_id""", [d["period"]]).fetchall()
    lines = [f"# {d['title']}", "", f"Phiên bản / version **{d['version']}** · kỳ / period **{d['period']}** · "
             f"phương pháp / methodology v{d['methodology_version']} · code {d['code_version']}", "",
             "## Xếp loại / Grades", "", "| grade | portals |", "|---|---|"]
    lines += [f"| {g} | {n} |" for g, n in grades]
    lines += ["", "## Đứng đầu mỗi nhóm / First in each peer group", "", "| peer group | portal | total | grade |",
              "|---|---|---|---|"]
    lines += [f"| {g} | {p} | {t} | {gr} |" for g, p, t, gr in top]
    lines += ["", "## Tệp / Files", "", "| file | bytes | sha256 |", "|---|---|---|"]
    lines += [f"| {f['path']} | {f['bytes']} | {f['sha256'][:12]}… |" for f in d["files"]]
    lines += ["", "CSV: UTF-8, comma-separated, header row. Parquet: zstd. Schemas, keys and descriptions: "
              "datapackage.json (Frictionless Data Package).", ""]
    return "\n".join(lines)
