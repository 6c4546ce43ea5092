"""`make bench-run`: the demo run, cold and warm, with where its time goes.

In a new working folder, `portal-index run --demo` runs once cold (the crawl, probes and audit
fetched, everything built) and then `--warm` more times in the same folder (what `make run` does a
second time: the fetches this period already holds are not done again, docs/architecture.md). Each
run's wall time is printed with the CPU time of the command and its children (`os.wait4`), and the
steps of its Dagster runs, longest first, from the working folder's event log; between and around
the runs is the command's own start-up (imports, the definitions) and its summaries.

    python -m benchmarks.bench_run [--warm 3] [--root DIR] [--keep]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from portal_index.config import child_env

ROOT = Path(__file__).resolve().parents[1]
PORTAL_INDEX = Path(sys.executable).parent / "portal-index"


def run(home: Path) -> tuple[float, float, int, str]:
    """One `portal-index run --demo`: wall s, CPU s (children included), exit status, stderr."""
    env = child_env(drop_prefixes=("PORTAL_INDEX_", "DAGSTER_"))  # the run's own working folder, nothing else
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            [str(PORTAL_INDEX), "--home", str(home), "run", "--demo"], cwd=ROOT, env=env, stdout=out, stderr=err
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        err.seek(0)
        return wall, usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), err.read().decode()


def steps_since(home: Path, since: datetime) -> list[tuple[float, str]]:
    """(seconds, step) of every step of the Dagster runs that started after `since`."""
    out = []
    for db in (home / "dagster" / "history" / "runs").glob("*.db"):
        with sqlite3.connect(db) as con:
            rows = con.execute(
                "select step_key, dagster_event_type, timestamp from event_logs "
                "where dagster_event_type in ('STEP_START', 'STEP_SUCCESS', 'STEP_FAILURE') order by id"
            ).fetchall()
        started = {}
        for step, kind, stamp in rows:
            at = datetime.fromisoformat(stamp)
            if kind == "STEP_START":
                started[step] = at
            elif step in started and started[step] >= since:
                out.append(((at - started[step]).total_seconds(), step))
    return sorted(out, reverse=True)


def report(label: str, home: Path, since: datetime, wall: float, cpu: float, status: int, err: str) -> None:
    steps = steps_since(home, since)
    in_steps = sum(s for s, _ in steps)
    print(
        f"{label}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, exit {status}; "
        f"in steps {in_steps:.1f} s, the rest {wall - in_steps:.1f} s"
    )
    for seconds, step in steps[:8]:
        print(f"    {seconds:6.1f} s  {step}")
    for line in err.splitlines():
        if line.startswith(("crawl_job:", "probe_job:", "audit_job:", "inputs:")):
            print(f"    {line[:150]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warm", type=int, default=3, help="warm runs after the cold one")
    parser.add_argument("--root", type=Path, help="the working folder (default: a new temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the working folder")
    args = parser.parse_args()
    home = args.root or Path(tempfile.mkdtemp(prefix="bench-run-"))
    print(f"working folder {home}; {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    try:
        for i in range(args.warm + 1):
            since = datetime.now(UTC).replace(tzinfo=None)  # the event log's timestamps are naive UTC
            wall, cpu, status, err = run(home)
            report("cold" if i == 0 else f"warm {i}", home, since, wall, cpu, status, err)
            if status != 0:
                print(err[-3000:], file=sys.stderr)
                return 1
    finally:
        if not args.keep and args.root is None:
            shutil.rmtree(home, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
