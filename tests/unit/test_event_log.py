"""The working folder's Dagster instance (orchestration/event_log.py, `portal_index.cli`): its event
log keeps each database's connection between writes, writes what Dagster's own SQLite storage reads,
keeps a bounded number of databases open, and the CLI's `dagster.yaml` is replaced only when it is
the CLI's own."""

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.event_log import KeptConnectionsSqliteEventLogStorage
from portal_index.cli import DAGSTER_YAML, WRITTEN_BY_US, _prepare
from portal_index.config import Home


@pytest.fixture()
def home(tmp_path):
    """A prepared working folder; `_prepare` exports its paths into this process's environment."""
    saved = dict(os.environ)
    try:
        yield _prepare(Home(tmp_path / "home"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dg.asset
def table() -> int:
    return 1


@dg.asset_check(asset=table)
def table_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def open_databases(folder: Path) -> set[str]:
    """The SQLite databases in `folder` this process has open."""
    names = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = Path(os.readlink(fd))
        except OSError:  # closed meanwhile
            continue
        if target.parent == folder and target.suffix == ".db":
            names.add(target.name)
    return names


def test_runs_are_stored_with_kept_connections_and_read_by_dagsters_own_storage(home):
    runs = home.dagster_home / "history" / "runs"
    count = KeptConnectionsSqliteEventLogStorage.KEEP + 3
    with dg.DagsterInstance.get() as instance:  # DAGSTER_HOME: the working folder's, as the CLI exports it
        assert type(instance.event_log_storage) is KeptConnectionsSqliteEventLogStorage
        run_ids = []
        for _ in range(count):
            result = dg.materialize([table, table_has_rows], instance=instance)
            assert result.success
            run_ids.append(result.run_id)
            assert len(open_databases(runs)) <= KeptConnectionsSqliteEventLogStorage.KEEP
        assert open_databases(runs) >= {"index.db", f"{run_ids[-1]}.db"}
        written = {run_id: len(instance.all_logs(run_id)) for run_id in run_ids}
    assert not open_databases(runs)  # the instance's end closes them all

    plain = SqliteEventLogStorage(base_dir=str(runs))  # Dagster's own, on the same files
    try:
        assert {run_id: len(plain.get_logs_for_run(run_id)) for run_id in run_ids} == written
        assert all(n > 5 for n in written.values())
        materialized = plain.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_MATERIALIZATION, asset_key=dg.AssetKey("table"))
        )
        assert sorted(r.run_id for r in materialized) == sorted(run_ids)
        checks = plain.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("table"), "table_has_rows"), limit=100
        )
        assert sorted(c.run_id for c in checks) == sorted(run_ids)
        assert {c.status.value for c in checks} == {"SUCCEEDED"}
    finally:
        plain.dispose()


def test_the_clis_own_instance_file_is_brought_up_to_date_and_a_users_is_left_alone(home, tmp_path):
    config = home.dagster_home / "dagster.yaml"
    assert config.read_text(encoding="utf-8") == DAGSTER_YAML

    older = f"{WRITTEN_BY_US}: local SQLite storage, no telemetry\ntelemetry:\n  enabled: false\n"
    config.write_text(older, encoding="utf-8")
    _prepare(home)
    assert config.read_text(encoding="utf-8") == DAGSTER_YAML

    users = "# my instance\ntelemetry:\n  enabled: false\n"
    config.write_text(users, encoding="utf-8")
    _prepare(home)
    assert config.read_text(encoding="utf-8") == users


def test_without_dagster_home_or_a_base_dir_it_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML, encoding="utf-8")
    with pytest.raises(ValueError, match=r"DAGSTER_HOME is not set: set it to the instance's folder"):
        dg.DagsterInstance.from_config(str(tmp_path))
    assert not (tmp_path / "history" / "runs").exists()
