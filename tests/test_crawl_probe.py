"""The crawler and the prober over real HTTP against the local portal simulator."""

from datetime import date

import pytest

from portal_index.crawler import CrawlLimits, crawl
from portal_index.prober import probe, probe_all
from portal_index.simulator import Simulator, profile

KEYWORD_FEATURES = ("art4.", "contact.", "focal_point", "info_regulation", "feedback", "english", "privacy", "sitemap")


def pick(pred, n=3):
    ids = [f"{slug}-{kind}" for slug in ("hanoi", "hue", "laocai", "danang", "cantho", "camau", "sonla", "btc", "byt",
                                         "bqp", "gialai", "angiang", "tayninh", "phutho", "ninhbinh", "quangninh")
           for kind in ("info", "service")]
    chosen = [i for i in ids if pred(profile(i))][:n]
    assert chosen, "the simulator has no portal of this kind among the candidates"
    return chosen


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


def test_signals_match_what_each_site_serves_in_nfc_nfd_and_without_diacritics(sim):
    ids = (pick(lambda p: p.text_style == "nfc" and p.failure == "none", 2)
           + pick(lambda p: p.text_style == "nfd" and p.failure == "none", 2)
           + pick(lambda p: p.text_style == "ascii" and p.failure == "none", 2))
    pages, signals = crawl({i: sim.url_for(i) for i in ids}, CrawlLimits(delay_seconds=0), log=lambda m: None)
    for pid in ids:
        prof = profile(pid)
        got = {r["signal_id"]: r for r in signals if r["portal_id"] == pid}
        for signal, row in got.items():
            if signal.startswith(KEYWORD_FEATURES) or signal.startswith("a11y.") or signal in ("mobile_viewport",):
                assert row["value"] == float(prof.has(signal)), (pid, prof.text_style, signal)
                if row["value"] == 1.0:
                    assert row["evidence_url"].startswith(sim.url_for(pid))
        assert got["search"]["value"] == float(prof.has("search") and prof.search_results)
        assert got["newest_item_age_days"]["value"] == prof.newest_item_days
        assert got["home_page_bytes"]["value"] > prof.padding_bytes
        broken = got["broken_link_share"]["value"]
        assert (broken > 0) == (prof.broken_links > 0)
    assert all(p["crawl_id"] and p["fetched_at"] for p in pages)


def test_a_site_that_is_down_gives_pages_but_no_signals(sim):
    down = pick(lambda p: p.failure == "down", 1)
    pages, signals = crawl({down[0]: sim.url_for(down[0])}, CrawlLimits(delay_seconds=0), log=lambda m: None)
    assert signals == []  # missing, not zero
    assert pages[0]["status"] == 503


def test_robots_txt_is_obeyed(sim):
    # the simulator's /robots.txt disallows /admin/ for every user-agent
    pages, signals = crawl({"admin": sim.base_url + "/admin/"}, CrawlLimits(delay_seconds=0, max_pages=5),
                           log=lambda m: None)
    assert [p["error"] for p in pages] == ["robots_disallowed"] and pages[0].get("status") is None
    assert signals == []


def test_probe_measures_the_injected_delay(sim):
    slow = pick(lambda p: p.ttfb_ms >= 600 and p.failure == "none", 1)[0]
    fast = pick(lambda p: p.ttfb_ms <= 5 and p.failure == "none", 1)[0]
    rows = probe_all({slow: sim.url_for(slow), fast: sim.url_for(fast)}, rounds=2, log=lambda m: None)
    by = {pid: [r for r in rows if r["portal_id"] == pid] for pid in (slow, fast)}
    delay = profile(slow).ttfb_ms
    for r in by[slow]:
        assert delay <= r["ttfb_ms"] <= delay + 250 and r["total_ms"] >= r["ttfb_ms"] and r["status"] == 200
    assert all(r["ttfb_ms"] < 250 for r in by[fast])
    assert all(r["http_version"] == "HTTP/1.1" and r["bytes"] > 0 for r in rows)


def test_probe_errors_are_data():
    assert probe("x", "http://127.0.0.1:9/")["error"] == "connection_refused"


def test_simulator_today_drives_freshness():
    with Simulator(today=date(2026, 1, 1)) as s:
        pid = pick(lambda p: p.failure == "none", 1)[0]
        _, signals = crawl({pid: s.url_for(pid)}, CrawlLimits(delay_seconds=0, max_pages=3),
                           today=date(2026, 1, 1), log=lambda m: None)
    age = [r["value"] for r in signals if r["signal_id"] == "newest_item_age_days"]
    assert age == [profile(pid).newest_item_days]
