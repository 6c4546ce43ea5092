"""The Excel workbook of a release, for people who open the data in Excel or LibreOffice.

Its first sheet, `Tổng hợp`, is one row per portal for the latest period: the portal's name, its
province or ministry by name, its kind and owner type in Vietnamese, total, grade, rank among its
peers, the grade of its previous period and the change of its total, and whether it could be fully
measured (else why not). Then one sheet per published table, Vietnamese column titles, with a
Vietnamese label column beside every coded column (`kind`, `grade`, `status_reason`, ...; the codes
stay in their own column for machines; labels from the seeds `value_labels` and `status_reasons`).
Every sheet has its header row frozen, filters on it, and widths that fit; numbers are numbers and
dates are dates.

Everything is read from the release's own CSV files, so the workbook can be written again from a
release folder (`tests/integration/test_releases.py` does, and gets the same bytes). Written by
XlsxWriter (its constant-memory row file, a block of rows at a time; see `_Sheet`) to a scratch file
(half a million rows at national scale), then zipped again
with fixed timestamps inside, so the same data gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import pickle
import subprocess
import sys
import tempfile
import traceback
import zipfile
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime
from itertools import islice
from math import isinf, isnan
from pathlib import Path

import duckdb
from xlsxwriter.utility import _preserve_whitespace, _utf16_len, _utf16_truncate, xl_col_to_name
from xlsxwriter.worksheet import CellBooleanTuple, CellDatetimeTuple

from portal_index.config import SEEDS_DIR
from portal_index.core.child import exit_with_parent
from portal_index.release.files import rezip_deterministic

SUMMARY_SHEET = "Tổng hợp"
LABEL_SUFFIX = " (nhãn)"
MAX_WIDTH = 60


def bilingual_labels(field: str, seeds: Path = SEEDS_DIR) -> dict[str, tuple[str, str]]:
    """{code: (Vietnamese, English label)} of one published column, from the seed value_labels."""
    with open(seeds / "methodology" / "value_labels.csv", encoding="utf-8", newline="") as f:
        return {row["value"]: (row["label_vi"], row["label_en"]) for row in csv.DictReader(f) if row["field"] == field}


def value_labels(seeds: Path = SEEDS_DIR) -> dict[str, dict[str, str]]:
    """{published column: {code: Vietnamese label}}."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    with open(seeds / "methodology" / "value_labels.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            labels[row["field"]][row["value"]] = row["label_vi"]
    with open(seeds / "methodology" / "status_reasons.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row["error_class"] == row["status_reason"]:  # a reason's own row holds its labels
                labels["status_reason"][row["status_reason"]] = row["name_vi"]
    with open(seeds / "methodology" / "vantages.csv", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):  # the vantage points' names are their seed's
            labels["vantage"][row["vantage"]] = row["name_vi"]
    return dict(labels)


# columns holding the codes of another field: labelled with that field's labels
LABELLED_AS = {"previous_grade": "grade"}

SUMMARY_COLUMNS = [  # (title, kind of cell)
    ("Mã cổng", "string"),
    ("Tên cổng", "string"),
    ("Tỉnh / Bộ chủ quản", "string"),
    ("Loại cổng", "string"),
    ("Cấp chủ quản", "string"),
    ("Kỳ đánh giá", "string"),
    ("Tổng điểm", "score"),
    ("Xếp loại", "string"),
    ("Hạng trong nhóm", "integer"),
    ("Số cổng được xếp hạng trong nhóm", "integer"),
    ("Xếp loại kỳ trước", "string"),
    ("Thay đổi tổng điểm so với kỳ trước", "score"),
    ("Trạng thái đo", "string"),
    ("Cận dưới khoảng tổng điểm", "score"),
    ("Cận trên khoảng tổng điểm", "score"),
    ("Xếp loại có thể khác", "string"),
]

_SUMMARY_SQL = """
with all_versions as (
    select * from read_csv('{data}/portal_scores.csv', header = true, all_varchar = true)
),
scores as (  -- the rows of one methodology version: like is compared with like
    select *, lag(grade) over (partition by portal_id order by period) as previous_grade
    from all_versions
    where methodology_version = ?
)
select s.portal_id, p.name_vi, coalesce(pr.name_vi, m.name_vi), s.kind, s.owner_type, s.period,
       try_cast(s.total as double), s.grade, try_cast(s.rank as integer), try_cast(s.peers_ranked as integer),
       s.previous_grade, try_cast(s.change_since_previous as double), s.status_reason,
       try_cast(s.total_low as double), try_cast(s.total_high as double), s.grade_uncertain
from scores as s
left join read_csv('{data}/portals.csv', header = true, all_varchar = true) as p using (portal_id)
left join read_csv('{data}/provinces.csv', header = true, all_varchar = true) as pr
    on pr.province_id = s.owner_province_id
left join read_csv('{data}/ministries.csv', header = true, all_varchar = true) as m
    on m.ministry_code = s.ministry_code
where s.period = (select max(period) from scores)
order by s.peer_group, try_cast(s.rank as integer) nulls last, s.portal_id
"""


def summary_rows(data_dir: Path, labels: dict[str, dict[str, str]], methodology_version: str) -> list[list]:
    """The rows of `Tổng hợp` for the latest period under `methodology_version` (the release's
    current version), codes turned into their Vietnamese labels."""
    with duckdb.connect() as con:
        rows = con.execute(_SUMMARY_SQL.format(data=data_dir.as_posix()), [methodology_version]).fetchall()
    grade, reason = labels.get("grade", {}), labels.get("status_reason", {})
    out = []
    uncertain = {"true": "Có", "false": "Không"}
    for pid, name, owner, kind, owner_type, period, total, g, rank, peers, previous, change, why, *sure in rows:
        status = f"Không đủ dữ liệu: {reason.get(why, why)}" if why else "Đủ dữ liệu"
        out.append(
            [
                pid,
                name,
                owner,
                labels.get("kind", {}).get(kind, kind),
                labels.get("owner_type", {}).get(owner_type, owner_type),
                period,
                total,
                grade.get(g, g),
                rank,
                peers,
                grade.get(previous, previous) if previous else None,
                change,
                status,
                sure[0],
                sure[1],
                uncertain.get(sure[2]),
            ]
        )
    return out


class _Sheet:
    """One worksheet: header, typed cells, frozen header row, filters, fitted widths.

    The cells are XlsxWriter's own bytes, written faster: XlsxWriter builds each cell's XML with a
    few Python calls per cell (about 6 microseconds; 7 million cells at national scale). Here each
    distinct value of a column is turned into its XML once, by XlsxWriter's own cell writer
    (`_write_cell`) or, for numbers, by the same `.16G` formatting, and a chunk of rows is then
    joined from those pieces and appended to the sheet's constant-memory row file, exactly where and
    as XlsxWriter would have written it (tests/unit/test_workbook.py compares the bytes)."""

    CHUNK = 20_000

    def __init__(self, wb, name: str, titles: list[str], kinds: list[str], formats: dict):
        self.ws, self.kinds, self.formats = wb.add_worksheet(name[:31]), kinds, formats
        self.widths = [min(MAX_WIDTH, max(8, len(t) + 2)) for t in titles]
        self.ws.write_row(0, 0, titles, formats["header"])
        self.rows = 0
        self.last_row = 0  # the last row holding a cell (the sheet's dimension)
        self.letters = [xl_col_to_name(c) for c in range(len(kinds))]
        self.caches: list[dict] = [{} for _ in kinds]
        self.flushed = False

    def write(self, values: list) -> None:
        self.write_rows([values])

    def write_rows(self, rows) -> None:
        """Write rows (lists of values, one per column) below the ones written so far."""
        rows = iter(rows)
        while chunk := list(islice(rows, self.CHUNK)):
            self.write_columns(list(zip(*chunk)))

    def write_columns(self, columns: list) -> None:
        """Write a block of rows given as columns (sequences of values of the same length)."""
        ws, first = self.ws, self.rows + 1  # the sheet row of the block's first row (0 is the header)
        if not columns or not len(columns[0]):
            return
        if not self.flushed:  # the header row goes out as XlsxWriter writes it, before our rows
            ws._write_single_row(1)
            self.flushed = True
        if first <= 500:  # widths from the first rows
            for c, column in enumerate(columns):
                for value in column[: 501 - first]:
                    if value is not None and value != "":
                        self.widths[c] = min(MAX_WIDTH, max(self.widths[c], len(str(value)) + 2))
        self._index_formats(columns)
        pieces = [self._pieces(c, column) for c, column in enumerate(columns)]
        out = []
        letters = self.letters
        for r, tails in enumerate(zip(*pieces), start=first + 1):  # XML rows count from 1
            cells = "".join([f'<c r="{letter}{r}"{tail}' for letter, tail in zip(letters, tails) if tail])
            if cells:
                out.append(f'<row r="{r}">{cells}</row>')
                self.last_row = r - 1
        ws.row_data_fh.write("".join(out))
        self.rows += len(columns[0])
        ws._check_dimensions(self.last_row, 0)
        ws.previous_row = self.rows + 1

    def _index_formats(self, columns: list) -> None:
        """XlsxWriter numbers a cell format when a cell first uses it, row by row: the same order here."""
        first_use = []
        for c, (kind, column) in enumerate(zip(self.kinds, columns)):
            fmt = self.formats.get(kind)
            if fmt is not None and fmt.xf_index is None:
                for r, value in enumerate(column):
                    if value is not None and value != "":
                        first_use.append((r, c, fmt))
                        break
        for _, _, fmt in sorted(first_use, key=lambda x: x[:2]):
            fmt._get_xf_index()

    def _pieces(self, c: int, column: tuple) -> list:
        """Each cell's XML after `<c r="A1"`, or None for an empty cell."""
        cache, kind = self.caches[c], self.kinds[c]
        if len(cache) > 200_000:
            cache.clear()
        for value in set(column).difference(cache):
            cache[value] = self._piece(kind, value)
        return list(map(cache.__getitem__, column))

    def _piece(self, kind: str, value) -> str | None:
        if value is None or value == "":
            return None  # an empty cell stays empty
        if kind in ("integer", "number", "score"):
            number = int(value) if kind == "integer" else float(value)
            if isnan(number) or isinf(number):
                raise TypeError("NAN/INF not supported in write_number() without 'nan_inf_to_errors' Workbook() option")
            style = f' s="{self.formats["score"]._get_xf_index()}"' if kind == "score" else ""
            return f"{style}><v>{number:.16G}</v></c>"
        if kind == "boolean":
            cell = CellBooleanTuple(1 if value in (True, "true") else 0, None)
        elif kind == "date":
            dt = datetime.combine(date.fromisoformat(value), datetime.min.time())
            cell = CellDatetimeTuple(self.ws._convert_date_time(dt), self.formats["date"])
        else:
            string = str(value)
            if len(string) > self.ws.xls_strmax // 2 and _utf16_len(string) > self.ws.xls_strmax:
                string = _utf16_truncate(string, self.ws.xls_strmax)
            if string.startswith("<r>") and string.endswith("</r>"):
                return _literal_string_xml(self.ws, string)
            return _inline_string_xml(self.ws, string)
        return _cell_xml(self.ws, cell)

    def close(self) -> None:
        for c, width in enumerate(self.widths):
            self.ws.set_column(c, c, width)
        self.ws.freeze_panes(1, 0)
        self.ws.autofilter(0, 0, max(self.rows, 1), len(self.widths) - 1)


def _cell_xml(ws, cell) -> str:
    """XlsxWriter's XML of one cell, less its leading `<c r="A1"`."""
    fh, ws.fh = ws.fh, io.StringIO()
    try:
        ws._write_cell(0, 0, cell)
        return ws.fh.getvalue()[len('<c r="A1"') :]
    finally:
        ws.fh = fh


def _inline_string_xml(ws, string: str) -> str:
    """What `_cell_xml` gives for a string cell without a format, without its writer's per-cell
    detour (a scratch file, the cell's reference and attributes): XlsxWriter's own escapes, in its
    order (control characters, then whitespace kept, then XML's three)."""
    string = ws._escape_control_characters(string)
    preserve = ' xml:space="preserve"' if _preserve_whitespace(string) else ""
    return f' t="inlineStr"><is><t{preserve}>{ws._escape_data(string)}</t></is></c>'


def _literal_string_xml(ws, string: str) -> str:
    """A string that looks like rich text (`<r>…</r>`), written as the text it is: XlsxWriter's
    constant-memory path puts such a string into the sheet's XML unescaped, so words from a crawled
    page could add cells to the published workbook or break it."""
    fh, ws.fh = ws.fh, io.StringIO()
    try:
        string = ws._escape_control_characters(string)
        ws._xml_inline_string(string, _preserve_whitespace(string), [("r", "A1")])
        return ws.fh.getvalue()[len('<c r="A1"') :]
    finally:
        ws.fh = fh


def new_workbook(path: Path, scratch: str):
    """An XlsxWriter workbook as the release writes it (constant memory, values never read as
    numbers, formulas or links, a fixed creation time) and its cell formats."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "tmpdir": scratch,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    wb.set_properties({"created": datetime(2000, 1, 1)})
    formats = {
        "header": wb.add_format({"bold": True, "text_wrap": True}),
        "date": wb.add_format({"num_format": "dd/mm/yyyy"}),
        "score": wb.add_format({"num_format": "0.00"}),
    }
    return wb, formats


def write_workbook(
    path: Path, data_dir: Path, tables: list[str], docs: dict[str, dict], methodology_version: str
) -> None:
    """`Tổng hợp` first (under the current `methodology_version`), then one sheet per table with
    every version's rows (see the module's docstring)."""

    labels = value_labels()
    # scratch beside the workbook (in a release's staging folder, removed with it if publishing stops)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".workbook-") as scratch:
        draft = Path(scratch) / "draft.xlsx"
        wb, formats = new_workbook(draft, scratch)
        summary = _Sheet(wb, SUMMARY_SHEET, [t for t, _ in SUMMARY_COLUMNS], [k for _, k in SUMMARY_COLUMNS], formats)
        summary.write_rows(summary_rows(data_dir, labels, methodology_version))
        summary.close()
        for table in tables:
            meta = docs[table]
            titles = {c["name"]: c["config"]["meta"].get("title", c["name"]) for c in meta["columns"]}
            types = {f["name"]: f["type"] for f in meta["_schema"]["fields"]}
            csv_path = data_dir / f"{table}.csv"
            with open(csv_path, encoding="utf-8", newline="") as f:
                columns = next(csv.reader(f))
            headers, kinds, plan = [], [], []  # plan: (csv column, labels or None)
            for i, name in enumerate(columns):
                headers.append(titles.get(name, name))
                kinds.append(types.get(name, "string"))
                plan.append((i, None))
                coded = LABELLED_AS.get(name, name)
                if coded in labels:
                    headers.append(titles.get(name, name) + LABEL_SUFFIX)
                    kinds.append("string")
                    plan.append((i, labels[coded]))
            sheet = _Sheet(wb, table, headers, kinds, formats)
            data = _read_text_columns(csv_path, columns)
            for start in range(0, data.num_rows, sheet.CHUNK):
                block = [c.to_pylist() for c in data.slice(start, sheet.CHUNK).columns]
                sheet.write_columns(
                    [block[i] if names is None else list(map(names.get, block[i], block[i])) for i, names in plan]
                )
            sheet.close()
        with _stored_draft():
            wb.close()
        rezip_deterministic(draft.read_bytes(), path)


def _read_text_columns(path: Path, columns: list[str]):
    """A release CSV as columns of text, every cell as written (an empty cell is ''), read by Arrow
    instead of row by row (the same values as `csv.reader`: RFC 4180 quoting, newlines inside quotes)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


