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

# dbt from this virtualenv (found without activating it), and its environment: no usage statistics
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"

SOURCES = ("crawl", "probes", "audits", "surveys", "papi")


def dbt_env() -> dict[str, str]:
    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def child_env(drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """This process's environment for a child process, without `drop`, with `extra` set."""
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


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


def probe_vantage() -> str:
    """Where this machine's probes are measured from (a code of the seed vantages, e.g. vn-hanoi;
    docs/probes.md, "Vantage points"); `local` until a deployment says where it stands."""
    raw = (os.environ.get("PORTAL_INDEX_VANTAGE") or "local").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", raw):
        raise ValueError(f"PORTAL_INDEX_VANTAGE={raw!r}: expected a code of letters, digits and '-' (e.g. vn-hanoi)")
    return raw


def progress_on_tty() -> bool:
    return os.environ.get("PORTAL_INDEX_PROGRESS") == "tty"


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
