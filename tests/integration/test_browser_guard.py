"""The audit's Chromium reaches nothing the private-address guard forbids.

A canary listens on a forbidden loopback port (TCP on 127.0.0.1, 127.0.0.2 and ::1, UDP on
127.0.0.1) and counts every connection it accepts and every datagram it receives. The audit loads
the canary's URLs directly, and pages on an allowed port that reach for it every way a page can
(redirects, images, iframes, fetch, WebSockets, prefetch, preconnect, beacons, EventSource, WebRTC,
WebTransport). The canary must see nothing, and the allowed page must still be audited.

The fast tests drive the guarded proxy (portal_index/fetch/proxy.py) alone over raw sockets.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal_index.fetch.browser import audit, find_chromium
from portal_index.fetch.netguard import Guard
from portal_index.fetch.proxy import GUARD_HEADER, GuardedProxy

needs_chromium = pytest.mark.skipif(
    find_chromium() is None, reason="no Chromium here (.ci/run installs Debian's chromium)"
)


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


HAS_V6 = _ipv6_loopback()


class Canary:
    """One port number on every loopback address we can bind: counts TCP connections at accept()
    and UDP datagrams as they arrive, answers a TCP connection with a tiny HTTP 200 (so a leak
    does not hang the browser)."""

    def __init__(self):
        self.hits: list[tuple[str, object]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        for _ in range(50):  # the same free port on every address
            socks = []
            try:
                first = socket.create_server(("127.0.0.1", 0))
                socks.append(first)
                self.port = first.getsockname()[1]
                socks.append(socket.create_server(("127.0.0.2", self.port)))
                if HAS_V6:
                    socks.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
                udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(udp)
                udp.bind(("127.0.0.1", self.port))
            except OSError:
                for s in socks:
                    s.close()
                continue
            break
        else:  # pragma: no cover
            raise RuntimeError("no port free on every loopback address")
        self._socks = socks
        self._threads = [threading.Thread(target=self._accept, args=(s,), daemon=True) for s in socks[:-1]]
        self._threads.append(threading.Thread(target=self._datagrams, args=(socks[-1],), daemon=True))
        for t in self._threads:
            t.start()

    def _hit(self, kind: str, peer) -> None:
        with self._lock:
            self.hits.append((kind, peer))

    def _accept(self, server: socket.socket) -> None:
        server.settimeout(0.1)
        while not self._stop.is_set():
            try:
                conn, peer = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._hit("tcp", (server.getsockname()[0], peer))
            with conn:
                conn.settimeout(0.5)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    def _datagrams(self, udp: socket.socket) -> None:
        udp.settimeout(0.1)
        while not self._stop.is_set():
            try:
                _, peer = udp.recvfrom(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            self._hit("udp", peer)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.hits)

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(2)
        for s in self._socks:
            s.close()


def _page(canary: int, allowed: int) -> bytes:
    c = canary
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Canary</title>
<link rel="prefetch" href="http://127.0.0.1:{c}/prefetch">
<link rel="preconnect" href="http://127.0.0.2:{c}">
<link rel="dns-prefetch" href="http://canary.localhost:{c}">
<link rel="stylesheet" href="http://localhost:{c}/style.css">
</head><body><main><h1>Canary</h1>
<img src="http://127.0.0.1:{c}/x.png" alt="direct">
<img src="/to-canary.png" alt="redirected">
<img src="https://127.0.0.1:{c}/tls.png" alt="tls">
<img src="/slow.png" alt="slow">
<iframe title="v6" src="http://[::1]:{c}/"></iframe>
<iframe title="v4" src="http://127.0.0.2:{c}/"></iframe>
<script>
const ok = new WebSocket("ws://127.0.0.1:{allowed}/ws");
ok.onopen = () => ok.send("hi");
new WebSocket("ws://127.0.0.1:{c}/ws");
new WebSocket("wss://[::1]:{c}/ws");
fetch("http://localhost:{c}/").catch(() => {{}});
fetch("/to-canary.png").catch(() => {{}});
navigator.sendBeacon("http://127.0.0.1:{c}/beacon", "x");
new EventSource("http://127.0.0.2:{c}/events");
try {{
  const pc = new RTCPeerConnection({{iceServers: [
    {{urls: "stun:127.0.0.1:{c}"}},
    {{urls: ["turn:127.0.0.1:{c}?transport=udp", "turn:127.0.0.1:{c}?transport=tcp"],
      username: "u", credential: "p"}}]}});
  pc.createDataChannel("x");
  pc.createOffer().then(o => pc.setLocalDescription(o));
}} catch (e) {{}}
try {{ new WebTransport("https://127.0.0.1:{c}/wt").ready.catch(() => {{}}); }} catch (e) {{}}
</script></main></body></html>""".encode()


