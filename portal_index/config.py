"""Where things live. Resolved when asked for, never at import time."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
SEEDS_DIR = DBT_PROJECT_DIR / "seeds"
DATAPACKAGE_DIR = REPO_ROOT / "datapackage"

# dbt from this virtualenv (found without activating it), and its environment: no usage statistics
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"


def dbt_env() -> dict[str, str]:
    return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


SOURCES = ("crawl", "probes", "audits", "surveys", "papi")


@dataclass(frozen=True)
class Home:
    """The working folder `$PORTAL_INDEX_HOME` and its fixed layout (see DESIGN.md)."""

    root: Path

    @classmethod
    def from_env(cls, override: str | os.PathLike | None = None) -> "Home":
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
        """Scratch space (crawl output before it lands, dbt target, logs)."""
        return self.root / "work"

    def ensure(self) -> "Home":
        for source in SOURCES:
            self.inbox(source).mkdir(parents=True, exist_ok=True)
        for path in (self.snapshots, self.releases, self.dagster_home, self.work):
            path.mkdir(parents=True, exist_ok=True)
        return self
