"""App-shell pages rendered in headless Chromium through the guarded proxy (portal_index/fetch/render.py).

A tiny HTTPS server on 127.0.0.1 plays a public-service portal built as a single-page application:
its HTML is an empty `#app` and a script, which fetches `/api/page.json` and builds the menu, the
search form, the feedback link and the procedure list. The browser reaches it by its portal name,
`spa.example.gov.vn`, mapped to the server by the guard (`connect_to`, `mapped_only`), and trusts
its certificate because it comes from the test's CA (`ca_file`), and for no other reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme

from portal_index.fetch.browser import find_chromium
from portal_index.fetch.netguard import Guard
from portal_index.fetch.render import Renderer, RenderLimits, find_render_chromium
from portal_index.parse.app_shell import needs_render

# chromium-headless-shell when installed (what the renderer prefers), else chromium;
# PORTAL_INDEX_CHROMIUM=/usr/lib/chromium/chromium runs these with the full browser
CHROMIUM = find_render_chromium()
needs_chromium = pytest.mark.skipif(
    find_chromium() is None and CHROMIUM is None, reason="no Chromium here (make chromium installs Debian's)"
)
HOST = "spa.example.gov.vn"

SHELL = """<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng Dịch vụ công</title>
<script src="/static/app.js" defer></script></head>
<body><noscript>Vui lòng bật JavaScript để sử dụng Cổng Dịch vụ công.</noscript><div id="app"></div></body></html>"""

APP = """
fetch('/api/page.json').then(r => r.json()).then(data => {
  const app = document.getElementById('app');
  const el = (tag, attrs = {}, text = '') => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
  };
  const nav = el('nav', {id: 'menu'});
  for (const item of data.menu) nav.appendChild(el('a', {href: item.href}, item.title));
  const form = el('form', {id: 'search', role: 'search', action: '/tim-kiem', method: 'get'});
  form.appendChild(el('label', {for: 'q'}, 'Tìm kiếm thủ tục'));
  form.appendChild(el('input', {id: 'q', name: 'keyword', type: 'search'}));
  form.appendChild(el('button', {type: 'submit'}, 'Tìm kiếm'));
  const list = el('ul', {id: 'procedures'});
  for (const p of data.procedures) list.appendChild(el('li')).appendChild(el('a', {href: p.href}, p.title));
  app.append(el('h1', {}, data.title), nav, form, list, el('a', {href: '/gop-y', id: 'feedback'}, 'Góp ý, phản ánh'));
});
"""

PAGE = {
    "title": "Cổng Dịch vụ công tỉnh Ví Dụ",
    "menu": [
        {"href": "/", "title": "Trang chủ"},
        {"href": "/thu-tuc-hanh-chinh", "title": "Thủ tục hành chính"},
        {"href": "/dich-vu-cong-truc-tuyen", "title": "Dịch vụ công trực tuyến"},
        {"href": "/tra-cuu-ho-so", "title": "Tra cứu hồ sơ"},
    ],
    "procedures": [{"href": f"/thu-tuc/{i}", "title": f"Cấp giấy phép xây dựng, thủ tục số {i}"} for i in range(8)],
}

HOG = """<!doctype html><html><body><div id="app"></div><script>
const keep = [];
function grow() { for (let i = 0; i < 20; i++) keep.push(new Array(250000).fill(i + 0.5)); setTimeout(grow, 0); }
window.addEventListener('load', () => setTimeout(grow, 0));
</script></body></html>"""

# a script that never yields: the renderer answers nothing more
SPIN = """<!doctype html><html><body><div id="app">Đang tải</div><script>
setTimeout(() => { while (true) {} }, 200);
</script></body></html>"""

# holds about 80 MB of JS heap, then stays quiet
HEAVY = """<!doctype html><html><body><div id="app">Đang tải</div><script>
window.keep = [];
for (let i = 0; i < 40; i++) keep.push(new Array(250000).fill(i + 0.5));
</script></body></html>"""


def _leaky(canary: int) -> str:
    """A page that reaches for the canary while its own content is drawn."""
    return f"""<!doctype html><html lang="vi"><body><div id="app"></div>
