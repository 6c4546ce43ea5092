"""Shared fixtures. The demo pipeline runs once per session, for real, through the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock
from scheduling import DEMO_RECORD, DemoFirstScheduling, session_folder, write_after_the_demo

from portal_index.config import CLUSTER_VARIABLES, REPO_ROOT, Home

BIN = Path(sys.executable).parent


# With `pytest -n` (`make test`) the demo's run is the suite's critical path: every file that needs it
# waits for it. The workers run at a lower priority and the demo's processes take back the one the
# workers gave up, where the system lets a process raise its priority (as root; elsewhere all run at
# one, as before). 5: the demo's process then weighs three times a worker's.
WORKER_NICENESS = 5


def pytest_configure(config):
    if hasattr(config, "workerinput"):  # a pytest-xdist worker
        os.nice(WORKER_NICENESS)


def _usual_priority() -> None:
    """In the demo's child process, before it runs: the priority the worker gave up, if allowed."""
    try:
        os.nice(-WORKER_NICENESS)
    except PermissionError:
        pass


def pytest_addoption(parser):
    parser.addoption("--cluster", action="store_true", help="run the cluster tests (what `make test-cluster` does)")


# The file whose first test is the demo's run (`demo_run`, below); the files whose own pipeline runs
# need no demo, longest first (they share one synthetic folder, `synthetic_halves`: the second waits
# for the first to make it, while the demo and the first use the two cores); a file whose browser
# measurements must not share the machine with the demo's browsers (its audit once ran out of its
# time limit beside them). See `_order_files`.
DEMO_FIRST = "tests/integration/test_pipeline.py"
BESIDE_THE_DEMO = ("tests/integration/test_synth.py", "tests/integration/test_changes.py")
NOT_BESIDE_THE_DEMO = ("tests/integration/test_a11y_audit.py",)


def _needs_the_demo(item) -> bool:
    return "demo_run" in getattr(item, "fixturenames", ())


