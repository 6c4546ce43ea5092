"""The dbt project, as dagster-dbt sees it (its manifest under dbt_project/target)."""

from functools import cache

from dagster_dbt import DbtProject

from portal_index.config import DBT_PROJECT_DIR
from portal_index.core.dbt_manifest import TARGET


@cache
def dbt_project() -> DbtProject:
    return DbtProject(project_dir=DBT_PROJECT_DIR, target_path=TARGET.relative_to(DBT_PROJECT_DIR))
