"""Where things live, and the one place environment variables are read. Resolved when asked for,
never at import time.

Variables (all optional):

    PORTAL_INDEX_HOME        the working folder (default: var/ in the repository)
    PORTAL_INDEX_REGISTRY    a registry CSV used instead of the seed (set by the CLI for a working
                             folder that has its own, e.g. from `portal-index synth`)
    PORTAL_INDEX_KEYWORDS    an edited copy of the keyword seed, to try it on archived crawls
    PORTAL_INDEX_USER_AGENT  the crawler's and prober's User-Agent
    PORTAL_INDEX_CHROMIUM    the Chromium binary (default: Debian's `chromium` on PATH)
    PORTAL_INDEX_PROGRESS    `tty`: the crawl draws its progress bar on /dev/tty (set by the CLI)
    PORTAL_INDEX_DUCKDB_MEMORY  DuckDB's memory limit in dbt's profile (read by dbt_project/profiles.yml)
    PORTAL_INDEX_VANTAGE     where this machine's probes are measured from (default `local`)
    PORTAL_INDEX_PROBE_VANTAGES  the vantages probed from, one Celery queue each (`vn-hanoi,abroad`);
                             unset: every probe is measured where the probe step runs
    PORTAL_INDEX_EXECUTOR    `celery`: the jobs' steps run on Celery workers (docs/deploy.md)
    PORTAL_INDEX_CELERY_BROKER  the Celery broker and result backend (e.g. redis://127.0.0.1:6379/0)
    PORTAL_INDEX_CELERY_VISIBILITY_SECONDS  after how long a step of a lost worker is given to another
    PORTAL_INDEX_BROWSER_SHARD  portals per browser step, so that browser workers share the work
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
DATAPACKAGE_DIR = REPO_ROOT / "datapackage"

# dbt from this virtualenv (found without activating it), run in the working folder by its launcher
# (portal_index/core/dbt_launcher.py), and its environment: no usage statistics
DBT_EXECUTABLE = Path(sys.executable).parent / "portal-index-dbt"
DBT_PIPELINE_TARGET = "pipeline"  # dbt_project/profiles.yml: the warehouse by a path relative to the working folder
# a build: seeds, models and their data tests. The unit tests check the models' SQL, not the data:
# they run in the test suite (tests/integration/test_pipeline.py), not in every build
DBT_BUILD = ("build", "--exclude-resource-type", "unit_test")

SOURCES = ("crawl", "probes", "audits", "surveys", "papi")


def dbt_env(working_folder: Path | None = None) -> dict[str, str]:
    """This process's environment for a dbt command: no usage statistics; run in `working_folder`
    when given (portal_index/core/dbt_launcher.py), else in this process's."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if working_folder is not None:
        env["PORTAL_INDEX_HOME"] = str(working_folder)
    return env


def dbt_kept_parse_folder() -> Path:
    """Where dagster-dbt looks for the parse it seeds each build's own target folder with:
    `$DBT_TARGET_PATH` (`Home.export` sets the working folder's work/dbt), relative to the project."""
    return DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")


def enter_for_dbt(home: Home) -> None:
    """What dbt's launcher (portal_index/core/dbt_launcher.py) sets before dbt starts: the working
    folder, which it runs in (created if missing); this repository's project and profile, the
    profile's `pipeline` target and the log file's level, unless the command's environment names others."""
    home.root.mkdir(parents=True, exist_ok=True)
    start = Path.cwd()  # dbt reads these from the folder it runs in: kept as they were meant
    for name in ("DBT_LOG_PATH", "DBT_PROJECT_DIR", "DBT_PROFILES_DIR"):  # (DBT_TARGET_PATH: from the project)
        if (value := os.environ.get(name)) and not Path(value).is_absolute():
            os.environ[name] = str(start / value)
    os.environ["PORTAL_INDEX_HOME"] = str(home.root)  # what the `local` target reads
    os.environ.setdefault("DBT_PROJECT_DIR", str(DBT_PROJECT_DIR))
    os.environ.setdefault("DBT_PROFILES_DIR", str(DBT_PROJECT_DIR))
    os.environ.setdefault("DBT_TARGET", DBT_PIPELINE_TARGET)
    # dbt.log at info, not debug: the results and errors without every statement and event (0.5 MB a
    # build, not 6, and about a tenth of a build's CPU); the SQL run is in the build's run/ folder
    os.environ.setdefault("DBT_LOG_LEVEL_FILE", "info")
    os.chdir(home.root)


