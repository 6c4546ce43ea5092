"""The crawler over real HTTP against the local portal simulator; signals re-derived from its WARC files."""

import threading
import time
import tracemalloc
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from portal_index.demo.simulator import HOSTILE, Simulator, pick, profile
from portal_index.demo.simulator import _gzip_bomb as gzip_bomb
from portal_index.fetch.crawler import CrawlLimits, demo_limits
from portal_index.fetch.netguard import Guard
from portal_index.fetch.shards import crawl
from portal_index.parse.portal_signals import extract_warc
from portal_index.parse.warc import read

KEYWORD_FEATURES = ("art4.", "contact.", "focal_point", "info_regulation", "feedback", "english", "privacy", "sitemap")
QUICK = CrawlLimits(max_pages=30, response_seconds=3, portal_seconds=30, backoff_seconds=0.05, timeout_seconds=3)


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


def run(targets: dict, out: Path, limits: CrawlLimits):
    """Crawl, then extract every WARC: (results by portal, pages, signals)."""
    results = crawl(targets, out, limits, log=lambda m: None)
    pages, signals = [], []
    for r in results:
        rows = extract_warc(r.warc)
        pages += rows["crawl_pages"]
        signals += rows["crawl_signals"]
    return {r.portal_id: r for r in results}, pages, signals


def test_signals_match_what_each_site_serves_in_nfc_nfd_and_without_diacritics(sim, tmp_path):
    ids = (
        pick(lambda p: p.text_style == "nfc" and p.readable, 2)
        + pick(lambda p: p.text_style == "nfd" and p.readable, 2)
        + pick(lambda p: p.text_style == "ascii" and p.readable, 2)
    )
    _, pages, signals = run({i: sim.url_for(i) for i in ids}, tmp_path, demo_limits(QUICK, sim.guard()))
    for pid in ids:
        prof = profile(pid)
        got = {r["signal_id"]: r for r in signals if r["portal_id"] == pid}
        for signal, row in got.items():
            if signal.startswith(KEYWORD_FEATURES) or signal.startswith("a11y.") or signal == "mobile_viewport":
                assert row["value"] == float(prof.has(signal)), (pid, prof.text_style, signal)
                if row["value"] == 1.0:
                    assert row["evidence_url"].startswith(sim.url_for(pid)) and row["evidence_text"]
        assert got["search"]["value"] == float(prof.has("search") and prof.search_results)
        assert got["newest_item_age_days"]["value"] == prof.newest_item_days
        assert got["home_page_bytes"]["value"] > prof.padding_bytes
        assert (got["broken_link_share"]["value"] > 0) == (prof.broken_links > 0)
    assert all(p["crawl_id"] and p["fetched_at"] and p["warc_file"] for p in pages)
    assert {p["role"] for p in pages} >= {"robots", "page", "sitemap"}


def test_a_site_that_is_down_gives_fetches_but_no_signals(sim, tmp_path):
    down = pick(lambda p: p.failure == "down", 1)[0]
    _, pages, signals = run({down: sim.url_for(down)}, tmp_path, demo_limits(QUICK, sim.guard()))
    assert signals == []  # missing, not zero
    home = [p for p in pages if p["role"] == "page"]
    assert [p["status"] for p in home] == [503] and home[0]["attempts"] == 1 + QUICK.retries  # retried, recorded


def test_robots_txt_disallow_is_obeyed_without_a_request(tmp_path):
    with Simulator(robots_txt="User-agent: *\nDisallow: /\n") as s:
        pid = pick(lambda p: p.readable, 1)[0]
        _, pages, signals = run({pid: s.url_for(pid)}, tmp_path, demo_limits(QUICK, s.guard()))
        served = dict(s.served)
    assert [(p["role"], p["status"], p["error"]) for p in pages] == [
        ("robots", 200, None),
        ("page", None, "robots_disallowed"),
    ]
    assert signals == [] and served == {"/robots.txt": 1}


