"""The release's report, opened in a real headless Chromium (Debian's package)."""

import csv
import json
import re
import subprocess
from collections import Counter
from html.parser import HTMLParser

import pytest

from portal_index.config import chromium_binary
from portal_index.fetch.browser import CHROMIUM_ARGS

CHROMIUM = chromium_binary()
pytestmark = [
    pytest.mark.slow,  # runs the whole pipeline
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"),
]
FLAGS = ["--headless", *CHROMIUM_ARGS, "--window-size=1200,1600"]


def chromium(url: str, profile, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args, url], capture_output=True, text=True, timeout=120
    )


class Rows(HTMLParser):
    """Collects the leaderboard rows (data attributes and the total shown) and the html element."""

    def __init__(self):
        super().__init__()
        self.rows, self.html, self._row, self._in_total = [], {}, None, False
        self.grade_counts = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html = a
        if tag == "tr" and "data-total" in a:
            self._row = dict(a)
        if tag == "td" and self._row is not None and "total" in (a.get("class") or ""):
            self._in_total = True
        if tag == "div" and a.get("id") == "grades":
            self.grade_counts = dict(kv.split("=") for kv in a["data-counts"].split(","))

    def handle_data(self, data):
        if self._in_total:
            self._row["shown_total"] = data.strip()
            self._in_total = False

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None


