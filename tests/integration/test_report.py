"""The release's report, opened in a real headless Chromium (Debian's package)."""

import csv
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
        data = {r["portal_id"]: r for r in csv.DictReader(f) if r["period"] == page.html["data-period"]}
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
    assert "http://" not in text.replace('xmlns="http://www.w3.org', "").replace('xmlns:xlink="http://www.w3.org', "")
    assert "<script src" not in text and "<link " not in text
