"""WARC files written by other tools (GNU wget, warcio), several portals per file, revisits, cut and
incomplete files, and records too large to read: the crawl loader without dbt."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import os
import shutil
import subprocess
import time
import tracemalloc
from base64 import b32encode
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from portal_index.core.problems import InputRejected
from portal_index.core.registry import portals as registry_portals
from portal_index.demo.simulator import Simulator, pick, profile
from portal_index.fetch.crawler import CrawlLimits, demo_limits
from portal_index.fetch.shards import crawl
from portal_index.parse import warc
from portal_index.parse.fetch_results import parse_crawl
from portal_index.parse.portal_signals import PortalMatcher

KEYWORD_FEATURES = ("art4.", "contact.", "focal_point", "info_regulation", "feedback", "english", "privacy", "sitemap")
QUICK = CrawlLimits(max_pages=30, response_seconds=5, portal_seconds=30, backoff_seconds=0.05, timeout_seconds=5)
A, B = [p for p in registry_portals() if p["base_url"]][:2]  # two registry portals with their own hosts


@contextlib.contextmanager
def guarded_proxy(guard):
    """Our guarded forward proxy on loopback, run in a thread for a program that is not ours."""
    import asyncio
    import threading

    from portal_index.fetch.proxy import GuardedProxy

    loop = asyncio.new_event_loop()
    proxy = GuardedProxy(guard)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(proxy.start(), loop).result(10)
    try:
        yield proxy.url
    finally:
        asyncio.run_coroutine_threadsafe(proxy.close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


@pytest.fixture(scope="module")
def sim():
    with Simulator() as s:
        yield s


@pytest.fixture(scope="module")
def own(sim, tmp_path_factory):
    """Two portals crawled by our crawler: {portal_id: WARC path}."""
    ids = pick(lambda p: p.readable and p.ttfb_ms < 600, 2)
    out = tmp_path_factory.mktemp("own")
    results = crawl({i: sim.url_for(i) for i in ids}, out, demo_limits(QUICK, sim.guard()), log=lambda m: None)
    return {r.portal_id: r.warc for r in results}


def rejected(path: Path, **kw) -> list[str]:
    with pytest.raises(InputRejected) as e:
        parse_crawl(path, **kw)
    return [str(p) for p in e.value.problems]


def page(title: str, body: str = "", links: tuple[str, ...] = ()) -> bytes:
    anchors = "".join(f"<a href='{u}'>{u}</a>" for u in links)
    return (
        f"<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{body}</p>{anchors}</body></html>"
    ).encode()


def digest(payload: bytes) -> str:
    return "sha1:" + b32encode(hashlib.sha1(payload).digest()).decode()


def write_warc(path: Path, responses: list[tuple], gzip_records: bool = True, version: str = "1.1") -> Path:
    """(url, status, body, extra HTTP headers) as response records, written by warcio (nothing else)."""
    with open(path, "wb") as f:
        writer = WARCWriter(f, gzip=gzip_records, warc_version=version)
        for url, status, body, *extra in responses:
            headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))]
            http = StatusAndHeaders(f"{status} X", headers + list(extra[0] if extra else []), protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return path


def raw_record(headers: list[tuple[str, str]], block: bytes, version: str = "1.0") -> bytes:
    """One record as bytes, headers exactly as given (wget's <angle brackets>, a lying Content-Length)."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers)
    return f"WARC/{version}\r\n{head}\r\n".encode() + block + b"\r\n\r\n"


def http_block(status: int, body: bytes, ctype: str = "text/html; charset=utf-8") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body


def offsets(path: Path) -> list[int]:
    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        return [it.get_record_offset() for _ in it]


# (a) ------------------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("wget") is None, reason="GNU wget is not installed")
def test_a_warc_made_by_gnu_wget_gives_the_signals_our_crawler_finds(sim, own, tmp_path):
    pid = next(iter(own))
    base = sim.url_for(pid)  # the portal's own host name, over HTTPS
    with guarded_proxy(sim.guard()) as proxy_url:  # wget reaches the simulator's hosts as Chromium does
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        env.update(https_proxy=proxy_url, http_proxy=proxy_url)
        cmd = ["wget", f"--warc-file={tmp_path / 'site'}", "--recursive", "--level=1", "--no-verbose", "--no-parent"]
        cmd += [f"--ca-certificate={sim.pki.ca_file}", "-e", "robots=off", "-P", str(tmp_path / "files"), base]
        subprocess.run(cmd, env=env, timeout=60, capture_output=True, check=False)  # exit 8 for the 404 links
    made = tmp_path / "site.warc.gz"
    assert made.exists()
    with pytest.raises(InputRejected):  # the base URL given is not this portal's
        parse_crawl(made, portals={pid: "https://elsewhere.gov.vn/"})

    rows = parse_crawl(made, portals={pid: base})
    ours = {r["signal_id"]: r for r in parse_crawl(own[pid])["crawl_signals"]}
    theirs = {r["signal_id"]: r for r in rows["crawl_signals"]}
    same = [s for s in ours if s.startswith(KEYWORD_FEATURES) or s.startswith("a11y.") or s == "mobile_viewport"]
    same += ["home_page_bytes", "newest_item_age_days", "broken_link_share"]
    assert len(same) > 20 and {s: theirs[s]["value"] for s in same} == {s: ours[s]["value"] for s in same}
    assert all(theirs[s]["evidence_url"].startswith(base) for s in same if theirs[s]["value"] and s != "sitemap")
    if profile(pid).has("search"):
        assert "search" not in theirs  # wget found the form but never submitted it: missing, not zero
    else:
        assert theirs["search"]["value"] == 0.0

    pages = rows["crawl_pages"]
    assert [(p["url"], p["depth"], p["status"]) for p in pages[:1]] == [(base, 0, 200)]
    assert {p["depth"] for p in pages[1:]} == {1} and {p["role"] for p in pages} == {"page"}
    assert not any(p["url"].endswith("logo.png") for p in pages)  # an image is no page
    crawl_id = pages[0]["crawl_id"]
    assert crawl_id.startswith("crawl-") and "-warc-" in crawl_id and {p["crawl_id"] for p in pages} == {crawl_id}
    second = len("crawl-20260101T000000")
    assert crawl_id[:second] >= ours["feedback"]["crawl_id"][:second]  # crawled after ours: it sorts after ours
    assert parse_crawl(made, portals={pid: base}) == rows  # the same file, the same rows


# (b) ------------------------------------------------------------------------------------------------
def test_one_file_of_response_records_for_two_portals_loads_both(tmp_path):
    a, b = A["base_url"], B["base_url"]
    http_a = a.replace("https://", "http://")
    made = write_warc(
        tmp_path / "two.warc.gz",
        [
            (http_a, 301, b"", [("Location", a)]),  # http -> https, followed within the file
            (a, 200, page("Trang chủ", "Góp ý, phản ánh kiến nghị", (a + "gioi-thieu", a + "mat"))),
            (a + "gioi-thieu", 200, page("Giới thiệu", "Cơ cấu tổ chức")),
            (a + "mat", 404, page("Không tìm thấy")),
            (a + "logo.png", 200, b"\x89PNG....", [("Content-Type", "image/png")]),
            (b + "tin-tuc", 200, page("Tin tức")),
            (b, 200, page("Cổng thông tin", "Chào mừng")),
        ],
    )
    rows = parse_crawl(made)
    pages = {p["portal_id"]: [] for p in rows["crawl_pages"]}
    for p in rows["crawl_pages"]:
        pages[p["portal_id"]].append(p)
    assert set(pages) == {A["portal_id"], B["portal_id"]}
    home_a = pages[A["portal_id"]][0]
    assert (home_a["url"], home_a["final_url"], home_a["status"], home_a["redirects"], home_a["depth"]) == (
        http_a,
        a,
        200,
        1,
        0,
    )
    assert [p["url"] for p in pages[A["portal_id"]]] == [http_a, a + "gioi-thieu", a + "mat"]  # no image
    assert [(p["url"], p["depth"]) for p in pages[B["portal_id"]]] == [(b, 0), (b + "tin-tuc", 1)]  # base URL first
    signals = {(s["portal_id"], s["signal_id"]): s for s in rows["crawl_signals"]}
    assert signals[(A["portal_id"], "feedback")]["value"] == 1.0
    assert signals[(A["portal_id"], "art4.organisation")]["evidence_url"] == a + "gioi-thieu"
    assert signals[(A["portal_id"], "broken_link_share")]["value"] == 0.5
    assert signals[(B["portal_id"], "feedback")]["value"] == 0.0
    assert len({r["crawl_id"] for r in rows["crawl_pages"] + rows["crawl_signals"]}) == 1


def test_a_host_shared_by_several_portals_goes_to_the_longest_base_path():
    m = PortalMatcher({"x": "http://h.gov.vn/", "y": "https://www.h.gov.vn/dvc/", "z": "http://other.vn:8080/a"})
    assert m.match("https://h.gov.vn/dvc/thu-tuc") == "y" and m.match("http://www.h.gov.vn/dvc") == "y"
    assert m.match("http://h.gov.vn/dvcx") == "x" and m.match("http://H.GOV.VN:80/") == "x"
    assert m.match("http://other.vn:8080/robots.txt") == "z"  # the host's only portal
    assert m.match("http://other.vn/a/") is None and m.match("http://example.org/") is None


def test_a_browser_crawl_keeps_its_documents_and_passes_over_everything_else(tmp_path):
    """warcprox / Browsertrix style: requests with Sec-Fetch-Dest, XHR and scripts, resource, dns: records."""
    a = A["base_url"]
    made = tmp_path / "browser.warc.gz"
    with open(made, "wb") as f:
        writer = WARCWriter(f, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record("browser.warc.gz", {"software": "Browsertrix-Crawler 1.x"}))
        for url, dest, ctype, body in (
            (a, "document", "text/html", page("Trang chủ", "Góp ý")),
            (a + "api/tin-moi", "empty", "text/html", page("Góp ý JSON")),  # an XHR, whatever its type
            (a + "static/app", "script", "text/html", b"var x;"),
        ):
            http = StatusAndHeaders("200 OK", [("Content-Type", ctype)], protocol="HTTP/1.1")
            response = writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http)
            req = StatusAndHeaders("GET / HTTP/1.1", [("Sec-Fetch-Dest", dest)], is_http_request=True)
            request = writer.create_warc_record(
                url,
                "request",
                http_headers=req,
                warc_headers_dict={"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")},
            )
            writer.write_record(response)
            writer.write_record(request)
        for uri, kind, ctype in (
            ("dns:angiang.gov.vn", "response", "text/dns"),
            ("urn:pageinfo:" + a, "resource", "application/json"),
        ):
            writer.write_record(
                writer.create_warc_record(uri, kind, payload=io.BytesIO(b"{not json"), warc_content_type=ctype)
            )
    rows = parse_crawl(made)
    assert [(p["url"], p["depth"]) for p in rows["crawl_pages"]] == [(a, 0)]


