"""The build's dbt documentation page is made again only when what it shows changed
(orchestration/defs/scoring/build_docs.py): the project (the build's manifest, apart from its run's
metadata and its own folder's paths) or the warehouse's relations and columns."""

import json

import duckdb

from orchestration.defs.scoring import build_docs


def a_build(folder, code="select 1 as x", run="run-1"):
    folder.mkdir(parents=True)
    node = {
        "name": "portal_scores",
        "schema": "marts",
        "alias": "portal_scores",
        "raw_code": code,
        "build_path": f"{folder}/run/portal_scores.sql",
        "compiled_path": f"{folder}/compiled/portal_scores.sql",
    }
    manifest = {"metadata": {"invocation_id": run, "generated_at": run}, "nodes": {"model.p.portal_scores": node}}
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def a_warehouse(path, columns="portal_id varchar, total double"):
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.portal_scores ({columns})")
    return path


def test_the_digest_changes_with_the_project_or_the_schema_and_not_with_the_run(tmp_path):
    warehouse = a_warehouse(tmp_path / "warehouse.duckdb")
    first = build_docs.inputs_of(a_build(tmp_path / "build-1"), warehouse)
    assert build_docs.inputs_of(a_build(tmp_path / "build-2", run="run-2"), warehouse) == first
    assert build_docs.inputs_of(a_build(tmp_path / "build-3", code="select 2 as x"), warehouse) != first
    with duckdb.connect(str(warehouse)) as con:  # relations no model is (the validation's records)
        con.execute("create schema meta; create table meta.validation_runs (run_id varchar)")
        con.execute("create table marts.scratch (x int)")
    assert build_docs.inputs_of(tmp_path / "build-1", warehouse) == first
    a_warehouse(warehouse, "portal_id varchar, total double, grade varchar")
    assert build_docs.inputs_of(tmp_path / "build-1", warehouse) != first
    with duckdb.connect(str(warehouse)) as con:
        con.execute("comment on column marts.portal_scores.grade is 'A–E'")
    with_column = build_docs.inputs_of(tmp_path / "build-1", warehouse)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("comment on column marts.portal_scores.grade is 'A to E'")
    assert build_docs.inputs_of(tmp_path / "build-1", warehouse) != with_column


def test_a_page_is_current_only_with_its_own_record_and_a_crash_leaves_none(tmp_path):
    made, page, record = tmp_path / "static_index.html", tmp_path / "docs" / "dbt.html", tmp_path / "work" / "rec"
    made.write_text("<html>docs</html>", encoding="utf-8")
    assert not build_docs.is_current(page, record, "abc")
    build_docs.keep_page(made, page, record, "abc")
    assert page.read_text(encoding="utf-8") == "<html>docs</html>"
    assert build_docs.is_current(page, record, "abc") and not build_docs.is_current(page, record, "abd")
    page.write_text("<html>another version's docs</html>", encoding="utf-8")  # written by another
    assert not build_docs.is_current(page, record, "abc")
    page.unlink()
    assert not build_docs.is_current(page, record, "abc")  # the page itself is gone

    build_docs.keep_page(made, page, record, None)  # inputs unknown: made again next time
    assert page.exists() and not record.exists() and not build_docs.is_current(page, record, "abc")

    build_docs.keep_page(made, page, record, "abc")
    made.unlink()  # the copy fails halfway: the old record must not vouch for what is left
    try:
        build_docs.keep_page(made, page, record, "abc")
    except OSError:
        pass
    assert not build_docs.is_current(page, record, "abc")
