"""What changed between two releases, and the version that follows from it.

Versions follow the Frictionless data-package-version recipe (semantic versioning for data):
- MAJOR: a change that can break a user's code or comparisons: a table or field removed, a field
  retyped, or a new methodology version (totals are never compared across methodology versions);
- MINOR: something added that existing users can ignore: a new period, a new table or field, new rows;
- PATCH: corrections: rows changed or removed, nothing added, the schema unchanged.
The first release is 1.0.0. Identical data files make no release at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

_SEMVER = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


@dataclass
class TableChange:
    added: int = 0
    removed: int = 0
    changed: int = 0
    fields_added: list[str] = field(default_factory=list)
    fields_removed: list[str] = field(default_factory=list)
    fields_retyped: list[str] = field(default_factory=list)  # "name: old -> new"
    new_table: bool = False

    @property
    def any(self) -> bool:
        return bool(
            self.added
            or self.removed
            or self.changed
            or self.fields_added
            or self.fields_removed
            or self.fields_retyped
            or self.new_table
        )


@dataclass
class Changes:
    previous_version: str | None
    tables: dict[str, TableChange]
    tables_removed: list[str]
    periods_added: list[str]
    methodology: tuple[str, str] | None  # (old, new) when it changed

    def bump(self) -> str:
        """'major', 'minor', 'patch' or 'none'."""
        if self.previous_version is None:
            return "major"
        if (
            self.methodology
            or self.tables_removed
            or any(t.fields_removed or t.fields_retyped for t in self.tables.values())
        ):
            return "major"
        if self.periods_added or any(t.new_table or t.fields_added or t.added for t in self.tables.values()):
            return "minor"
        if any(t.any for t in self.tables.values()):
            return "patch"
        return "none"

    def next_version(self) -> str:
        m = _SEMVER.match(self.previous_version or "")
        if self.previous_version is None or m is None:
            return "1.0.0"
        major, minor, patch = map(int, m.groups())
        return {
            "major": f"{major + 1}.0.0",
            "minor": f"{major}.{minor + 1}.0",
            "patch": f"{major}.{minor}.{patch + 1}",
            "none": self.previous_version,
        }[self.bump()]

    def as_dict(self) -> dict:
        return {
            "previous_version": self.previous_version,
            "periods_added": self.periods_added,
            "methodology_version_change": list(self.methodology) if self.methodology else None,
            "tables_removed": self.tables_removed,
            "tables": {name: vars(t) for name, t in self.tables.items() if t.any},
        }

    def markdown(self, version: str, date: str, period: str, methodology: str) -> str:
        lines = [f"## {version} ({date}; kỳ/period {period}; phương pháp/methodology v{methodology})", ""]
        if self.previous_version is None:
            lines.append("- First release / Bản phát hành đầu tiên.")
        if self.periods_added:
            lines.append(f"- Periods added / Kỳ mới: {', '.join(self.periods_added)}")
        if self.methodology:
            lines.append(
                f"- Methodology / Phương pháp: v{self.methodology[0]} → v{self.methodology[1]}. Every period is "
                f"scored again under v{self.methodology[1]} and keeps the rows of the earlier versions; compare "
                "within one version (`methodology_version`) / Mọi kỳ được chấm lại theo "
                f"v{self.methodology[1]} và giữ các dòng của các phiên bản trước; chỉ so sánh trong cùng một phiên bản."
            )
        for name in self.tables_removed:
            lines.append(f"- Table removed / Bảng bị bỏ: `{name}`")
        for name, t in self.tables.items():
            if not t.any:
                continue
            parts = []
            if t.new_table:
                parts.append("new table / bảng mới")
            parts += [f"field added `{f}`" for f in t.fields_added]
            parts += [f"field removed `{f}`" for f in t.fields_removed]
            parts += [f"field retyped `{f}`" for f in t.fields_retyped]
            if self.previous_version is not None and not t.new_table:
                parts.append(f"rows +{t.added} added, −{t.removed} removed, {t.changed} changed")
            else:
                parts.append(f"{t.added} rows")
            lines.append(f"- `{name}`: " + "; ".join(parts))
        if self.previous_version is not None and self.bump() == "none":
            lines.append("- No change in the data.")
        return "\n".join(lines) + "\n"


def _fields(schema: dict) -> dict[str, str]:
    return {f["name"]: f["type"] for f in schema["fields"]}


def compare(
    old_folder: Path | None,
    old_descriptor: dict | None,
    new_folder: Path,
    new_descriptor: dict,
    primary_keys: dict[str, list[str]],
) -> Changes:
    """Compare the data files (Parquet, by primary key) and schemas of two release folders."""
    new_schemas = {r["name"]: r["schema"] for r in new_descriptor["resources"] if r["format"] == "csv"}
    old_schemas = {r["name"]: r["schema"] for r in (old_descriptor or {}).get("resources", []) if r["format"] == "csv"}
    tables: dict[str, TableChange] = {}
    con = duckdb.connect()
    for name, schema in new_schemas.items():
        new_file = new_folder / "data" / f"{name}.parquet"
        change = TableChange()
        if name not in old_schemas:
            change.new_table = True
            change.added = con.execute("select count(*) from read_parquet(?)", [str(new_file)]).fetchone()[0]
            tables[name] = change
            continue
        old_fields, new_fields = _fields(old_schemas[name]), _fields(schema)
        change.fields_added = sorted(set(new_fields) - set(old_fields))
        change.fields_removed = sorted(set(old_fields) - set(new_fields))
        change.fields_retyped = sorted(
            f"{f}: {old_fields[f]} -> {new_fields[f]}"
            for f in set(old_fields) & set(new_fields)
            if old_fields[f] != new_fields[f]
        )
        pk = primary_keys[name]
        common = [
            f
            for f in new_fields
            if f in old_fields and f not in pk and f not in [x.split(":")[0] for x in change.fields_retyped]
        ]
        using = ", ".join(f'"{k}"' for k in pk)
        differs = " or ".join(f'n."{c}" is distinct from o."{c}"' for c in common) or "false"
        con.execute(
            f"create or replace view o as select * from read_parquet('{old_folder / 'data' / f'{name}.parquet'}')"
        )
        con.execute(f"create or replace view n as select * from read_parquet('{new_file}')")
        change.added = con.execute(f"select count(*) from n anti join o using ({using})").fetchone()[0]
        change.removed = con.execute(f"select count(*) from o anti join n using ({using})").fetchone()[0]
        change.changed = con.execute(f"select count(*) from n join o using ({using}) where {differs}").fetchone()[0]
        tables[name] = change
    con.close()
    old_periods = set((old_descriptor or {}).get("periods", []))
    old_method = (old_descriptor or {}).get("methodology_version")
    new_method = new_descriptor["methodology_version"]
    return Changes(
        previous_version=(old_descriptor or {}).get("version"),
        tables=tables,
        tables_removed=sorted(set(old_schemas) - set(new_schemas)),
        periods_added=sorted(set(new_descriptor.get("periods", [])) - old_periods),
        methodology=(old_method, new_method) if old_descriptor and old_method != new_method else None,
    )