# (c) ------------------------------------------------------------------------------------------------
def test_a_file_of_unknown_hosts_is_rejected_naming_them_and_known_hosts_load_beside_them(tmp_path):
    unknown = write_warc(
        tmp_path / "unknown.warc.gz",
        [("https://example.org/", 200, page("x")), ("http://www.example.com/a", 200, page("y"))],
    )
    problems = rejected(unknown)
    assert len(problems) == 1 and "example.org (1 record)" in problems[0] and "www.example.com" in problems[0]
    assert "registry" in problems[0]

    mixed = write_warc(
        tmp_path / "mixed.warc.gz", [("https://example.org/", 200, page("x")), (A["base_url"], 200, page("y"))]
    )
    rows = parse_crawl(mixed)
    assert {p["portal_id"] for p in rows["crawl_pages"]} == {A["portal_id"]}
    # the hosts left out are named in the load's notes, which the run's summary shows
    assert rows["_notes"] == ["records of hosts outside every registry portal were not loaded: example.org (1 record)"]

    empty = tmp_path / "empty.warc.gz"
    with open(empty, "wb") as f:
        WARCWriter(f, gzip=True).write_record(WARCWriter(f).create_warcinfo_record("x", {"software": "other"}))
    assert "no HTTP response records" in rejected(empty)[0]
    junk = tmp_path / "junk.warc"
    junk.write_bytes(b"this is no WARC file\n" * 10)
    assert "expected a complete WARC file" in rejected(junk)[0]
    plain = write_warc(tmp_path / "plain.warc", [(A["base_url"], 200, page("x"))] * 2, gzip_records=False)
    whole = tmp_path / "whole.warc.gz"
    whole.write_bytes(gzip.compress(plain.read_bytes()))  # one gzip stream, not one per record
    assert "gzipped whole, not record by record" in rejected(whole)[0]


