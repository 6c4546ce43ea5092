"""The build's dbt documentation: one self-contained page (`dbt docs generate --static`), written to
the working folder's `build-docs/dbt.html`, which the next release bundles.

The page shows the project (the build's manifest) and the warehouse's tables and columns (dbt's
catalog: for DuckDB, names, types and comments, no statistics). Both are the same from one build to
the next unless the project or the warehouse's schema changed, and generating the page costs a dbt
process of its own (about 3 s of CPU), so it is generated again only when what it shows changed:
the page's inputs are summed up by `inputs_of` and recorded, with the page's sha256, in the working
folder's scratch space (`work/dbt-docs.inputs`), not beside the page, whose folder releases bundle."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb

_BUILD_PATHS = ("build_path", "compiled_path")  # inside the build's own folder, new for every build


def inputs_of(build_target: Path, warehouse: Path) -> str:
    """A digest of what the documentation page of this build would show, apart from when it was
    made: the build's manifest, without its run's metadata (but for dbt's version) and its own
    folder's paths, and the warehouse's relations that the manifest names (its models, seeds and
    sources: what dbt's catalog lists), with their columns, types and comments. Raises OSError,
    ValueError or duckdb.Error when either cannot be read."""
    manifest = json.loads((build_target / "manifest.json").read_text(encoding="utf-8"))
    version = manifest.pop("metadata", {}).get("dbt_version")
    named: set[tuple[str, str]] = set()  # (schema, relation) of every model, seed and source
    for section in manifest.values():
        for node in section.values() if isinstance(section, dict) else ():
            if isinstance(node, dict):
                for key in _BUILD_PATHS:
                    node.pop(key, None)
                relation = node.get("identifier") or node.get("alias")
                if isinstance(node.get("schema"), str) and isinstance(relation, str):
                    named.add((node["schema"], relation))
    digest = hashlib.sha256(json.dumps([version, manifest], sort_keys=True).encode())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            """select t.table_schema, t.table_name, t.table_catalog, t.table_type, c.column_name,
                      c.ordinal_position, c.data_type, c.column_comment, t.table_comment
               from information_schema.tables t
               left join information_schema.columns c using (table_catalog, table_schema, table_name)
               order by all"""
        ).fetchall()
    relations = [row for row in rows if (row[0], row[1]) in named]
    digest.update(repr(relations).encode())
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_current(page: Path, record: Path, inputs: str) -> bool:
    """Whether `page` is the one made from these inputs, as `record` says: the record names the
    inputs and the page's own sha256, so a page anyone else wrote there (an older version of this
    code, say) is not taken for it."""
    try:
        kept = record.read_text(encoding="ascii").split()
        return page.is_file() and kept == [inputs, _sha256(page)]
    except (OSError, UnicodeDecodeError):
        return False


def keep_page(made: Path, page: Path, record: Path, inputs: str | None) -> None:
    """The page dbt `made` as `page`, and in `record` the digest of its inputs and the page's sha256
    (no inputs: unknown, so it is made again next time). The old record goes first, so a page cut
    short by a crash is never current."""
    record.unlink(missing_ok=True)
    page.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(made, page)
    if inputs is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        record.write_text(f"{inputs}\n{_sha256(page)}\n", encoding="ascii")
