"""Resources: the working folder and run mode, and dbt through the project's own virtualenv."""


import subprocess
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject

from portal_index.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, Home, dbt_env
from portal_index.crawler import CrawlLimits, demo_limits

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, target_path="target")


class PortalIndexResource(dg.ConfigurableResource):
    """Where the pipeline works and what it fetches.

    mode: `demo` (portals served by the local simulator, demo survey and PAPI inputs),
    `live` (the registry's real URLs) or `inbox` (fetch nothing; only ingest dropped files).
    """

    home: str | None = None
    mode: str = "demo"
    crawl_max_pages: int = 40
    crawl_delay_seconds: float = 1.0
    probe_rounds: int = 3
    audit_max_portals: int = 0  # 0: every portal (the demo audits a dozen)
    audit_page_seconds: float = 30.0

    def paths(self) -> Home:
        return Home.from_env(self.home).ensure()

    def crawl_limits(self, simulator_port: int | None = None) -> CrawlLimits:
        """Live: private addresses refused, politeness delays. Demo: the loopback simulator only."""
        limits = CrawlLimits.from_env(max_pages=self.crawl_max_pages, delay_seconds=self.crawl_delay_seconds)
        return demo_limits(limits, simulator_port) if self.mode == "demo" else limits


def ensure_manifest() -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file."""
    manifest = DBT_PROJECT.manifest_path
    sources = [p for p in DBT_PROJECT_DIR.rglob("*") if p.is_file() and p.suffix in (".sql", ".yml", ".csv")
               and "target" not in p.relative_to(DBT_PROJECT_DIR).parts]
    if manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources):
        return manifest
    result = subprocess.run([str(DBT_EXECUTABLE), "--quiet", "parse", "--profiles-dir", str(DBT_PROJECT_DIR),
                             "--target-path", str(DBT_PROJECT_DIR / "target")],
                            cwd=DBT_PROJECT_DIR, env=dbt_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed in {DBT_PROJECT_DIR}:\n{result.stdout}\n{result.stderr}")
    return manifest


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=DBT_PROJECT, profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=str(DBT_EXECUTABLE))
