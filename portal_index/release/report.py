"""The release's readable report: one static HTML file that works offline.

Vietnamese by default with an English switch (a button, or `report.html#en`); charts are rendered
at build time (Altair, vl-convert) and inlined as SVG, so nothing is fetched when it is opened.
The numbers come from the release's own Parquet files; the labels of the reasons a portal is not
graded come from the methodology seed `status_reasons` (their codes are in `portal_scores`).
"""

from __future__ import annotations

import csv
import html
from collections.abc import Callable
from pathlib import Path

import duckdb

from portal_index.config import DBT_PROJECT_DIR
from portal_index.core.methodology import Methodology
from portal_index.release import changes as explained
from portal_index.release.workbook import bilingual_labels

STATUS_REASONS = DBT_PROJECT_DIR / "seeds" / "methodology" / "status_reasons.csv"

GRADE_COLOURS = {
    "A": "#1a9850",
    "B": "#91cf60",
    "C": "#fee08b",
    "D": "#fc8d59",
    "E": "#d73027",
    "insufficient_data": "#bbbbbb",
}
GROUPS = {
    "info/province": ("Cổng thông tin điện tử cấp tỉnh", "Provincial information portals"),
    "service/province": ("Cổng dịch vụ công cấp tỉnh", "Provincial public-service portals"),
    "info/ministry": ("Cổng thông tin điện tử cấp bộ", "Ministry information portals"),
    "service/ministry": ("Cổng dịch vụ công cấp bộ", "Ministry public-service portals"),
}


def t(vi: str, en: str) -> str:
    return f'<span class="vi" lang="vi">{html.escape(vi)}</span><span class="en" lang="en">{html.escape(en)}</span>'


def _svg(chart) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(chart.to_json())


def _grade_chart(rows) -> str:
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["grade", "portals"])
    return _svg(
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("grade:N", sort=list(GRADE_COLOURS), title="Xếp loại / Grade", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("portals:Q", title="Số cổng / Portals"),
            color=alt.Color(
                "grade:N", scale=alt.Scale(domain=list(GRADE_COLOURS), range=list(GRADE_COLOURS.values())), legend=None
            ),
        )
        .properties(width=420, height=220)
    )


def _province_chart(rows) -> str:
    import altair as alt
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["province", "mean_total"])
    return _svg(
        alt.Chart(frame)
        .mark_bar(color="#4575b4")
        .encode(
            y=alt.Y("province:N", sort="-x", title=None),
            x=alt.X("mean_total:Q", title="Tổng điểm trung bình / Mean total", scale=alt.Scale(domain=[0, 100])),
        )
        .properties(width=420, height=14 * max(len(rows), 1))
    )


def current_version_view(con: duckdb.DuckDBPyConnection, table: str, parquet: Path, version: str) -> None:
    """A view `table` of the release's `parquet` holding only the rows scored under `version` (the
    current methodology) when the table is keyed by version: the report compares like with like."""
    columns = {r[0] for r in con.execute(f"describe select * from read_parquet('{parquet}')").fetchall()}
    where = f" where methodology_version = '{version}'" if "methodology_version" in columns else ""
    con.execute(f"create view {table} as select * from read_parquet('{parquet}'){where}")


