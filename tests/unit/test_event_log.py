"""The working folder's Dagster instance (orchestration/event_log.py, `portal_index.cli`): its event
log keeps each database's connection between writes, writes what Dagster's own SQLite storage reads,
keeps a bounded number of databases open, delivers a run's events to a watcher while the run goes on,
refuses another folder's event log, and the CLI's `dagster.yaml` is replaced only when it is a text
the CLI wrote."""

import os
import shutil
from pathlib import Path

import pytest

from portal_index.cli import EARLIER_DAGSTER_YAML, _prepare, dagster_yaml
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
    import dagster as dg
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from event_log_assets import table, table_has_rows

    from orchestration.event_log import KeptConnectionsSqliteEventLogStorage

    runs = home.dagster_home / "history" / "runs"
    count = KeptConnectionsSqliteEventLogStorage.KEEP + 3
    with dg.DagsterInstance.from_config(str(home.dagster_home)) as instance:
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


def test_a_watcher_sees_the_runs_events_while_it_runs(home):
    """What the Dagster UI's live run log does: a second instance watches the run; the run's step
    waits until the watcher has seen it start."""
    import dagster as dg
    from dagster._core.utils import make_new_run_id
    from event_log_assets import STARTED, waits_to_be_watched

    run_id, seen = make_new_run_id(), []

    def on_event(event, cursor):
        seen.append(event.dagster_event_type)
        if event.dagster_event_type == dg.DagsterEventType.STEP_START:
            STARTED.set()

    job = dg.Definitions(assets=[waits_to_be_watched]).get_implicit_global_asset_job_def()
    with (
        dg.DagsterInstance.from_config(str(home.dagster_home)) as watching,
        dg.DagsterInstance.from_config(str(home.dagster_home)) as running,
    ):
        watching.event_log_storage.watch(run_id, None, on_event)
        try:
            assert job.execute_in_process(instance=running, run_id=run_id).success
        finally:
            watching.event_log_storage.end_watch(run_id, on_event)
    assert dg.DagsterEventType.STEP_START in seen


def test_a_copied_working_folder_is_refused_until_its_instance_file_names_its_own_event_log(home, tmp_path):
    import dagster as dg
    from event_log_assets import table

    from orchestration.event_log import ForeignEventLog

    copy = Home(tmp_path / "copy")
    shutil.copytree(home.root, copy.root, symlinks=True)
    with pytest.raises(ForeignEventLog, match=r"not in its own folder .*copy/dagster/history/runs: was the"):
        dg.DagsterInstance.from_config(str(copy.dagster_home))

    _prepare(copy)  # what any portal-index command on it does
    with dg.DagsterInstance.from_config(str(copy.dagster_home)) as instance:
        run_id = dg.materialize([table], instance=instance).run_id
    assert (copy.dagster_home / "history" / "runs" / f"{run_id}.db").exists()
    assert not (home.dagster_home / "history" / "runs" / f"{run_id}.db").exists()


def test_a_moved_working_folder_is_refused_and_its_old_place_is_not_made_again(home, tmp_path):
    import dagster as dg
    from event_log_assets import table

    from orchestration.event_log import ForeignEventLog

    moved = Home(tmp_path / "moved")
    shutil.move(home.root, moved.root)
    with pytest.raises(ForeignEventLog, match=r"which does not exist: was the working folder moved\?"):
        dg.DagsterInstance.from_config(str(moved.dagster_home))
    assert not home.root.exists()
    _prepare(moved)
    with dg.DagsterInstance.from_config(str(moved.dagster_home)) as instance:
        assert dg.materialize([table], instance=instance).success


@pytest.mark.parametrize("name", ["thư mục 😀", 'quote " and \\ backslash', "tab\there", "dòng: #1 {base_dir}"])
def test_the_instance_file_names_any_folder_exactly(tmp_path, name):
    import yaml

    from portal_index.cli import _OURS

    home = Home(tmp_path / name)
    text = dagster_yaml(home)
    assert yaml.safe_load(text)["event_log_storage"]["config"]["base_dir"] == str(
        home.dagster_home / "history" / "runs"
    )
    assert _OURS.fullmatch(text)


def test_the_clis_instance_file_is_brought_up_to_date_and_one_anyone_edited_is_left_alone(home, tmp_path):
    config = home.dagster_home / "dagster.yaml"
    assert config.read_text(encoding="utf-8") == dagster_yaml(home)

    for earlier in EARLIER_DAGSTER_YAML:
        config.write_text(earlier, encoding="utf-8")
        _prepare(home)
        assert config.read_text(encoding="utf-8") == dagster_yaml(home)

    edited = [
        dagster_yaml(home) + "run_monitoring:\n  enabled: true\n",  # ours, with a setting added
        EARLIER_DAGSTER_YAML[0].replace("false", "true"),  # an earlier one of ours, edited
        "# my instance\ntelemetry:\n  enabled: false\n",
    ]
    for text in edited:
        config.write_text(text, encoding="utf-8")
        _prepare(home)
        assert config.read_text(encoding="utf-8") == text