class Allowed(ThreadingHTTPServer):
    """The one port the guard allows: pages that reach for the canary, and a WebSocket endpoint."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _AllowedHandler)
        self.canary = 0
        self.served: list[str] = []
        self.websocket_messages = 0


class _AllowedHandler(BaseHTTPRequestHandler):
    server: Allowed

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802
        self.server.served.append(self.path)
        canary = f"http://127.0.0.1:{self.server.canary}"
        if self.path == "/page":
            return self._send(200, _page(self.server.canary, self.server.server_address[1]), "text/html; charset=utf-8")
        if self.path == "/redirect":
            return self._send(302, b"", "text/plain", location=f"{canary}/redirected")
        if self.path == "/to-canary.png":
            return self._send(302, b"", "text/plain", location=f"{canary}/redirected.png")
        if self.path == "/slow.png":  # holds the load event while the page's other attempts run
            time.sleep(1.0)
            return self._send(200, base64.b64decode("R0lGODlhAQABAAAAACw="), "image/gif")
        if self.path == "/ws" and self.headers.get("Upgrade", "").lower() == "websocket":
            key = self.headers["Sec-WebSocket-Key"]
            accept = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", accept.decode())
            self.end_headers()
            self.wfile.flush()
            self.connection.settimeout(5)
            with contextlib.suppress(OSError):
                if len(self.rfile.read(2)) == 2:  # the first frame's header: the client's "hi" arrived
                    self.server.websocket_messages += 1
            self.close_connection = True
            return None
        return self._send(404, b"not here", "text/plain")

    def _send(self, status: int, body: bytes, ctype: str, location: str | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def canary():
    c = Canary()
    yield c
    c.close()


@pytest.fixture
def allowed(canary):
    server = Allowed()
    server.canary = canary.port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.slow
@needs_chromium
def test_the_audits_browser_never_reaches_a_forbidden_port(canary, allowed):
    c, a = canary.port, allowed.server_address[1]
    guard = Guard(block_private=True, allow=("127.0.0.0/8", "::1/128"), allow_ports=(a,))
    direct = {
        "v4": f"http://127.0.0.1:{c}/",
        "v4-other": f"http://127.0.0.2:{c}/",
        "name": f"http://localhost:{c}/",
        "tls": f"https://127.0.0.1:{c}/",
    }
    if HAS_V6:
        direct["v6"] = f"http://[::1]:{c}/"
    logged: list[str] = []
    found = audit(
        [
            *direct.items(),
            ("page", f"http://127.0.0.1:{a}/page"),
            ("redirect", f"http://127.0.0.1:{a}/redirect"),
            ("file", "file:///etc/hostname"),
        ],
        page_seconds=30,  # a limit for a loaded machine; the pages take about 2 s
        concurrency=2,
        guard=guard,
        log=logged.append,
    )
    time.sleep(0.5)  # anything in flight reaches the canary's accept()
    assert canary.count == 0, canary.hits

    pages = {r["portal_id"]: r for r in found["a11y_audits"]}
    for name in [*direct, "redirect"]:
        assert pages[name]["error"].startswith("blocked_address: "), pages[name]
    assert "is loopback" in pages["v4"]["error"] and "resolved from localhost" in pages["name"]["error"]
    assert pages["file"]["error"] == "blocked_scheme: file (only http and https)"
    # the proxy does not simply break everything: the allowed page was loaded, measured and audited
    page = pages["page"]
    assert "error" not in page and page["status"] == 200, page
    assert page["rules_passed"] > 0 and page["axe_version"] and page["lcp_ms"] is not None
    assert {"/page", "/slow.png", "/to-canary.png", "/redirect"} <= set(allowed.served)
    assert allowed.websocket_messages >= 1  # a WebSocket to the allowed port works through the proxy
    blocked = int(logged[-1].split(" connections blocked by the guard")[0].rsplit(", ", 1)[1])
    assert blocked >= len(direct) + 5, logged[-1]


# -- the proxy alone ---------------------------------------------------------------------------


async def _counting_server(handler=None):
    """A TCP server on 127.0.0.1 that counts connections as they are accepted."""
    accepted: list[int] = []

    async def on_connect(reader, writer):
        accepted.append(1)
        if handler:
            await handler(reader, writer)
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], accepted


async def _exchange(port: int, data: bytes, read_until_eof: bool = True, timeout: float = 5.0) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        if read_until_eof:
            return await asyncio.wait_for(reader.read(-1), timeout)
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    finally:
        writer.close()


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_connect_to_a_forbidden_address_is_refused_without_a_connection():
    async def go():
        forbidden, port, accepted = await _counting_server()
        guard = Guard(block_private=True, allow=("127.0.0.0/8",), allow_ports=(port + 1,))
        async with forbidden, GuardedProxy(guard) as proxy:
            answers = [
                await _exchange(proxy.port, f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
                for target in (
                    f"127.0.0.1:{port}",
                    f"localhost:{port}",
                    "10.0.0.1:443",
                    "169.254.169.254:80",
                    f"[::ffff:127.0.0.1]:{port}",  # IPv4-mapped
                    f"0.0.0.0:{port}",  # reaches the machine itself on Linux
                    f"2130706433:{port}",  # 127.0.0.1 as one number
                )
            ]
            plain = await _exchange(proxy.port, f"GET http://127.0.0.1:{port}/x HTTP/1.1\r\n\r\n".encode())
            await asyncio.sleep(0.1)
            return answers, plain, accepted, proxy, port

    answers, plain, accepted, proxy, port = _run(go())
    assert accepted == []
    for answer in [*answers, plain]:
        assert answer.startswith(b"HTTP/1.1 403 "), answer
        assert GUARD_HEADER.lower().encode() in answer.lower()
    assert b"is loopback" in answers[0] and b"resolved from localhost" in answers[1]
    assert b"is private" in answers[2] and b"169.254.169.254 is" in answers[3]
    assert b"0.0.0.0 is" in answers[5] and b"127.0.0.1 is loopback (resolved from 2130706433)" in answers[6]
    assert proxy.stats["blocked"] == 8 and proxy.refused("LOCALHOST", port) and proxy.refused("127.0.0.1", port)
    assert proxy.refused("10.0.0.1", 443) and proxy.refused("10.0.0.1", 80) is None


def test_a_plain_request_to_an_allowed_server_is_relayed_in_origin_form():
    seen = {}

    async def origin(reader, writer):
        seen["head"] = await reader.readuntil(b"\r\n\r\n")
        seen["body"] = await reader.readexactly(5)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\nhello"
        )
        await writer.drain()

    async def go():
        server, port, accepted = await _counting_server(origin)
        guard = Guard(block_private=True, allow=("127.0.0.0/8",), allow_ports=(port,))
        async with server, GuardedProxy(guard) as proxy:
            answer = await _exchange(
                proxy.port,
                f"POST http://127.0.0.1:{port}/path?q=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Proxy-Connection: keep-alive\r\nContent-Length: 5\r\n\r\nabcde".encode(),
            )
            return answer, accepted

    answer, accepted = _run(go())
    head = seen["head"].decode()
    assert head.startswith("POST /path?q=1 HTTP/1.1\r\n") and "Connection: close\r\n" in head
    assert "proxy-connection" not in head.lower() and seen["body"] == b"abcde"
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nhello")
    assert b"Connection: close\r\n" in answer and b"Proxy-Connection: close\r\n" in answer
    assert b"keep-alive" not in answer.lower() and accepted == [1]


def test_a_tunnel_relays_both_ways_and_closes_when_both_sides_are_done():
    async def echo(reader, writer):
        while data := await reader.read(1024):
            writer.write(data.upper())
            await writer.drain()
        writer.write(b"BYE")
        await writer.drain()

    async def go():
        server, port, _ = await _counting_server(echo)
        guard = Guard(block_private=True, allow=("127.0.0.0/8",), allow_ports=(port,))
        async with server, GuardedProxy(guard) as proxy:
            reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
            writer.write(f"CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            writer.write(b"ping")
            await writer.drain()
            first = await reader.readexactly(4)
            writer.write_eof()  # the client is done: the server's last words still arrive
            rest = await asyncio.wait_for(reader.read(-1), 5)
            writer.close()
            return head, first, rest, proxy.stats

    head, first, rest, stats = _run(go())
    assert head.startswith(b"HTTP/1.1 200 ") and first == b"PING" and rest == b"BYE" and stats["tunnels"] == 1


def test_bad_requests_oversized_heads_and_silent_clients_are_answered_and_closed():
    async def go():
        async with GuardedProxy(Guard(), header_timeout=0.3, max_header_bytes=4096) as proxy:
            huge = await _exchange(proxy.port, b"GET http://example.org/ HTTP/1.1\r\nX: " + b"a" * 10000 + b"\r\n\r\n")
            origin_form = await _exchange(proxy.port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            ftp = await _exchange(proxy.port, b"GET ftp://example.org/ HTTP/1.1\r\n\r\n")
            no_port = await _exchange(proxy.port, b"CONNECT example.org HTTP/1.1\r\n\r\n")
            start = time.monotonic()
            silent = await _exchange(proxy.port, b"", timeout=3)
            waited = time.monotonic() - start
            return huge, origin_form, ftp, no_port, silent, waited, proxy

    huge, origin_form, ftp, no_port, silent, waited, proxy = _run(go())
    assert huge.startswith(b"HTTP/1.1 431 ")
    for answer in (origin_form, ftp, no_port):
        assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert silent.startswith(b"HTTP/1.1 408 ") and waited < 2.5
    assert proxy.stats["blocked"] == 0 and not proxy._tasks  # every handler finished


def test_the_proxy_never_connects_to_itself_and_reports_unreachable_targets():
    async def go():
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        dead = closed.getsockname()[1]
        closed.close()  # nothing listens there
        async with GuardedProxy(Guard(block_private=True, allow=("127.0.0.0/8",))) as proxy:
            itself = await _exchange(proxy.port, f"CONNECT 127.0.0.1:{proxy.port} HTTP/1.1\r\n\r\n".encode())
            refused = await _exchange(proxy.port, f"CONNECT 127.0.0.1:{dead} HTTP/1.1\r\n\r\n".encode())
            unknown = await _exchange(proxy.port, b"CONNECT no-such-host.invalid:443 HTTP/1.1\r\n\r\n")
            return itself, refused, unknown

    itself, refused, unknown = _run(go())
    assert itself.startswith(b"HTTP/1.1 403 ") and b"own proxy" in itself
    assert refused.startswith(b"HTTP/1.1 502 ") and b"cannot connect" in refused
    # an unknown name: 502, or 504 where the resolver does not answer within the connect timeout
    assert unknown.startswith((b"HTTP/1.1 502 ", b"HTTP/1.1 504 ")) and b"dns " in unknown
