"""What changed since the previous period, and why: the report's section and the changelog's lines,
both read from the release's `portal_changes` table under the current methodology version (the
table's rules are in its dbt model; docs/methodology.md, "Changes explained")."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Change:
    portal_id: str
    name_vi: str
    name_en: str
    kind: str  # new, removed, grade_changed, same_grade
    previous_grade: str | None
    grade: str | None
    total_change: float | None
    contributors: list[tuple[str, float]]  # (indicator, points), largest change first
    merged_into: tuple[str, str] | None  # the 34-era province (Vietnamese, English name)


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
                       c.points_3, pr.name_vi, pr.name_en
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
    out = []
    for r in rows:
        contributors = [(i, float(p)) for i, p in ((r[8], r[9]), (r[10], r[11]), (r[12], r[13])) if i]
        total = float(r[7]) if r[7] is not None else None
        out.append(Change(r[1], r[2], r[3], r[4], r[5], r[6], total, contributors, (r[14], r[15]) if r[14] else None))
    return rows[0][0], out


def _points(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


def changelog_lines(previous: str | None, period: str, changes: list[Change]) -> list[str]:
    """Markdown lines for the changelog: grade changes with their main indicators, new and removed portals."""
    if previous is None:
        return []
    lines = [f"- Changes {previous} → {period} / Thay đổi {previous} → {period}:"]
    for c in changes:
        if c.kind == "grade_changed":
            why = ", ".join(f"{i} {_points(p)}" for i, p in c.contributors)
            total = f"{_points(c.total_change)}" if c.total_change is not None else "–"
            lines.append(f"  - `{c.portal_id}` {c.previous_grade} → {c.grade} ({total}; {why or '–'})")
        elif c.kind == "new":
            lines.append(f"  - `{c.portal_id}` new / cổng mới ({c.grade})")
        elif c.kind == "removed":
            merged = f"; province merged into / tỉnh sáp nhập vào {c.merged_into[0]}" if c.merged_into else ""
            lines.append(f"  - `{c.portal_id}` removed / cổng bị bỏ{merged}")
    if len(lines) == 1:
        lines.append("  - No grade changed, no portal added or removed / Không cổng nào đổi xếp loại.")
    return lines


def section(previous: str | None, period: str, changes: list[Change], names: dict[str, tuple[str, str]], t) -> str:
    """The report's section: `names` is {indicator: (Vietnamese, English name)}, `t` the report's
    bilingual text helper (it escapes its text)."""
    if previous is None:
        none = t("Chưa có kỳ trước để so sánh.", "No previous period to compare with.")
        return f'<p id="changes" data-previous="">{none}</p>'

    def name(c: Change) -> str:
        return f'<a href="#portal-{html.escape(c.portal_id)}">{t(c.name_vi, c.name_en)}</a>'

    def why(c: Change) -> str:
        return "; ".join(
            f'<span data-indicator="{html.escape(i)}" data-points="{p:.2f}">{html.escape(i)} '
            f"{t(*names.get(i, (i, i)))} {_points(p)}</span>"
            for i, p in c.contributors
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
        f"<td>{name(c)}</td><td>{c.previous_grade} → {c.grade}</td>"
        f'<td class="num">{"–" if c.total_change is None else _points(c.total_change)}</td><td>{why(c)}</td></tr>'
        for c in moved
    )
    summary = t(
        f"Từ kỳ {previous} đến kỳ {period}: {len(moved)} cổng đổi xếp loại, {len(added)} cổng mới, "
        f"{len(removed)} cổng bị bỏ. Các chỉ số nêu là những chỉ số có điểm đóng góp vào tổng điểm thay đổi "
        "nhiều nhất.",
        f"From {previous} to {period}: {len(moved)} portals changed grade, {len(added)} are new, "
        f"{len(removed)} were removed. The indicators named are those whose contributions to the total "
        "changed most, in points.",
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
        items = "".join(f'<li data-portal="{html.escape(c.portal_id)}">{name(c)} ({c.grade})</li>' for c in added)
        out.append(f'<p>{t("Cổng mới", "New portals")}:</p><ul class="new">{items}</ul>')
    if removed:
        items = "".join(f'<li data-portal="{html.escape(c.portal_id)}">{name(c)}{merged(c)}</li>' for c in removed)
        out.append(f'<p>{t("Cổng bị bỏ", "Removed portals")}:</p><ul class="removed">{items}</ul>')
    return "".join(out) + "</div>"
