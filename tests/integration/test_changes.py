"""Changes explained: two synthetic half-years through the pipeline (`conftest.synthetic_halves`, which
test_synth.py builds on too); every grade change is listed with the indicators whose contributions to
the total changed most, in the data, the report and the changelog (docs/methodology.md, "Changes
explained")."""

import csv
import json
import shutil
from collections import defaultdict

import pytest
from conftest import stage

from portal_index.config import Home

pytestmark = pytest.mark.slow  # runs the whole pipeline on synthetic inputs


def _rows(folder, table: str, version: str) -> list[dict]:
    with open(folder / "data" / f"{table}.csv", encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["methodology_version"] == version]


@pytest.fixture(scope="module")
def two_periods(synthetic_halves, tmp_path_factory):
    """The release of 40 synthetic portals over June and July 2026 (conftest.synthetic_halves)."""
    home = Home(tmp_path_factory.mktemp("changes") / "home")
    shutil.copytree(synthetic_halves[0], home.root, symlinks=True)
    stage("publish", home)
    folder = (home.releases / "latest").resolve()
    return folder, json.loads((folder / "datapackage.json").read_text())


def test_every_change_is_explained_by_the_contributions_that_changed_most(two_periods):
    folder, d = two_periods
    version = d["methodology_version"]
    assert d["periods"] == ["2026-H1", "2026-H2"]
    scores = {(r["portal_id"], r["period"]): r for r in _rows(folder, "portal_scores", version)}
    points = defaultdict(dict)  # (portal, period) -> {indicator: contribution}
    for v in _rows(folder, "indicator_values", version):
        if v["contribution"]:
            points[v["portal_id"], v["period"]][v["indicator_id"]] = float(v["contribution"])
    changes = [c for c in _rows(folder, "portal_changes", version) if c["period"] == "2026-H2"]
    assert len(changes) == 40 and {c["previous_period"] for c in changes} == {"2026-H1"}
    moved = [c for c in changes if c["change_kind"] == "grade_changed"]
    assert moved, "no grade changed between the two synthetic half-years"
    for c in changes:
        before, now = scores[c["portal_id"], "2026-H1"], scores[c["portal_id"], "2026-H2"]
        assert (c["previous_grade"], c["grade"]) == (before["grade"], now["grade"])
        assert c["change_kind"] == ("grade_changed" if before["grade"] != now["grade"] else "same_grade")
        if not (before["total"] and now["total"]):
            continue
        total_change = float(now["total"]) - float(before["total"])
        assert float(c["total_change"]) == pytest.approx(total_change, abs=0.005)
        old, new = points[c["portal_id"], "2026-H1"], points[c["portal_id"], "2026-H2"]
        delta = {i: round(new.get(i, 0) - old.get(i, 0), 2) for i in set(old) | set(new)}
        # the contributions' changes add up to the change of the total
        assert sum(new.get(i, 0) - old.get(i, 0) for i in delta) == pytest.approx(total_change, abs=0.02)
        top = sorted((i for i in delta if delta[i] != 0), key=lambda i: (-abs(delta[i]), i))[:3]
        named = [c[f"indicator_{n}"] for n in (1, 2, 3) if c[f"indicator_{n}"]]
        assert named == top, c["portal_id"]
        assert [float(c[f"points_{n}"]) for n in range(1, len(named) + 1)] == pytest.approx(
            [delta[i] for i in top], abs=0.011
        )


def test_the_report_and_the_changelog_list_the_grade_changes(two_periods):
    from selectolax.lexbor import LexborHTMLParser

    folder, d = two_periods
    moved = {
        c["portal_id"]: c
        for c in _rows(folder, "portal_changes", d["methodology_version"])
        if c["period"] == "2026-H2" and c["change_kind"] == "grade_changed"
    }
    tree = LexborHTMLParser((folder / "report.html").read_text(encoding="utf-8"))
    section = tree.css_first("#changes")
    assert section.attributes["data-previous"] == "2026-H1"
    rows = {tr.attributes["data-portal"]: tr for tr in section.css("table.changes tbody tr")}
    assert set(rows) == set(moved)
    for portal, tr in rows.items():
        c = moved[portal]
        assert (tr.attributes["data-previous-grade"], tr.attributes["data-grade"]) == (c["previous_grade"], c["grade"])
        assert tr.attributes["data-total-change"] == f"{float(c['total_change']):.2f}"
        shown = [(s.attributes["data-indicator"], s.attributes["data-points"]) for s in tr.css("span[data-indicator]")]
        assert shown == [
            (c[f"indicator_{n}"], f"{float(c[f'points_{n}']):.2f}") for n in (1, 2, 3) if c[f"indicator_{n}"]
        ]
        assert tr.css_first("a").attributes["href"] == f"#portal-{portal}"  # the portal's own section
    changelog = (folder / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "Changes 2026-H1 → 2026-H2" in changelog
    label = lambda g: "không đủ dữ liệu / insufficient data" if g == "insufficient_data" else g  # noqa: E731
    for portal, c in moved.items():
        assert f"`{portal}` {label(c['previous_grade'])} → {label(c['grade'])}" in changelog
        if c["status_reason"]:  # a grade lost to missing data, or won back: its reason, no indicators
            assert not c["indicator_1"] and f"`{c['status_reason']}`" in changelog