<img src="http://127.0.0.1:{canary}/x.png" alt=""><img src="https://evil.example.gov.vn/x.png" alt="">
<script>
fetch("http://127.0.0.1:{canary}/api").catch(() => {{}});
fetch("https://evil.example.gov.vn/api").catch(() => {{}});
try {{ new WebSocket("ws://127.0.0.1:{canary}/ws"); }} catch (e) {{}}
document.getElementById("app").textContent = "Nội dung vẫn hiển thị";
</script></body></html>"""


class Site(ThreadingHTTPServer):
    """The portal over HTTPS on 127.0.0.1 at a random port, with `cert` (and `chain_extra` sent after it)."""

    daemon_threads = True

    def __init__(self, cert: trustme.LeafCert, chain_extra: bytes = b""):
        super().__init__(("127.0.0.1", 0), _Handler)
        with tempfile.TemporaryDirectory() as tmp:
            pem = Path(tmp, "server.pem")
            pem.write_bytes(cert.private_key_and_cert_chain_pem.bytes() + chain_extra)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(pem)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.stop = threading.Event()
        self.served: list[str] = []
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def handle_error(self, request, client_address):
        pass  # a browser refusing the certificate ends the handshake

    @property
    def port(self) -> int:
        return self.server_address[1]

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        self.server.served.append(parts.path)
        if parts.path == "/":
            return self._send(SHELL.encode(), "text/html; charset=utf-8")
        if parts.path == "/static/app.js":
            return self._send(APP.encode(), "text/javascript")
        if parts.path == "/api/page.json":
            return self._send(json.dumps(PAGE, ensure_ascii=False).encode(), "application/json")
        if parts.path == "/hang":  # a document that never finishes
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"<!doctype html><html><body><div id='app'>")
            self.wfile.flush()
            self.server.stop.wait(60)
            return None
        if parts.path == "/hog":
            return self._send(HOG.encode(), "text/html")
        if parts.path == "/spin":
            return self._send(SPIN.encode(), "text/html; charset=utf-8")
        if parts.path == "/heavy":
            return self._send(HEAVY.encode(), "text/html; charset=utf-8")
        if parts.path == "/leaky":
            return self._send(_leaky(int(parse_qs(parts.query)["canary"][0])).encode(), "text/html; charset=utf-8")
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()
        return None

    def _send(self, body: bytes, ctype: str):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)


class Canary:
    """A TCP port the guard forbids; counts every connection it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.hits = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.hits += 1
            conn.close()

    def close(self):
        self._stop.set()
        self._thread.join(2)
        self.server.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    ca, other = trustme.CA(), trustme.CA()
    ca_file = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca, other, str(ca_file)


@pytest.fixture(scope="module")
def sites(pki):
    """The portal (our CA), a server with another CA's certificate, and one that sends another CA's
    certificate followed by a copy of ours (which no signature links)."""
    ca, other, _ = pki
    made = {
        "spa": Site(ca.issue_cert(HOST)),
        "other_ca": Site(other.issue_cert("other.example.gov.vn")),
        "forged_chain": Site(other.issue_cert("forged.example.gov.vn"), chain_extra=ca.cert_pem.bytes()),
        "wrong_name": Site(ca.issue_cert("someone-else.example.gov.vn")),
    }
    yield made
    for site in made.values():
        site.close()


def _guard(pki, sites, **extra) -> Guard:
    _, _, ca_file = pki
    routes = {
        HOST: sites["spa"].port,
        "other.example.gov.vn": sites["other_ca"].port,
        "forged.example.gov.vn": sites["forged_chain"].port,
        "wrong-name.example.gov.vn": sites["wrong_name"].port,
    }
    connect_to = tuple((host, 443, "127.0.0.1", port) for host, port in routes.items())
    return Guard(
        allow=("127.0.0.0/8",),
        allow_ports=tuple(routes.values()),
        connect_to=connect_to + extra.pop("connect_to", ()),
        mapped_only=True,
        ca_file=ca_file,
        **extra,
    )