@pytest.mark.slow  # waits out the delays robots.txt asks for
def test_robots_txt_crawl_delay_spaces_the_requests(tmp_path):
    with Simulator(robots_txt="User-agent: *\nCrawl-delay: 0.4\n") as s:
        pid = pick(lambda p: p.readable and p.ttfb_ms < 100, 1)[0]
        results, pages, _ = run(
            {pid: s.url_for(pid)},
            tmp_path,
            demo_limits(CrawlLimits(max_pages=5, per_site=4, response_seconds=5), s.guard()),
        )
    # every request to the site, robots.txt's own among them: the first page waits out the delay
    # robots.txt asked for after the robots.txt request too; 4 workers allowed, one request per turn
    starts = sorted(datetime.fromisoformat(p["fetched_at"]) for p in pages)
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:])]
    assert [p["role"] for p in pages].count("page") == 5 and pages[0]["role"] == "robots"
    assert min(gaps) >= 0.399, gaps


# A slow drip takes ~90 s and is cut here. The other sites answer at once, but the simulator serves
# them in this process beside the crawl's 50 MB page and 200 MB bomb: in a slow hour of a busy
# machine (`make test`'s three processes and the demo on two cores) a small 500 once took 3.2 s.
RESPONSE_SECONDS = 5.0

# each hostile site: what the crawl must record, within its limits
HOSTILE_EXPECTED = {
    "redirect-loop": lambda home, pages: home["error"] == "redirect_loop" and home["redirects"] <= 3,
    # recorded, and the portal's crawl goes on: httpx's refusal once ended it ("crashed: InvalidURL")
    "bad-redirect": lambda home, pages: (
        home["error"] == "bad_url" and "path must be empty or begin with" in home["detail"]
    ),
    "huge": lambda home, pages: home["error"] == "too_large" and home["bytes"] == 1_000_000,
    "slow-drip": lambda home, pages: (
        home["error"] == "slow_response" and home["elapsed_ms"] < 1500 + RESPONSE_SECONDS * 1000
    ),
    "gzip-bomb": lambda home, pages: home["error"] == "too_large" and home["bytes"] == 1_000_000,
    "robots": lambda home, pages: home["error"] == "robots_disallowed" and home["status"] is None,
    "errors": lambda home, pages: (
        home["status"] == 200 and {p["status"] for p in pages[1:]} <= {500, 503} and len(pages) <= 1 + 4 + 1
    ),  # given up after 4 consecutive failures (a 5th may be in flight)
    "calendar": lambda home, pages: len(pages) == 25 and max(p["depth"] for p in pages) <= 3,
    "malformed": lambda home, pages: home["status"] == 200,
    "wrong-type": lambda home, pages: (
        home["content_type"] == "application/octet-stream"
        and any(p["url"].endswith("/logo") and p["status"] == 200 for p in pages)
    ),
}


@pytest.mark.slow  # waits out a slow drip and a redirect loop
def test_hostile_sites_are_recorded_as_data_within_the_limits(sim, tmp_path):
    assert set(HOSTILE_EXPECTED) == set(HOSTILE)
    limits = demo_limits(
        CrawlLimits(
            max_pages=25,
            max_bytes=1_000_000,
            response_seconds=RESPONSE_SECONDS,
            portal_seconds=20,
            max_errors=4,
            retries=1,
            backoff_seconds=0.05,
            max_redirects=3,
        ),
    )
    gzip_bomb()  # the simulator's bomb is built once, before memory is measured
    tracemalloc.start()
    started = time.monotonic()
    results, pages, signals = run({f"x-{k}": sim.hostile_url(k) for k in HOSTILE}, tmp_path, limits)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 20 and peak < 40_000_000, (elapsed, peak)  # 10 sites at once; a 50 MB page, a 200 MB bomb
    for kind, expected in HOSTILE_EXPECTED.items():
        mine = [p for p in pages if p["portal_id"] == f"x-{kind}" and p["role"] == "page"]
        assert mine and expected(mine[0], mine), (
            kind,
            [{k: p[k] for k in ("url", "status", "error", "elapsed_ms")} for p in mine[:3]],
        )
    assert results["x-errors"].stopped == "error_budget" and results["x-calendar"].stopped == "page_limit"
    assert not [r.stopped for r in results.values() if r.stopped.startswith("crashed")]
    by = {(r["portal_id"], r["signal_id"]): r for r in signals}
    assert by[("x-malformed", "feedback")]["value"] == 1.0  # broken HTML still read
    assert by[("x-malformed", "contact.address")]["evidence_text"].startswith("Địa chỉ: Hà Nội")
    assert by[("x-malformed", "contact.email")]["value"] == 0.0  # inside an unterminated comment: not text
    assert by[("x-malformed", "sitemap")]["value"] == 0.0  # its home page served as sitemap.xml is no sitemap
    assert by[("x-wrong-type", "focal_point")]["value"] == 1.0  # HTML served as octet-stream still read
    assert by[("x-errors", "broken_link_share")]["value"] == 1.0
    assert ("x-redirect-loop", "feedback") not in by and ("x-slow-drip", "feedback") not in by


