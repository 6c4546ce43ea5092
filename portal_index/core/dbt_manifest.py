"""The dbt project's manifest (`dbt_project/target/manifest.json`), parsed when it is missing or older
than a project file. Several processes may need it at once (on a cluster the daemon and each worker
load the definitions): one parses while the others wait for it, under a lock in the target folder.
dbt itself holds the lock too, so a parse whose command was killed still keeps the next one waiting.

Nothing here imports Dagster, so `portal-index` can start the parse first thing, in a thread: on a
fresh checkout dbt's parse (a process of its own, 5-6 s) then runs beside the imports of Dagster and
of the definitions, which find the manifest ready or wait on the lock for it."""

import fcntl
import subprocess
import threading
from pathlib import Path

from portal_index.config import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_env

TARGET = DBT_PROJECT_DIR / "target"
MANIFEST = TARGET / "manifest.json"
_failed: dict[float, RuntimeError] = {}  # this process's failed parse, by the project's newest change


def _newest_source() -> float:
    return max(
        p.stat().st_mtime
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.is_file() and p.suffix in (".sql", ".yml", ".csv") and "target" not in p.relative_to(DBT_PROJECT_DIR).parts
    )


def _fresh(newest: float) -> bool:
    return MANIFEST.exists() and MANIFEST.stat().st_mtime >= newest


def prepare_manifest() -> Path:
    """The manifest, parsed first if it is missing or stale. A parse that failed in this process on
    the same project files is not run again: its error is raised."""
    if _fresh(newest := _newest_source()):
        return MANIFEST
    TARGET.mkdir(exist_ok=True)
    with open(TARGET / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if newest in _failed:
            raise _failed[newest]
        if not _fresh(newest):  # another process (or thread) may have parsed while this one waited
            try:
                _parse(lock.fileno())
            except RuntimeError as e:
                _failed[newest] = e
                raise
    return MANIFEST


def prepare_manifest_in_background() -> None:
    """`prepare_manifest()` in a thread. A failure there is not reported from the thread: the
    definitions call `prepare_manifest()` themselves, which raises dbt's error where the command can
    say it."""

    def prepare() -> None:
        try:
            prepare_manifest()
        except Exception:  # raised again by the definitions' own call (above)
            pass

    threading.Thread(target=prepare, name="dbt-parse", daemon=True).start()


def _parse(lock: int) -> None:
    """`dbt parse`, holding `lock` (an open file with the parse lock) for as long as it runs."""
    result = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "--quiet",
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(TARGET),
        ],
        env=dbt_env(working_folder=TARGET),  # a parse opens no warehouse: no working folder is made for it
        capture_output=True,
        text=True,
        pass_fds=(lock,),
    )
    if result.returncode != 0:
        raise RuntimeError(f"dbt parse failed in {DBT_PROJECT_DIR}:\n{result.stdout}\n{result.stderr}")