def _render(guard: Guard, targets: list[tuple[str, str]], limits: RenderLimits = RenderLimits(), extra_args=None):
    async def go():
        async with Renderer(guard, CHROMIUM, limits, extra_args) as renderer:
            found = [await renderer.render(url, portal) for portal, url in targets]
        return found, renderer

    return asyncio.run(asyncio.wait_for(go(), 60))


@pytest.mark.slow
@needs_chromium
def test_an_app_shell_is_rendered_into_its_menu_and_search_form(pki, sites):
    reason = needs_render(SHELL)  # the static HTML the server sends for /
    assert reason and "app root #app" in reason and "noscript asks for JavaScript" in reason

    start = time.monotonic()
    (page,), renderer = _render(_guard(pki, sites), [("example", f"https://{HOST}/")])
    assert page.error is None, page
    assert page.final_url == f"https://{HOST}/" and page.heap_mb and 0 < page.heap_mb < 256
    html = page.html
    assert '<nav id="menu">' in html and '<a href="/tra-cuu-ho-so">Tra cứu hồ sơ</a>' in html
    assert '<form id="search" role="search" action="/tim-kiem"' in html and 'name="keyword"' in html
    assert 'id="feedback">Góp ý, phản ánh</a>' in html and html.count('href="/thu-tuc/') == 8
    assert needs_render(html) is None
    assert "/api/page.json" in sites["spa"].served
    assert renderer.stats["rendered"] == 1 and renderer.stats["failed"] == 0
    assert renderer.stats["browser_cpu_seconds"] and renderer.stats["browser_cpu_seconds"] > 0
    # (Chromium's own background requests, to Google's update and account services, are refused: not mapped)
    assert renderer.proxy.stats["tunnels"] >= 1 and not any(r.host == HOST for r in renderer.proxy.refusals)
    assert time.monotonic() - start < 20


@pytest.mark.slow
@needs_chromium
def test_only_certificates_from_the_guards_ca_are_trusted(pki, sites):
    pages, _ = _render(
        _guard(pki, sites),
        [
            ("other", "https://other.example.gov.vn/"),
            ("forged", "https://forged.example.gov.vn/"),  # another CA's leaf, with a copy of our CA's certificate
            ("name", "https://wrong-name.example.gov.vn/"),  # our CA, another host's certificate
            ("good", f"https://{HOST}/"),
        ],
    )
    other, forged, name, good = pages
    for page in (other, forged):
        assert page.html is None and page.error.startswith("render_failed: "), page
        assert "ERR_CERT_AUTHORITY_INVALID" in page.error
    assert name.html is None and "ERR_CERT_COMMON_NAME_INVALID" in name.error
    assert good.error is None and "Tra cứu hồ sơ" in good.html


@pytest.mark.slow
@needs_chromium
def test_a_page_that_never_finishes_loading_hits_the_time_limits(pki, sites):
    url = f"https://{HOST}/hang"
    pages, renderer = _render(
        _guard(pki, sites),
        [("slow", url), ("slow", url), ("slow", url), ("spin", f"https://{HOST}/spin"), ("other", f"https://{HOST}/")],
        RenderLimits(page_seconds=2.0, portal_seconds=3.0),
    )
    first, second, third, spin, other = pages
    assert first.error == "render_failed: time_limit" and 1900 < first.ms < 4000, first
    assert second.error == "render_failed: portal_time_limit" and second.ms < 2000, second  # 1 s left
    assert third.error == "render_failed: portal_time_limit" and third.ms < 50, third  # nothing left
    # a script that never yields: the page is given up at its time limit, its context closed
    assert spin.error == "render_failed: time_limit" and spin.ms < 4000, spin
    assert other.error is None  # another portal has its own budget; the browser still works
    assert renderer.stats["limits"] == {"time_limit": 2, "portal_time_limit": 2}
    assert renderer.stats["abandoned"] == 0


