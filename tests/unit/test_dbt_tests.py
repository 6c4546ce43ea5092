"""The dbt project's data tests as declared: a model's or seed's required columns are listed once,
in its `not_null_columns` test (dbt_project/macros/test_not_null_columns.sql), each a column its YAML
describes; no column carries dbt's one-column `not_null`, which would cost the build a node a column
(docs/performance.md, "Fewer test nodes in the build")."""

import yaml

from portal_index.config import DBT_PROJECT_DIR

# dbt's own defaults, for a key dbt_project.yml leaves out
_FOLDERS = {"model-paths": ["models"], "seed-paths": ["seeds"], "snapshot-paths": ["snapshots"]}


def _resources():
    """The resources the project's YAML declares, in the folders dbt_project.yml names (a build by
    hand leaves a `target/` whose compiled SQL sits in folders named after the YAML files)."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    folders = [f for key, default in _FOLDERS.items() for f in project.get(key, default)]
    for path in sorted(p for folder in folders for p in (DBT_PROJECT_DIR / folder).glob("**/*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for kind in ("models", "seeds", "snapshots", "sources"):
            for resource in doc.get(kind) or []:
                yield path.relative_to(DBT_PROJECT_DIR), resource


def test_the_yaml_read_declares_the_projects_models_and_seeds():
    """A floor, so that a change in where the YAML is read cannot leave the tests below nothing to
    check (48 resources in models/, models and sources, and 16 seeds when this was written)."""
    kinds = [path.parts[0] for path, _ in _resources()]
    assert kinds.count("models") >= 40 and kinds.count("seeds") >= 12


def _test_names(tests) -> list[str]:
    return [t if isinstance(t, str) else next(iter(t)) for t in tests or []]


def test_no_column_has_a_not_null_test_of_its_own():
    found = [
        f"{path}: {resource['name']}.{column['name']}"
        for path, resource in _resources()
        for column in resource.get("columns") or []
        if "not_null" in _test_names(column.get("data_tests") or column.get("tests"))
    ]
    assert found == []


def test_each_not_null_columns_test_lists_described_columns_once():
    listed = 0
    for path, resource in _resources():
        described = {c["name"] for c in resource.get("columns") or []}
        tests = [t for t in resource.get("data_tests") or [] if isinstance(t, dict) and "not_null_columns" in t]
        assert len(tests) <= 1, f"{path}: {resource['name']} has {len(tests)} not_null_columns tests"
        for test in tests:
            columns = test["not_null_columns"]["arguments"]["columns"]
            assert columns and len(set(columns)) == len(columns), (path, resource["name"], columns)
            assert set(columns) <= described, (path, resource["name"], set(columns) - described)
            listed += len(columns)
    assert listed >= 90  # a floor, so that lists emptied or not read show here (94 when this was written)
