"""dbt's per-build target folders in a working folder (orchestration/defs/scoring/build_folders.py): the
newest few are kept, the build just made always among them, and nothing else in the folder is touched."""

import os
import subprocess
import sys

from orchestration.defs.scoring import build_folders
from orchestration.defs.scoring.build_folders import (
    KEPT_BUILDS,
    PARTIAL_PARSE,
    copy_atomically,
    keep_partial_parse,
    prune_builds,
)
from portal_index.config import REPO_ROOT


def make_build(parent, name, mtime):
    build = parent / name
    (build / "compiled").mkdir(parents=True)
    (build / "dbt.log").write_text("log\n")
    (build / "compiled" / "model.sql").write_text("select 1\n")
    os.utime(build, (mtime, mtime))
    return build


def test_older_builds_go_the_newest_stay_and_the_current_build_is_never_removed(tmp_path):
    builds = [make_build(tmp_path, f"portal_index_dbt-{i:07x}-abcdef{i}", 1_000_000 + i) for i in range(7)]
    (tmp_path / PARTIAL_PARSE).write_bytes(b"parse")
    (tmp_path / "notes").mkdir()  # not a build's folder
    other = make_build(tmp_path, "portal_index_dbt-keepme", 1)  # not named as dagster-dbt names them
    other_op = make_build(tmp_path, "another_op-0000001-abcdef0", 1)  # another op's build
    current = builds[2]  # its folder's time is older than others' (a clock set back, a copied folder)

    removed = prune_builds(current)

    kept = sorted(p.name for p in tmp_path.iterdir())
    assert current.exists() and (current / "dbt.log").exists()
    assert sorted(removed) == sorted(b for b in builds if b not in (current, builds[6], builds[5]))
    assert kept == sorted(
        [PARTIAL_PARSE, "notes", other.name, other_op.name, current.name, builds[5].name, builds[6].name]
    )
    assert KEPT_BUILDS == 3


def test_nothing_is_removed_while_there_are_no_more_builds_than_are_kept(tmp_path):
    builds = [make_build(tmp_path, f"portal_index_dbt-{i:07x}-abcdef{i}", 1_000_000 + i) for i in range(2)]
    assert prune_builds(builds[-1]) == []
    assert all(b.exists() for b in builds)


def test_keeping_none_removes_every_other_build_but_never_the_current_one(tmp_path):
    builds = [make_build(tmp_path, f"portal_index_dbt-{i:07x}-abcdef{i}", 1_000_000 + i) for i in range(4)]
    assert sorted(prune_builds(builds[1], keep=0)) == sorted(b for b in builds if b != builds[1])
    assert [p.name for p in tmp_path.iterdir()] == [builds[1].name]


def test_a_new_working_folder_starts_from_the_projects_parse_and_a_kept_one_is_never_replaced(tmp_path, monkeypatch):
    project_target = tmp_path / "project-target"
    project_target.mkdir()
    (project_target / PARTIAL_PARSE).write_bytes(b"the project's parse")
    monkeypatch.setattr(build_folders, "TARGET", project_target)
    new, kept = tmp_path / "new" / "work" / "dbt", tmp_path / "kept"
    kept.mkdir()
    (kept / PARTIAL_PARSE).write_bytes(b"this folder's own parse")

    build_folders.seed_partial_parse(new)
    build_folders.seed_partial_parse(kept)
    build_folders.seed_partial_parse(project_target)  # dbt's own target folder: nothing to do

    assert (new / PARTIAL_PARSE).read_bytes() == b"the project's parse"
    assert (kept / PARTIAL_PARSE).read_bytes() == b"this folder's own parse"
    assert sorted(p.name for p in new.iterdir()) == [PARTIAL_PARSE]  # no staging file left behind
    assert sorted(p.name for p in project_target.iterdir()) == [PARTIAL_PARSE]


def test_a_build_keeps_its_parse_for_the_next_one(tmp_path):
    build = make_build(tmp_path, "portal_index_dbt-0000001-abcdef1", 1_000_000)
    (tmp_path / PARTIAL_PARSE).write_bytes(b"older")
    (build / PARTIAL_PARSE).write_bytes(b"newer")
    keep_partial_parse(build)
    assert (tmp_path / PARTIAL_PARSE).read_bytes() == b"newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == [PARTIAL_PARSE, build.name]


def test_a_staged_copy_has_the_usual_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        (tmp_path / "made").write_bytes(b"parse")
        copy_atomically(tmp_path / "made", tmp_path / PARTIAL_PARSE)
    finally:
        os.umask(old)
    assert (tmp_path / PARTIAL_PARSE).stat().st_mode & 0o777 == 0o644  # another user's dbt may replace it
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([PARTIAL_PARSE, "made"])


def test_the_launcher_keeps_relative_dbt_paths_meant_from_where_it_started(tmp_path, monkeypatch):
    from portal_index.config import Home, enter_for_dbt

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DBT_LOG_PATH", "target/build-1")  # dagster-dbt's, where DBT_TARGET_PATH is unset
    monkeypatch.setenv("DBT_TARGET_PATH", "target/build-1")  # dbt reads this one from the project
    for name in ("DBT_PROJECT_DIR", "DBT_PROFILES_DIR", "DBT_TARGET", "DBT_LOG_LEVEL_FILE"):
        monkeypatch.setenv(name, "")  # recorded, so that what the launcher sets is undone after the test
        monkeypatch.delenv(name)
    monkeypatch.setenv("PORTAL_INDEX_HOME", str(tmp_path / "home"))
    enter_for_dbt(Home.from_env())
    assert os.getcwd() == str(tmp_path / "home")
    assert os.environ["DBT_LOG_PATH"] == str(tmp_path / "target" / "build-1")
    assert os.environ["DBT_TARGET_PATH"] == "target/build-1"
    assert os.environ["DBT_TARGET"] == "pipeline" and os.environ["DBT_LOG_LEVEL_FILE"] == "info"


def test_the_build_folders_module_the_docs_record_and_the_event_log_tests_import_no_dagster():
    """Every test process imports these at collection (test_dbt_builds.py, test_build_docs.py and
    test_inbox_runs.py import the first two at module level; every file is collected by every
    pytest-xdist worker): importing them must not import Dagster or dagster-dbt, about 1.3 to 3 s of
    CPU a process. test_event_log.py imports Dagster in its tests."""
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests/unit')\n"
        "import orchestration.defs.scoring.build_folders, orchestration.defs.scoring.build_docs, test_event_log\n"
        "print(sorted(m for m in ('dagster', 'dagster_dbt') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