def page(folder: Path, descriptor: dict, methodology: Methodology) -> Callable[[list[dict]], str]:
    """The report, but for its list of downloads: given the release's files (path, bytes), the
    page. Publishing builds the rest while the workbook, one of those files, is still being written."""
    data = folder / "data"
    con = duckdb.connect()
    for table in ("portal_scores", "portals", "provinces", "indicators", "indicator_values"):
        current_version_view(con, table, data / f"{table}.parquet", descriptor["methodology_version"])
    period = descriptor["period"]
    portal_columns = {r[0] for r in con.execute("describe portals").fetchall()}
    name_en = "p.name_en" if "name_en" in portal_columns else "p.name_vi"  # survive a schema change
    score_columns = {r[0] for r in con.execute("describe portal_scores").fetchall()}
    reason = "s.status_reason" if "status_reason" in score_columns else "null"  # survive a schema change
    sure = ", ".join(f"s.{c}" if c in score_columns else "null" for c in HOW_SURE)
    scores = con.execute(
        f"""
        select s.portal_id, p.name_vi, {name_en}, s.peer_group, s.rank, s.total, s.grade, s.coverage,
               s.function_score, s.performance_score, s.access_score, s.change_since_previous, {reason}, {sure}
        from portal_scores s join portals p using (portal_id)
        where s.period = ? order by s.peer_group, s.rank nulls last, s.portal_id""",
        [period],
    ).fetchall()
    grades = con.execute(
        """select grade, count(*) from portal_scores where period = ? group by 1
                            order by 1""",
        [period],
    ).fetchall()
    provinces = con.execute(
        """
        select pr.name_vi, round(avg(s.total), 2) from portal_scores s
        join provinces pr on pr.province_id = s.owner_province_id
        where s.period = ? and s.owner_type = 'province' and s.total is not null
        group by 1 order by 2 desc""",
        [period],
    ).fetchall()
    indicators = con.execute("""select indicator_id, pillar, pillar_name_vi, pillar_name_en, weight, name_vi, name_en
                                from indicators order by indicator_id""").fetchall()
    value_columns = {r[0] for r in con.execute("describe indicator_values").fetchall()}
    contribution = "contribution" if "contribution" in value_columns else "null"  # survive a schema change
    values = con.execute(
        f"""select portal_id, indicator_id, raw_value, score, weight, measurement_status, status_reason, evidence,
                  {contribution}
           from indicator_values where period = ? order by portal_id, indicator_id""",
        [period],
    ).fetchall()
    summary = (
        con.execute(
            f"""select province_id, era, name_vi, name_en, successor_province_id, portals, graded, mean_total,
                       grade_a, grade_b, grade_c, grade_d, grade_e, not_graded
                from read_parquet('{data / "province_summary.parquet"}')
                where period = ? and methodology_version = ?
                order by era desc, name_vi, province_id""",
            [period, descriptor["methodology_version"]],
        ).fetchall()
        if (data / "province_summary.parquet").exists()
        else []
    )
    agreement = (
        con.execute(
            f"""select question, portals, pairs, agreed_pairs, percent_agreement, fleiss_kappa
                from read_parquet('{data / "evaluator_agreement.parquet"}') where period = ? order by question""",
            [period],
        ).fetchall()
        if (data / "evaluator_agreement.parquet").exists()
        else []
    )
    history = con.execute(
        "select portal_id, period, total, grade, rank, peers_ranked from portal_scores order by portal_id, period"
    ).fetchall()
    con.close()
    previous_period, period_changes = explained.load(data, descriptor["methodology_version"], period)
    indicator_names = {i[0]: (i[5], i[6]) for i in indicators}
    weights_vi = ", ".join(f"{p.name_vi} {p.weight:g}" for p in methodology.pillars)
    weights_en = ", ".join(f"{p.name_en.lower()} {p.weight:g}" for p in methodology.pillars)
    *graded, (lowest, _) = methodology.bands
    bands_vi = ", ".join(f"{g} ≥ {m:g}" for g, m in graded) + f", còn lại {lowest}"
    bands_en = ", ".join(f"{g} ≥ {m:g}" for g, m in graded) + f", else {lowest}"
    coverage = f"{methodology.coverage_min * 100:g}"

    reasons = _reason_labels()

    def _labelled_reason(code: str) -> str:
        return _reason(code, reasons)

    leaderboard = []
    for group, (vi, en) in GROUPS.items():
        rows = [r for r in scores if r[3] == group]
        if not rows:
            continue
        body = "".join(
            f'<tr data-portal="{r[0]}" data-total="{r[5] if r[5] is not None else ""}" data-grade="{r[6]}" '
            f'data-rank="{r[4] if r[4] is not None else ""}"><td class="rank">{r[4] if r[4] is not None else "–"}</td>'
            f'<td><a href="#portal-{html.escape(r[0])}">{t(r[1], r[2])}</a></td>'
            f'<td class="num total">{r[5] if r[5] is not None else "–"}</td>'
            f'<td><span class="grade" style="background:{GRADE_COLOURS[r[6]]}">{_grade_label(r[6])}</span>'
            f"{_reason(r[12], reasons)}</td>"
            f'<td class="num">{float(r[7]):.0%}</td></tr>'
            for r in rows
        )
        leaderboard.append(
            f'<h3>{t(vi, en)}</h3><table class="board" data-group="{group}"><thead><tr>'
            f"<th>{t('Hạng', 'Rank')}</th><th>{t('Cổng', 'Portal')}</th><th>{t('Tổng điểm', 'Total')}</th>"
            f"<th>{t('Xếp loại', 'Grade')}</th><th>{t('Độ bao phủ', 'Coverage')}</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    pillars = "".join(
        f'<tr data-portal="{r[0]}"><td>{html.escape(r[0])}</td>'
        + "".join(
            f'<td class="num"><span class="bar" style="width:{float(v or 0):.0f}px"></span>'
            f"{v if v is not None else '–'}</td>"
            for v in (r[8], r[9], r[10])
        )
        + "</tr>"
        for r in scores
    )
    changes = descriptor.get("changes") or {}
    change_items = [t("Bản phát hành đầu tiên", "First release")] if not changes.get("previous_version") else []
    change_items += [t(f"Kỳ mới: {p}", f"New period: {p}") for p in changes.get("periods_added", [])]
    for name, c in (changes.get("tables") or {}).items():
        change_items.append(
            f"<code>{name}</code>: +{c['added']} / −{c['removed']} / ~{c['changed']} "
            + t("dòng (thêm / bớt / sửa)", "rows (added / removed / changed)")
        )
    method = "".join(
        f"<tr><td>{i}</td><td>{t(pv, pe)}</td><td>{t(nv, ne)}</td><td class='num'>{w:g}</td></tr>"
        for i, _, pv, pe, w, nv, ne in indicators
    )
    demo = (
        t(" (DỮ LIỆU MINH HỌA: cổng mô phỏng, số liệu tổng hợp)", " (DEMO: simulated portals, synthetic inputs)")
        if descriptor.get("demo")
        else ""
    )
    before = f"""<!doctype html>
<html lang="vi" data-lang="vi" data-period="{html.escape(period)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chỉ số chất lượng cổng thông tin điện tử {html.escape(descriptor["version"])}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 980px; padding: 0 1rem; color: #222; }}
html[data-lang=vi] .en, html[data-lang=en] .vi {{ display: none; }}
table {{ border-collapse: collapse; margin: .5rem 0 1.5rem; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .25rem .5rem; text-align: left; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.grade {{ display: inline-block; min-width: 2rem; text-align: center; border-radius: 3px; padding: 0 .3rem; }}
section.portal {{ border-top: 2px solid #4575b4; margin-top: 1rem; }}
section.portal td.evidence {{ font-size: .8rem; word-break: break-all; }}
.bar {{ display: inline-block; height: .6rem; background: #4575b4; margin-right: .3rem; vertical-align: middle;
        max-width: 100px; }}
button#lang {{ float: right; }}
</style></head>
<body>
<button id="lang" type="button">English / Tiếng Việt</button>
<h1>{t("Chỉ số chất lượng cổng thông tin điện tử và cổng dịch vụ công", "Vietnam government portal quality index")}{
        demo
    }</h1>
<p>{t("Phiên bản", "Version")} <strong id="version">{html.escape(descriptor["version"])}</strong> ·
{t("Kỳ đánh giá", "Period")} <strong id="period">{html.escape(period)}</strong> ·
{t("Phương pháp", "Methodology")} v{html.escape(descriptor["methodology_version"])}</p>
<h2>{t("Phân bố xếp loại", "Grade distribution")}</h2>
<div id="grades" data-counts="{html.escape(",".join(f"{g}={n}" for g, n in grades))}">{_grade_chart(grades)}</div>
<h2>{t("Bảng xếp hạng", "Leaderboard")}</h2>
{"".join(leaderboard)}
<h2>{t("Điểm theo tỉnh (trung bình các cổng)", "Provinces (mean total of their portals)")}</h2>
<div id="provinces">{_province_chart(provinces)}</div>
<h2 id="province-summary">{t("Tổng hợp theo tỉnh, hai thời kỳ", "Provinces, both maps")}</h2>
{province_table(summary)}
<h2>{t("Điểm theo trụ cột", "Pillar scores")}</h2>
<table class="pillars"><thead><tr><th>{t("Cổng", "Portal")}</th><th>{t("Chức năng (50)", "Function (50)")}</th>
<th>{t("Hiệu năng (25)", "Performance (25)")}</th><th>{
        t("Truy cập thuận tiện (25)", "Convenient access (25)")
    }</th></tr></thead>
<tbody>{pillars}</tbody></table>
<h2 id="period-changes">{t("Thay đổi so với kỳ trước", "Changes since the previous period")}</h2>
{explained.section(previous_period, period, period_changes, indicator_names, t, _grade_label, _labelled_reason)}
<h2 id="agreement">{t("Đồng thuận giữa các đánh giá viên", "Agreement between evaluators")}</h2>
{agreement_table(agreement)}
<h2 id="portals">{t("Từng cổng", "Portal by portal")}</h2>
{portal_pages(scores, values, history, indicators, reasons, period, methodology.interval_level)}
<h2>{t("Thay đổi so với bản trước", "Changes since the previous release")}</h2>
<ul>{"".join(f"<li>{c}</li>" for c in change_items) or "<li>–</li>"}</ul>
<h2>{t("Phương pháp", "Methodology")}</h2>
<p>{
        t(
            "Mỗi chỉ số được chuẩn hóa về 0..1; điểm trụ cột là trung bình có trọng số của các chỉ số có dữ liệu; "
            f"tổng điểm là tổng có trọng số của ba trụ cột ({weights_vi}). Xếp loại {bands_vi}; "
            f"khi dữ liệu phủ dưới {coverage}% trọng số, cổng không được xếp loại.",
            "Each indicator is normalised to 0..1; a pillar score is the weighted mean of the indicators with data; "
            "the "
            f"total is the weighted sum of the three pillars ({weights_en}). Grades: {bands_en}; "
            f"below {coverage}% coverage of the applicable weight a portal is not graded.",
        )
    }</p>
<table><thead><tr><th>ID</th><th>{t("Trụ cột", "Pillar")}</th><th>{t("Chỉ số", "Indicator")}</th>
<th>{t("Trọng số", "Weight")}</th></tr></thead><tbody>{method}</tbody></table>
<h2>{t("Tải về", "Downloads")}</h2>
<ul>"""
    after = """</ul>
<script>
(function () {
  var root = document.documentElement;
  function set(lang) { root.dataset.lang = lang; root.lang = lang; }
  set(location.hash === "#en" ? "en" : "vi");
  document.getElementById("lang").addEventListener("click", function () {
    set(root.dataset.lang === "vi" ? "en" : "vi");
  });
})();
</script>
</body></html>
"""

    def with_downloads(files: list[dict]) -> str:
        return (
            before
            + "".join(f'<li><a href="{f["path"]}">{f["path"]}</a> ({f["bytes"]:,} bytes)</li>' for f in files)
            + after
        )

    return with_downloads


