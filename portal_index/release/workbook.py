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
XlsxWriter row by row to a scratch file (half a million rows at national scale), then zipped again
with fixed timestamps inside, so the same data gives the same bytes.
"""

from __future__ import annotations

import csv
import tempfile
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import duckdb

from portal_index.config import SEEDS_DIR
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
    """One worksheet: header, typed cells, frozen header row, filters, fitted widths."""

    def __init__(self, wb, name: str, titles: list[str], kinds: list[str], formats: dict):
        self.ws, self.kinds, self.formats = wb.add_worksheet(name[:31]), kinds, formats
        self.widths = [min(MAX_WIDTH, max(8, len(t) + 2)) for t in titles]
        self.ws.write_row(0, 0, titles, formats["header"])
        self.rows = 0

    def write(self, values: list) -> None:
        self.rows += 1
        for c, (value, kind) in enumerate(zip(values, self.kinds)):
            if value is None or value == "":
                continue  # an empty cell stays empty
            if kind == "integer":
                self.ws.write_number(self.rows, c, int(value))
            elif kind == "number":
                self.ws.write_number(self.rows, c, float(value))
            elif kind == "score":  # a published total: a number, shown with its 2 decimals
                self.ws.write_number(self.rows, c, float(value), self.formats["score"])
            elif kind == "boolean":
                self.ws.write_boolean(self.rows, c, value in (True, "true"))
            elif kind == "date":
                self.ws.write_datetime(
                    self.rows, c, datetime.combine(date.fromisoformat(value), datetime.min.time()), self.formats["date"]
                )
            else:
                self.ws.write_string(self.rows, c, str(value))
            if self.rows <= 500:  # widths from the first rows
                self.widths[c] = min(MAX_WIDTH, max(self.widths[c], len(str(value)) + 2))

    def close(self) -> None:
        for c, width in enumerate(self.widths):
            self.ws.set_column(c, c, width)
        self.ws.freeze_panes(1, 0)
        self.ws.autofilter(0, 0, max(self.rows, 1), len(self.widths) - 1)


def write_workbook(
    path: Path, data_dir: Path, tables: list[str], docs: dict[str, dict], methodology_version: str
) -> None:
    """`Tổng hợp` first (under the current `methodology_version`), then one sheet per table with
    every version's rows (see the module's docstring)."""
    import xlsxwriter

    labels = value_labels()
    with tempfile.TemporaryDirectory() as scratch:
        draft = Path(scratch) / "draft.xlsx"
        wb = xlsxwriter.Workbook(
            str(draft),
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
        summary = _Sheet(wb, SUMMARY_SHEET, [t for t, _ in SUMMARY_COLUMNS], [k for _, k in SUMMARY_COLUMNS], formats)
        for row in summary_rows(data_dir, labels, methodology_version):
            summary.write(row)
        summary.close()
        for table in tables:
            meta = docs[table]
            titles = {c["name"]: c["config"]["meta"].get("title", c["name"]) for c in meta["columns"]}
            types = {f["name"]: f["type"] for f in meta["_schema"]["fields"]}
            with open(data_dir / f"{table}.csv", encoding="utf-8", newline="") as f:
                reader = csv.reader(f)
                columns = next(reader)
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
                for row in reader:
                    sheet.write([row[i] if names is None else names.get(row[i], row[i]) for i, names in plan])
                sheet.close()
        wb.close()
        rezip_deterministic(draft.read_bytes(), path)
