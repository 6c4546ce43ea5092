"""Releases people can trust: versions and changelog, interrupted publishing, formula
neutralisation, the workbook and the data dictionary (checking a release and rebuilding it:
test_release_integrity.py)."""

import csv
import json
from contextlib import contextmanager

import duckdb
import pytest
from conftest import change_and_validate
from openpyxl import load_workbook

import portal_index.release.publish as publishing
from portal_index.release.publish import publish

pytestmark = pytest.mark.slow  # runs the whole pipeline


def republish(home, sql: list[str]):
    change_and_validate(home, *sql)
    return publish(home.warehouse, home.releases, log=lambda m: None)


def test_changelog_and_version_on_a_schema_change(demo_copy):
    result = republish(
        demo_copy,
        ["alter table marts.portals drop column name_en", "alter table marts.ministries alter valid_from type varchar"],
    )
    assert result.version == "2.0.0"  # a field removed or retyped breaks users' code: major
    d = json.loads((result.path / "datapackage.json").read_text())
    assert d["changes"]["previous_version"] == "1.0.0"
    assert d["changes"]["tables"]["portals"]["fields_removed"] == ["name_en"]
    assert d["changes"]["tables"]["ministries"]["fields_retyped"] == ["valid_from: date -> string"]
    log = (result.path / "CHANGELOG.md").read_text()
    assert log.index("## 2.0.0") < log.index("## 1.0.0")  # newest first, earlier entries kept
    assert "- `portals`: field removed `name_en`; rows +0 added, −0 removed, 0 changed" in log
    assert "- `ministries`: field retyped `valid_from: date -> string`" in log


def test_new_rows_are_a_minor_release(demo_copy):
    result = republish(
        demo_copy,
        [
            """insert into marts.ministries values
                                      ('BTEST', 'Bộ Thử nghiệm', 'Ministry of Testing', null, null, null)"""
        ],
    )
    assert result.version == "1.1.0"
    assert "- `ministries`: rows +1 added, −0 removed, 0 changed" in (result.path / "CHANGELOG.md").read_text()


def test_an_interrupted_publish_leaves_no_partial_release_and_the_next_recovers(demo_copy, monkeypatch):
    before = sorted(p.name for p in demo_copy.releases.iterdir())
    latest = (demo_copy.releases / "latest").resolve()

    @contextmanager
    def crash(*args, **kwargs):
        yield
        raise KeyboardInterrupt  # the operator pressed Ctrl-C half-way through, the workbook being written

    monkeypatch.setattr(publishing, "written_aside", crash)
    with pytest.raises(KeyboardInterrupt):
        republish(demo_copy, ["update marts.portals set name_vi = name_vi || '.' where portal_id = 'hanoi-info'"])
    assert sorted(p.name for p in demo_copy.releases.iterdir()) == before
    assert (demo_copy.releases / "latest").resolve() == latest
    # a publisher killed outright leaves its staging folder and link; the next publish clears them
    (demo_copy.releases / ".staging-killed" / "data").mkdir(parents=True)
    (demo_copy.releases / ".staging-killed" / "data" / "portal_scores.csv").write_text("half")
    (demo_copy.releases / ".latest-9.9.9").symlink_to("9.9.9")
    monkeypatch.undo()
    result = publish(demo_copy.warehouse, demo_copy.releases, log=lambda m: None)
    assert result.version == "1.0.1"
    assert sorted(p.name for p in demo_copy.releases.iterdir()) == sorted(before + ["1.0.1"])


