"""The simulator as the real web: own host names over HTTPS, certificate faults, bot walls, app shells.

Each test picks registry portals by their simulated profile and checks what a correct crawler and
prober must report for them."""

import json
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from portal_index.demo.simulator import Simulator, pick, profile
from portal_index.fetch.browser import find_chromium
from portal_index.fetch.crawler import CrawlLimits, demo_limits
from portal_index.fetch.prober import probe
from portal_index.fetch.render import Renderer
from portal_index.fetch.shards import crawl
from portal_index.parse.portal_signals import extract_warc

QUICK = CrawlLimits(max_pages=12, retries=0, backoff_seconds=0.05, render=False)


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


def _crawl(sim, ids, tmp_path: Path, limits=QUICK):
    results = crawl({i: sim.url_for(i) for i in ids}, tmp_path, demo_limits(limits, sim.guard()), log=lambda m: None)
    rows = {"crawl_pages": [], "crawl_signals": []}
    for r in results:
        for table, found in extract_warc(r.warc).items():
            rows.setdefault(table, []).extend(found)
    return results, rows["crawl_pages"], rows["crawl_signals"]


def _home(pages, pid):
    return next(p for p in pages if p["portal_id"] == pid and p["role"] == "page" and p["depth"] == 0)


def _why(pages, pid):
    """The home page's error; when robots.txt could not be fetched (so "disallow all"), robots.txt's."""
    error = _home(pages, pid)["error"]
    if error == "robots_disallowed":
        return next(p for p in pages if p["portal_id"] == pid and p["role"] == "robots")["error"]
    return error


def test_portals_have_their_own_host_names_over_https_and_nothing_else_is_reachable(sim, tmp_path):
    pid = pick(lambda p: p.readable and p.scheme == "https" and p.has("feedback"), 1)[0]
    url = sim.url_for(pid)
    assert urlsplit(url).hostname.endswith(".gov.vn") and url.startswith("https://")
    _, pages, signals = _crawl(sim, [pid], tmp_path)
    home = _home(pages, pid)
    assert home["status"] == 200 and home["final_url"] == url and home["read_as"] == "static"
    evidence = [s["evidence_url"] for s in signals if s["portal_id"] == pid and s["evidence_url"]]
    assert evidence and all(e.startswith(url) for e in evidence)
    assert probe(pid, url, guard=sim.guard())["redirects_to_https"] is True  # http:// answers with a redirect
    for elsewhere in ("https://example.com/", "http://127.0.0.1:9/", "https://[::1]/"):
        assert probe("x", elsewhere, guard=sim.guard())["error"] == "blocked_address"


def test_certificate_faults_are_told_apart_and_an_incomplete_chain_is_still_read(sim, tmp_path):
    chosen = {
        state: pick(
            lambda p, s=state: p.tls == s and p.failure == "none" and p.wall == "none" and p.app == "static", 1
        )[0]
        for state in ("incomplete_chain", "expired", "wrong_host", "self_signed")
    }
    _, pages, signals = _crawl(sim, chosen.values(), tmp_path)
    homes = {state: _home(pages, pid) for state, pid in chosen.items()}
    assert homes["incomplete_chain"]["status"] == 200 and homes["incomplete_chain"]["error"] is None
    assert homes["incomplete_chain"]["tls_fault"] == "tls_incomplete_chain"
    assert any(s["portal_id"] == chosen["incomplete_chain"] and s["value"] for s in signals)
    assert _why(pages, chosen["expired"]) == "tls_expired"
    assert _why(pages, chosen["wrong_host"]) == "tls_hostname_mismatch"
    assert _why(pages, chosen["self_signed"]) == "tls_untrusted"
    for state in ("expired", "wrong_host", "self_signed"):
        assert not [s for s in signals if s["portal_id"] == chosen[state]], state  # missing, never 0
    rows = {state: probe(pid, sim.url_for(pid), guard=sim.guard()) for state, pid in chosen.items()}
    assert rows["incomplete_chain"]["error"] is None and rows["incomplete_chain"]["tls_fault"] == "tls_incomplete_chain"
    assert rows["incomplete_chain"]["status"] == 200 and rows["incomplete_chain"]["tls_expires_at"]
    assert [rows[s]["error"] for s in ("expired", "wrong_host", "self_signed")] == [
        "tls_expired",
        "tls_hostname_mismatch",
        "tls_untrusted",
    ]


