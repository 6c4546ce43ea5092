"""The release workbook's fast sheet writer writes the bytes XlsxWriter itself writes cell by cell."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import pytest
import xlsxwriter

from portal_index.release.workbook import MAX_WIDTH, WorkbookFailed, _Sheet, new_workbook, written_aside


class _ReferenceSheet:
    """The workbook's sheet as it was written before: one XlsxWriter call per cell."""

    def __init__(self, wb, name, titles, kinds, formats):
        self.ws, self.kinds, self.formats = wb.add_worksheet(name[:31]), kinds, formats
        self.widths = [min(MAX_WIDTH, max(8, len(t) + 2)) for t in titles]
        self.ws.write_row(0, 0, titles, formats["header"])
        self.rows = 0

    def write(self, values):
        self.rows += 1
        for c, (value, kind) in enumerate(zip(values, self.kinds)):
            if value is None or value == "":
                continue
            if kind == "integer":
                self.ws.write_number(self.rows, c, int(value))
            elif kind == "number":
                self.ws.write_number(self.rows, c, float(value))
            elif kind == "score":
                self.ws.write_number(self.rows, c, float(value), self.formats["score"])
            elif kind == "boolean":
                self.ws.write_boolean(self.rows, c, value in (True, "true"))
            elif kind == "date":
                self.ws.write_datetime(
                    self.rows, c, datetime.combine(date.fromisoformat(value), datetime.min.time()), self.formats["date"]
                )
            else:
                self.ws.write_string(self.rows, c, str(value))
            if self.rows <= 500:
                self.widths[c] = min(MAX_WIDTH, max(self.widths[c], len(str(value)) + 2))

    def write_rows(self, rows):
        for row in rows:
            self.write(row)

    def close(self):
        for c, width in enumerate(self.widths):
            self.ws.set_column(c, c, width)
        self.ws.freeze_panes(1, 0)
        self.ws.autofilter(0, 0, max(self.rows, 1), len(self.widths) - 1)


NASTY = [
    "'=1+1",
    'a & b < c > d "q"',
    " leading space",
    "trailing space ",
    "tab\there",
    "bell\x07and\x00nul",
    "_x0041_ literal escape",
    "Cổng thông tin điện tử tỉnh Hà Giang — 𝔘nicode",
    "line\nbreak",
    "x" * 40_000,
    "0123",
    "true",
    "1e5",
]


def _sheets():
    """(name, titles, kinds, rows): every kind of cell, empty cells and rows, repeated and distinct values."""
    kinds = ["string", "integer", "number", "score", "boolean", "date", "string"]
    rows = []
    for i in range(1_203):
        rows.append(
            [
                f"p{i % 37:04d}",
                str(i * 7919 % 1000) if i % 11 else "",
                repr(i / 7) if i % 5 else "-0.5",
                f"{(i % 1000) / 10:.2f}" if i % 13 else "",
                ("true", "false", "")[i % 3],
                f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 4 else "",
                NASTY[i % len(NASTY)],
            ]
        )
    rows.insert(700, ["", "", "", "", "", "", ""])  # a row with no cell at all
    rows.append(["", "", "", "", "", "", ""])  # and as the last row
    summary = [
        [f"p{i}", 1.5 * i, i, None, "Có" if i % 2 else None, 12345678901234567 if i == 3 else i] for i in range(30)
    ]
    return [
        (
            "Tổng hợp",
            ["Mã", "Tổng", "Hạng", "Trống", "Có/Không", "Lớn"],
            ["string", "score", "integer", "number", "string", "integer"],
            summary,
        ),
        ("dates_first", ["d", "s"], ["date", "score"], [["2026-01-02", "1.00"], ["", "2.5"]]),
        ("empty_table", ["a", "b"], ["string", "number"], []),
        ("indicator_values", [f"cột {k}" for k in range(len(kinds))], kinds, rows),
    ]


def _write(path: Path, sheet_class, chunk: int | None = None) -> None:
    wb, formats = new_workbook(path, str(path.parent))
    for name, titles, kinds, rows in _sheets():
        sheet = sheet_class(wb, name, titles, kinds, formats)
        if chunk:
            sheet.CHUNK = chunk
        sheet.write_rows(rows)
        sheet.close()
    wb.close()


@pytest.mark.parametrize("chunk", [None, 1, 97])
def test_fast_sheet_writes_xlsxwriters_own_bytes(tmp_path, chunk):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    _write(tmp_path / "a" / "reference.xlsx", _ReferenceSheet)
    _write(tmp_path / "b" / "fast.xlsx", _Sheet, chunk)
    ref, fast = zipfile.ZipFile(tmp_path / "a" / "reference.xlsx"), zipfile.ZipFile(tmp_path / "b" / "fast.xlsx")
    assert ref.namelist() == fast.namelist()
    for name in ref.namelist():
        assert ref.read(name) == fast.read(name), name


def test_nan_is_refused_as_before(tmp_path):
    for sheet_class in (_ReferenceSheet, _Sheet):
        wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True, "tmpdir": str(tmp_path)})
        formats = {"header": wb.add_format({}), "score": wb.add_format({}), "date": wb.add_format({})}
        sheet = sheet_class(wb, "s", ["n"], ["number"], formats)
        with pytest.raises(TypeError):
            sheet.write_rows([["nan"]])
        wb.close()


def test_a_string_that_looks_like_rich_text_is_written_as_text(tmp_path):
    """XlsxWriter's constant-memory path writes a string `<r>…</r>` into the sheet unescaped; words
    from a crawled page must not add cells to the published workbook or break it."""
    import openpyxl

    attack = '<r><t>x</t></r></is></c><c r="Z9" t="inlineStr"><is><t>injected</t></is></c><c><is><r>y</r>'
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"), {"constant_memory": True, "tmpdir": str(tmp_path)})
    formats = {"header": wb.add_format({}), "score": wb.add_format({}), "date": wb.add_format({})}
    sheet = _Sheet(wb, "s", ["evidence"], ["string"], formats)
    sheet.write_rows([[attack], ["<r>rich-looking</r>"]])
    sheet.close()
    wb.close()
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx", read_only=True)["s"]
    cells = [(c.coordinate, c.value) for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells == [("A1", "evidence"), ("A2", attack), ("A3", "<r>rich-looking</r>")]


def test_a_workbook_written_aside_that_fails_says_why_and_leaves_no_file(tmp_path):
    """Publishing writes the workbook in a process of its own (`written_aside`): its failure
    reaches the publisher with the error it ended on, and stops the release."""
    target = tmp_path / "portal-index.xlsx"
    with pytest.raises(WorkbookFailed, match=r"portal-index.xlsx was not written: .*IOException.*portal_scores.csv"):
        with written_aside(target, tmp_path / "no-data", ["portals"], {}, "1"):
            pass
    assert not target.exists()
