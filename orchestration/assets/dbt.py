"""Scoring: the dbt project (staging -> intermediate -> marts), built with one `dbt build` per run."""


import shutil
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.resources import DBT_PROJECT, PortalIndexResource, ensure_manifest
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
def portal_index_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, portal_index: PortalIndexResource):
    """Seeds, staging, intermediate and mart models with their tests and unit tests."""
    yield from dbt.cli(["build"], context=context).stream()
    # the build's documentation, one self-contained page, bundled with the next release
    docs = dbt.cli(["docs", "generate", "--static"], raise_on_error=False)
    docs.wait()
    page = docs.target_path / "static_index.html"
    if docs.is_successful() and page.exists():
        target = portal_index.paths().work / "docs" / "dbt.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, target)
    else:
        context.log.warning("dbt docs generate failed; the release will not bundle dbt docs")