# (d) ------------------------------------------------------------------------------------------------
def test_our_warc_cut_at_a_record_boundary_is_an_incomplete_crawl(own, tmp_path):
    pid, full = next(iter(own.items()))
    data = full.read_bytes()
    starts = offsets(full)
    cut = tmp_path / full.name
    cut.write_bytes(data[: starts[-1]])  # the closing summary record dropped
    problems = rejected(cut)
    assert len(problems) == 1
    assert f"incomplete crawl: no closing summary record for portal {pid}" in problems[0]
    assert f"the file was cut at byte {starts[-1]}, after {len(starts) - 1} records" in problems[0]

    mid = tmp_path / "mid.warc.gz"
    mid.write_bytes(data[: (starts[-1] + len(data)) // 2])  # inside the summary's gzip member
    problems = rejected(mid)
    assert "cut mid-record" in problems[0] and f"record {len(starts)}" in problems[0]
    assert "a WARC file of portal-index fetch records" in problems[0]
    half = tmp_path / "half.warc.gz"
    half.write_bytes(data[: len(data) // 2])
    assert "cut mid-record" in rejected(half)[0]
    trailer = tmp_path / "trailer.warc.gz"
    trailer.write_bytes(data[:-4])  # only the last gzip member's length field missing
    assert "cut mid-record" in rejected(trailer)[0]


def test_two_crawls_of_ours_in_one_file_load_apart_and_one_incomplete_rejects_the_file(own, tmp_path):
    (p1, w1), (p2, w2) = sorted(own.items())
    both = tmp_path / "both.warc.gz"
    both.write_bytes(w1.read_bytes() + w2.read_bytes())
    rows = parse_crawl(both)
    alone = {p: parse_crawl(w) for p, w in own.items()}
    assert rows["crawl_signals"] == alone[p1]["crawl_signals"] + alone[p2]["crawl_signals"]
    assert rows["crawl_pages"] == alone[p1]["crawl_pages"] + alone[p2]["crawl_pages"]
    first = w1.read_bytes()
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(first[: offsets(w1)[-1]] + w2.read_bytes())  # the first crawl lost its summary
    problems = rejected(broken)
    assert len(problems) == 1 and f"portal {p1}" in problems[0] and "its records stop at record" in problems[0]


def test_the_loader_keeps_complete_files_and_rejects_the_rest(own, tmp_path):
    import duckdb

    from portal_index.config import Home
    from portal_index.land.ingest import ingest_source

    pid, full = next(iter(own.items()))
    home = Home(tmp_path / "home").ensure()
    inbox = home.inbox("crawl")
    (inbox / full.name).write_bytes(full.read_bytes())
    (inbox / "cut.warc.gz").write_bytes(full.read_bytes()[: offsets(full)[-1]])
    write_warc(inbox / "other.warc.gz", [(A["base_url"], 200, page("Trang chủ", "Góp ý"))])
    write_warc(inbox / "unknown.warc.gz", [("https://example.org/", 200, page("x"))])
    report = ingest_source(home, "crawl")
    assert sorted(s.original_name for s, _ in report.accepted) == sorted([full.name, "other.warc.gz"])
    assert sorted(s.original_name for s, _ in report.rejected) == ["cut.warc.gz", "unknown.warc.gz"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        crawls = dict(con.execute("select crawl_id, count(*) from raw.crawl_pages group by 1").fetchall())
    mine = parse_crawl(full)["crawl_pages"][0]["crawl_id"]
    assert len(crawls) == 2 and crawls[mine] == len(parse_crawl(full)["crawl_pages"])  # nothing of the cut copy


# (e) ------------------------------------------------------------------------------------------------
def test_an_uncompressed_warc_1_0_with_angle_bracketed_uris(tmp_path):
    a = A["base_url"]
    body = page("Trang chủ", "Góp ý", (a + "lien-he",))
    records = [
        raw_record(
            [("WARC-Type", "warcinfo"), ("Content-Type", "application/warc-fields"), ("Content-Length", "11")],
            b"software: x",
        ),
        raw_record(
            [("WARC-Type", "metadata"), ("WARC-Target-URI", "<metadata://gnu.org/software/wget/warc/MANIFEST.txt>"),
             ("Content-Type", "text/plain"), ("Content-Length", "9")],
            b"not json!",
        ),
    ]  # fmt: skip
    for url, content in ((a, body), (a + "lien-he", page("Liên hệ", "Điện thoại: 024 3825 1234"))):
        block = http_block(200, content)
        records.append(
            raw_record(
                [("WARC-Type", "response"), ("WARC-Target-URI", f"<{url}>"), ("WARC-Date", "2025-03-04T05:06:07Z"),
                 ("WARC-Record-ID", f"<urn:uuid:{hashlib.md5(url.encode()).hexdigest()}>"),
                 ("Content-Type", "application/http;msgtype=response"), ("Content-Length", str(len(block)))],
                block,
            )
        )  # fmt: skip
    made = tmp_path / "wget-1.0.warc"
    made.write_bytes(b"".join(records))
    rows = parse_crawl(made)
    assert [(p["url"], p["depth"], p["fetched_at"]) for p in rows["crawl_pages"]] == [
        (a, 0, "2025-03-04T05:06:07+00:00"),
        (a + "lien-he", 1, "2025-03-04T05:06:07+00:00"),
    ]
    assert rows["crawl_pages"][0]["crawl_id"].startswith("crawl-20250304T050607000000Z-warc-")
    signals = {s["signal_id"]: s for s in rows["crawl_signals"]}
    assert signals["feedback"]["value"] == 1.0 and signals["contact.phone"]["evidence_url"] == a + "lien-he"
    gz = tmp_path / "wget-1.0.warc.gz"
    gz.write_bytes(b"".join(gzip.compress(r) for r in records))  # the same records, gzip per record
    again = parse_crawl(gz)["crawl_signals"]
    assert [{**r, "crawl_id": None} for r in again] == [{**r, "crawl_id": None} for r in rows["crawl_signals"]]


# (f) ------------------------------------------------------------------------------------------------
def test_a_revisit_uses_the_payload_it_refers_to_and_an_orphan_revisit_has_no_body(tmp_path):
    a = A["base_url"]
    home = page("Trang chủ", "Góp ý, phản ánh", (a + "cu", a + "mat-goc"))
    made = tmp_path / "revisits.warc.gz"
    with open(made, "wb") as f:
        writer = WARCWriter(f, gzip=True)
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        first = writer.create_warc_record(a + "cu", "response", payload=io.BytesIO(home), http_headers=http)
        writer.write_record(first)
        # the home page seen again, payload identical: no payload of its own
        writer.write_record(
            writer.create_revisit_record(
                a, digest(home), a + "cu", first.rec_headers.get_header("WARC-Date"), http_headers=http
            )
        )
        # a revisit whose original is in another file
        writer.write_record(
            writer.create_revisit_record(a + "mat-goc", digest(b"elsewhere"), a + "x", "2020-01-01T00:00:00Z")
        )
    rows = parse_crawl(made)
    pages = {p["url"]: p for p in rows["crawl_pages"]}
    assert pages[a]["depth"] == 0 and pages[a]["status"] == 200 and pages[a]["bytes"] == len(home)
    assert pages[a + "mat-goc"]["bytes"] == 0 and pages[a + "mat-goc"]["status"] is None
    signals = {s["signal_id"]: s for s in rows["crawl_signals"]}
    assert signals["feedback"]["value"] == 1.0 and signals["home_page_bytes"]["value"] == len(home)


# (g) ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("gzip_records", [True, False])
def test_a_record_claiming_2_gb_is_not_read_into_memory(tmp_path, gzip_records):
    a = A["base_url"]
    made = write_warc(tmp_path / "big.warc", [(a, 200, page("Trang chủ"))], gzip_records=gzip_records)
    liar = raw_record(
        [("WARC-Type", "response"), ("WARC-Target-URI", a + "lon"), ("WARC-Date", "2025-03-04T05:06:07Z"),
         ("Content-Type", "application/http;msgtype=response"), ("Content-Length", "2000000000")],
        http_block(200, b"x" * 100_000),
    )  # fmt: skip
    with open(made, "ab") as f:
        f.write(gzip.compress(liar) if gzip_records else liar)
    tracemalloc.start()
    started = time.monotonic()
    problems = rejected(made)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 5 and peak < 5_000_000, (elapsed, peak)
    assert "cut mid-record" in problems[0] and "record 2" in problems[0] and "declares 2000000000 bytes" in problems[0]


def test_a_payload_over_the_limit_is_read_up_to_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(warc, "MAX_PAYLOAD_BYTES", 200_000)
    a = A["base_url"]
    filler = b"".join(hashlib.sha256(b"%d" % i).hexdigest().encode() for i in range(125_000))  # 8 MB
    made = write_warc(tmp_path / "large.warc.gz", [(a, 200, page("Trang chủ", "Góp ý") + b"<!--" + filler + b"-->")])
    tracemalloc.start()
    rows = parse_crawl(made)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4_000_000, peak  # the page is 8 MB
    home = rows["crawl_pages"][0]
    assert (home["bytes"], home["error"], home["status"]) == (200_000, "too_large", 200)
    assert {s["signal_id"]: s["value"] for s in rows["crawl_signals"]}["feedback"] == 1.0


def test_a_bot_wall_in_another_tools_warc_is_blocked_by_its_body_or_its_headers(tmp_path):
    from portal_index.demo.walls import wall_response

    a, b = A["base_url"], B["base_url"]
    status, headers, body = wall_response("waf_403")  # recognised by its page
    made = write_warc(
        tmp_path / "walls.warc.gz",
        [
            (a, status, body, [(k, v) for k, v in headers if k.lower() != "content-type"]),
            (b, 403, b"<html><body>Access Denied</body></html>", [("Server", "AkamaiGHost")]),  # by its header
        ],
    )
    rows = parse_crawl(made)
    homes = {p["portal_id"]: p for p in rows["crawl_pages"] if p["depth"] == 0}
    assert {p: (h["error"], h["detail"].split(":")[0]) for p, h in homes.items()} == {
        A["portal_id"]: ("blocked", "blocked"),
        B["portal_id"]: ("blocked", "blocked"),
    }
    assert "akamai" in homes[B["portal_id"]]["detail"]
    assert rows["crawl_signals"] == []  # not measurable, never zeros
