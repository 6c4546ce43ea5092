import pytest

from portal_index.core.problems import InputRejected
from portal_index.parse.papi import parse


def test_tidy_csv_with_names_in_any_spelling_codes_and_d8(tmp_path):
    path = tmp_path / "papi.csv"
    path.write_text(
        'province,year,dimension,score\nThái Nguyên,2018,8,3.76\nTHAI NGUYEN,2019,D8,"4,13"\n'
        "19,2020,d8,3.46\nHCM,2020,8,3.1\n",
        encoding="utf-8",
    )
    rows = parse(path)["papi_scores"]
    assert [(r["province_code"], r["year"], r["dimension"], r["score"]) for r in rows] == [
        ("19", 2018, 8, 3.76),
        ("19", 2019, 8, 4.13),
        ("19", 2020, 8, 3.46),
        ("79", 2020, 8, 3.1),
    ]


def test_rejections_name_the_row_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "province,year,dimension,score\nAtlantis,2020,8,3\nHà Nội,20x0,D9,11\nHà Nội,2020,8,3\nHa Noi,2020,8,4\n",
        encoding="utf-8",
    )
    with pytest.raises(InputRejected) as err:
        parse(path)
    got = [(p.row, p.column) for p in err.value.problems]
    assert got == [(2, "province"), (3, "year"), (3, "dimension"), (3, "score"), (5, "province")]
    assert "one row per province, year and dimension (row 4 has the same)" in str(err.value.problems[-1])


def test_missing_columns(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("tinh,nam,diem\n", encoding="utf-8")
    with pytest.raises(InputRejected) as err:
        parse(path)
    assert [p.column for p in err.value.problems] == ["province", "year", "dimension", "score"]
