"""The files of a release: CSV and Parquet for machines, an Excel workbook and a data dictionary for people.

Spreadsheet safety (OWASP CSV injection): in the CSV files and the workbook, a text value that
starts with `=`, `+`, `-`, `@`, a tab or a carriage return is written with a leading apostrophe
(`'=1+1`), so that Excel or LibreOffice shows it as text instead of running it as a formula. Numbers
are never changed (a negative number stays a number), and the Parquet files keep the exact values.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FORMULA_START = "^[=+\\-@\t\r]"  # OWASP: characters a spreadsheet may treat as the start of a formula
_FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def neutralised_select(con: duckdb.DuckDBPyConnection, table: str, order: str) -> str:
    columns = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    exprs = [
        f"""case when regexp_matches("{c}", '{FORMULA_START}') then '''' || "{c}" else "{c}" end as "{c}\""""
        if t == "VARCHAR"
        else f'"{c}"'
        for c, t in columns
    ]
    return f"select {', '.join(exprs)} from marts.{table} order by {order}"


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
    pandas (Frictionless among them) see a null as null; the Arrow column types are unchanged.
    Rows come sorted by primary key (period first where there is one), so that a reader's filter on
    one period skips the other row groups."""
    frame = arrow.to_pandas(types_mapper=_nullable_dtype)
    table = pa.Table.from_pandas(frame, schema=arrow.schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd", row_group_size=100_000)


def export_tables(
    con: duckdb.DuckDBPyConnection, tables: list[str], primary_keys: dict[str, list[str]], data_dir: Path
) -> None:
    data_dir.mkdir(parents=True)
    for table in tables:
        pk = primary_keys[table]
        order = ", ".join(f'"{c}"' for c in (["period"] + [k for k in pk if k != "period"] if "period" in pk else pk))
        csv_query = neutralised_select(con, table, order)
        con.execute(f"copy ({csv_query}) to '{data_dir / f'{table}.csv'}' (header, delimiter ',', quote '\"')")
        write_parquet(
            con.sql(f"select * from marts.{table} order by {order}").to_arrow_table(), data_dir / f"{table}.parquet"
        )


def rezip_deterministic(data: bytes, path: Path) -> None:
    source = zipfile.ZipFile(io.BytesIO(data))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>2000-01-01T00:00:00Z\g<3>",
                    content,
                )
            fixed = zipfile.ZipInfo(info.filename, date_time=_FIXED_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            out.writestr(fixed, content)


def data_dictionary(descriptor: dict, docs: dict[str, dict]) -> str:
    """A bilingual data dictionary (Markdown) generated from the Table Schemas."""
    lines = [
        f"# Từ điển dữ liệu / Data dictionary — {descriptor['version']}",
        "",
        "Mỗi bảng có tệp CSV (UTF-8) và Parquet trong `data/`, và một trang trong tệp Excel.",
        "Each table is a CSV (UTF-8) and a Parquet file in `data/`, and a sheet of the Excel workbook.",
        "",
    ]
    for resource in descriptor["resources"]:
        if resource["format"] != "csv":
            continue
        schema = resource["schema"]
        meta = docs[resource["name"]]
        lines += [
            f"## `{resource['name']}`",
            "",
            meta["config"]["meta"].get("vi", ""),
            "",
            meta.get("description", ""),
            "",
            f"Khóa chính / primary key: `{', '.join(schema.get('primaryKey', []))}`",
            "",
        ]
        for fk in schema.get("foreignKeys", []):
            target = fk["reference"]["resource"] or resource["name"]
            lines.append(
                f"Khóa ngoại / foreign key: `{', '.join(fk['fields'])}` → "
                f"`{target}.{', '.join(fk['reference']['fields'])}`"
            )
        lines += [
            "",
            "| cột / field | tên / title | kiểu / type | mô tả (VI) | description (EN) "
            "| ràng buộc / constraints | ví dụ / example |",
            "|---|---|---|---|---|---|---|",
        ]
        columns = {c["name"]: c for c in meta["columns"]}
        for f in schema["fields"]:
            col = columns[f["name"]]
            cmeta = col["config"]["meta"]
            constraints = "; ".join(f"{k}: {v}" for k, v in f.get("constraints", {}).items())
            lines.append(
                f"| `{f['name']}` | {cmeta.get('title', '')} | {f['type']} | {cmeta.get('vi', '')} | "
                f"{col.get('description', '')} | {constraints} | {f.get('example', '')} |"
            )
        lines.append("")
    lines += [
        "## Giá trị bắt đầu bằng = + - @ / Values starting with = + - @",
        "",
        "Trong CSV và Excel, văn bản bắt đầu bằng `=`, `+`, `-`, `@`, tab hoặc xuống dòng được thêm dấu `'` ở đầu "
        "để bảng tính không chạy nó như công thức; tệp Parquet giữ nguyên giá trị.",
        "In the CSV files and the workbook, text starting with `=`, `+`, `-`, `@`, a tab or a carriage return "
        "gets a leading `'` so that a spreadsheet does not run it as a formula; the Parquet files keep the "
        "exact values.",
        "",
    ]
    return "\n".join(lines)


_REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"'#?]+)|url\(\s*["']?([^"')#?]+)""", re.I)


def copy_build_docs(source: Path, target: Path) -> None:
    """The build's dbt docs and Great Expectations data docs, without the data docs' own assets that
    no page uses (GX ships two animated GIFs of 3.4 MB, fonts its pages do not load, and images):
    a file under `great_expectations/static/` is kept only when an HTML or CSS file refers to it."""
    shutil.copytree(source, target)
    static = target / "great_expectations" / "static"
    if not static.is_dir():
        return
    used: set[Path] = set()
    for page in [*target.rglob("*.html"), *target.rglob("*.css")]:
        text = page.read_text(encoding="utf-8", errors="replace")
        for match in _REFERENCE.finditer(text):
            ref = (match.group(1) or match.group(2) or "").strip()
            if ref and "://" not in ref and not ref.startswith(("data:", "mailto:", "javascript:", "/")):
                used.add((page.parent / ref).resolve())
    for path in sorted(static.rglob("*"), reverse=True):  # files first, then the folders they leave empty
        if path.is_file() and path.resolve() not in used:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