def _grade_label(grade: str) -> str:
    return t("Không đủ dữ liệu", "Insufficient data") if grade == "insufficient_data" else grade


def _reason_labels() -> dict[str, tuple[str, str]]:
    """{status_reason: (Vietnamese, English label)} from the seed status_reasons: a reason's labels
    are those of its own row. Empty when the seed is not there (the codes are shown instead)."""
    if not STATUS_REASONS.exists():
        return {}
    with open(STATUS_REASONS, encoding="utf-8", newline="") as f:
        return {
            r["status_reason"]: (r["name_vi"], r["name_en"])
            for r in csv.DictReader(f)
            if r["error_class"] == r["status_reason"]
        }


def _reason(code: str | None, labels: dict[str, tuple[str, str]]) -> str:
    """Why a portal is not graded: the reason's labels and its code, as published in status_reason."""
    if not code:
        return ""
    vi, en = labels.get(code, (code, code))
    escaped = html.escape(code)
    return f' <small class="reason" data-reason="{escaped}">{t(vi, en)} (<code>{escaped}</code>)</small>'


def _num(value) -> str:
    """A published number as written in full (the marts round to at most 6 decimals)."""
    return "–" if value is None else f"{float(value):.6f}".rstrip("0").rstrip(".")


def _evidence(text: str | None) -> str:
    """Evidence as published; each part that is a URL is a link."""
    if not text:
        return ""
    parts = []
    for part in text.split(" | "):
        url, _, rest = part.partition(" ")
        if url.startswith(("https://", "http://")):
            parts.append(f'<a href="{html.escape(url)}" rel="nofollow">{html.escape(url)}</a> {html.escape(rest)}')
        else:
            parts.append(html.escape(part))
    return "<br>".join(parts)


