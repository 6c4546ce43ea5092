"""Scoring: the dbt project (seeds, staging, intermediate, marts) as assets, built with one
`dbt build` per run. The manifest is prepared when the definitions are built (parsed again only
when a project file is newer: `portal_index.core.dbt_manifest`), never when a module is imported."""

import contextlib
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.resources import PortalIndexResource
from orchestration.defs.scoring import build_docs
from orchestration.defs.scoring.project import dbt_project
from portal_index.config import DBT_BUILD, dbt_kept_parse_folder
from portal_index.core.atomic import replace_atomically
from portal_index.core.dbt_manifest import TARGET, prepare_manifest
from portal_index.release.catalog import published_tables

PARTIAL_PARSE = "partial_parse.msgpack"
KEPT_BUILDS = 3  # dbt's artifacts (dbt.log, run_results.json, compiled SQL) of the latest builds, about 13 MB each


def mart_keys() -> list[dg.AssetKey]:
    """The published marts' asset keys, in package order."""
    return [dg.AssetKey(["marts", name]) for name in published_tables()]


def _copy_atomically(source: Path, target: Path) -> None:
    """`source` to `target`, replaced whole: a build starting meanwhile reads the old parse or the new,
    never half. A full disk leaves the old (the next build parses in full)."""
    with contextlib.suppress(OSError):
        replace_atomically(target, lambda staged: shutil.copyfile(source, staged))


def seed_partial_parse(folder: Path) -> None:
    """A working folder that has kept no parse yet (a new one) starts from the project's: the one
    `prepare_manifest` made for the definitions, with the same profile and target as the builds'
    (`portal_index.core.dbt_launcher`), instead of parsing the whole project (about 4 s of CPU)."""
    made = TARGET / PARTIAL_PARSE
    if (folder / PARTIAL_PARSE).exists() or not made.exists() or folder.resolve() == TARGET.resolve():
        return
    folder.mkdir(parents=True, exist_ok=True)
    _copy_atomically(made, folder / PARTIAL_PARSE)


def keep_partial_parse(build_target: Path) -> None:
    """Keep the build's parse for the next build in this working folder (dagster-dbt gives each
    invocation its own target folder and seeds it from `dbt_kept_parse_folder()`). The profile's
    target is the same for every working folder, so a copied folder's parse serves the copy too."""
    parsed = build_target / PARTIAL_PARSE
    if parsed.exists():
        _copy_atomically(parsed, build_target.parent / PARTIAL_PARSE)


def prune_builds(build_target: Path, keep: int = KEPT_BUILDS) -> list[Path]:
    """Remove the target folders of this working folder's older dbt builds, keeping the `keep` newest
    (this one among them); returns what was removed. dagster-dbt gives every invocation a folder of its
    own (`<op>-<first 7 of the run id>-<random 7>`) and never removes one: a working folder built every
    hour grew by about 16 MB a run. Only folders named so for the same op are touched."""
    op = build_target.name.rsplit("-", 2)[0]
    pattern = re.compile(re.escape(op) + r"-[0-9a-f]{7}-[0-9a-f]{7}")
    builds = []
    for path in build_target.parent.iterdir():
        if path != build_target and pattern.fullmatch(path.name) and path.is_dir() and not path.is_symlink():
            with contextlib.suppress(FileNotFoundError):  # removed meanwhile
                builds.append((path.stat().st_mtime, path))
    removed = [path for _, path in sorted(builds, reverse=True)[max(keep - 1, 0) :]]
    for old in removed:
        shutil.rmtree(old, ignore_errors=True)  # a file still held elsewhere stays; the next build tries again
    return removed


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
