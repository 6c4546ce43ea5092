"""The portal simulator: local HTTP and HTTPS servers that stand in for every registry portal.

Each portal is served on its own host name, the host of its registry base URL
(`https://angiang.gov.vn/`), over HTTPS with a certificate from a certificate authority made at
start-up (`portal_index.demo.pki`). Nothing resolves those names but our own network backend:
`Simulator.guard()` maps each host's ports 443 and 80 to the simulator's loopback ports (as
`curl --connect-to` does), trusts the simulator's CA and refuses every other host, so a demo or a
test never leaves the machine. Plain http on a portal's host redirects to https, as real portals do.

A portal's site is a deterministic function of its portal_id (a seeded profile): which of the
methodology's features it has, how its text is written (NFC, NFD, or without diacritics), how slow
it is, whether it is down or flaky, its TLS state (valid, incomplete chain with an AIA URL,
expired, wrong host, self-signed, plain http only, slow handshake), whether it is a single-page
application (an app shell whose content JavaScript builds from `/api/page`), and whether a bot wall
stands in front of it (a JavaScript challenge, a 403/429/503 WAF page, a captcha;
`portal_index.demo.walls`). Tests read `profile(portal_id)` to know what a correct crawler must find.

The loopback address itself (`http://127.0.0.1:<port>/<portal_id>/`) serves every portal's plain
static site without walls or TLS, for benchmarks of the static path, and the fixtures below.

News is paginated (`tin-tuc/trang/N`, 20 articles a page) so a site can be made as large as a
benchmark needs (`articles=`). Besides the portals, `HOSTILE` sites under `/hostile-<kind>/` behave
as a crawler must survive: a redirect loop, a redirect httpx cannot follow, a 50 MB page, a slow
drip, a gzip bomb, a site robots.txt disallows, a storm of 5xx answers, an endless calendar,
malformed HTML and wrong Content-Types.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import socket
import ssl
import threading
import time
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from portal_index.core.text import strip_diacritics
from portal_index.demo.pki import SimulatorPKI
from portal_index.demo.walls import CHALLENGE_COOKIE, WALL_KINDS, wall_response
from portal_index.fetch.netguard import Guard
from portal_index.parse.page_signals import ACCESSIBILITY_CHECKS

# Pages a portal may have: feature -> (path, link text, page heading and body).
PAGES = {
    "art4.legal_documents": ("van-ban", "Văn bản pháp luật", "Hệ thống văn bản quy phạm pháp luật, tải về và tra cứu."),
    "art4.procedures": ("thu-tuc", "Thủ tục hành chính", "Danh mục thủ tục hành chính và dịch vụ công trực tuyến."),
    "art4.policy_guidance": (
        "chinh-sach",
        "Hướng dẫn thực hiện chính sách",
        "Hướng dẫn thực hiện chính sách, pháp luật.",
    ),
    "art4.strategies_plans": (
        "quy-hoach",
        "Chiến lược, quy hoạch, kế hoạch",
        "Chiến lược, quy hoạch, kế hoạch phát triển.",
    ),
    "art4.organisation": ("to-chuc", "Cơ cấu tổ chức", "Chức năng, nhiệm vụ, cơ cấu tổ chức và sơ đồ tổ chức."),
    "art4.financial_statements": (
        "tai-chinh",
        "Báo cáo tài chính",
        "Công khai báo cáo tài chính năm và công khai ngân sách.",
    ),
    "art4.statistics": ("thong-ke", "Số liệu thống kê", "Số liệu thống kê chuyên ngành."),
    "focal_point": (
        "phat-ngon",
        "Người phát ngôn",
        "Người phát ngôn và cung cấp thông tin: họ tên, chức vụ, điện thoại, email.",
    ),
    "info_regulation": ("quy-che", "Quy chế cung cấp thông tin", "Quy chế cung cấp thông tin cho công dân."),
    "feedback": ("gop-y", "Góp ý, phản ánh kiến nghị", "Gửi góp ý, phản ánh kiến nghị và hỏi đáp."),
    "english": ("en", "English", "Welcome to the portal. Organisation and contacts in English."),
    "privacy": (
        "bao-mat",
        "Chính sách bảo vệ dữ liệu cá nhân",
        "Chính sách bảo vệ dữ liệu cá nhân và đầu mối liên hệ.",
    ),
    "sitemap": ("so-do", "Sơ đồ cổng", "Sơ đồ cổng thông tin."),
}
CONTACTS = {
    "contact.address": "Địa chỉ: Số 1 đường Trần Phú",
    "contact.phone": "Điện thoại: 024 3825 1234",
    "contact.email": "Email: <a href='mailto:vanphong@example.gov.vn'>vanphong@example.gov.vn</a>",
}
A11Y = ACCESSIBILITY_CHECKS
TIERS = {"excellent": 0.97, "good": 0.85, "fair": 0.65, "poor": 0.35}


@dataclass(frozen=True)
class Profile:
    portal_id: str
    tier: str
    features: frozenset[str]
    text_style: str  # nfc | nfd | ascii
    newest_item_days: int
    ttfb_ms: int
    failure: str  # none | down | flaky
    broken_links: int
    padding_bytes: int
    search_results: bool = field(default=True)
    tls: str = "valid"  # pki.TLS_STATES or http_only
    app: str = "static"  # static | spa (content built by JavaScript)
    wall: str = "none"  # none | walls.WALL_KINDS
    geo_blocked: bool = False  # answers 403 to a client from outside Vietnam (ABROAD_SOURCE)

    def has(self, feature: str) -> bool:
        return feature in self.features

    @property
    def readable(self) -> bool:
        """Up, no wall, static HTML and a certificate any client accepts: read as served."""
        return self.failure == "none" and self.wall == "none" and self.app == "static" and self.tls in PLAIN_TLS

    @property
    def scheme(self) -> str:
        return "http" if self.tls == "http_only" else "https"


def profile(portal_id: str) -> Profile:
    rng = random.Random(int.from_bytes(hashlib.sha256(portal_id.encode()).digest()[:8], "big"))
    tier = rng.choices(list(TIERS), weights=[2, 4, 3, 1])[0]
    p = TIERS[tier]
    all_features = list(PAGES) + list(CONTACTS) + list(A11Y) + ["search"]
    features = frozenset(f for f in all_features if rng.random() < p)
    failure = rng.choices(["none", "down", "flaky"], weights=[94, 2, 4])[0]
    return Profile(
        portal_id=portal_id,
        tier=tier,
        features=features,
        text_style=rng.choices(["nfc", "nfd", "ascii"], weights=[6, 2, 2])[0],
        newest_item_days=rng.choice([1, 7, 20, 45, 90, 200, 400]),
        ttfb_ms=rng.choices([5, 60, 200, 600, 1500], weights=[5, 4, 3, 2, 1])[0],
        failure=failure,
        broken_links=rng.choices([0, 0, 1, 3], weights=[5, 3, 2, 1])[0],
        padding_bytes=rng.choice([20_000, 200_000, 1_500_000, 4_000_000]),
        search_results=rng.random() < 0.9,
        # drawn last, so that the fields above stay what they were before these existed
        tls=rng.choices(list(TLS_WEIGHTS), weights=list(TLS_WEIGHTS.values()))[0],
        app="spa" if rng.random() < (0.35 if portal_id.endswith("-service") else 0.04) else "static",
        wall=rng.choices(["none", *WALL_KINDS], weights=[88] + [12 / len(WALL_KINDS)] * len(WALL_KINDS))[0],
        geo_blocked=rng.random() < 0.05,
    )


TLS_WEIGHTS = {
    "valid": 78,
    "slow_handshake": 3,
    "incomplete_chain": 6,
    "expired": 3,
    "wrong_host": 3,
    "self_signed": 3,
    "http_only": 4,
}
PLAIN_TLS = ("valid", "slow_handshake", "http_only")
# The demo's vantage points: probes from loopback's usual address stand for a prober inside Vietnam,
# probes from another loopback address for one abroad, which a geo-blocked portal refuses.
VIETNAM_SOURCE, ABROAD_SOURCE = "127.0.0.1", "127.0.0.2"
DEMO_VANTAGES = (("vn-hanoi", None), ("abroad", ABROAD_SOURCE))
SLOW_HANDSHAKE_SECONDS = 1.5
PKI_HOST = "pki.ca-demo.invalid"  # where the intermediate is published (its AIA URL)


def pick(predicate, n: int = 3) -> list[str]:
    """The first `n` registry portals whose simulated profile satisfies `predicate` (for tests)."""
    from portal_index.core.registry import portals

    chosen = [p["portal_id"] for p in portals() if predicate(profile(p["portal_id"]))][:n]
    if not chosen:
        raise LookupError("no registry portal has a simulated profile of this kind")
    return chosen


def _styled(text: str, style: str) -> str:
    if style == "nfd":
        return unicodedata.normalize("NFD", text)
    if style == "ascii":
        return strip_diacritics(text)
    return text


class _Handler(BaseHTTPRequestHandler):
    server_version = "PortalSimulator/1"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, 40 ms delayed-ACK stalls

    def log_message(self, *args):  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        try:
            self._get()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True  # the client gave up (byte limit, slow drip): fine

    def _get(self):
        parts = urlsplit(self.path)
        self.server.count_served(parts.path)
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]").lower()
        portal_id = self.server.shared.hosts.get(host)
        if portal_id is not None:
            return self._portal(profile(portal_id), parts)
        if host == PKI_HOST and parts.path == "/intermediate.crt":
            return self._send(200, self.server.shared.pki.intermediate_der, "application/pkix-cert")
        if self.server.tls:
            return self._send(421, b"misdirected request")
        if parts.path == "/robots.txt":
            return self._send(200, self.server.robots_txt.encode(), "text/plain")
        segments = [s for s in parts.path.split("/") if s]
        if not segments:
            return self._send(404, b"not found")
        if segments[0].startswith("a11y-") and segments[0].removeprefix("a11y-") in A11Y_CASES:
            return _a11y_page(self, segments[0].removeprefix("a11y-"))
        if segments[0].startswith("hostile-") and segments[0].removeprefix("hostile-") in HOSTILE:
            return HOSTILE[segments[0].removeprefix("hostile-")](self, "/".join(segments[1:]), parts.query)
        prof = profile(segments[0])  # the loopback path mode: the plain static site
        self._content(prof, "/".join(segments[1:]), parts.query, f"/{prof.portal_id}/")

    def _portal(self, prof: Profile, parts) -> None:
        """A request on a portal's own host name."""
        if prof.geo_blocked and self.client_address[0] != VIETNAM_SOURCE:  # as a country block does
            return self._send(403, b"<html><body><h1>403 Forbidden</h1><p>Access denied.</p></body></html>")
        if not self.server.tls and prof.tls != "http_only":
            location = f"https://{self.headers.get('Host')}{self.path}"
            self.send_response(301)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        if prof.wall != "none" and not (
            prof.wall == "js_challenge" and CHALLENGE_COOKIE in self.headers.get("Cookie", "")
        ):
            status, headers, body = wall_response(prof.wall)
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return None
        if parts.path == "/robots.txt":
            return self._send(200, self.server.robots_txt.encode(), "text/plain")
        sub = parts.path.removeprefix("/")
        if prof.app == "spa" and sub != "sitemap.xml":
            if sub == "static/app.js":
                return self._send(200, APP_JS.encode(), "text/javascript; charset=utf-8")
            if self._failing(prof, "" if sub == "api/page" else sub):
                return None
            if sub == "api/page":
                return self._api_page(prof, parse_qs(parts.query))
            return self._send(200, self.server.app_shell(prof).encode())
        return self._content(prof, sub, parts.query, "/")

    def _api_page(self, prof: Profile, query: dict) -> None:
        """The JSON an SPA's script builds a page from: title, language and the page's HTML."""
        target = urlsplit((query.get("path") or ["/"])[0])
        page = self.server.page(prof, target.path.removeprefix("/"), parse_qs(target.query), "/")
        if page is None:
            return self._send(404, b'{"error": "not found"}', "application/json")
        self._send(200, json.dumps(page, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _failing(self, prof: Profile, sub: str, since: float | None = None) -> bool:
        """The profile's slowness, counted from `since` (a monotonic instant; now by default), and its
        503 when it is down, or flaky: every third request of the same URL, so that which requests
        fail does not depend on the order in which several clients' requests arrive (a crawl in
        shards, on a cluster or with pages rendered at once finds the same pages as one in order)."""
        if prof.ttfb_ms and sub in ("", "tim-kiem"):  # dynamic pages are the slow ones
            time.sleep(max(0.0, prof.ttfb_ms / 1000 - (time.monotonic() - since if since else 0.0)))
        flaky = prof.failure == "flaky" and self.server.next_count(f"{prof.portal_id} {self.path}") % 3 == 0
        if prof.failure == "down" or flaky:
            self._send(503, b"<html><body>Service Unavailable</body></html>")
            return True
        return False

    def _content(self, prof: Profile, sub: str, query: str, root: str) -> None:
        # the page is built during the profile's delay, not after it: a portal answers after its
        # delay, whatever its size (a 4 MB page took tens of milliseconds more to build on a busy
        # machine, which timing comparisons with curl then saw as noise)
        since = time.monotonic()
        page = self.server.render(prof, sub, parse_qs(query), root)
        if self._failing(prof, sub, since):
            return None
        if page is None:
            return self._send(404, b"<html><body>Kh\xc3\xb4ng t\xc3\xacm th\xe1\xba\xa5y trang</body></html>")
        body, ctype = page
        return self._send(200, body, ctype)


@dataclass
class _Shared:
    """What the HTTP and the HTTPS server share: counters, the host map and the certificates."""

    hosts: dict[str, str]  # portal host name -> portal_id
    pki: SimulatorPKI
    served: Counter = field(default_factory=Counter)  # requests per path, for tests
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = False

    def __init__(self, *args, today: date, robots_txt: str, articles: int, shared: _Shared, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.robots_txt = robots_txt
        self.articles = articles
        self.shared = shared

    def handle_error(self, request, client_address):
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):  # a client hanging up is normal
            super().handle_error(request, client_address)

    def count_served(self, path: str) -> None:
        with self.shared.lock:
            self.shared.served[path] += 1

    def next_count(self, key: str) -> int:
        with self.shared.lock:
            self.shared.counts[key] = self.shared.counts.get(key, 0) + 1
            return self.shared.counts[key]

    def render(self, prof: Profile, sub: str, query: dict, root: str) -> tuple[bytes, str] | None:
        if sub == "sitemap.xml":
            if not prof.has("sitemap"):
                return None
            urls = "".join(f"<url><loc>{root}{path}</loc></url>" for f, (path, _, _) in PAGES.items() if prof.has(f))
            return (f"<?xml version='1.0'?><urlset>{urls}</urlset>".encode(), "application/xml")
        page = self.page(prof, sub, query, root)
        if page is None:
            return None
        lang = " lang='vi'" if page["lang"] else ""
        viewport = VIEWPORT if prof.has("mobile_viewport") else ""
        html = (
            f"<!doctype html><html{lang}><head><meta charset='utf-8'>{viewport}<title>{page['title']}</title>"
            f"</head><body>{page['html']}</body></html>"
        )
        return html.encode(), "text/html; charset=utf-8"

    def page(self, prof: Profile, sub: str, query: dict, root: str) -> dict | None:
        """A page's title, language flag and body HTML (served whole, or as JSON to an SPA's script)."""
        style = prof.text_style
        if sub == "tim-kiem":
            if not prof.has("search"):
                return None
            q = (query.get("q") or [""])[0]
            items = (
                "".join(f"<li class='result'><a href='{root}thu-tuc'>Kết quả {i} cho {q}</a></li>" for i in range(3))
                if prof.search_results
                else ""
            )
            heading = f"Kết quả tìm kiếm: {q}" if prof.search_results else "Không có kết quả"
            return self._page(prof, heading, f"<ul>{items}</ul>")
        if sub == "":
            return self._home(prof, root)
        for feature, (path, title, body) in PAGES.items():
            if sub == path and prof.has(feature):
                return self._page(prof, _styled(title, style), f"<p>{_styled(body, style)}</p>")
        if sub.startswith("tin-tuc/trang/"):
            page = sub.removeprefix("tin-tuc/trang/")
            if not page.isdigit() or not 1 <= int(page) <= self.news_pages:
                return None
            n = int(page)
            first = (n - 1) * NEWS_PER_PAGE
            items = "".join(
                f"<li><a href='{root}tin-tuc/{i}'>Tin {i}</a></li>"
                for i in range(first, min(first + NEWS_PER_PAGE, self.articles))
            )
            more = f"<a href='{root}tin-tuc/trang/{n + 1}'>Trang sau</a>" if n < self.news_pages else ""
            return self._page(prof, f"Tin tức - trang {n}", f"<ul>{items}</ul>{more}")
        if sub.startswith("tin-tuc/"):
            number = sub.removeprefix("tin-tuc/")
            if not number.isdigit() or int(number) >= max(self.articles, 5):
                return None
            return self._page(prof, f"Tin {number}", "<p>Nội dung bài viết.</p>")
        return None

    @property
    def news_pages(self) -> int:
        return -(-self.articles // NEWS_PER_PAGE)

    def _page(self, prof: Profile, heading: str, content: str) -> dict:
        h1 = f"<h1>{heading}</h1>" if prof.has("a11y.headings") else f"<div class='title'>{heading}</div>"
        return {"title": heading, "lang": prof.has("a11y.lang"), "html": h1 + content}

    def app_shell(self, prof: Profile) -> str:
        """What an SPA serves for every route: an app root, a script, and no content."""
        viewport = VIEWPORT if prof.has("mobile_viewport") else ""
        return (
            f"<!doctype html><html><head><meta charset='utf-8'>{viewport}<title>Dịch vụ công</title></head>"
            "<body><div id='app'></div><noscript>Vui lòng bật JavaScript để sử dụng Cổng dịch vụ công."
            "</noscript><script src='/static/app.js'></script></body></html>"
        )

    def _home(self, prof: Profile, root: str) -> dict:
        style = prof.text_style
        links = [
            f"<li><a href='{root}{path}'>{_styled(title, style)}</a></li>"
            for feature, (path, title, _) in PAGES.items()
            if prof.has(feature)
        ]
        links += [f"<li><a href='{root}trang-cu-{i}'>Trang cũ {i}</a></li>" for i in range(prof.broken_links)]
        news = []
        for i in range(5):
            day = self.today - timedelta(days=prof.newest_item_days + 9 * i)
            news.append(f"<li><a href='{root}tin-tuc/{i}'>Tin {i}</a> <span>{day:%d/%m/%Y}</span></li>")
        if prof.has("search"):
            label = "<label for='q'>Tìm kiếm</label>" if prof.has("a11y.form_labels") else ""
            search = f"<form action='{root}tim-kiem' method='get'>{label}<input id='q' name='q' type='text'></form>"
        else:
            search = ""
        alt = " alt='Quốc huy'" if prof.has("a11y.img_alt") else ""
        contacts = " ".join(
            _styled(text, style) if not text.startswith("Email") else text
            for f, text in CONTACTS.items()
            if prof.has(f)
        )
        padding = f"<!-- {'x' * prof.padding_bytes} -->" if prof.app == "static" else ""
        if self.articles > 5:
            news.append(f"<li><a href='{root}tin-tuc/trang/1'>Xem tất cả tin</a></li>")
        content = (
            f"<img src='{root}logo.png'{alt}>{search}<ul class='menu'>{''.join(links)}</ul>"
            f"<ul class='news'>{''.join(news)}</ul><footer>{contacts}</footer>{padding}"
        )
        return self._page(prof, _styled("Cổng thông tin điện tử", style), content)


class _TLSServer(_Server):
    """The HTTPS side: the certificate is chosen per host name (SNI) from the portal's TLS state,
    and the handshake runs in the request's own thread, so a slow one delays only its client."""

    tls = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.context = self.shared.pki.context_for("localhost", "valid")
        self.context.sni_callback = self._choose_certificate

    def _choose_certificate(self, ssl_socket, server_name, context) -> None:
        portal_id = self.shared.hosts.get((server_name or "").lower())
        if portal_id is None:
            return None
        prof = profile(portal_id)
        if prof.tls == "slow_handshake":
            time.sleep(SLOW_HANDSHAKE_SECONDS)
        if prof.tls != "http_only":
            ssl_socket.context = self.shared.pki.context_for(server_name.lower(), prof.tls)
        return None

    def finish_request(self, request, client_address):
        request.settimeout(10)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):  # a client that refused our certificate, or hung up
            return
        try:
            tls.settimeout(30)
            self.RequestHandlerClass(tls, client_address, self)
        except (ssl.SSLError, OSError):
            pass
        finally:
            with contextlib.suppress(OSError):
                tls.close()


VIEWPORT = "<meta name='viewport' content='width=device-width, initial-scale=1'>"
APP_JS = """(async () => {
  const app = document.getElementById('app');
  const r = await fetch('/api/page?path=' + encodeURIComponent(location.pathname + location.search));
  if (!r.ok) { app.textContent = 'Không tìm thấy trang'; return; }
  const page = await r.json();
  document.title = page.title;
  if (page.lang) document.documentElement.lang = 'vi';
  app.innerHTML = page.html;
})();
"""


NEWS_PER_PAGE = 20
ROBOTS_TXT = "User-agent: *\nDisallow: /admin/\nDisallow: /hostile-robots/\n"
HUGE_BYTES = 50_000_000
BOMB_BYTES = 200_000_000  # what the gzip bomb inflates to (about 200 kB on the wire)
_bomb: list[bytes] = []
_bomb_lock = threading.Lock()


def _gzip_bomb() -> bytes:
    with _bomb_lock:
        if not _bomb:
            z = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
            chunk = b" " * 1_000_000
            parts = [z.compress(b"<!doctype html><html><body>")]
            parts += [z.compress(chunk) for _ in range(BOMB_BYTES // len(chunk))]
            parts.append(z.flush())
            _bomb.append(b"".join(parts))
        return _bomb[0]


def _home_with_links(handler, kind: str, links: list[str], extra: str = "") -> None:
    items = "".join(f"<li><a href='/hostile-{kind}/{link}'>{link}</a></li>" for link in links)
    body = (
        f"<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>{kind}</title></head>"
        f"<body><h1>{kind}</h1><ul>{items}</ul>{extra}</body></html>"
    ).encode()
    handler._send(200, body)


def _redirect_loop(h, sub, query):
    target = "/hostile-redirect-loop/a" if sub == "" else "/hostile-redirect-loop/"
    h.send_response(302)
    h.send_header("Location", target)
    h.send_header("Content-Length", "0")
    h.end_headers()


def _bad_redirect(h, sub, query):
    """A redirect whose target httpx cannot make a URL of (a backslash after the scheme): httpx raises
    while it reads the answer, even when it is not to follow it."""
    h.send_response(302)
    h.send_header("Location", "http:\\\\evil/x")
    h.send_header("Content-Length", "0")
    h.end_headers()


def _huge(h, sub, query):
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(HUGE_BYTES))
    h.end_headers()
    chunk = b"<p>" + b"x" * 65_529 + b"</p>"
    for _ in range(HUGE_BYTES // len(chunk)):
        h.wfile.write(chunk)
    h.wfile.write(b" " * (HUGE_BYTES % len(chunk)))


def _slow_drip(h, sub, query):
    body = b"<!doctype html><html><body>" + b"." * 400 + b"</body></html>"
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    for i in range(len(body)):
        h.wfile.write(body[i : i + 1])
        h.wfile.flush()
        time.sleep(0.2)


def _gzip(h, sub, query):
    bomb = _gzip_bomb()
    h.send_response(200)
    h.send_header("Content-Type", "text/html; charset=utf-8")
    h.send_header("Content-Encoding", "gzip")
    h.send_header("Content-Length", str(len(bomb)))
    h.end_headers()
    h.wfile.write(bomb)


def _robots(h, sub, query):
    _home_with_links(h, "robots", [f"trang-{i}" for i in range(5)], "<p>Góp ý</p>")


def _errors(h, sub, query):
    if sub == "":
        return _home_with_links(h, "errors", [f"trang-{i}" for i in range(60)])
    h._send(500 if len(sub) % 2 else 503, b"<html><body>Internal Server Error</body></html>")


def _calendar(h, sub, query):
    month = (parse_qs(query).get("thang") or ["2025-01"])[0]
    try:
        y, m = (int(x) for x in month.split("-"))
    except ValueError:
        y, m = 2025, 1
    prev_m = f"{y - (m == 1)}-{(m - 2) % 12 + 1:02d}"
    next_m = f"{y + (m == 12)}-{m % 12 + 1:02d}"
    days = [f"ngay/{y}-{m:02d}-{d:02d}" for d in range(1, 29)]
    _home_with_links(
        h, "calendar", [f"lich?thang={prev_m}", f"lich?thang={next_m}", f"{sub or 'lich'}/{month}/x"] + days
    )


def _malformed(h, sub, query):
    body = (
        "<!doctype html><html lang=vi><head><title>Cổng <b>lỗi</title><meta charset=utf-8>"
        "<body><div><p>Trang <i>không <b>đóng thẻ<table><tr><td>ô<form><form action=/tim-kiem>"
        "<a href=/hostile-malformed/gop-y>Góp ý</a><a href='/hostile-malformed/x\" onclick='>x</a>"
        "<a href=http://[::1/bad>bad</a><a href=''>empty</a><img src=x alt=>"
        "<p>Địa chỉ: Hà Nội<p>"
    ).encode() + b"\x00\xff\xfe\xc3(\xe2\x82 <!-- unterminated comment <p>Email: a@b.vn"
    h._send(200, body)


def _wrong_type(h, sub, query):
    if sub == "logo":  # a PNG announced as HTML
        return h._send(200, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "text/html; charset=utf-8")
    if sub == "data":  # HTML announced as an image
        return h._send(200, "<!doctype html><html><body>Góp ý</body></html>".encode(), "image/png")
    body = (
        "<!doctype html><html lang='vi'><head><meta charset='utf-8'><title>Sai kiểu</title></head><body>"
        "<h1>Sai kiểu</h1><a href='/hostile-wrong-type/logo'>logo</a> <a href='/hostile-wrong-type/data'>data</a>"
        "<p>Người phát ngôn</p></body></html>"
    ).encode()
    h._send(200, body, "application/octet-stream")  # HTML without an HTML Content-Type


# Pages with known accessibility faults (and one without), for the audit in a real browser.
_PIXEL = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
A11Y_CASES = {  # case -> (html lang attribute, body); the audit must find exactly A11Y_EXPECTED[case]
    "clean": (
        " lang='vi'",
        f"<main><h1>Cổng thông tin</h1><img src='{_PIXEL}' alt='Quốc huy'>"
        "<form><label for='q'>Tìm kiếm</label><input id='q' name='q' type='text'></form>"
        "<p style='color:#222;background:#fff'>Nội dung rõ ràng.</p></main>",
    ),
    "missing-alt": (" lang='vi'", f"<main><h1>Ảnh</h1><img src='{_PIXEL}'></main>"),
    "unlabeled-input": (" lang='vi'", "<main><h1>Tìm kiếm</h1><form><input name='q' type='text'></form></main>"),
    "low-contrast": (
        " lang='vi'",
        "<main><h1>Chữ mờ</h1><p style='color:#bbb;background:#fff'>Chữ khó đọc.</p></main>",
    ),
    "missing-lang": ("", "<main><h1>Không khai báo ngôn ngữ</h1><p>Nội dung.</p></main>"),
}
A11Y_EXPECTED = {
    "clean": set(),
    "missing-alt": {"image-alt"},
    "unlabeled-input": {"label"},
    "low-contrast": {"color-contrast"},
    "missing-lang": {"html-has-lang"},
}


def _a11y_page(h, case: str) -> None:
    lang, body = A11Y_CASES[case]
    page = (
        f"<!doctype html><html{lang}><head><meta charset='utf-8'><title>{case}</title>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'></head><body>{body}</body></html>"
    )
    h._send(200, page.encode())


HOSTILE = {
    "redirect-loop": _redirect_loop,
    "bad-redirect": _bad_redirect,
    "huge": _huge,
    "slow-drip": _slow_drip,
    "gzip-bomb": _gzip,
    "robots": _robots,
    "errors": _errors,
    "calendar": _calendar,
    "malformed": _malformed,
    "wrong-type": _wrong_type,
}


def portal_hosts() -> dict[str, str]:
    """{host name: portal_id} of every registry portal with a base URL."""
    from portal_index.core.registry import portals

    return {urlsplit(p["base_url"]).hostname: p["portal_id"] for p in portals() if p.get("base_url")}


class Simulator:
    """Start with `with Simulator() as sim:`; `sim.url_for(portal_id)` is the portal's own URL and
    `sim.guard()` the guard (host mapping, trust) under which clients reach it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        today: date | None = None,
        robots_txt: str = ROBOTS_TXT,
        articles: int = 5,
    ):
        self._hosts = portal_hosts()
        self.pki = SimulatorPKI(aia_url=f"http://{PKI_HOST}/intermediate.crt")
        shared = _Shared(self._hosts, self.pki)
        options = {"today": today or date.today(), "robots_txt": robots_txt, "articles": articles, "shared": shared}
        self._server = _Server((host, port), _Handler, **options)
        self._tls_server = _TLSServer((host, 0), _Handler, **options)
        # a bound port that never listens: an http-only portal's port 443 refuses connections
        self._closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._closed.bind((host, 0))
        # each server checks for a shutdown every 50 ms: at the default 0.5 s, stopping the simulator
        # (two servers, one after the other) took a second, in every test and fetch step that uses it
        self._threads = [
            threading.Thread(target=server.serve_forever, args=(0.05,), name=f"portal-simulator-{name}", daemon=True)
            for name, server in (("http", self._server), ("https", self._tls_server))
        ]

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def served(self) -> Counter:
        return self._server.shared.served

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def tls_port(self) -> int:
        return self._tls_server.server_address[1]

    def url_for(self, portal_id: str) -> str:
        """The portal's own base URL (http for a portal that has no HTTPS)."""
        hosts = {pid: host for host, pid in self._hosts.items()}
        if portal_id not in hosts:
            raise KeyError(f"no registry portal {portal_id!r} with a base URL")
        return f"{profile(portal_id).scheme}://{hosts[portal_id]}/"

    def loopback_url(self, portal_id: str) -> str:
        """The portal's plain static site on the loopback address (benchmarks of the static path)."""
        return f"{self.base_url}/{portal_id}/"

    def guard(self) -> Guard:
        """Loopback reachable on the simulator's ports only, every portal host mapped to them, the
        simulator's CA the only one trusted, and every other host refused."""
        address = self._server.server_address[0]
        routes = [(address, self.port, address, self.port), ("localhost", self.port, address, self.port)]
        routes.append((PKI_HOST, 80, address, self.port))
        closed = self._closed.getsockname()[1]
        for host, portal_id in self._hosts.items():
            https = closed if profile(portal_id).tls == "http_only" else self.tls_port
            routes += [(host, 443, address, https), (host, 80, address, self.port)]
        return Guard(
            block_private=True,
            allow=("127.0.0.0/8", "::1/128"),
            allow_ports=(self.port, self.tls_port, closed),
            connect_to=tuple(routes),
            mapped_only=True,
            ca_file=str(self.pki.ca_file),
        )

    def a11y_url(self, case: str) -> str:
        if case not in A11Y_CASES:
            raise KeyError(f"no accessibility case {case!r}; there are {', '.join(A11Y_CASES)}")
        return f"{self.base_url}/a11y-{case}/"

    def hostile_url(self, kind: str) -> str:
        if kind not in HOSTILE:
            raise KeyError(f"no hostile site {kind!r}; there are {', '.join(HOSTILE)}")
        return f"{self.base_url}/hostile-{kind}/"

    def start(self) -> Simulator:
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        for server in (self._server, self._tls_server):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._closed.close()
        self.pki.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    """`python -m portal_index.demo.simulator [--port N] [--articles N]`: serve until interrupted."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="The local portal simulator.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--articles", type=int, default=5, help="news articles per portal (20 a listing page)")
    args = parser.parse_args(argv)
    sim = Simulator(port=args.port, articles=args.articles).start()
    print(f"serving {sim.base_url}", flush=True)
    try:
        sys.stdin.read()  # until stdin closes (the parent process ends) or Ctrl-C
    except KeyboardInterrupt:
        pass
    sim.stop()


if __name__ == "__main__":
    main()
