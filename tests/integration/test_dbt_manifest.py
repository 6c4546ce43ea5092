"""The dbt manifest is parsed once per change of the project: a parse that failed is not run again in
the same process (the background start and the definitions would otherwise both pay for it), and a
repaired project is parsed again."""

import shutil

import pytest

from portal_index.config import DBT_PROJECT_DIR
from portal_index.core import dbt_manifest


@pytest.fixture()
def project(tmp_path, monkeypatch):
    copy = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, copy, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setattr(dbt_manifest, "DBT_PROJECT_DIR", copy)
    monkeypatch.setattr(dbt_manifest, "TARGET", copy / "target")
    monkeypatch.setattr(dbt_manifest, "MANIFEST", copy / "target" / "manifest.json")
    monkeypatch.setattr(dbt_manifest, "_failed", {})
    parses = []
    real = dbt_manifest._parse
    monkeypatch.setattr(dbt_manifest, "_parse", lambda lock: (parses.append(lock), real(lock)))
    monkeypatch.setenv("PORTAL_INDEX_HOME", str(tmp_path / "home"))
    return copy, parses


def test_a_failed_parse_is_raised_again_not_run_again_until_the_project_changes(project):
    copy, parses = project
    model = copy / "models" / "intermediate" / "int_measures.yml"
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
