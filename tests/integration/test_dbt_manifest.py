"""The dbt manifest is parsed once per change of the project: a parse that failed is not run again in
the same process (the background start and the definitions would otherwise both pay for it), and a
repaired project is parsed again."""

import shutil
import subprocess

import pytest

from portal_index.config import DBT_PROJECT_DIR
from portal_index.core import dbt_manifest


@pytest.fixture()
def project(tmp_path, monkeypatch):
    """A project with the pipeline's configuration, profile and macros and one model of its own: what is
    tested is when a parse runs, and dbt parses this in two thirds of the CPU the whole project takes."""
    copy = tmp_path / "dbt_project"
    (copy / "models" / "intermediate").mkdir(parents=True)
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copyfile(DBT_PROJECT_DIR / name, copy / name)
    shutil.copytree(DBT_PROJECT_DIR / "macros", copy / "macros")
    (copy / "models" / "intermediate" / "int_one.sql").write_text("select 1 as one\n", encoding="utf-8")
    (copy / "models" / "intermediate" / "int_one.yml").write_text(
        "version: 2\nmodels:\n  - name: int_one\n    columns:\n      - name: one\n        data_tests: [not_null]\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(dbt_manifest, "DBT_PROJECT_DIR", copy)
    monkeypatch.setattr(dbt_manifest, "TARGET", copy / "target")
    monkeypatch.setattr(dbt_manifest, "MANIFEST", copy / "target" / "manifest.json")
    monkeypatch.setattr(dbt_manifest, "_failed", {})
    parses = []
    real = dbt_manifest._parse
    monkeypatch.setattr(dbt_manifest, "_parse", lambda lock: (parses.append(lock), real(lock)))
    monkeypatch.setenv("PORTAL_INDEX_HOME", str(tmp_path / "home"))
    return copy, parses


def test_a_failed_parse_is_raised_again_not_run_again_until_the_project_changes(project, tmp_path):
    copy, parses = project
    model = copy / "models" / "intermediate" / "int_one.yml"
    good = model.read_text(encoding="utf-8")
    model.write_text(good + "\nmodels:\n  - name: [unclosed\n", encoding="utf-8")
    with pytest.raises(RuntimeError, match="dbt parse failed") as first:
        dbt_manifest.prepare_manifest()
    with pytest.raises(RuntimeError) as second:
        dbt_manifest.prepare_manifest()
    assert second.value is first.value and len(parses) == 1
    model.write_text(good, encoding="utf-8")  # repaired: a newer file, parsed again
    assert dbt_manifest.prepare_manifest().is_file() and len(parses) == 2
    assert dbt_manifest.prepare_manifest().is_file() and len(parses) == 2  # fresh: not parsed again
    assert not (tmp_path / "home").exists()  # a parse opens no warehouse: it makes no working folder


def test_a_parse_made_in_one_working_folder_serves_another(tmp_path):
    """The pipeline's profile names the warehouse by the same text in every working folder, so dbt
    keeps the parse the definitions made (in whichever folder) for a command in another; with the
    folder's absolute path in the profile it parsed the whole project again ("profile has changed").
    And the launcher's dbt opens the warehouse of its working folder, not of the folder it started in."""
    from portal_index.config import DBT_EXECUTABLE, dbt_env

    made = dbt_manifest.prepare_manifest().parent / "partial_parse.msgpack"
    home = tmp_path / "home"
    (home / "target").mkdir(parents=True)
    shutil.copyfile(made, home / "target" / "partial_parse.msgpack")
    shown = subprocess.run(
        [str(DBT_EXECUTABLE), "show", "--inline", "select 42 as answer", "--target-path", str(home / "target")],
        env={**dbt_env(), "PORTAL_INDEX_HOME": str(home)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    said = shown.stdout + shown.stderr
    assert shown.returncode == 0 and "42" in shown.stdout, said
    assert "Unable to do partial parsing" not in said and "full parse" not in said, said
    assert (home / "warehouse.duckdb").is_file()
    assert not (tmp_path / "warehouse.duckdb").exists() and not (DBT_PROJECT_DIR / "warehouse.duckdb").exists()