def _order_files(items) -> list[str]:
    """Files in the order that keeps `make test`'s processes busy (it hands out whole files, in this
    order: `--dist loadfile --no-loadscope-reorder`): first the file whose first test runs the demo,
    which takes one and a half minutes; beside it, the files with pipeline runs of their own, then the
    other files with slow tests that do not need the demo; then the files that do, those whose every
    test is slow first, the most tests first, and `NOT_BESIDE_THE_DEMO`; then the quick files. Returns
    the files that need the demo or must not run beside it, which `make test`'s scheduler holds back
    while the demo runs (tests/scheduling.py): the quick files fill that time, and the rest."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)

    def order(path: str) -> tuple[int, int]:
        needs_the_demo = any(_needs_the_demo(i) for i in files[path])
        slow = [bool(i.get_closest_marker("slow")) for i in files[path]]
        if path == DEMO_FIRST:
            return 0, 0
        if path in NOT_BESIDE_THE_DEMO:
            return 5, 0
        if needs_the_demo:
            return (3 if all(slow) else 4), -len(files[path])
        if path in BESIDE_THE_DEMO:
            return 1, BESIDE_THE_DEMO.index(path)
        return (2 if any(slow) else 6), 0

    ordered = sorted(files, key=order)  # sorted() keeps ties in order
    items[:] = [i for path in ordered for i in files[path]]
    return [path for path in ordered if 3 <= order(path)[0] <= 5]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`make test`'s file by file scheduling, told that the demo is the critical path (tests/scheduling.py)."""
    if config.getvalue("dist") == "loadfile":
        return DemoFirstScheduling(config, log)
    return None


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what they do
def pytest_collection_modifyitems(config, items):
    """Files in a useful order (`_order_files`). The cluster tests start servers and workers: only
    with --cluster (`make test-cluster`)."""
    after_the_demo = _order_files(items)
    if hasattr(config, "workerinput"):
        write_after_the_demo(config, after_the_demo)
    if config.getoption("--cluster"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL, Redis and workers: `make test-cluster`")
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(skip)


def cli(
    *args: str, home: Path, check: bool = False, env: dict | None = None, first: bool = False
) -> subprocess.CompletedProcess:
    kept = {k: v for k, v in os.environ.items() if k not in ("PORTAL_INDEX_HOME", "DAGSTER_HOME", *CLUSTER_VARIABLES)}
    env = {**kept, **(env or {})}  # in one process, whatever cluster this process talks to
    result = subprocess.run(
        [str(BIN / "portal-index"), "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        preexec_fn=_usual_priority if first else None,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"portal-index {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
        )
    return result


def change_and_validate(home: Home, *sql: str) -> None:
    """Run `sql` on the warehouse of `home`, then validate the published tables that lack what the
    publisher asks of them, a passing latest validation of their contents
    (`expectations.gate.unvalidated`), or whose inputs as they are, their own rows and whatever
    their suites read, have no passing validation (`expectations.gate.not_validated_as_they_are`);
    assert there is one at least, and that they pass. The others' validations still hold, and a
    whole validation would run their suites again for nothing."""
    import duckdb

    from expectations.gate import not_validated_as_they_are, unvalidated, validate
    from portal_index.release.catalog import published_tables

    published = published_tables()
    with duckdb.connect(str(home.warehouse)) as con:
        for statement in sql:
            con.execute(statement)
        refused = set(unvalidated(con, published))
    stale = set(not_validated_as_they_are(home.warehouse, published))
    tables = tuple(t for t in published if t in refused | stale)
    assert tables, f"after {sql}, every published table still has a passing validation of its inputs as they are"
    outcomes = validate(home.warehouse, tables)
    assert all(o.success for o in outcomes.values()), {t: o.failures for t, o in outcomes.items() if not o.success}


@pytest.fixture(scope="session")
def demo_run(request, tmp_path_factory, worker_id) -> tuple[Home, subprocess.CompletedProcess]:
    """`portal-index run --demo` in a fresh working folder, once per session: with `pytest -n`
    (`make test`) the first worker that needs it runs it, under a lock, and the others read it."""
    if worker_id == "master":  # one process
        home = tmp_path_factory.mktemp("demo-home")
        return Home(home), cli("run", "--demo", home=home, check=True)
    shared = session_folder(request.config)  # above each worker's own
    home, record = shared / "demo-home", shared / DEMO_RECORD
    with FileLock(shared / "demo-run.lock"):
        if not record.exists():
            done = cli("run", "--demo", home=home, check=True, first=True)
            record.write_text(json.dumps({"args": done.args, "stdout": done.stdout, "stderr": done.stderr}))
    kept = json.loads(record.read_text())
    return Home(home), subprocess.CompletedProcess(kept["args"], 0, kept["stdout"], kept["stderr"])


@pytest.fixture()
def demo_copy(demo_run, tmp_path) -> Home:
    """A private copy of the demo working folder, for tests that change it."""
    home, _ = demo_run
    target = tmp_path / "home"
    shutil.copytree(home.root, target, symlinks=True)
    return Home(target)


def stage(name: str, home: Home) -> dict:
    """One of the pipeline's stages on `home`, in a process of its own, as `make bench` runs them
    (benchmarks/stages.py): its JSON line."""
    env = {
        **os.environ,
        "PORTAL_INDEX_HOME": str(home.root),
        "PORTAL_INDEX_REGISTRY": str(home.registry),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.stages", name, str(home.root)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


SYNTHETIC_HALVES = "synthetic-halves"


@pytest.fixture(scope="session")
def synthetic_halves(request) -> tuple[Path, dict]:
    """40 synthetic portals over June and July 2026, two half-years (`portal-index synth`), ingested,
    built and validated by the pipeline's stages, once per session: with `pytest -n` the first worker
    that needs it makes it, under a lock, and the others wait for it (test_synth.py, test_changes.py).
    A test works on a copy of it (`synthetic_copy`, or a module's own). Returns the folder, and what
    synth wrote: files and rows by source. If it fails, each worker that needs it tries again, as
    with `demo_run`."""
    from portal_index.demo.synth import synth

    shared = session_folder(request.config)  # above each worker's own (in one process, its own)
    home, done = Home(shared / SYNTHETIC_HALVES), shared / f"{SYNTHETIC_HALVES}.json"
    with FileLock(shared / f"{SYNTHETIC_HALVES}.lock"):
        if not done.exists():
            shutil.rmtree(home.root, ignore_errors=True)  # what a failed attempt left
            summary = synth(home, 40, 60, start=date(2026, 6, 1), log=lambda m: None)
            rejected = stage("ingest", home)["rejected"]
            assert rejected == [], rejected
            stage("dbt", home)
            stage("validate", home)
            done.write_text(json.dumps({"files": summary.files, "rows": summary.rows}))
    return home.root, json.loads(done.read_text())


@pytest.fixture()
def synthetic_copy(synthetic_halves, tmp_path) -> Home:
    """A private copy of `synthetic_halves`, for a test that changes it."""
    target = tmp_path / "synthetic"
    shutil.copytree(synthetic_halves[0], target, symlinks=True)
    return Home(target)
