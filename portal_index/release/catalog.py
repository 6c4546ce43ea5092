"""The catalog of published tables: which marts a release holds, in which order, their primary keys
and documentation. The publisher, the validation gate (`expectations.gate`) and the Dagster
definitions all read it from here.

`datapackage/package.yml` is the one list of published tables; each table's documentation (column
descriptions, Vietnamese labels, constraints, keys) is its dbt YAML, `dbt_project/models/marts/<table>.yml`.
"""

from __future__ import annotations

import yaml

from portal_index.config import DATAPACKAGE_DIR, DBT_PROJECT_DIR

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"


def package_metadata() -> dict:
    return yaml.safe_load((DATAPACKAGE_DIR / "package.yml").read_text(encoding="utf-8"))


def published_tables() -> tuple[str, ...]:
    """The published tables, in package order."""
    return tuple(package_metadata()["tables"])


def mart_docs() -> dict[str, dict]:
    """{model name: its dbt YAML entry} for every mart."""
    docs = {}
    for path in sorted(MARTS_DIR.glob("*.yml")):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            docs[model["name"]] = model
    return docs


def primary_keys(docs: dict[str, dict]) -> dict[str, list[str]]:
    return {name: doc["config"]["meta"]["primary_key"] for name, doc in docs.items()}
