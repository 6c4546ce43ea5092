"""A crawl on several processes: sites never split, the same results as in one process, a dead
process costing only its own unfinished portals, a portal moved onto another process's site
crawled again at the end."""

import asyncio
import http.server
import sys
import threading
import time
from dataclasses import replace

import pytest

from portal_index.demo.simulator import Simulator, pick
from portal_index.fetch import shards
from portal_index.fetch.crawler import CrawlLimits, demo_limits
from portal_index.fetch.netguard import Guard
from portal_index.fetch.shards import crawl
from portal_index.parse.portal_signals import extract_warc

QUICK = CrawlLimits(max_pages=12, retries=0, backoff_seconds=0.05, render=False)


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


def test_a_site_is_never_split_and_shards_are_balanced():
    targets = {f"p{i}": f"https://h{i % 5}.gov.vn/p{i}/" for i in range(23)}
    targets |= {"www": "https://www.h1.gov.vn/", "port": "https://h1.gov.vn:8443/"}  # other hosts
    limits = CrawlLimits(render=False, processes=3, concurrency=16)
    plan = shards.plan(targets, limits)
    assert len(plan) == 3 and sorted(p for s in plan for p in s) == sorted(targets)
    owner = {}
    for i, shard in enumerate(plan):
        for pid, url in shard.items():
            site = shards.site_of(pid, url, limits)
            assert owner.setdefault(site, i) == i  # every portal of a host in one shard
    assert max(map(len, plan)) - min(map(len, plan)) <= 5  # whole sites of at most 5 portals
    assert shards.shares(16, 3) == [6, 5, 5] and shards.shares(2, 3) == [1, 1, 1]
    assert len(shards.plan(targets, CrawlLimits(render=True, processes=3))) == 1  # one browser
    assert len(shards.plan(targets, CrawlLimits(render=False, processes=1))) == 1
    assert len(shards.plan(targets, CrawlLimits(render=False, processes=8, concurrency=2))) == 2
    loopback = {f"p{i}": f"http://127.0.0.1:8000/p{i}/" for i in range(4)}  # one address, a site per portal
    assert len(shards.plan(loopback, CrawlLimits(render=False, processes=2, throttle_by="portal"))) == 2
    assert len(shards.plan(loopback, CrawlLimits(render=False, processes=2))) == 1


def _rows(results):
    """Per portal: how its crawl stopped, its fetches and its signals (all but the crawl's id and time)."""
    out = {}
    for r in results:
        rows = extract_warc(r.warc)
        pages = sorted(
            (p["role"], p["url"], p["depth"], p["status"], p["error"], p["bytes"], p["tls_fault"])
            for p in rows["crawl_pages"]
        )
        signals = sorted(
            (s["signal_id"], s["value"], s["evidence_url"], s["evidence_text"], s["read_as"])
            for s in rows["crawl_signals"]
        )
        out[r.portal_id] = (r.stopped, r.fetches, r.errors, r.signals, pages, signals)
    return out


def test_several_processes_crawl_what_one_does(sim, tmp_path):
    ids = pick(lambda p: True, 24)  # every kind: walls, certificate faults, app shells, plain http
    targets = {i: sim.url_for(i) for i in ids}
    lines = []
    one = crawl(targets, tmp_path / "one", demo_limits(QUICK, sim.guard()), log=lambda m: None)
    two = crawl(targets, tmp_path / "two", demo_limits(replace(QUICK, processes=2), sim.guard()), log=lines.append)
    assert [r.portal_id for r in two] == sorted(ids)
    assert any(line.startswith("crawl processes: 2;") for line in lines)
    assert _rows(two) == _rows(one)


def test_a_dead_process_costs_only_its_unfinished_portals(sim, tmp_path, monkeypatch):
    ids = pick(lambda p: p.readable, 6)
    started = shards._Child.start

    async def start_then_kill(job, silence):
        child = await started(job, silence)
        asyncio.get_running_loop().call_later(0.3, child.proc.kill)
        return child

    monkeypatch.setattr(shards._Child, "start", start_then_kill)
    limits = demo_limits(CrawlLimits(max_pages=20, render=False, processes=2), sim.guard())
    limits = replace(limits, delay_seconds=0.2)  # slow enough to be killed midway
    lines = []
    results = {r.portal_id: r for r in crawl({i: sim.url_for(i) for i in ids}, tmp_path, limits, log=lines.append)}
    assert sorted(results) == sorted(ids)
    first, second = shards.plan({i: sim.url_for(i) for i in ids}, limits)
    assert all(not results[p].stopped.startswith("crashed") and results[p].fetches for p in first)
    lost = [p for p in second if results[p].stopped.startswith("crashed")]
    assert lost and all(results[p].stopped == "crashed: crawl process 1 ended (killed by signal 9)" for p in lost)
    for pid in lost:  # a WARC file that loads: the portal crawled and crashed, no pages, no signals
        rows = extract_warc(results[pid].warc)
        assert rows["crawl_pages"] == [] and rows["crawl_signals"] == []
    for pid in first:
        assert extract_warc(results[pid].warc)["crawl_signals"]
    assert any("lost with its process" in line for line in lines)