def portal_pages(scores, values, history, indicators, reasons, period: str, level: float | None = None) -> str:
    """A section per portal (`id="portal-<portal_id>"`): grade, total, pillar scores, rank among its
    peers, how sure the total and the rank are, the evaluators' agreement, every indicator with its
    value, score, weight, points contributed, measurement status and evidence, and its totals and
    grades across periods. Numbers are those of the release's files (data-* attributes carry them
    for checking)."""
    names = {i[0]: (i[5], i[6]) for i in indicators}
    by_portal: dict[str, list] = {}
    for row in values:
        by_portal.setdefault(row[0], []).append(row)
    past: dict[str, list] = {}
    for row in history:
        past.setdefault(row[0], []).append(row)
    out = []
    for r in scores:
        pid, name_vi, name_en, group, rank, total, grade = r[0], r[1], r[2], r[3], r[4], r[5], r[6]
        peers = next((h[5] for h in past.get(pid, []) if h[1] == period), None)
        rows = "".join(
            f'<tr data-indicator="{i}" data-raw="{_num(raw) if raw is not None else ""}" '
            f'data-score="{_num(score) if score is not None else ""}" data-weight="{_num(weight)}" '
            f'data-status="{status}" data-contribution="{_num(points) if points is not None else ""}">'
            f"<td>{i}</td><td>{t(*names.get(i, (i, i)))}</td>"
            f'<td class="num">{_num(raw)}</td><td class="num">{_num(score)}</td><td class="num">{_num(weight)}</td>'
            f'<td class="num">{_num(points)}</td>'
            f"<td>{t('đo được', 'measured') if status == 'measured' else t('không đo được', 'not measurable')}"
            f'{_reason(reason, reasons)}</td><td class="evidence">{_evidence(evidence)}</td></tr>'
            for _, i, raw, score, weight, status, reason, evidence, points in by_portal.get(pid, [])
        )
        trail = "".join(
            f'<tr data-period="{h[1]}"><td>{h[1]}</td><td class="num">{_num(h[2])}</td>'
            f'<td>{_grade_label(h[3])}</td><td class="num">{h[4] if h[4] is not None else "–"}</td></tr>'
            for h in past.get(pid, [])
        )
        group_vi, group_en = GROUPS.get(group, (group, group))
        out.append(
            f'<section class="portal" id="portal-{html.escape(pid)}" data-portal="{html.escape(pid)}" '
            f'data-total="{_num(total) if total is not None else ""}" data-grade="{grade}">'
            f"<h3>{t(name_vi, name_en)} <small><code>{html.escape(pid)}</code></small></h3>"
            f'<p><span class="grade" style="background:{GRADE_COLOURS[grade]}">{_grade_label(grade)}</span>'
            f"{_reason(r[12], reasons)} · {t('Tổng điểm', 'Total')} <strong>{_num(total)}</strong> · "
            f"{t('Hạng', 'Rank')} {rank if rank is not None else '–'}"
            f"{f' / {peers}' if peers else ''} {t('trong nhóm', 'among')} {t(group_vi, group_en)} · "
            f"{t('Chức năng', 'Function')} {_num(r[8])} · {t('Hiệu năng', 'Performance')} {_num(r[9])} · "
            f"{t('Truy cập thuận tiện', 'Convenient access')} {_num(r[10])}</p>"
            f"{_how_sure(r[13:21], level)}"
            f'<table class="indicators"><thead><tr><th>ID</th><th>{t("Chỉ số", "Indicator")}</th>'
            f"<th>{t('Giá trị', 'Value')}</th><th>{t('Điểm (0..1)', 'Score (0..1)')}</th>"
            f"<th>{t('Trọng số', 'Weight')}</th><th>{t('Điểm đóng góp', 'Points')}</th>"
            f"<th>{t('Trạng thái', 'Status')}</th><th>{t('Bằng chứng', 'Evidence')}</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
            f'<table class="history"><thead><tr><th>{t("Kỳ", "Period")}</th><th>{t("Tổng điểm", "Total")}</th>'
            f"<th>{t('Xếp loại', 'Grade')}</th><th>{t('Hạng', 'Rank')}</th></tr></thead><tbody>{trail}</tbody></table>"
            f'<p><a href="#portals">↑</a></p></section>'
        )
    return "".join(out)


