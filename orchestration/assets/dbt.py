"""Scoring: the dbt project (staging -> intermediate -> marts), built with one `dbt build` per run."""


from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.resources import DBT_PROJECT, ensure_manifest
from portal_index.publish import published_tables

ensure_manifest()

PUBLISHED_TABLES = published_tables()
MART_KEYS = [dg.AssetKey(["marts", name]) for name in PUBLISHED_TABLES]


class PortalIndexTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "methodology" if "methodology" in dbt_resource_props["original_file_path"] else "registry"
        return "scoring"


@dbt_assets(manifest=DBT_PROJECT.manifest_path, project=DBT_PROJECT, dagster_dbt_translator=PortalIndexTranslator())
def portal_index_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Seeds, staging, intermediate and mart models with their tests and unit tests."""
    yield from dbt.cli(["build"], context=context).stream()