# stand-ins for a shard's process: each reads its job, then breaks the protocol and hangs
_FAULTY = {
    "a frame longer than any message": "sys.stdout.buffer.write(struct.pack('>I', 2**31))",
    "bytes that are no message": "sys.stdout.buffer.write(struct.pack('>I', 5) + b'hello')",
    "a result for another shard's portal": "m = pickle.dumps(('result', PortalCrawl('elsewhere', Path('x'))));"
    " sys.stdout.buffer.write(struct.pack('>I', len(m)) + m)",
    "a progress count no shard has": "m = pickle.dumps(('fetches', [10**12, 0]));"
    " sys.stdout.buffer.write(struct.pack('>I', len(m)) + m)",
    "a usage without its figures": "m = pickle.dumps(('usage', {}));"
    " sys.stdout.buffer.write(struct.pack('>I', len(m)) + m)",
    "silence": "pass",
    "chatter that never ends": "m = pickle.dumps(('log', 'still here'));"
    " [(sys.stdout.buffer.write(struct.pack('>I', len(m)) + m), sys.stdout.flush(), time.sleep(0.2))"
    " for _ in range(1000)]",
}
_FAULT_SAID = {
    "a frame longer than any message": "sent a message of 2147483648 bytes",
    "bytes that are no message": "sent a message that could not be read (UnpicklingError)",
    "a result for another shard's portal": "sent a result for a portal not in its shard",
    "a progress count no shard has": "sent a 'fetches' message it does not send",
    "a usage without its figures": "sent a 'usage' message it does not send",
    "silence": "silent for 4 s",
    "chatter that never ends": "was still running after 5 s",
}


@pytest.mark.parametrize("fault", list(_FAULTY))
def test_a_process_that_breaks_the_protocol_or_hangs_is_stopped_and_costs_only_its_portals(
    sim, tmp_path, monkeypatch, fault
):
    script = (
        "import pickle, struct, sys, time; from pathlib import Path;"
        " from portal_index.fetch.crawler import PortalCrawl;"
        f" pickle.load(sys.stdin.buffer); {_FAULTY[fault]}; sys.stdout.flush(); time.sleep(120)"
    )
    monkeypatch.setattr(shards, "CHILD", [sys.executable, "-c", script])
    monkeypatch.setattr(shards, "SILENCE_SLACK", 1.0)
    ids = pick(lambda p: p.readable, 4)
    limits = demo_limits(CrawlLimits(max_pages=4, render=False, processes=2, portal_seconds=3.0), sim.guard())
    lines = []
    started = time.monotonic()
    results = {r.portal_id: r for r in crawl({i: sim.url_for(i) for i in ids}, tmp_path, limits, log=lines.append)}
    assert time.monotonic() - started < 60  # the hanging stand-in was stopped, not waited for
    first, second = shards.plan({i: sim.url_for(i) for i in ids}, limits)
    assert sorted(results) == sorted(ids)
    assert all(not results[p].stopped.startswith("crashed") and results[p].fetches for p in first)
    said = f"crashed: crawl process 1 ended (stopped: it {_FAULT_SAID[fault]}"
    assert all(results[p].stopped.startswith(said) for p in second), [results[p].stopped for p in second]
    assert any(line.startswith("crawl process 1 stopped: it ") for line in lines)
    for pid in second:
        assert extract_warc(results[pid].warc)["crawl_pages"] == []


class _Hosts(http.server.BaseHTTPRequestHandler):
    """a.gov.vn's home page has moved to b.gov.vn/a/; b.gov.vn is a portal of its own."""

    protocol_version = "HTTP/1.1"
    hits: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0]
        _Hosts.hits.append((host, self.path))
        if host == "a.gov.vn" and self.path == "/":
            status, body, extra = 301, b"", [("Location", "http://b.gov.vn/a/")]
        elif self.path == "/robots.txt":
            status, body, extra = 200, b"", [("Content-Type", "text/plain")]
        else:
            page = f"<html lang='vi'><body><h1>{host}{self.path}</h1><a href='{self.path}x'>x</a></body></html>"
            status, body, extra = 200, page.encode(), [("Content-Type", "text/html; charset=utf-8")]
        self.send_response(status)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_portal_moved_onto_another_processs_site_is_crawled_again_at_the_end(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hosts)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        guard = Guard(
            allow=("127.0.0.0/8",),
            allow_ports=(port,),
            connect_to=tuple((h, 80, "127.0.0.1", port) for h in ("a.gov.vn", "b.gov.vn")),
            mapped_only=True,
        )
        limits = demo_limits(CrawlLimits(max_pages=4, render=False, processes=2), guard)
        targets = {"a": "http://a.gov.vn/", "b": "http://b.gov.vn/"}
        assert len(shards.plan(targets, limits)) == 2
        lines = []
        results = {r.portal_id: r for r in crawl(targets, tmp_path, limits, log=lines.append)}
    finally:
        server.shutdown()
    assert {results["a"].stopped, results["b"].stopped} <= {"complete", "page_limit"}
    assert any("crawled again after the other processes" in line and "'a'" in line for line in lines)
    pages = extract_warc(results["a"].warc)["crawl_pages"]
    assert any(p["url"].startswith("http://b.gov.vn/a/") and p["depth"] == 1 for p in pages)


def test_the_crawls_loop_declares_asyncio_to_sniffio_and_only_inside_it():
    """httpcore and anyio ask sniffio which library runs several times a request; the crawl's loop
    answers once (`run_loop`), for its tasks and the threads `asyncio.to_thread` starts (which copy the
    context), and not for the code that called it."""
    import sniffio

    from portal_index.fetch.crawler import run_loop

    async def declared() -> str | None:
        return sniffio.current_async_library_cvar.get()

    async def seen() -> tuple:
        child = await asyncio.create_task(declared())  # read by the task itself
        thread = await asyncio.to_thread(sniffio.current_async_library_cvar.get)
        return await declared(), child, thread

    assert run_loop(seen()) == ("asyncio", "asyncio", "asyncio")
    assert sniffio.current_async_library_cvar.get() is None