def child_env(drop: tuple[str, ...] = (), drop_prefixes: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """This process's environment for a child process, without `drop` and the variables starting with
    `drop_prefixes`, with `extra` set."""
    kept = {
        k: v for k, v in os.environ.items() if k not in drop and not (drop_prefixes and k.startswith(drop_prefixes))
    }
    return {**kept, **extra}


def export_env(values: dict[str, str]) -> None:
    """Set variables for this process and its children (a cluster's settings, read by its instance)."""
    os.environ.update(values)


def duckdb_memory_limit() -> str:
    """DuckDB's memory limit for a national-scale build (the default is dbt_project/profiles.yml's)."""
    return os.environ.get("PORTAL_INDEX_DUCKDB_MEMORY") or "3GB"


def no_usage_statistics() -> None:
    """Great Expectations sends none (it reads this variable when imported)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


def registry_override() -> Path | None:
    raw = os.environ.get("PORTAL_INDEX_REGISTRY")
    return Path(raw) if raw else None


def keywords_override() -> Path | None:
    raw = os.environ.get("PORTAL_INDEX_KEYWORDS")
    return Path(raw) if raw else None


def user_agent_override() -> str | None:
    return os.environ.get("PORTAL_INDEX_USER_AGENT") or None


def chromium_binary() -> str | None:
    """`PORTAL_INDEX_CHROMIUM`, else Debian's chromium on PATH."""
    return os.environ.get("PORTAL_INDEX_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def render_chromium_binary() -> str | None:
    """`PORTAL_INDEX_CHROMIUM`, else Debian's chromium-headless-shell, else chromium (rendering)."""
    return os.environ.get("PORTAL_INDEX_CHROMIUM") or shutil.which("chromium-headless-shell") or chromium_binary()


# a cluster's settings (docs/deploy.md); without them every command runs in one process
CLUSTER_VARIABLES = (
    "PORTAL_INDEX_EXECUTOR",
    "PORTAL_INDEX_CELERY_BROKER",
    "PORTAL_INDEX_CELERY_VISIBILITY_SECONDS",
    "PORTAL_INDEX_POSTGRES_URL",
    "PORTAL_INDEX_PROBE_VANTAGES",
    "PORTAL_INDEX_BROWSER_SHARD",
    "PORTAL_INDEX_VANTAGE",
)

VANTAGE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")


def probe_vantage() -> str:
    """Where this machine's probes are measured from (a code of the seed vantages, e.g. vn-hanoi;
    docs/probes.md, "Vantage points"); `local` until a deployment says where it stands."""
    raw = (os.environ.get("PORTAL_INDEX_VANTAGE") or "local").strip().lower()
    if not VANTAGE_CODE.fullmatch(raw):
        raise ValueError(f"PORTAL_INDEX_VANTAGE={raw!r}: expected a code of letters, digits and '-' (e.g. vn-hanoi)")
    return raw


def probe_vantages() -> tuple[str, ...]:
    """The vantages a deployment probes from, each consumed by its own workers' queue
    (`PORTAL_INDEX_PROBE_VANTAGES=vn-hanoi,abroad`); empty when unset: probes are measured wherever
    the probe step runs, from the vantages of the run's mode."""
    raw = [v.strip().lower() for v in (os.environ.get("PORTAL_INDEX_PROBE_VANTAGES") or "").split(",") if v.strip()]
    for code in raw:
        if not VANTAGE_CODE.fullmatch(code):
            raise ValueError(f"PORTAL_INDEX_PROBE_VANTAGES: {code!r} is not a code of letters, digits and '-'")
    if len(set(raw)) != len(raw):
        raise ValueError(f"PORTAL_INDEX_PROBE_VANTAGES={','.join(raw)}: a vantage is listed twice")
    return tuple(raw)


def executor() -> str:
    """`in_process` (the default) or `celery` (`PORTAL_INDEX_EXECUTOR`)."""
    raw = (os.environ.get("PORTAL_INDEX_EXECUTOR") or "in_process").strip().lower()
    if raw not in ("in_process", "celery"):
        raise ValueError(f"PORTAL_INDEX_EXECUTOR={raw!r}: expected in_process or celery")
    return raw


def celery_broker() -> str:
    raw = os.environ.get("PORTAL_INDEX_CELERY_BROKER")
    if not raw:
        raise ValueError(
            "PORTAL_INDEX_EXECUTOR=celery needs PORTAL_INDEX_CELERY_BROKER (e.g. redis://127.0.0.1:6379/0)"
        )
    return raw


def celery_visibility_seconds() -> int:
    """How long a step may stay unacknowledged before the broker gives it to another worker: longer
    than the longest step, or a step still running is started a second time (docs/deploy.md)."""
    return int(os.environ.get("PORTAL_INDEX_CELERY_VISIBILITY_SECONDS") or 21600)


def _count_setting(name: str, unset: int, minimum: int, expected: str) -> int:
    """A whole number from the environment variable `name`, at least `minimum`; `unset` when empty."""
    raw = os.environ.get(name) or ""
    if not raw:
        return unset
    if not raw.isdigit() or int(raw) < minimum:
        raise ValueError(f"{name}={raw!r}: expected {expected}")
    return int(raw)


def browser_shard_portals() -> int:
    """Portals per browser step (the crawl's rendering pass, the audit), `PORTAL_INDEX_BROWSER_SHARD`;
    0 (unset): one step for all, as in one process nothing is gained by more."""
    return _count_setting("PORTAL_INDEX_BROWSER_SHARD", 0, 0, "a number of portals (0: one step)")


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def render_concurrency() -> int:
    """Pages one crawl step renders in Chromium at once, `PORTAL_INDEX_RENDER_CONCURRENCY`; unset:
    two per usable CPU. A page mostly waits (for its data, then for 500 ms of network quiet), so
    more pages than CPUs keep the CPUs busy; but its limits (15 s a page, 120 s a portal) are wall
    time, so each page keeps at least half a core: 7.5 CPU s within its 15 s."""
    return _count_setting("PORTAL_INDEX_RENDER_CONCURRENCY", 2 * usable_cpus(), 1, "a number of pages, at least 1")


def progress_on_tty() -> bool:
    return os.environ.get("PORTAL_INDEX_PROGRESS") == "tty"


DAGSTER_EVENT_LOGS = Path("history", "runs")  # an instance's event log, under its folder (Dagster's layout)


@dataclass(frozen=True)
class Home:
    """The working folder `$PORTAL_INDEX_HOME` and its fixed layout (README.md, "Where things are")."""

    root: Path

    @classmethod
    def from_env(cls, override: str | os.PathLike | None = None) -> Home:
        raw = override or os.environ.get("PORTAL_INDEX_HOME") or (REPO_ROOT / "var")
        return cls(Path(raw).expanduser().resolve())

    def inbox(self, source: str) -> Path:
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
        return self.root / "inbox" / source

    @property
    def snapshots(self) -> Path:
        return self.root / "snapshots"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def registry(self) -> Path:
        """A registry of this working folder's own (from `portal-index synth`), used instead of the seed."""
        return self.root / "registry" / "portals_registry.csv"

    @property
    def releases(self) -> Path:
        return self.root / "releases"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster"

    @property
    def event_logs(self) -> Path:
        """The Dagster instance's event log databases, where Dagster keeps them in an instance's folder."""
        return self.dagster_home / DAGSTER_EVENT_LOGS

    @property
    def work(self) -> Path:
        """Scratch space: fetch output before it lands, dbt's run artifacts, run logs. No later stage
        reads it (the build's documentation, which releases bundle, is `build_docs`)."""
        return self.root / "work"

    @property
    def build_docs(self) -> Path:
        """The last build's documentation (dbt docs, Great Expectations data docs), which the next
        release bundles: written by the scoring and validation steps, read by the publisher."""
        return self.root / "build-docs"

    def ensure(self) -> Home:
        for source in SOURCES:
            self.inbox(source).mkdir(parents=True, exist_ok=True)
        for path in (self.snapshots, self.releases, self.dagster_home, self.work):
            path.mkdir(parents=True, exist_ok=True)
        return self

    def export(self, tty: bool = False, dbt_target: str = "dbt") -> None:
        """Set the variables that dbt's profile, Dagster and child processes read for this folder."""
        os.environ["PORTAL_INDEX_HOME"] = str(self.root)
        os.environ["DAGSTER_HOME"] = str(self.dagster_home)
        os.environ["DBT_TARGET_PATH"] = str(self.work / dbt_target)  # dagster-dbt's per-run dbt artifacts
        if self.registry.exists() and "PORTAL_INDEX_REGISTRY" not in os.environ:
            os.environ["PORTAL_INDEX_REGISTRY"] = str(self.registry)  # the working folder's own registry
        if tty:
            os.environ["PORTAL_INDEX_PROGRESS"] = "tty"
