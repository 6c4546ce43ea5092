"""Dagster assets for tests/unit/test_event_log.py, in their own module so that the test file imports
Dagster only when one of its tests runs: every pytest-xdist worker collects every test file, and
importing Dagster costs each one about 1.3 s of CPU."""

import threading

import dagster as dg


@dg.asset
def table() -> int:
    return 1


@dg.asset_check(asset=table)
def table_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


STARTED = threading.Event()  # set by the watcher when it sees the run's step start


@dg.asset
def waits_to_be_watched() -> int:
    assert STARTED.wait(20), "the watcher saw no event of the run while it ran"
    return 1