def test_the_report_in_a_browser_shows_the_numbers_of_the_data(demo_run, tmp_path):
    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    url = (folder / "report.html").as_uri()
    shot = tmp_path / "report.png"
    assert chromium(url, tmp_path / "p1", f"--screenshot={shot}").returncode == 0
    assert shot.stat().st_size > 20_000  # a rendered page, not a blank one
    dom = chromium(url, tmp_path / "p2", "--dump-dom")
    assert dom.returncode == 0
    page = Rows()
    page.feed(dom.stdout)
    assert page.html.get("data-lang") == "vi"
    with open(folder / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        version = json.loads((folder / "datapackage.json").read_text())["methodology_version"]
        data = {
            r["portal_id"]: r
            for r in csv.DictReader(f)
            if r["period"] == page.html["data-period"] and r["methodology_version"] == version
        }
    shown = {r["data-portal"]: r for r in page.rows}
    assert set(shown) == set(data)
    for portal, row in shown.items():
        assert row["shown_total"] == (data[portal]["total"] or "–")
        assert row["data-grade"] == data[portal]["grade"] and row["data-rank"] == data[portal]["rank"]
    assert page.grade_counts == {g: str(n) for g, n in Counter(r["grade"] for r in data.values()).items()}
    english = Rows()
    english.feed(chromium(url + "#en", tmp_path / "p3", "--dump-dom").stdout)
    assert english.html.get("data-lang") == "en"  # the English switch


def test_the_report_fetches_nothing(demo_run):
    home, _ = demo_run
    text = ((home.releases / "latest").resolve() / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|srcset|data)\s*=\s*["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""", text)
    assert "<script src" not in text and "<link " not in text and "@import" not in text  # links to evidence only


def test_every_portal_has_a_section_whose_numbers_are_the_datas(demo_run, tmp_path):
    from selectolax.lexbor import LexborHTMLParser

    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    dom = chromium((folder / "report.html").as_uri(), tmp_path / "p", "--dump-dom")
    assert dom.returncode == 0
    tree = LexborHTMLParser(dom.stdout)
    period = tree.css_first("html").attributes["data-period"]
    version = json.loads((folder / "datapackage.json").read_text())["methodology_version"]
    current = lambda r: r["period"] == period and r["methodology_version"] == version  # noqa: E731
    with open(folder / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        scores = {r["portal_id"]: r for r in csv.DictReader(f) if current(r)}
    with open(folder / "data" / "indicator_values.csv", encoding="utf-8", newline="") as f:
        values = [r for r in csv.DictReader(f) if current(r)]
    sections = {s.attributes["data-portal"]: s for s in tree.css("section.portal")}
    assert set(sections) == set(scores)
    links = {a.attributes["href"] for a in tree.css("table.board a")}
    assert links == {f"#portal-{p}" for p in scores}  # reachable from the leaderboard
    number = lambda v: "–" if v == "" else f"{float(v):.6f}".rstrip("0").rstrip(".")  # noqa: E731
    checked = sured = 0
    for portal, section in sections.items():
        assert section.attributes["id"] == f"portal-{portal}"
        assert section.attributes["data-grade"] == scores[portal]["grade"]
        assert section.css_first("strong").text() == number(scores[portal]["total"])
        shown = {tr.attributes["data-indicator"]: tr for tr in section.css("table.indicators tbody tr")}
        mine = {v["indicator_id"]: v for v in values if v["portal_id"] == portal}
        assert set(shown) == set(mine)
        for indicator, tr in shown.items():
            cells = [td.text(strip=True) for td in tr.css("td")]
            v = mine[indicator]
            assert cells[2:6] == [
                number(v["raw_value"]),
                number(v["score"]),
                number(v["weight"]),
                number(v["contribution"]),
            ], (portal, indicator)
            assert tr.attributes["data-status"] == v["measurement_status"]
            assert (v["status_reason"] == "") or f"({v['status_reason']})" in cells[6]
            checked += 1
        assert [tr.attributes["data-period"] for tr in section.css("table.history tbody tr")] == sorted(
            r["period"] for r in _all_periods(folder, portal) if r["methodology_version"] == version
        )
        # how sure: the interval of the total and of the rank, the grade's certainty, the evaluators
        sure = section.css_first("p.how-sure")
        row = scores[portal]
        if row["total"]:
            assert sure is not None, portal
            for column in ("total_low", "total_high", "rank_best", "rank_worst", "evaluator_pairs"):
                shown_value = sure.attributes[f"data-{column.replace('_', '-')}"]
                assert shown_value == ("" if row[column] == "" else number(row[column])), (portal, column)
            assert sure.attributes["data-grade-uncertain"] == row["grade_uncertain"].lower()
            assert sure.attributes["data-interval-indicators"] == row["interval_indicators"]
            if row["interval_indicators"]:  # the interval, and what it resamples
                assert f"{number(row['total_low'])}–{number(row['total_high'])}" in sure.text()
                assert f"resampled: {row['interval_indicators']}" in sure.text()
            else:  # nothing sampled: a zero-width interval, said in words
                assert row["total_low"] == row["total_high"] == row["total"]
                assert "no sampled measure" in sure.text()
            if row["evaluator_pairs"]:
                assert f"{float(row['evaluator_agreement']):.0%}" in sure.text()
            sured += 1
    assert checked == len(values) and sured > 0


def _all_periods(folder, portal):
    with open(folder / "data" / "portal_scores.csv", encoding="utf-8", newline="") as f:
        return [r for r in csv.DictReader(f) if r["portal_id"] == portal]


def test_the_report_shows_the_evaluators_agreement_per_question(demo_run):
    from selectolax.lexbor import LexborHTMLParser

    home, _ = demo_run
    folder = (home.releases / "latest").resolve()
    tree = LexborHTMLParser((folder / "report.html").read_text(encoding="utf-8"))
    period = tree.css_first("html").attributes["data-period"]
    with open(folder / "data" / "evaluator_agreement.csv", encoding="utf-8", newline="") as f:
        data = {r["question"]: r for r in csv.DictReader(f) if r["period"] == period}
    assert data  # the demo's service portals are each tested by two evaluators
    shown = {tr.attributes["data-question"]: tr for tr in tree.css("table.agreement tbody tr")}
    assert set(shown) == set(data)
    for question, tr in shown.items():
        assert tr.attributes["data-pairs"] == data[question]["pairs"]
        kappa = data[question]["fleiss_kappa"]
        assert tr.attributes["data-kappa"] == ("" if kappa == "" else f"{float(kappa):.6f}".rstrip("0").rstrip("."))
        assert f"{data[question]['agreed_pairs']} ({float(data[question]['percent_agreement']):.0%})" in tr.text()
