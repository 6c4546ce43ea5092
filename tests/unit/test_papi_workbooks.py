"""PAPI's official workbooks in each layout, and what is rejected."""

import pytest
from papi_workbooks import PROVINCES, long_workbook, score, wide_workbook

from portal_index.core.problems import InputRejected
from portal_index.parse.papi import parse


def by_key(rows):
    return {(r["province_code"], r["year"], r["dimension"]): r for r in rows}


def test_2018_layout_chi_so_noi_dung_labels_plain_rows(tmp_path):
    path = wide_workbook(tmp_path / "PAPI2018_ProvincialScores_ByIndicators_VIE.xlsx", {2018: {}})
    rows = parse(path)["papi_scores"]
    assert len(rows) == 63 * 8  # sub-dimension and indicator rows are not dimensions
    got = by_key(rows)
    for code, _ in PROVINCES:
        assert got[(code, 2018, 8)]["score"] == score(code, 8, 2018)
    assert {r["source_year"] for r in rows} == {2018} and {r["variant"] for r in rows} == {"plain"}


def test_2020_layout_dimension_labels_with_variants_reads_the_unweighted_row(tmp_path):
    path = wide_workbook(
        tmp_path / "2020PAPI_ProvincialIndicators_EN.xlsx", {2020: {"label": "Dimension", "variants": True}}
    )
    unweighted = by_key(parse(path)["papi_scores"])
    weighted = by_key(parse(path, variant="weighted")["papi_scores"])
    assert len(unweighted) == 63 * 8
    assert unweighted[("19", 2020, 8)]["score"] == score("19", 8, 2020)
    assert weighted[("19", 2020, 8)]["score"] == pytest.approx(score("19", 8, 2020) + 0.05)
    assert unweighted[("19", 2020, 8)]["variant"] == "unweighted"


def test_2024_workbook_with_metadata_rows_separator_columns_and_inconsistent_headers(tmp_path):
    path = wide_workbook(
        tmp_path / "2024PAPI_ProvincialIndicators_34_TinhThanh.xlsx",
        {2024: {"variants": True, "metadata_rows": True, "separators": True}},
    )
    rows = parse(path)["papi_scores"]
    got = by_key(rows)
    assert len(rows) == 63 * 8 and len({r["province_code"] for r in rows}) == 63  # still by the 63 old provinces
    for code, _ in PROVINCES:
        assert got[(code, 2024, 8)]["score"] == score(code, 8, 2024)
    assert got[("15", 2024, 8)]["row_number"] > 5  # below the four metadata rows and the header


def test_a_newer_workbook_repeating_old_years_gives_rows_for_each_year_with_its_source_year(tmp_path):
    path = wide_workbook(
        tmp_path / "2021PAPI_ProvincialIndicators.xlsx", {2020: {"label": "Dimension"}, 2021: {"label": "Dimension"}}
    )
    rows = parse(path)["papi_scores"]
    assert {(r["year"], r["source_year"]) for r in rows} == {(2020, 2021), (2021, 2021)}


def test_2011_to_2017_layout_one_row_per_province_without_dimension_8(tmp_path):
    rows = parse(long_workbook(tmp_path / "PAPI2015_ProvincialScores.xlsx", 2015))["papi_scores"]
    assert len(rows) == 63 * 6 and {r["dimension"] for r in rows} == set(range(1, 7))
    assert by_key(rows)[("01", 2015, 6)]["score"] == score("01", 6, 2015)


def test_a_missing_or_misspelt_province_column_is_rejected(tmp_path):
    path = wide_workbook(tmp_path / "2022PAPI.xlsx", {2022: {"header_override": {"01": "Ha Noii"}}})
    with pytest.raises(InputRejected) as err:
        parse(path)
    [problem] = err.value.problems
    assert str(problem) == (
        "2022PAPI.xlsx, sheet '2022_VIE_ENG', row 1: got \"C='Ha Noii'\", "
        "expected a column for each of the 63 provinces; missing 01"
    )


def test_only_weighted_rows_when_unweighted_is_asked_for(tmp_path):
    path = wide_workbook(tmp_path / "2023PAPI.xlsx", {2023: {"variants": True, "dimensions": [8]}})
    with pytest.raises(InputRejected) as err:
        parse(path, variant="standard-error")
    assert "expected the standard-error row for dimension 8" in str(err.value.problems[0])


def test_a_workbook_that_is_not_papi(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["a", "b"])
    wb.save(tmp_path / "x.xlsx")
    with pytest.raises(InputRejected, match="a PAPI provincial indicators sheet"):
        parse(tmp_path / "x.xlsx")