@contextmanager
def written_aside(path: Path, data_dir: Path, tables: list[str], docs: dict[str, dict], methodology_version: str):
    """`write_workbook` in a process of its own while the block runs; waits for it when the block
    ends and raises `WorkbookFailed` if it failed. The workbook is CPU-bound Python (about as long
    as the rest of publishing together at national scale; docs/performance.md), so on a machine of
    two or more cores the rest of the release is written beside it. The process reads its
    arguments, pickled, from its stdin, which stays open: it exits when its parent dies."""
    with tempfile.TemporaryFile() as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "portal_index.release.workbook"], stdin=subprocess.PIPE, stderr=stderr
        )  # -P: this installation's modules, never ones in the current folder
        try:
            try:
                proc.stdin.write(pickle.dumps((path, data_dir, tables, docs, methodology_version)))
                proc.stdin.flush()
            except BrokenPipeError:  # it ended before reading them: its stderr says why, below
                pass
            yield
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdin.close()
        if code != 0:
            stderr.seek(0)
            said = [
                line.removeprefix(_FAILED)
                for line in stderr.read().decode("utf-8", "replace").splitlines()
                if line.startswith(_FAILED)
            ]
            raise WorkbookFailed(f"the workbook {path.name} was not written: {(said or [f'exit status {code}'])[-1]}")


class WorkbookFailed(RuntimeError):
    pass


_FAILED = "workbook failed: "  # the line that says why, last on the process's stderr


def main() -> int:
    args = pickle.load(sys.stdin.buffer)
    exit_with_parent(1)
    try:
        write_workbook(*args)
    except Exception as e:
        traceback.print_exc()
        print(f"{_FAILED}{type(e).__name__}: {' '.join(str(e).split())[:1000]}", file=sys.stderr)
        return 1
    return 0


@contextmanager
def _stored_draft():
    """XlsxWriter's draft zipped without compression: `rezip_deterministic` compresses every part
    again anyway (the same bytes as from a compressed draft), so the draft's deflate was wasted work,
    a third of the workbook's time."""
    import xlsxwriter.workbook

    xlsxwriter.workbook.ZIP_DEFLATED = zipfile.ZIP_STORED
    try:
        yield
    finally:
        xlsxwriter.workbook.ZIP_DEFLATED = zipfile.ZIP_DEFLATED


if __name__ == "__main__":
    sys.exit(main())
