"""Scoring: the dbt project (seeds, staging, intermediate, marts) as assets, built with one
`dbt build` per run. The manifest is prepared when the definitions are built (parsed again only
when a project file is newer: `portal_index.core.dbt_manifest`), never when a module is imported."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.resources import PortalIndexResource
from orchestration.defs.scoring import build_docs
from orchestration.defs.scoring.build_folders import keep_partial_parse, prune_builds, seed_partial_parse
from orchestration.defs.scoring.project import dbt_project
from portal_index.config import DBT_BUILD, dbt_kept_parse_folder
from portal_index.core.dbt_manifest import prepare_manifest
from portal_index.release.catalog import published_tables


def mart_keys() -> list[dg.AssetKey]:
    """The published marts' asset keys, in package order."""
    return [dg.AssetKey(["marts", name]) for name in published_tables()]


class PortalIndexTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "methodology" if "methodology" in dbt_resource_props["original_file_path"] else "registry"
        return "scoring"


def scoring_assets() -> dg.AssetsDefinition:
    @dbt_assets(manifest=prepare_manifest(), project=dbt_project(), dagster_dbt_translator=PortalIndexTranslator())
    def portal_index_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, portal_index: PortalIndexResource):
        """Seeds, staging, intermediate and mart models with their data tests (`DBT_BUILD`)."""
        seed_partial_parse(dbt_kept_parse_folder())
        build = dbt.cli(list(DBT_BUILD), context=context)
        try:
            yield from build.stream()
        finally:  # a failed build's folder is kept with the newest, for its log
            try:
                prune_builds(build.target_path)
            except OSError as e:  # never in place of the build's own outcome
                context.log.warning(f"older dbt build folders were not removed: {e}")
        keep_partial_parse(build.target_path)
        # the build's documentation, one self-contained page, bundled with the next release: made
        # again only when what it shows changed; it reads the build's manifest, already compiled,
        # instead of parsing and compiling the project again
        paths = portal_index.paths()
        try:
            inputs = build_docs.inputs_of(build.target_path, paths.warehouse)
        except (OSError, ValueError, duckdb.Error) as e:  # made anyway, and made again next time
            context.log.warning(f"what the dbt docs would show could not be read ({e}); generating them")
            inputs = None
        page, record = paths.build_docs / "dbt.html", paths.work / "dbt-docs.inputs"
        if inputs is not None and build_docs.is_current(page, record, inputs):
            context.log.info("dbt docs: the project and the warehouse's tables are unchanged; the page is kept")
            return
        docs = dbt.cli(
            ["docs", "generate", "--static", "--no-compile"], target_path=build.target_path, raise_on_error=False
        )
        docs.wait()
        made = docs.target_path / "static_index.html"
        if docs.is_successful() and made.exists():
            build_docs.keep_page(made, page, record, inputs)
        else:
            context.log.warning("dbt docs generate failed; the release will not bundle dbt docs")

    return portal_index_dbt
