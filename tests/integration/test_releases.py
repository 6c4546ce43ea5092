"""Releases people can trust: versions and changelog, interrupted publishing, verify, reproduce,
formula neutralisation, the workbook and the data dictionary."""

import csv
import json
import shutil
import subprocess
from contextlib import contextmanager

import duckdb
import pytest
from conftest import cli
from openpyxl import load_workbook

import portal_index.release.publish as publishing
from expectations.gate import validate
from portal_index.land.snapshots import sha256_file
from portal_index.release.publish import INDEX, SUMS, publish, read_index, write_checksums
from portal_index.release.verify import check

pytestmark = pytest.mark.slow  # runs the whole pipeline


def republish(home, sql: list[str]):
    with duckdb.connect(str(home.warehouse)) as con:
        for statement in sql:
            con.execute(statement)
    outcomes = validate(home.warehouse)
    assert all(o.success for o in outcomes.values()), {t: o.failures for t, o in outcomes.items() if not o.success}
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


def test_verify_finds_a_tampered_file_and_an_unlisted_one(demo_run, tmp_path):
    home, _ = demo_run
    copy = tmp_path / "release"
    shutil.copytree((home.releases / "latest").resolve(), copy)
    assert cli("verify", str(copy), home=tmp_path / "h").returncode == 0
    data = copy / "data" / "portal_scores.csv"
    data.write_bytes(data.read_bytes().replace(b",A,", b",B,", 1))
    (copy / "data" / "extra.csv").write_text("x\n")
    result = cli("verify", str(copy), home=tmp_path / "h")
    assert result.returncode == 1
    assert "  - data/portal_scores.csv: sha256" in result.stderr and "the descriptor says" in result.stderr
    assert "  - data/extra.csv: not listed in the descriptor" in result.stderr


def _edit_json(path, **changes):
    d = json.loads(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            d.pop(key)
        else:
            d[key] = value
    path.write_text(json.dumps(d, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def test_sha256sums_covers_every_file_the_descriptor_and_readme_included(demo_run):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    lines = (folder / SUMS).read_text(encoding="utf-8").splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert paths == sorted(paths) == [f for f in files if f != SUMS]
    assert {"datapackage.json", "README.md", "data/portal_scores.csv"} <= set(paths)
    assert json.loads((folder / "datapackage.json").read_text())["checksums"] == SUMS
    done = subprocess.run(["sha256sum", "--check", "--strict", SUMS], cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr  # standard tools check it too
    [entry] = [e for e in read_index(home.releases) if e["version"] == folder.name]
    assert entry["sha256sums"] == sha256_file(folder / SUMS)
    assert entry["datapackage"] == sha256_file(folder / "datapackage.json")


def test_verify_finds_an_edited_descriptor_or_readme(demo_run, tmp_path):
    home, _ = demo_run
    original = (home.releases / "latest").resolve()
    copy = tmp_path / "release"  # a copy elsewhere: SHA256SUMS is all there is to go by
    shutil.copytree(original, copy)
    descriptor = copy / "datapackage.json"
    d = json.loads(descriptor.read_text())
    edits = {
        "title": lambda: _edit_json(descriptor, title=d["title"].replace(" (DEMO", " (demo")),
        "demo flag": lambda: _edit_json(descriptor, demo=False),
        "version": lambda: _edit_json(descriptor, version="9.0.0"),
        "snapshot list": lambda: _edit_json(descriptor, snapshots=d["snapshots"][1:]),
        "README": lambda: (copy / "README.md").write_text(
            (original / "README.md").read_text(encoding="utf-8").replace("Phiên bản", "Phien ban"), encoding="utf-8"
        ),
    }
    for what, edit in edits.items():
        edit()
        problems = check(copy).problems
        name = "README.md" if what == "README" else "datapackage.json"
        assert problems and problems[0].startswith(f"{name}: sha256 "), (what, problems)
        assert f"{SUMS} says" in problems[0], (what, problems)
        shutil.copy2(original / name, copy / name)
    assert check(copy).ok  # and the untouched copy passes, with the note that SHA256SUMS is not anchored
    result = cli("verify", str(copy), home=tmp_path / "h")
    assert result.returncode == 0, result.stderr


def test_verify_in_its_working_folder_catches_a_rewritten_sha256sums(demo_copy, tmp_path):
    folder = demo_copy.releases / "1.0.0"
    published = sha256_file(folder / SUMS)  # what the release notes would carry
    v = check(folder)
    assert v.ok and v.anchors == [f"the release index {demo_copy.releases / INDEX}"] and not v.notes
    assert v.sums_sha256 == published
    # someone edits the descriptor and regenerates SHA256SUMS to match
    _edit_json(folder / "datapackage.json", demo=False)
    write_checksums(folder)
    problems = check(folder).problems
    assert any(p.startswith(f"{SUMS}: sha256 ") and "rewritten since" in p for p in problems), problems
    assert any(p.startswith("datapackage.json: sha256 ") and "rewritten since" in p for p in problems), problems
    result = cli("verify", str(folder), home=demo_copy.root)
    assert result.returncode == 1 and "rewritten since" in result.stderr
    # the same folder copied elsewhere passes (its files match its SHA256SUMS), and says what it cannot prove
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    v = check(copy)
    assert v.ok and not v.anchors and "nothing proves SHA256SUMS itself was not rewritten" in v.notes[0]
    assert v.sums_sha256 in v.notes[0]
    # unless the checksum published elsewhere is given
    assert any("the published checksum is" in p for p in check(copy, published=published).problems)
    # removing SHA256SUMS (and the descriptor's mention of it), or the index, does not escape either
    (folder / SUMS).unlink()
    _edit_json(folder / "datapackage.json", checksums=None)
    assert any(f"{SUMS}: missing, but {INDEX} recorded one" in p for p in check(folder).problems)
    (demo_copy.releases / INDEX).unlink()
    write_checksums(folder)
    assert any(f"{INDEX}: missing" in p for p in check(folder).problems)


def test_a_release_written_before_sha256sums_still_verifies_with_a_note(demo_run, tmp_path):
    home, _ = demo_run
    old = tmp_path / "1.0.0"  # as releases were written before SHA256SUMS and the release index
    shutil.copytree((home.releases / "latest").resolve(), old)
    (old / SUMS).unlink()
    _edit_json(old / "datapackage.json", checksums=None)
    v = check(old)
    assert v.ok and v.sums_sha256 is None
    assert v.notes == [
        "written before releases had SHA256SUMS: the files the descriptor lists are checked, "
        "but datapackage.json and README.md themselves are covered by no checksum"
    ]
    (old / "data" / "portals.csv").write_text("portal_id\n")  # what it checked before, it still checks
    assert any(p.startswith("data/portals.csv: ") and "the descriptor says" in p for p in check(old).problems)
    # a descriptor that says there is a SHA256SUMS, without one
    shutil.copy2((home.releases / "latest").resolve() / "datapackage.json", old / "datapackage.json")
    assert f"{SUMS}: missing (the descriptor says the release has one)" in check(old).problems


def test_reproduce_rebuilds_the_same_data_files_from_the_snapshots(demo_copy):
    result = cli("reproduce", "1.0.0", home=demo_copy.root)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "identical: every data file (CSV and Parquet) has the same sha256" in result.stdout


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
