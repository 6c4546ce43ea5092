"""The release workbook opened in a real LibreOffice Calc (Debian's libreoffice-calc, headless).

The workbook is written by `portal_index.release.workbook.write_workbook` from a small release data
folder built here from the registry seeds (every portal of two periods, every grade and reason),
with a second sheet behind `Tổng hợp`. LibreOffice converts it to CSV, which holds the first sheet
only; the CSV must read back with the Vietnamese header, the registry's Vietnamese names, the
Vietnamese labels of the seed `value_labels`, numbers as numbers and one row per portal.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from portal_index.config import SEEDS_DIR
from portal_index.core.registry import active_portals
from portal_index.release.workbook import SUMMARY_COLUMNS, write_workbook

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [
    pytest.mark.slow,  # a real office suite, like the browser tests
    pytest.mark.skipif(
        SOFFICE is None,
        reason="LibreOffice is not installed: no soffice on PATH (.ci/run and `make libreoffice` install "
        "Debian's libreoffice-calc)",
    ),
]

# LibreOffice's CSV filter options (help.libreoffice.org, "CSV Filter Options"): 44 comma, 34 double
# quote, 76 UTF-8; token 7 `true` quotes every text cell, so a cell left unquoted is a number (or
# empty); token 9 `true` writes cells as shown (with `false`, LibreOffice 7.4 quotes numbers too).
# No token 12 (sheet to export, LibreOffice 7.2+): the first sheet, even when another is active.
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,true,false,true"
PERIODS = ("2025-H2", "2026-H1")  # the latest is the summary's; both on the 34-province map


def read_seed(*parts: str) -> list[dict]:
    with open(SEEDS_DIR.joinpath(*parts), encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def small_release(data: Path, grades: list[str], reasons: list[str]) -> list[dict]:
    """The published CSV files the workbook reads (portal_scores, portals, provinces, ministries):
    the registry's portals of PERIODS with synthetic scores (grades in 12-point steps of the total,
    not the methodology's bands; every seventh portal insufficient_data with a reason, half of them
    without a total). Returns the latest period's scores."""
    data.mkdir()
    graded = [g for g in grades if g != "insufficient_data"]
    scores = []
    for period in PERIODS:
        for i, p in enumerate(sorted(active_portals(period), key=lambda p: p["portal_id"])):
            insufficient = i % 7 == 3
            spread = (i * 1379 + PERIODS.index(period) * 611) % 7001  # 0..7000, so totals 30.00..100.00
            total = None if insufficient and i % 2 else round(30 + spread / 100, 2)
            scores.append(
                {
                    "methodology_version": "1",
                    "portal_id": p["portal_id"],
                    "period": period,
                    "kind": p["kind"],
                    "owner_type": p["owner_type"],
                    "peer_group": f"{p['kind']}/{p['owner_type']}",
                    "owner_province_id": f"34-{p['province_code_34']}" if p["owner_type"] == "province" else "",
                    "ministry_code": p["ministry_code"],
                    "total": "" if total is None else f"{total:.2f}",
                    "grade": "insufficient_data" if insufficient else graded[min(4, int((100 - total) // 12))],
                    "status_reason": reasons[i // 7 % len(reasons)] if insufficient else "",
                    "rank": "",
                    "peers_ranked": "",
                    "change_since_previous": "",
                    "total_low": "" if total is None else f"{max(0, total - 3.5):.2f}",
                    "total_high": "" if total is None else f"{min(100, total + 2.25):.2f}",
                    "grade_uncertain": "" if insufficient else ("true" if i % 3 == 0 else "false"),
                }
            )
    latest = [s for s in scores if s["period"] == PERIODS[-1]]
    for s in scores:  # competition rank by total within peer group and period
        if s["grade"] == "insufficient_data":
            continue
        peers = [
            float(o["total"])
            for o in scores
            if o["period"] == s["period"] and o["peer_group"] == s["peer_group"] and o["grade"] != "insufficient_data"
        ]
        s["rank"] = str(1 + sum(t > float(s["total"]) for t in peers))
        s["peers_ranked"] = str(len(peers))
    earlier = {s["portal_id"]: s for s in scores if s["period"] == PERIODS[0]}
    for s in latest:
        before = earlier.get(s["portal_id"])
        if before and before["total"] and s["total"]:
            s["change_since_previous"] = f"{float(s['total']) - float(before['total']):.2f}"
    # the rows of another methodology version, which the summary (of version 1) must not show
    other = [s | {"methodology_version": "2", "total": "", "grade": "insufficient_data"} for s in scores]
    write_csv(data / "portal_scores.csv", scores + other)
    write_csv(
        data / "portals.csv",
        [
            {k: p[k] for k in ("portal_id", "kind", "owner_type", "ministry_code", "name_vi", "name_en")}
            for p in read_seed("registry", "portals_registry.csv")
        ],
    )
    write_csv(
        data / "provinces.csv",
        [
            {"province_id": f"{era}-{r['province_code']}", "era": era, "name_vi": r["name_vi"], "name_en": r["name_en"]}
            for era in ("63", "34")
            for r in read_seed("registry", f"provinces_{era}.csv")
        ],
    )
    write_csv(data / "ministries.csv", read_seed("registry", "ministries_registry.csv"))
    return latest


def cells(text: str) -> list[list[tuple[str, bool]]]:
    """CSV rows as (value, quoted) pairs: with token 7, text cells are quoted and numbers are not."""
    rows, row, cell, quoted, in_quotes, i = [], [], "", False, False, 0
    while i < len(text):
        ch = text[i]
        if in_quotes:
            if ch == '"' and text[i + 1 : i + 2] == '"':
                cell, i = cell + '"', i + 1
            elif ch == '"':
                in_quotes = False
            else:
                cell += ch
        elif ch == '"':
            in_quotes = quoted = True
        elif ch == ",":
            row.append((cell, quoted))
            cell, quoted = "", False
        elif ch in "\r\n":
            i += ch == "\r" and text[i + 1 : i + 2] == "\n"
            row.append((cell, quoted))
            rows.append(row)
            row, cell, quoted = [], "", False
        else:
            cell += ch
        i += 1
    if row or cell or quoted:
        row.append((cell, quoted))
        rows.append(row)
    return rows


def libreoffice_csv(workbook: Path, tmp: Path) -> bytes:
    """`soffice --convert-to csv` with a private user profile (parallel runs do not share one) and a
    time limit; LibreOffice's whole process group is killed when it runs over."""
    out = tmp / "csv"
    command = [
        SOFFICE,
        f"-env:UserInstallation={(tmp / 'lo-profile').as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        CSV_FILTER,
        "--outdir",
        str(out),
        str(workbook),
    ]
    # Numbers shown with a decimal point whatever the desktop's locale: in vi-VN, 99.76 is shown 99,76 and
    # quoted in a comma-separated file, like text.
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("LibreOffice did not convert the workbook within 300 s") from None
    converted = out / f"{workbook.stem}.csv"
    assert proc.returncode == 0 and converted.exists(), (proc.returncode, stdout.decode(), stderr.decode())
    return converted.read_bytes()


def test_libreoffice_opens_the_summary_sheet_with_vietnamese_names_labels_and_numbers(tmp_path):
    labels: dict[str, dict[str, str]] = {}
    for r in read_seed("methodology", "value_labels.csv"):
        labels.setdefault(r["field"], {})[r["value"]] = r["label_vi"]
    reasons = {
        r["status_reason"]: r["name_vi"]
        for r in read_seed("methodology", "status_reasons.csv")
        if r["error_class"] == r["status_reason"]
    }
    names = {p["portal_id"]: p["name_vi"] for p in read_seed("registry", "portals_registry.csv")}
    owners = {f"34-{r['province_code']}": r["name_vi"] for r in read_seed("registry", "provinces_34.csv")}
    owners |= {r["ministry_code"]: r["name_vi"] for r in read_seed("registry", "ministries_registry.csv")}

    latest = small_release(tmp_path / "data", list(labels["grade"]), sorted(reasons))
    with open(tmp_path / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        previous = {
            r["portal_id"]: r["grade"]
            for r in csv.DictReader(f)
            if r["period"] == PERIODS[0] and r["methodology_version"] == "1"
        }
    workbook = tmp_path / "portal-index.xlsx"
    second = {"columns": [], "_schema": {"fields": []}}  # a sheet behind the summary, that the CSV must not hold
    write_workbook(workbook, tmp_path / "data", ["portals"], {"portals": second}, methodology_version="1")

    raw = libreoffice_csv(workbook, tmp_path)
    text = raw.decode("utf-8")  # strict: the CSV is UTF-8 as asked (76), no byte lost or replaced
    assert not text.startswith("\ufeff")
    header, *rows = cells(text)
    assert [v for v, _ in header] == [title for title, _ in SUMMARY_COLUMNS]  # the first sheet, `Tổng hợp`
    assert "Tên cổng" in [v for v, _ in header]
    assert [[v for v, _ in r] for r in [header, *rows]] == list(csv.reader(io.StringIO(text)))

    by_id = {r[0][0]: dict(zip([t for t, _ in SUMMARY_COLUMNS], r)) for r in rows}
    assert len(rows) == len(latest) == len(active_portals(PERIODS[-1]))  # one row per portal of the period
    assert set(by_id) == {s["portal_id"] for s in latest}
    for s in latest:
        row = by_id[s["portal_id"]]
        text_cells = {t: v for t, (v, quoted) in row.items() if quoted}
        number_cells = {t: v for t, (v, quoted) in row.items() if not quoted and v != ""}
        assert text_cells["Tên cổng"] == names[s["portal_id"]]
        assert text_cells["Tỉnh / Bộ chủ quản"] == owners[s["owner_province_id"] or s["ministry_code"]]
        assert text_cells["Loại cổng"] == labels["kind"][s["kind"]]
        assert text_cells["Cấp chủ quản"] == labels["owner_type"][s["owner_type"]]
        assert text_cells["Kỳ đánh giá"] == s["period"]  # text, not a date
        assert text_cells["Xếp loại"] == labels["grade"][s["grade"]]
        if previous.get(s["portal_id"]):
            assert text_cells["Xếp loại kỳ trước"] == labels["grade"][previous[s["portal_id"]]]
        if s["status_reason"]:
            assert text_cells["Trạng thái đo"].endswith(reasons[s["status_reason"]])
        assert set(number_cells) == {
            t
            for t, column in [
                ("Tổng điểm", "total"),
                ("Hạng trong nhóm", "rank"),
                ("Số cổng được xếp hạng trong nhóm", "peers_ranked"),
                ("Thay đổi tổng điểm so với kỳ trước", "change_since_previous"),
                ("Cận dưới khoảng tổng điểm", "total_low"),
                ("Cận trên khoảng tổng điểm", "total_high"),
            ]
            if s[column]
        }, row  # exactly the numeric columns are numbers; an empty value stays an empty cell
        if s["grade_uncertain"]:
            assert text_cells["Xếp loại có thể khác"] == {"true": "Có", "false": "Không"}[s["grade_uncertain"]]
        if s["total"]:
            assert re.fullmatch(r"\d{1,3}\.\d\d", number_cells["Tổng điểm"]), number_cells  # shown as 98.70
            assert number_cells["Tổng điểm"] == s["total"]
            assert float(number_cells["Cận dưới khoảng tổng điểm"]) == float(s["total_low"])
            assert float(number_cells["Cận trên khoảng tổng điểm"]) == float(s["total_high"])
        if s["rank"]:
            assert number_cells["Hạng trong nhóm"] == s["rank"]  # an integer, no decimals
            assert number_cells["Số cổng được xếp hạng trong nhóm"] == s["peers_ranked"]
        if s["change_since_previous"]:
            assert float(number_cells["Thay đổi tổng điểm so với kỳ trước"]) == float(s["change_since_previous"])
    statuses = {by_id[s["portal_id"]]["Trạng thái đo"][0] for s in latest if not s["status_reason"]}
    assert len(statuses) == 1 and not set(statuses) & set(reasons.values())
    assert any(s["status_reason"] for s in latest) and any(s["change_since_previous"] for s in latest)
    assert any(not float(s["total"]).is_integer() for s in latest if s["total"])  # decimals were exercised
    shown = {v for r in rows for v, quoted in r if quoted}  # every label of the seeds appears, as text
    assert {*labels["grade"].values(), *labels["kind"].values(), *labels["owner_type"].values()} <= shown
    assert all(any(v.endswith(label) for v in shown) for label in reasons.values())