def test_a_flaky_portal_fails_the_same_requests_whatever_their_order():
    """Every third request of the same URL answers 503: a crawl in shards, on a cluster or with
    pages rendered at once meets the same failures as one crawling in order."""
    pid = pick(lambda p: p.failure == "flaky" and p.wall == "none" and p.tls == "valid" and p.app == "static", 1)[0]
    outcomes = []
    for order in ("one URL after another", "in turn"):
        with Simulator() as fresh:
            # not the home page nor search: the profile's slow pages (1.5 s each) test nothing here
            urls = [fresh.url_for(pid) + path for path in ("gioi-thieu", "lien-he", "tin-tuc")]
            asked = [u for u in urls for _ in range(3)] if order == "one URL after another" else urls * 3
            nth: Counter = Counter()
            seen = {}
            for url in asked:
                nth[url] += 1
                seen[(url.removeprefix(fresh.url_for(pid)), nth[url])] = probe(pid, url, guard=fresh.guard())["status"]
        outcomes.append(seen)
    assert outcomes[0] == outcomes[1]
    assert {key for key, status in outcomes[0].items() if status == 503} == {
        (p, 3) for p in ("gioi-thieu", "lien-he", "tin-tuc")
    }


def test_an_http_only_portal_is_crawled_over_http_and_has_no_https(sim, tmp_path):
    pid = pick(lambda p: p.tls == "http_only" and p.readable, 1)[0]
    url = sim.url_for(pid)
    assert url.startswith("http://")
    _, pages, _ = _crawl(sim, [pid], tmp_path)
    assert _home(pages, pid)["status"] == 200
    https = "https://" + url.removeprefix("http://")
    assert probe(pid, https, guard=sim.guard())["error"] == "connection_refused"


@pytest.mark.parametrize("kind", ["js_challenge", "waf_403", "waf_429", "waf_503", "captcha"])
def test_a_bot_wall_is_blocked_never_content(sim, tmp_path, kind):
    pid = pick(lambda p, k=kind: p.wall == k and p.failure == "none" and p.tls in ("valid", "http_only"), 1)[0]
    results, pages, signals = _crawl(sim, [pid], tmp_path)
    assert _why(pages, pid) == "blocked"
    assert any(p["detail"].startswith("blocked") for p in pages if p["portal_id"] == pid and p["error"] == "blocked")
    assert not [s for s in signals if s["portal_id"] == pid]  # not measurable: no signal, not zeros
    row = probe(pid, sim.url_for(pid), guard=sim.guard())
    assert row["error"] == "blocked" and row["detail"]


def test_an_app_shell_without_a_browser_is_render_failed_not_an_empty_portal(sim, tmp_path):
    pid = pick(lambda p: p.app == "spa" and p.failure == "none" and p.wall == "none" and p.tls == "valid", 1)[0]
    _, pages, signals = _crawl(sim, [pid], tmp_path)
    home = _home(pages, pid)
    assert home["error"] == "render_failed" and "app root" in home["detail"]
    assert not [s for s in signals if s["portal_id"] == pid]


@pytest.mark.slow  # a real browser renders the app shells
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium")
def test_an_spa_portal_is_rendered_and_replayed_offline(sim, tmp_path):
    pid = pick(
        lambda p: (
            p.app == "spa"
            and p.failure == "none"
            and p.wall == "none"
            and p.tls == "valid"
            and p.has("feedback")
            and p.has("search")
            and p.search_results
        )
    )[0]
    static = pick(lambda p: p.readable and p.tls == "valid", 1)[0]
    limits = CrawlLimits(max_pages=8, retries=0, render=True)
    results, pages, signals = _crawl(sim, [pid, static], tmp_path, limits)
    home = _home(pages, pid)
    assert home["error"] is None and home["read_as"] == "rendered"
    mine = {s["signal_id"]: s for s in signals if s["portal_id"] == pid}
    assert mine["feedback"]["value"] == 1.0 and mine["feedback"]["read_as"] == "rendered"
    assert mine["search"]["value"] == 1.0 and mine["search"]["read_as"] == "rendered"  # the search page rendered too
    prof = profile(pid)
    assert mine["a11y.lang"]["value"] == float(prof.has("a11y.lang"))  # read from the DOM the script built
    assert {p["read_as"] for p in pages if p["portal_id"] == static and p["read_as"]} == {"static"}
    # links found only in the rendered DOM were followed
    assert any(p["portal_id"] == pid and p["depth"] == 1 and p["status"] == 200 for p in pages)
    # the rendered DOM is in the WARC, tied to its response: a replay gives the same signals
    warc = next(r.warc for r in results if r.portal_id == pid)
    again = extract_warc(warc)["crawl_signals"]
    assert sorted(json.dumps(s, sort_keys=True) for s in again) == sorted(
        json.dumps(s, sort_keys=True) for s in signals if s["portal_id"] == pid
    )


