"""What changed since the previous period, and why: the report's section and the changelog's lines,
both read from the release's `portal_changes` table under the current methodology version (the
table's rules are in its dbt model; docs/methodology.md, "Changes explained")."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Contributor:
    indicator: str
    points: float  # change of its contribution to the total
    unmeasured_in: str | None  # the period in which it was not measured (it contributes nothing there)


@dataclass(frozen=True)
class Change:
    portal_id: str
    name_vi: str
    name_en: str
    kind: str  # new, removed, grade_changed, same_grade
    previous_grade: str | None
    grade: str | None
    total_change: float | None
    contributors: list[Contributor]  # largest change first
    merged_into: tuple[str, str] | None  # the 34-era province (Vietnamese, English name)
    status_reason: str | None  # why the portal was not graded in one of the two periods


def load(data: Path, version: str, period: str) -> tuple[str | None, list[Change]]:
    """(the previous period, the changes into `period`) from the release folder's data, or (None,
    []) when the release has no period before `period`."""
    changes = data / "portal_changes.parquet"
    if not changes.exists():
        return None, []
    portals = data / "portals.parquet"
    with duckdb.connect() as con:
        columns = {r[0] for r in con.execute(f"describe select * from read_parquet('{portals}')").fetchall()}
        name_en = "p.name_en" if "name_en" in columns else "null"  # survive a schema change
        rows = con.execute(
            f"""select c.previous_period, c.portal_id, coalesce(p.name_vi, c.portal_id),
                       coalesce({name_en}, p.name_vi, c.portal_id), c.change_kind, c.previous_grade, c.grade,
                       c.total_change, c.indicator_1, c.points_1, c.indicator_2, c.points_2, c.indicator_3,
                       c.points_3, pr.name_vi, pr.name_en, c.status_reason
                from read_parquet('{changes}') as c
                left join read_parquet('{portals}') as p using (portal_id)
                left join read_parquet('{data / "provinces.parquet"}') as pr
                  on pr.province_id = c.merged_into_province_id
                where c.methodology_version = ? and c.period = ?
                order by c.change_kind, abs(c.total_change) desc nulls last, c.portal_id""",
            [version, period],
        ).fetchall()
        if not rows:
            return None, []
        previous = rows[0][0]
        measured = {  # (portal, period, indicator) -> measured, for the two periods
            (p, per, i): m
            for p, per, i, m in con.execute(
                f"""select portal_id, period, indicator_id, has_data
                    from read_parquet('{data / "indicator_values.parquet"}')
                    where methodology_version = ? and period in (?, ?)""",
                [version, previous, period],
            ).fetchall()
        }
    out = []
    for r in rows:
        contributors = []
        for i, p in ((r[8], r[9]), (r[10], r[11]), (r[12], r[13])):
            if i:
                gone = [per for per in (previous, period) if not measured.get((r[1], per, i), False)]
                contributors.append(Contributor(i, float(p), gone[0] if gone else None))
        total = float(r[7]) if r[7] is not None else None
        merged = (r[14], r[15]) if r[14] else None
        out.append(Change(r[1], r[2], r[3], r[4], r[5], r[6], total, contributors, merged, r[16]))
    return previous, out


def _points(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


def _grade(code: str | None) -> str:
    return "không đủ dữ liệu / insufficient data" if code == "insufficient_data" else str(code)


def changelog_lines(previous: str | None, period: str, changes: list[Change]) -> list[str]:
    """Markdown lines for the changelog: grade changes with their main indicators (or, for a grade
    lost to missing data or won back, the reason), new and removed portals."""
    if previous is None:
        return []
    lines = [f"- Changes {previous} → {period} / Thay đổi {previous} → {period}:"]
    for c in changes:
        if c.kind == "grade_changed":
            total = f"{_points(c.total_change)}" if c.total_change is not None else "–"
            if c.status_reason:
                why = f"not graded / không xếp loại: `{c.status_reason}`"
            else:
                why = ", ".join(
                    f"{x.indicator} {_points(x.points)}"
                    + (f" (not measured in {x.unmeasured_in})" if x.unmeasured_in else "")
                    for x in c.contributors
                )
            lines.append(f"  - `{c.portal_id}` {_grade(c.previous_grade)} → {_grade(c.grade)} ({total}; {why or '–'})")
        elif c.kind == "new":
            lines.append(f"  - `{c.portal_id}` new / cổng mới ({_grade(c.grade)})")
        elif c.kind == "removed":
            merged = f"; province merged into / tỉnh sáp nhập vào {c.merged_into[0]}" if c.merged_into else ""
            lines.append(f"  - `{c.portal_id}` removed / cổng bị bỏ{merged}")
    if len(lines) == 1:
        lines.append("  - No grade changed, no portal added or removed / Không cổng nào đổi xếp loại.")
    return lines


def section(
    previous: str | None,
    period: str,
    changes: list[Change],
    names: dict[str, tuple[str, str]],
    t,
    grade_label,
    reason,
) -> str:
    """The report's section: `names` is {indicator: (Vietnamese, English name)}; `t` (bilingual text,
    escaped), `grade_label` (a grade's text) and `reason` (a status_reason's labelled text) are the
    report's own helpers."""
    if previous is None:
        none = t("Chưa có kỳ trước để so sánh.", "No previous period to compare with.")
        return f'<p id="changes" data-previous="">{none}</p>'

    def name(c: Change) -> str:
        return f'<a href="#portal-{html.escape(c.portal_id)}">{t(c.name_vi, c.name_en)}</a>'

    def unmeasured(x: Contributor) -> str:
        if not x.unmeasured_in:
            return ""
        return " (" + t(f"không đo được kỳ {x.unmeasured_in}", f"not measured in {x.unmeasured_in}") + ")"

    def why(c: Change) -> str:
        if c.status_reason:  # not graded in one of the periods: what could be measured changed
            return t("Không xếp loại được:", "Not graded:") + reason(c.status_reason)
        return "; ".join(
            f'<span data-indicator="{html.escape(x.indicator)}" data-points="{x.points:.2f}">'
            f"{html.escape(x.indicator)} {t(*names.get(x.indicator, (x.indicator, x.indicator)))} "
            f"{_points(x.points)}{unmeasured(x)}</span>"
            for x in c.contributors
        )

    def merged(c: Change) -> str:
        if not c.merged_into:
            return ""
        return " (" + t(f"tỉnh đã sáp nhập vào {c.merged_into[0]}", f"province merged into {c.merged_into[1]}") + ")"

    moved = [c for c in changes if c.kind == "grade_changed"]
    added = [c for c in changes if c.kind == "new"]
    removed = [c for c in changes if c.kind == "removed"]
    rows = "".join(
        f'<tr data-portal="{html.escape(c.portal_id)}" data-previous-grade="{c.previous_grade}" '
        f'data-grade="{c.grade}" data-total-change="{"" if c.total_change is None else f"{c.total_change:.2f}"}">'
        f"<td>{name(c)}</td><td>{grade_label(c.previous_grade)} → {grade_label(c.grade)}</td>"
        f'<td class="num">{"–" if c.total_change is None else _points(c.total_change)}</td><td>{why(c)}</td></tr>'
        for c in moved
    )
    summary = t(
        f"Từ kỳ {previous} đến kỳ {period}: {len(moved)} cổng đổi xếp loại, {len(added)} cổng mới, "
        f"{len(removed)} cổng bị bỏ. Các chỉ số nêu là những chỉ số có điểm đóng góp vào tổng điểm thay đổi "
        "nhiều nhất; với cổng không xếp loại được ở một kỳ, nêu lý do.",
        f"From {previous} to {period}: {len(moved)} portals changed grade, {len(added)} are new, "
        f"{len(removed)} were removed. The indicators named are those whose contributions to the total "
        "changed most, in points; for a portal not graded in one of the periods, the reason.",
    )
    head = "".join(
        f"<th>{t(vi, en)}</th>"
        for vi, en in (
            ("Cổng", "Portal"),
            ("Xếp loại", "Grade"),
            ("Thay đổi tổng điểm", "Change of total"),
            ("Vì sao (chỉ số, điểm)", "Why (indicator, points)"),
        )
    )
    out = [
        f'<div id="changes" data-previous="{html.escape(previous)}"><p>{summary}</p>',
        f'<table class="changes"><thead><tr>{head}</tr></thead>',
        f"<tbody>{rows or '<tr><td colspan=4>–</td></tr>'}</tbody></table>",
    ]
    if added:
        items = "".join(
            f'<li data-portal="{html.escape(c.portal_id)}">{name(c)} ({grade_label(c.grade)})</li>' for c in added
        )
        out.append(f'<p>{t("Cổng mới", "New portals")}:</p><ul class="new">{items}</ul>')
    if removed:
        items = "".join(f'<li data-portal="{html.escape(c.portal_id)}">{name(c)}{merged(c)}</li>' for c in removed)
        out.append(f'<p>{t("Cổng bị bỏ", "Removed portals")}:</p><ul class="removed">{items}</ul>')
    return "".join(out) + "</div>"
