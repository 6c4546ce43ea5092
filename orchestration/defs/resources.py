"""Resources: the working folder and run mode (the one place the demo plugs in), and dbt."""

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from importlib.metadata import version as package_version
from urllib.parse import urlsplit

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging.version import Version

from orchestration.defs.scoring.project import dbt_project
from portal_index import __version__
from portal_index.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, Home, browser_shard_portals, probe_vantage
from portal_index.core.periods import period_of
from portal_index.core.periods import today as vietnam_today
from portal_index.core.registry import active_portals
from portal_index.fetch.crawler import CrawlLimits, demo_limits

DEMO_AUDITS = 12  # the demo audits a dozen portals in the browser; the others show the crawl fallback for A01


@dataclass(frozen=True)
class Targets:
    """What the fetchers visit in this mode: {portal_id: base URL}, the crawl limits (with the
    guard every connection goes through), and how probes are grouped into sites for politeness."""

    urls: dict[str, str]
    limits: CrawlLimits
    site_of: Callable[[str, str], str]
    # where probes are measured from: (vantage, local address to connect from, or None for the default)
    vantages: tuple[tuple[str, str | None], ...] = ()


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
    browser_shard_portals: int = 0  # portals per browser step; 0: PORTAL_INDEX_BROWSER_SHARD (unset: one step)

    def browser_shard(self) -> int:
        return self.browser_shard_portals or browser_shard_portals()

    def paths(self) -> Home:
        return Home.from_env(self.home).ensure()

    def origin(self, what: str, run_id: str, detail: str = "") -> str:
        """A snapshot's origin; `(demo)` in it marks the demo's inputs (portal_index.core.provenance)."""
        return f"portal-index {__version__} {what} ({self.mode}) {detail + ' ' if detail else ''}run {run_id}"

    def fetched_portals(self) -> list[dict]:
        """The registry's portals active today that have a URL: the ones the fetchers visit."""
        return [p for p in active_portals(period_of(vietnam_today())) if p["base_url"]]

    def audited_portals(self) -> list[str]:
        """The portals the browser audit visits: every fetched portal, or the first `audit_max_portals`
        (the demo: a dozen) by id."""
        ids = sorted(p["portal_id"] for p in self.fetched_portals())
        limit = self.audit_max_portals or (DEMO_AUDITS if self.mode == "demo" else None)
        return ids[:limit] if limit else ids

    @contextlib.contextmanager
    def targets(self, only: list[str] | None = None) -> Iterator[Targets]:
        """The portals active today (or `only` these): in demo mode served by the simulator on their
        own host names for as long as the context lasts (its guard maps them to loopback and refuses
        every other host); else the registry's URLs, private addresses refused."""
        portals = [p for p in self.fetched_portals() if only is None or p["portal_id"] in only]
        limits = CrawlLimits.from_env(max_pages=self.crawl_max_pages, delay_seconds=self.crawl_delay_seconds)
        if self.mode == "demo":
            from portal_index.demo.simulator import DEMO_VANTAGES, Simulator

            with Simulator() as sim:
                yield Targets(
                    {p["portal_id"]: sim.url_for(p["portal_id"]) for p in portals},
                    demo_limits(limits, sim.guard()),
                    lambda portal_id, url: urlsplit(url).netloc,
                    DEMO_VANTAGES,
                )
        else:
            yield Targets(
                {p["portal_id"]: p["base_url"] for p in portals},
                limits,
                lambda portal_id, url: urlsplit(url).netloc,
                ((probe_vantage(), None),),
            )

    def seed_demo_inputs(self, source: str, log) -> None:
        """In demo mode, put the demo's survey workbook or PAPI file in the inbox when it has none."""
        if self.mode != "demo":
            return
        from portal_index.demo.inputs import seed_papi, seed_surveys

        if source == "surveys":
            seed_surveys(self.paths(), period_of(vietnam_today()), log=log)
        elif source == "papi":
            seed_papi(self.paths(), log=log)


class PortalIndexDbt(DbtCliResource):
    """dagster-dbt's resource without two costs of each `cli()` call that these assets never use:
    `dbt --version` in a child process (about 2 s: importing dbt) to learn the version of the dbt
    that is our own virtualenv's `dbt-core`, and a dbt adapter made in this process (about 2.4 s:
    the project's macros and partial parse) for `fetch_column_metadata` and `fetch_row_counts`,
    which the scoring assets do not call. Both are private to dagster-dbt 0.29 (requirements.lock);
    were they renamed, the calls would only be slow again."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(package_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args) -> None:
        return None


def dbt_resource() -> DbtCliResource:
    return PortalIndexDbt(
        project_dir=dbt_project(), profiles_dir=str(DBT_PROJECT_DIR), dbt_executable=str(DBT_EXECUTABLE)
    )