HOW_SURE = (  # portal_scores' columns on how sure a total is (docs/methodology.md, "How sure")
    "total_low",
    "total_high",
    "rank_best",
    "rank_worst",
    "grade_uncertain",
    "evaluator_pairs",
    "evaluator_agreement",
    "interval_indicators",
)


def _how_sure(row, level: float | None) -> str:
    """A portal page's paragraph on how sure its total and rank are, and how far its evaluators agreed."""
    low, high, best, worst, uncertain, pairs, agreement, sampled = row
    if low is None and pairs is None:
        return ""
    share = f"{level:.0%}" if level else ""
    parts = []
    if low is not None and not sampled:
        parts.append(
            t(
                "không có phép đo lấy mẫu nào (thăm dò, khảo sát) để lấy mẫu lại",
                "no sampled measure (probes, survey answers) to resample",
            )
        )
    elif low is not None:
        parts.append(
            t(f"Tổng điểm trong khoảng {_num(low)}–{_num(high)}", f"Total between {_num(low)} and {_num(high)}")
            + (f" ({share}; " if share else " (")
            + t(f"lấy mẫu lại: {sampled}", f"resampled: {sampled}")
            + ")"
        )
    if best is not None:
        parts.append(t(f"hạng từ {best} đến {worst}", f"rank {best} to {worst}"))
    if uncertain:
        parts.append(
            t("xếp loại có thể khác: một ngưỡng nằm trong khoảng", "the grade could be another: a boundary lies inside")
        )
    if pairs:
        parts.append(
            t(
                f"{pairs} cặp đánh giá viên cùng kiểm tra, đồng thuận {float(agreement):.0%} câu trả lời",
                f"{pairs} pair(s) of evaluators tested the same service and agreed on "
                f"{float(agreement):.0%} of answers",
            )
        )

    def attr(value) -> str:
        if value is None or isinstance(value, str):
            return html.escape(value or "")
        return str(value).lower() if isinstance(value, bool) else _num(value)

    attrs = " ".join(f'data-{name.replace("_", "-")}="{attr(value)}"' for name, value in zip(HOW_SURE, row))
    return f'<p class="how-sure" {attrs}>{t("Độ chắc chắn", "How sure")}: ' + " · ".join(parts) + "</p>"