def _host_server(routes: dict):
    """A plain-http server answering {(host, path): (status, headers, body)} by Host header."""
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            host = (self.headers.get("Host") or "").split(":")[0]
            status, headers, body = routes.get((host, self.path.split("?")[0]), (404, [], "<p>not found</p>"))
            body = body.encode() if isinstance(body, str) else body
            self.send_response(status)
            if not any(k.lower() == "content-type" for k, _ in headers):
                self.send_header("Content-Type", "text/html; charset=utf-8")
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


SHELL = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Dịch vụ công</title></head>"
    "<body><div id='app'></div><script>{script}</script></body></html>"
)
OTHER = "<html lang='vi'><body><h1>Trang khác</h1><a href='/gop-y'>Góp ý, phản ánh kiến nghị</a></body></html>"


@pytest.mark.slow  # a real browser renders the app shells
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium")
def test_pages_render_several_at_once_but_never_more_than_per_site_of_one_site(sim, tmp_path, monkeypatch):
    """Rendering waits (for the app's data, then for the network to go quiet), so pages of several
    portals render at once; a render is one of its site's requests, never more than `per_site` at
    once (here each portal is its own site)."""
    spas = pick(lambda p: p.app == "spa" and p.failure == "none" and p.wall == "none" and p.tls == "valid", 4)
    now: Counter = Counter()
    most: Counter = Counter()
    real = Renderer.render

    async def counted(self, url, portal_id):
        now[portal_id] += 1
        now["all"] += 1
        most[portal_id] = max(most[portal_id], now[portal_id])
        most["all"] = max(most["all"], now["all"])
        try:
            return await real(self, url, portal_id)
        finally:
            now[portal_id] -= 1
            now["all"] -= 1

    monkeypatch.setattr(Renderer, "render", counted)
    limits = CrawlLimits(max_pages=8, retries=0, render=True, per_site=2, render_concurrency=4)
    _, pages, _ = _crawl(sim, spas, tmp_path, limits)
    assert {p["read_as"] for p in pages if p["role"] == "page" and p["error"] is None} == {"rendered"}
    assert all(most[pid] <= 2 for pid in spas), most
    assert 2 < most["all"] <= 4, most


@pytest.mark.slow  # a real browser renders the shells
@pytest.mark.skipif(find_chromium() is None, reason="no Chromium")
@pytest.mark.parametrize(
    "script, error, detail",
    [
        ("location.href = 'http://other.gov.vn/';", "render_failed", "navigated off the portal, to other.gov.vn"),
        ("location.href = 'http://169.254.169.254/latest/';", "blocked_address", "169.254.169.254"),
        (
            "fetch('/api/page').then(r => r.text()).then(t => { document.getElementById('app').innerHTML = t; });",
            "blocked",
            "blocked: waf (cloudflare)",
        ),
    ],
    ids=["navigates-to-another-portal", "navigates-to-a-forbidden-address", "its-data-behind-a-wall"],
)
def test_a_rendered_page_is_only_content_when_it_is_the_portals_own(tmp_path, script, error, detail):
    from portal_index.demo.walls import wall_response
    from portal_index.fetch.netguard import Guard

    robots = (200, [("Content-Type", "text/plain")], "")
    server = _host_server(
        {
            ("a.gov.vn", "/"): (200, [], SHELL.format(script=script)),
            ("a.gov.vn", "/robots.txt"): robots,
            ("a.gov.vn", "/api/page"): wall_response("waf_429"),
            ("other.gov.vn", "/"): (200, [], OTHER),
        }
    )
    try:
        port = server.server_address[1]
        guard = Guard(
            allow=("127.0.0.0/8",),
            allow_ports=(port,),
            connect_to=tuple((h, 80, "127.0.0.1", port) for h in ("a.gov.vn", "other.gov.vn")),
            mapped_only=True,
        )
        results = crawl({"a": "http://a.gov.vn/"}, tmp_path, demo_limits(CrawlLimits(max_pages=5), guard), log=print)
        rows = extract_warc(results[0].warc)
    finally:
        server.shutdown()
    home = _home(rows["crawl_pages"], "a")
    assert home["error"] == error and detail in home["detail"]
    assert rows["crawl_signals"] == []  # nothing read from a page that is not the portal's