@pytest.mark.slow
@needs_chromium
def test_pages_per_portal_and_dom_size_are_enforced(pki, sites):
    url = f"https://{HOST}/"
    pages, renderer = _render(
        _guard(pki, sites), [("a", url), ("a", url), ("a", url), ("b", url)], RenderLimits(pages_per_portal=2)
    )
    assert [p.error for p in pages] == [None, None, "render_failed: page_limit", None]
    assert pages[2].ms < 50 and renderer.stats["limits"] == {"page_limit": 1}

    (small,), _ = _render(_guard(pki, sites), [("a", url)], RenderLimits(max_dom_bytes=1000))
    assert small.error == "render_failed: dom_too_large" and small.html is None


@pytest.mark.slow
@needs_chromium
def test_a_page_that_eats_memory_hits_the_memory_limit(pki, sites):
    (page, after), renderer = _render(
        _guard(pki, sites),
        [("hog", f"https://{HOST}/hog"), ("hog", f"https://{HOST}/")],
        RenderLimits(heap_mb=64, page_seconds=10),
    )
    assert page.error == "render_failed: memory_limit" and page.html is None and page.ms < 5000, page  # V8 gave up
    assert after.error is None  # the browser survives a page's crash
    assert renderer.stats["limits"] == {"memory_limit": 1}

    # the used heap is checked too (here V8 itself would allow 1 GB: a later --js-flags wins)
    (heavy,), _ = _render(
        _guard(pki, sites),
        [("heavy", f"https://{HOST}/heavy")],
        RenderLimits(heap_mb=64),
        extra_args=["--js-flags=--max-old-space-size=1024"],
    )
    assert heavy.error == "render_failed: memory_limit" and 64 < heavy.heap_mb < 200, heavy


@pytest.mark.slow
@needs_chromium
def test_a_forbidden_target_gets_no_connection_and_a_blocked_address_error(pki, sites):
    canary = Canary()
    try:
        # a portal name mapped to the forbidden port: routed, then refused by the address check
        guard = _guard(pki, sites, connect_to=(("evil.example.gov.vn", 443, "127.0.0.1", canary.port),))
        pages, renderer = _render(
            guard,
            [
                ("direct", f"http://127.0.0.1:{canary.port}/"),
                ("direct-tls", f"https://127.0.0.1:{canary.port}/"),
                ("mapped", "https://evil.example.gov.vn/"),
                ("unmapped", "https://example.org/"),
                ("leaky", f"https://{HOST}/leaky?canary={canary.port}"),
                ("file", "file:///etc/hostname"),
            ],
        )
        time.sleep(0.3)  # anything in flight reaches accept()
        assert canary.hits == 0
    finally:
        canary.close()
    direct, direct_tls, mapped, unmapped, leaky, file = pages
    for page in (direct, direct_tls, mapped, unmapped):
        assert page.error.startswith("blocked_address: ") and page.html is None, page
    assert "not a simulated host" in direct.error and "not a simulated host" in unmapped.error
    assert "127.0.0.1 is loopback (resolved from evil.example.gov.vn)" in mapped.error
    assert leaky.error is None and "Nội dung vẫn hiển thị" in leaky.html  # the page itself still renders
    assert file.error == "blocked_scheme: file (only http and https)"
    assert renderer.stats["blocked"] == 5 and renderer.proxy.stats["blocked"] >= 8


def test_renderer_errors_are_values_without_a_browser(monkeypatch, tmp_path):
    # Playwright's driver makes its artifacts and profile folders in its TMPDIR before it starts the
    # browser, and a launch that fails leaves them: here, in the test's own folder
    monkeypatch.setenv("TMPDIR", str(tmp_path))

    async def go():
        renderer = Renderer(Guard(), "/nonexistent/chromium")
        with contextlib.suppress(Exception):
            await renderer.__aenter__()
        return await renderer.render("https://example.org/", "x")

    page = asyncio.run(go())
    assert page.error.startswith("render_failed: ") and page.html is None