def test_spreadsheet_formulas_are_neutralised_in_csv_and_xlsx_but_not_in_parquet(demo_copy):
    result = republish(
        demo_copy,
        [
            """update marts.portals set name_en = '=HYPERLINK("http://x.example","click")', name_vi = '@SUM(A1)'
           where portal_id = 'hanoi-info'""",
            "update marts.portals set name_en = '-1+2' where portal_id = 'hue-info'",
            "update marts.portal_scores set change_since_previous = -3.5 where portal_id = 'hanoi-info'",
        ],
    )
    with open(result.path / "data" / "portals.csv", encoding="utf-8", newline="") as f:
        portals = {r["portal_id"]: r for r in csv.DictReader(f)}
    assert portals["hanoi-info"]["name_en"] == '\'=HYPERLINK("http://x.example","click")'
    assert portals["hanoi-info"]["name_vi"] == "'@SUM(A1)" and portals["hue-info"]["name_en"] == "'-1+2"
    with open(result.path / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        scores = {r["portal_id"]: r for r in csv.DictReader(f)}
    assert scores["hanoi-info"]["change_since_previous"] == "-3.50"  # numbers are never changed
    ws = load_workbook(result.path / "portal-index.xlsx")["portals"]
    cells = {row[0].value: row for row in ws.iter_rows(min_row=2)}
    name_en = [c.value for c in ws[1]].index("Tên tiếng Anh")
    assert (
        cells["hanoi-info"][name_en].value.startswith("'=HYPERLINK") and cells["hanoi-info"][name_en].data_type == "s"
    )
    raw = duckdb.sql(
        f"select name_en from '{result.path}/data/portals.parquet' where portal_id = 'hanoi-info'"
    ).fetchall()
    assert raw == [('=HYPERLINK("http://x.example","click")',)]


def test_workbook_has_vietnamese_titles_and_the_csv_values(demo_run, tmp_path):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    wb = load_workbook(folder / "portal-index.xlsx")
    assert wb.sheetnames == [
        "Tổng hợp",
        "portal_scores",
        "portal_changes",
        "province_summary",
        "indicator_values",
        "probe_vantages",
        "evaluator_agreement",
        "papi_scores",
        "indicators",
        "portals",
        "provinces",
        "ministries",
    ]
    ws = wb["portal_scores"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["Mã cổng", "Kỳ đánh giá", "Loại cổng"] and "Xếp loại A-E" in header
    with open(folder / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    total = header.index("Tổng điểm")
    sheet_rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(sheet_rows) == len(rows)
    assert [r[0] for r in sheet_rows] == [r["portal_id"] for r in rows]
    assert [r[total] for r in sheet_rows] == [float(r["total"]) if r["total"] else None for r in rows]
    again = tmp_path / "again.xlsx"  # not beside the shared demo's releases, which other processes copy
    from portal_index.release.catalog import mart_docs, published_tables
    from portal_index.release.workbook import write_workbook

    docs = mart_docs()
    d = json.loads((folder / "datapackage.json").read_text())
    for r in d["resources"]:
        if r["format"] == "csv":
            docs[r["name"]]["_schema"] = r["schema"]
    write_workbook(again, folder / "data", list(published_tables()), docs, d["methodology_version"])
    assert again.read_bytes() == (folder / "portal-index.xlsx").read_bytes()  # same data, same bytes


def test_data_dictionary_is_bilingual_and_complete(demo_run):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    text = (folder / "DATA_DICTIONARY.md").read_text(encoding="utf-8")
    d = json.loads((folder / "datapackage.json").read_text())
    for r in d["resources"]:
        if r["format"] == "csv":
            assert f"## `{r['name']}`" in text
            for f in r["schema"]["fields"]:
                assert f"| `{f['name']}` |" in text
    assert (
        "| `grade` | Xếp loại A-E | string |" in text
        and "Khóa chính / primary key: `methodology_version, portal_id, period`" in text
    )


def test_duckdb_polars_and_pandas_read_a_release_or_one_period_directly(demo_run):
    import pandas as pd
    import polars as pl

    home, _ = demo_run
    path = (home.releases / "latest").resolve() / "data" / "portal_scores.parquet"
    period = json.loads((path.parent.parent / "datapackage.json").read_text())["period"]
    whole = duckdb.sql(f"select count(*) from '{path}'").fetchall()[0][0]
    one = duckdb.sql(f"select count(*) from '{path}' where period = '{period}'").fetchall()[0][0]
    assert pl.scan_parquet(path).filter(pl.col("period") == period).collect().height == one
    frame = pd.read_parquet(path, filters=[("period", "==", period)])
    assert len(frame) == one and len(pd.read_parquet(path)) == whole
    assert str(frame["total"].dtype).startswith("decimal") or frame["total"].dtype == object  # exact decimals
    assert pl.read_parquet(path).schema["total"] == pl.Decimal(5, 2)
    assert duckdb.sql(f"select typeof(valid_from) from '{path.parent / 'provinces.parquet'}' limit 1").fetchall() == [
        ("DATE",)
    ]


def test_the_release_bundles_the_builds_dbt_docs_and_great_expectations_data_docs(demo_run):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    assert "portal_scores" in (folder / "docs" / "dbt.html").read_text(encoding="utf-8")
    validations = folder / "docs" / "great_expectations" / "validations"
    assert {p.name for p in validations.iterdir()} >= {"portal_scores", "indicator_values", "papi_scores"}
    listed = {f["path"] for f in json.loads((folder / "datapackage.json").read_text())["files"]}
    assert "docs/dbt.html" in listed and "docs/great_expectations/index.html" in listed
    assert not any(".inputs" in path for path in listed)  # the page's record stays in the working folder


def test_the_builds_dbt_docs_page_is_recorded_with_what_it_was_made_from(demo_run):
    """What decides whether the next build makes the page again (orchestration/defs/scoring/build_docs.py):
    the record names the digest of the demo's build and its warehouse, and the page's own sha256."""
    import hashlib

    from orchestration.defs.scoring.build_docs import inputs_of, is_current

    home, _ = demo_run
    page, record = home.build_docs / "dbt.html", home.work / "dbt-docs.inputs"
    (build,) = [p for p in (home.work / "dbt").iterdir() if p.is_dir()]  # the demo's one build
    inputs = inputs_of(build, home.warehouse)
    assert record.read_text(encoding="ascii").split() == [inputs, hashlib.sha256(page.read_bytes()).hexdigest()]
    assert is_current(page, record, inputs)


def test_the_workbook_opens_on_a_vietnamese_summary_with_labels_for_every_code(demo_run):
    from openpyxl import load_workbook

    from portal_index.release.workbook import LABEL_SUFFIX, SUMMARY_SHEET, value_labels

    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    d = json.loads((folder / "datapackage.json").read_text())
    labels = value_labels()
    for r in d["resources"]:  # every coded column has a Vietnamese label for every value it may take
        for f in r["schema"]["fields"]:
            if "enum" in f.get("constraints", {}):
                assert set(f["constraints"]["enum"]) <= set(labels.get(f["name"], {})), (r["name"], f["name"])
    wb = load_workbook(folder / "portal-index.xlsx")
    assert wb.sheetnames[0] == SUMMARY_SHEET
    ws = wb[SUMMARY_SHEET]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    header, *rows = list(ws.iter_rows(values_only=True))
    assert header[:3] == ("Mã cổng", "Tên cổng", "Tỉnh / Bộ chủ quản")
    with open(folder / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        scores = [r for r in csv.DictReader(f) if r["period"] == d["period"]]
    with open(folder / "data" / "portals.csv", encoding="utf-8", newline="") as f:
        names = {r["portal_id"]: r["name_vi"] for r in csv.DictReader(f)}
    by_id = {r[0]: r for r in rows}
    assert set(by_id) == {s["portal_id"] for s in scores}
    for s in scores:
        row = dict(zip(header, by_id[s["portal_id"]]))
        assert row["Tên cổng"] == names[s["portal_id"]] and row["Tỉnh / Bộ chủ quản"]
        assert row["Tổng điểm"] == (float(s["total"]) if s["total"] else None)  # a number, not text
        assert row["Xếp loại"] == labels["grade"][s["grade"]] and row["Loại cổng"] == labels["kind"][s["kind"]]
        assert (row["Trạng thái đo"] == "Đủ dữ liệu") == (s["status_reason"] == "")
    portals = wb["portals"]
    titles = [c.value for c in portals[1]]
    kind = titles.index("Loại cổng")
    assert titles[kind + 1] == "Loại cổng" + LABEL_SUFFIX
    first = [c.value for c in portals[2]]
    assert first[kind + 1] == labels["kind"][first[kind]]
    valid = [
        c
        for c in portals.iter_cols(
            min_col=titles.index("Ngày bắt đầu hiệu lực") + 1,
            max_col=titles.index("Ngày bắt đầu hiệu lực") + 1,
            min_row=2,
            values_only=True,
        )
    ][0]
    assert all(v is None or hasattr(v, "year") for v in valid)  # dates are dates