def agreement_table(rows) -> str:
    """Per survey question of the period: pairs of tests by two evaluators, how many agreed, Fleiss' kappa."""
    if not rows:
        none = t(
            "Không có bài kiểm tra nào được hai đánh giá viên cùng thực hiện.", "No test was done by two evaluators."
        )
        return f"<p>{none}</p>"
    questions = bilingual_labels("question")  # the seed value_labels
    head = "".join(
        f"<th>{t(vi, en)}</th>"
        for vi, en in (
            ("Câu hỏi", "Question"),
            ("Số cổng", "Portals"),
            ("Số cặp", "Pairs"),
            ("Đồng thuận", "Agreed"),
            ("Kappa (Fleiss)", "Kappa (Fleiss)"),
        )
    )
    body = "".join(
        f'<tr data-question="{html.escape(q)}" data-pairs="{pairs}" '
        f'data-kappa="{_num(kappa) if kappa is not None else ""}"><td>{t(*questions.get(q, (q, q)))}</td>'
        f"<td class='num'>{portals}</td><td class='num'>{pairs}</td>"
        f"<td class='num'>{agreed} ({float(share):.0%})</td><td class='num'>{_num(kappa)}</td></tr>"
        for q, portals, pairs, agreed, share, kappa in rows
    )
    return f'<table class="agreement"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def province_table(summary) -> str:
    """Each 34-era province of the period, then the 63-era provinces it was made of (their portals
    counted by their old province), from `province_summary`."""
    if not summary:
        return "<p>–</p>"
    parts: dict[str, list] = {}
    for row in summary:
        if row[1] == "63" and row[4]:
            parts.setdefault(row[4], []).append(row)

    def line(row, old: bool) -> str:
        name = t(row[2], row[3])
        grades = " ".join(f"{g}:{n}" for g, n in zip("ABCDE", row[8:13]) if n) or "–"
        css = ' class="old"' if old else ""
        return (
            f'<tr data-province="{html.escape(row[0])}" data-era="{row[1]}"{css}>'
            f"<td>{'↳ ' if old else ''}{name} <small><code>{html.escape(row[0])}</code></small></td>"
            f'<td class="num">{row[5]}</td><td class="num">{row[6]}</td><td class="num">{_num(row[7])}</td>'
            f"<td>{grades}{f' · {row[13]} ' + t('chưa đủ dữ liệu', 'insufficient data') if row[13] else ''}</td></tr>"
        )

    body = "".join(
        line(row, False) + "".join(line(old, True) for old in parts.get(row[0], []))
        for row in summary
        if row[1] == "34"
    )
    return (
        '<table class="provinces"><thead><tr>'
        f"<th>{t('Tỉnh (và tỉnh cũ hợp thành)', 'Province (and the old ones it was made of)')}</th>"
        f"<th>{t('Số cổng', 'Portals')}</th><th>{t('Được xếp loại', 'Graded')}</th>"
        f"<th>{t('Tổng điểm trung bình', 'Mean total')}</th><th>{t('Xếp loại', 'Grades')}</th></tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )
