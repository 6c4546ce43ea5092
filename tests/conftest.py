"""Shared fixtures. The demo pipeline runs once per session, for real, through the command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from filelock import FileLock

from portal_index.config import CLUSTER_VARIABLES, Home

BIN = Path(sys.executable).parent


def pytest_addoption(parser):
    parser.addoption("--cluster", action="store_true", help="run the cluster tests (what `make test-cluster` does)")


def pytest_collection_modifyitems(config, items):
    """The cluster tests start servers and workers: only with --cluster (`make test-cluster`)."""
    if config.getoption("--cluster"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL, Redis and workers: `make test-cluster`")
    for item in items:
        if "cluster" in item.keywords:
            item.add_marker(skip)


def cli(*args: str, home: Path, check: bool = False, env: dict | None = None) -> subprocess.CompletedProcess:
    kept = {k: v for k, v in os.environ.items() if k not in ("PORTAL_INDEX_HOME", "DAGSTER_HOME", *CLUSTER_VARIABLES)}
    env = {**kept, **(env or {})}  # in one process, whatever cluster this process talks to
    result = subprocess.run(
        [str(BIN / "portal-index"), "--home", str(home), *args], capture_output=True, text=True, env=env, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"portal-index {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr[-4000:]}"
        )
    return result


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, worker_id) -> tuple[Home, subprocess.CompletedProcess]:
    """`portal-index run --demo` in a fresh working folder, once per session: with `pytest -n`
    (`make test`) the first worker that needs it runs it, under a lock, and the others read it."""
    if worker_id == "master":  # one process
        home = tmp_path_factory.mktemp("demo-home")
        return Home(home), cli("run", "--demo", home=home, check=True)
    shared = tmp_path_factory.getbasetemp().parent  # the session's folder, above each worker's own
    home, record = shared / "demo-home", shared / "demo-run.json"
    with FileLock(shared / "demo-run.lock"):
        if not record.exists():
            done = cli("run", "--demo", home=home, check=True)
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