class _Canary(BaseHTTPRequestHandler):
    """An 'internal' service: any request reaching it is a guard failure."""

    hits: list = []

    def do_GET(self):
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


class _Redirector(BaseHTTPRequestHandler):
    targets: dict = {}

    def do_GET(self):
        if self.path == "/robots.txt":
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(302)
        self.send_header("Location", _Redirector.targets.get(self.path.strip("/"), "/"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture()
def servers():
    made = [ThreadingHTTPServer(("127.0.0.1", 0), h) for h in (_Canary, _Redirector)]
    for server in made:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    _Canary.hits = []
    yield made
    for server in made:
        server.shutdown()
        server.server_close()


@pytest.mark.slow  # waits out connection timeouts to unroutable addresses
def test_live_mode_refuses_private_addresses_even_through_redirects(servers, tmp_path):
    canary, redirector = (s.server_address[1] for s in servers)
    _Redirector.targets = {
        "to-canary": f"http://127.0.0.1:{canary}/admin",
        "to-localhost": f"http://localhost:{canary}/admin",
        "to-metadata": "http://169.254.169.254/latest/meta-data/",
        "to-lan": "http://10.0.0.1/",
        "to-file": "file:///etc/passwd",
        "to-v6": f"http://[::1]:{canary}/",
    }
    # the redirector stands for a public site: its one address and port are allowed, nothing else is
    # (a short politeness delay: the portals share the redirector's host, one request at a time)
    only_redirector = CrawlLimits(
        max_pages=1, delay_seconds=0.05, guard=Guard(allow=("127.0.0.1/32",), allow_ports=(redirector,))
    )
    targets = {name: f"http://127.0.0.1:{redirector}/{name}" for name in _Redirector.targets}
    targets["direct"] = f"http://127.0.0.1:{canary}/"
    _, pages, _ = run(targets, tmp_path / "live", only_redirector)
    home = {p["portal_id"]: p for p in pages if p["role"] == "page"}
    assert {k: v["error"] for k, v in home.items()} == {
        "to-canary": "blocked_address",
        "to-localhost": "blocked_address",
        "to-metadata": "blocked_address",
        "to-lan": "blocked_address",
        "to-file": "blocked_scheme",
        "to-v6": "blocked_address",
        "direct": "robots_disallowed",
    }  # robots.txt unreachable (blocked) means disallow all, RFC 9309
    assert _Canary.hits == []
    # the default live guard refuses loopback altogether
    default = CrawlLimits(max_pages=1, delay_seconds=0.05)
    _, pages, _ = run({"x": f"http://127.0.0.1:{redirector}/to-canary"}, tmp_path / "default", default)
    assert [p["error"] for p in pages] == ["blocked_address", "robots_disallowed"] and _Canary.hits == []


def test_signals_are_re_derived_from_the_warc_without_network(sim, tmp_path, monkeypatch):
    from portal_index.parse.page_signals import KEYWORDS_FILE, load_keywords

    pid = pick(lambda p: p.readable and p.has("feedback"), 1)[0]
    results, _, signals = run({pid: sim.url_for(pid)}, tmp_path, demo_limits(QUICK, sim.guard()))
    warc = results[pid].warc
    assert read(warc).info["portal-id"] == pid
    edited = tmp_path / "keywords.csv"
    edited.write_text(
        "".join(
            line
            for line in KEYWORDS_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith("feedback,")
        ),
        encoding="utf-8",
    )
    again = extract_warc(warc)
    assert again["crawl_signals"] == [{**r} for r in signals]  # same WARC, same keywords: same rows
    fewer = extract_warc(warc, load_keywords(edited))
    assert "feedback" not in {r["signal_id"] for r in fewer["crawl_signals"]}
    assert {r["signal_id"] for r in fewer["crawl_signals"]} == {r["signal_id"] for r in signals} - {"feedback"}


@pytest.mark.slow  # Dagster runs through the command line
def test_one_portal_is_crawled_alone_as_its_partition_then_re_extracted(tmp_path):
    import duckdb
    from conftest import cli
    from dagster import AssetKey, DagsterInstance

    from orchestration.defs.sources.partitions import all_portals_tags, portal_partitions
    from portal_index.core.periods import period_of
    from portal_index.core.registry import active_portals
    from portal_index.parse.page_signals import keywords_file

    PORTALS = portal_partitions()
    today = period_of(datetime.now().date())
    assert PORTALS.get_partition_keys() == sorted(p["portal_id"] for p in active_portals(today))
    tags = all_portals_tags()  # what `run` and the weekly schedule use: every portal in one run
    assert (tags["dagster/asset_partition_range_start"], tags["dagster/asset_partition_range_end"]) == (
        PORTALS.get_partition_keys()[0],
        PORTALS.get_partition_keys()[-1],
    )

    pid = pick(lambda p: p.readable and p.has("feedback"), 1)[0]
    result = cli("crawl", "--demo", "--portal", pid, home=tmp_path, check=True)
    assert "crawled 1 portal(s)" in result.stdout
    with DagsterInstance.from_config(str(tmp_path / "dagster")) as instance:
        assert instance.get_materialized_partitions(AssetKey("portal_crawls")) == {pid}
    warcs = list((tmp_path / "snapshots" / "crawl").rglob("*.warc.gz"))
    assert len(warcs) == 1 and pid in warcs[0].name

    def feedback():
        with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
            return con.execute(
                "select distinct portal_id, value, keywords_version from raw.crawl_signals where signal_id = 'feedback'"
            ).fetchall()

    before = feedback()
    assert [(p, v) for p, v, _ in before] == [(pid, 1.0)]
    edited = tmp_path / "keywords.csv"
    edited.write_text(
        "".join(
            line
            for line in keywords_file().read_text(encoding="utf-8").splitlines(keepends=True)
            if not line.startswith("feedback,")
        ),
        encoding="utf-8",
    )
    result = cli("extract", home=tmp_path, check=True, env={"PORTAL_INDEX_KEYWORDS": str(edited)})
    assert "re-extracted 1 WARC file(s)" in result.stdout
    assert feedback() == []  # the edited seed has no feedback phrases: the signal is gone, without a crawl
    cli("extract", home=tmp_path, check=True)
    assert feedback() == before  # and back with the seed as it is


def test_crawl_files_in_the_inbox_a_warc_rows_from_another_crawler_and_a_broken_warc(sim, tmp_path):
    import duckdb

    from portal_index.config import Home
    from portal_index.land.ingest import ingest_source
    from portal_index.parse.fetch_results import write_crawl

    pid = pick(lambda p: p.readable, 1)[0]
    results, pages, signals = run({pid: sim.url_for(pid)}, tmp_path / "crawl", demo_limits(QUICK, sim.guard()))
    home = Home(tmp_path / "home").ensure()
    inbox = home.inbox("crawl")
    warc = results[pid].warc
    (inbox / warc.name).write_bytes(warc.read_bytes())
    (inbox / "cut.warc.gz").write_bytes(warc.read_bytes()[: warc.stat().st_size // 2])  # a transfer cut short
    other = [{**p, "crawl_id": "other-1", "portal_id": "hue-info"} for p in pages[:3]]
    write_crawl(inbox / "other.jsonl", other, [{**s, "crawl_id": "other-1", "portal_id": "hue-info"} for s in signals])
    (inbox / "bad.jsonl").write_text('{"record": "page", "crawl_id": "x"}\nnot json\n', encoding="utf-8")

    report = ingest_source(home, "crawl")
    rejected = {s.original_name: [str(p) for p in ps] for s, ps in report.rejected}
    assert sorted(s.original_name for s, _ in report.accepted) == sorted([warc.name, "other.jsonl"])
    assert set(rejected) == {"cut.warc.gz", "bad.jsonl"}
    assert "a WARC file of portal-index fetch records" in rejected["cut.warc.gz"][0]
    assert any("row 1" in p and "portal_id" in p for p in rejected["bad.jsonl"])
    assert any("row 2" in p and "a JSON object" in p for p in rejected["bad.jsonl"])
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        counts = dict(con.execute("select portal_id, count(*) from raw.crawl_signals group by 1").fetchall())
    assert counts == {pid: len(signals), "hue-info": len(signals)}
