"""The crawler's HTTP client (`portal_index.fetch.http_client`) against small socket servers that
misbehave on purpose: what it refuses before connecting, how each failure is classified, what it
retries, and that a connection the server closed is not reused."""

import asyncio
import gzip
import socket
import struct
import threading
import time

import aiohttp
import httpx
import pytest

from portal_index.fetch.crawler import BoundedDecoder, CrawlLimits, make_client, redirect_target
from portal_index.fetch.http_client import as_httpx, as_httpx_writes
from portal_index.fetch.netguard import Guard, classify

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Scripted:
    """A loopback TCP server whose nth connection is handled by `script[n]` (a function of the
    connected socket); it counts the connections it accepted."""

    def __init__(self, *script):
        self.script = list(script)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        for handle in self.script:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                handle(conn)

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes a thread waiting in accept()
        except OSError:
            pass
        self.listener.close()
        self.thread.join(timeout=5)


def _limits(port: int, **kw) -> CrawlLimits:
    defaults = dict(timeout_seconds=1.0, retries=2, backoff_seconds=0.01)
    return CrawlLimits(guard=Guard(allow=("127.0.0.1/32",), allow_ports=(port,)), **{**defaults, **kw})


def _get(limits: CrawlLimits, *urls: str) -> list:
    """Each URL fetched in turn by one client: its `Fetched`, or the exception it raised."""

    async def main():
        out = []
        async with make_client(limits) as client:
            for url in urls:
                try:
                    async with asyncio.timeout(20):  # the crawler's response_seconds: a hang fails the test
                        out.append(await client.get(url, BoundedDecoder, limits.max_bytes))
                except Exception as e:
                    out.append(e)
        return out

    return asyncio.run(main())


def _request(conn) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_a_private_address_is_refused_before_any_connection_ip_literals_and_names_alike(monkeypatch):
    server = Scripted(lambda conn: conn.sendall(OK))
    port = server.port
    live = CrawlLimits(timeout_seconds=1.0, retries=0)  # the live guard: no private address at all
    urls = (
        f"http://127.0.0.1:{port}/",
        f"http://localhost:{port}/",
        f"http://[::1]:{port}/",
        f"http://2130706433:{port}/",  # 127.0.0.1 written as one number
        f"http://127.1:{port}/",
        "http://169.254.169.254/latest/meta-data/",
    )
    answers = _get(live, *urls)
    server.close()
    assert all(isinstance(a, httpx.ConnectError) for a in answers), answers
    assert [classify(a) for a in answers] == ["blocked_address"] * len(urls)
    assert server.accepted == 0
    # the same server, allowed by the guard, answers, and a proxy named by the shell is not used
    server, proxy = Scripted(lambda conn: (_request(conn), conn.sendall(OK))), Scripted(lambda conn: None)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{proxy.port}")
    [fetched] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/")
    server.close()
    proxy.close()
    assert (fetched.exchange.status, fetched.exchange.body, fetched.attempts) == (200, b"ok", 1)
    assert proxy.accepted == 0


def test_failures_are_classified_as_the_crawl_records_them_and_retried_where_they_may_pass():
    free = socket.create_server(("127.0.0.1", 0))
    closed_port = free.getsockname()[1]
    free.close()
    [refused] = _get(_limits(closed_port), f"http://127.0.0.1:{closed_port}/")
    assert classify(refused) == "connection_refused"
    # a host whose name holds a word of TLS errors is classified by what happened, not by its name
    named = "tls.ssl-certificate.gov.vn"
    guard = Guard(
        allow=("127.0.0.1/32",), allow_ports=(closed_port,), connect_to=((named, 80, "127.0.0.1", closed_port),)
    )
    [refused] = _get(CrawlLimits(guard=guard, retries=0), f"http://{named}/")
    assert classify(refused) == "connection_refused"

    def hang_up(conn):
        _request(conn)

    def half_body(conn):
        _request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")

    def garbage(conn):
        _request(conn)
        conn.sendall(b"SMTP READY\r\n\r\n")

    def silent(conn):
        _request(conn)
        conn.recv(1)  # holds the connection open, answers nothing, until the client gives up

    def stall_in_body(conn):
        _request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        conn.recv(1)

    def bad_chunk(conn):
        _request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        time.sleep(0.2)  # the head first, then a chunk size that is no number
        conn.sendall(b"zz\r\nabc\r\n0\r\n\r\n")
        time.sleep(0.3)

    def gzip_twice(conn):
        _request(conn)
        packed = gzip.compress(b"<html></html>")
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(packed), packed)
        )

    def reset_in_body(conn):
        _request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        time.sleep(0.1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset

    # a failure before the response's head is retried twice (it may pass next time); one while its
    # body is read is not (as httpx-retries, which retried httpx's `send`, did)
    for expected, handle, connections in [
        ("protocol_error", hang_up, 3),
        ("protocol_error", garbage, 3),
        ("timeout", silent, 3),
        ("protocol_error", half_body, 1),
        ("timeout", stall_in_body, 1),
        ("ReadError", reset_in_body, 1),
        ("protocol_error", bad_chunk, 1),  # at once, not when the crawler's time is up
        ("bad_encoding", gzip_twice, 1),  # "gzip, gzip", as httpx read the two headers
    ]:
        server = Scripted(*[handle] * 3)
        [error] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/")
        server.close()
        assert classify(error) == expected, (handle.__name__, error)
        assert server.accepted == connections, handle.__name__

    def bad_chain(conn):
        conn.recv(65536)
        conn.sendall(b"\x15\x03\x03\x00\x02\x02\x28")  # a TLS alert: handshake failure

    server = Scripted(bad_chain)
    url = f"https://127.0.0.1:{server.port}/"
    [error] = _get(_limits(server.port), url)
    server.close()
    assert classify(error).startswith("tls_") and server.accepted == 1  # not retried


def test_429_and_5xx_answers_are_retried_with_retry_after_and_the_last_answer_kept():
    def busy(conn):
        _request(conn)
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 4\r\n\r\nbusy")

    def ok(conn):
        _request(conn)
        conn.sendall(OK)

    server = Scripted(busy, busy, ok)
    [fetched] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/")
    server.close()
    assert (fetched.exchange.status, fetched.exchange.body, fetched.attempts) == (200, b"ok", 3)
    server = Scripted(busy, busy, busy)
    [fetched] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/")
    server.close()
    assert (fetched.exchange.status, fetched.exchange.body, fetched.attempts) == (503, b"busy", 3)


@pytest.mark.parametrize("retry_after, lo, hi", [("2", 2.0, 2.0), ("99", 10.0, 10.0), ("soon", 0.0, 0.02)])
def test_the_wait_before_a_retry_follows_retry_after_up_to_its_cap(retry_after, lo, hi):
    client = make_client(CrawlLimits(backoff_seconds=0.01))
    waits = [client._backoff(1, retry_after) for _ in range(50)]
    assert all(lo <= w <= hi for w in waits), waits


def test_an_idle_connection_the_server_closed_is_not_reused_and_the_body_is_read_raw():
    """Two requests on one keep-alive connection; the server then closes it while the client keeps it:
    the third request goes on a new connection, not onto the closed one. A gzip body arrives as the
    crawler's decoder makes it, the headers as they were sent."""
    close_now = threading.Event()
    packed = gzip.compress(b"<html>xin chao</html>")
    gz = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\nX-Case: Kept\r\n\r\n" % len(packed)

    def first(conn):
        _request(conn)
        conn.sendall(OK)
        _request(conn)
        conn.sendall(gz + packed)
        close_now.wait(10)

    def second(conn):
        _request(conn)
        conn.sendall(OK)

    server = Scripted(first, second)
    base = f"http://127.0.0.1:{server.port}"

    async def main():
        limits = _limits(server.port)
        async with make_client(limits) as client:
            a = await client.get(f"{base}/a", BoundedDecoder, limits.max_bytes)
            b = await client.get(f"{base}/b", BoundedDecoder, limits.max_bytes)
            close_now.set()
            await asyncio.sleep(0.2)  # the server's close arrives
            c = await client.get(f"{base}/c", BoundedDecoder, limits.max_bytes)
            return a, b, c

    a, b, c = asyncio.run(main())
    server.close()
    assert [x.exchange.body for x in (a, b, c)] == [b"ok", b"<html>xin chao</html>", b"ok"]
    assert [x.attempts for x in (a, b, c)] == [1, 1, 1] and server.accepted == 2
    # the headers as httpx gave them: names in lower case, so the WARC records are what they were
    assert ("x-case", "Kept") in b.exchange.headers and ("content-encoding", "gzip") in b.exchange.headers
    sent = dict(b.exchange.request_headers)
    assert sent["user-agent"] == CrawlLimits().user_agent and sent["accept-encoding"] == "gzip, deflate"


def test_a_response_head_is_read_as_httpx_read_it():
    """A long header is read; a head over 100 KiB (in one header or many) is refused; a header
    that is UTF-8 (a Vietnamese redirect) is read as UTF-8 and one that is not as Latin-1."""
    policy = b"default-src 'self' " + b"https://cdn.example.gov.vn " * 1200  # about 31 kB, one line
    flood = b"".join(b"X-H%d: %d\r\n" % (i, i) for i in range(1000))
    large = b"".join(b"X-Large-%d: %s\r\n" % (i, b"x" * 60_000) for i in range(2))  # 120 kB in all

    def long_header(conn):
        _request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Security-Policy: " + policy + b"\r\nContent-Length: 2\r\n\r\nok")

    server = Scripted(long_header)
    [fetched] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/")
    server.close()
    assert dict(fetched.exchange.headers)["content-security-policy"] == policy.decode().strip()
    for head in (flood, large):
        server = Scripted(
            *[lambda conn, head=head: (_request(conn), conn.sendall(b"HTTP/1.1 200 OK\r\n" + head + OK[17:]))] * 3
        )
        [error] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/")
        server.close()
        assert classify(error) == "protocol_error" and server.accepted == 3  # refused, and retried as before

    location = "/tin-tức/thông-báo?q=đ"
    answers = [
        b"HTTP/1.1 302 Found\r\nLocation: " + location.encode() + b"\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 302 Found\r\nLocation: /caf\xe9\r\nContent-Length: 0\r\n\r\n",
    ]
    server = Scripted(*[lambda conn, a=a: (_request(conn), conn.sendall(a)) for a in answers])
    utf8, latin1 = _get(_limits(server.port), *[f"http://127.0.0.1:{server.port}/{i}" for i in range(2)])
    server.close()
    assert dict(utf8.exchange.headers)["location"] == location
    assert dict(latin1.exchange.headers)["location"] == "/café"


def test_a_redirect_is_joined_as_before_and_refused_where_httpx_refused_it():
    current = "http://127.0.0.1:5000/dir/page"
    assert redirect_target(current, " /a ", 302) == "http://127.0.0.1:5000/a"
    assert redirect_target(current, "b?x=1#top", 301) == "http://127.0.0.1:5000/dir/b?x=1"
    assert redirect_target(current, "http:/p1", 302) == "http://127.0.0.1:5000/p1"  # the port kept, as browsers do
    assert redirect_target(current, "//cdn.example.vn/y", 307) == "http://cdn.example.vn/y"
    assert redirect_target(current, "/tin-tức", 302) == "http://127.0.0.1:5000/tin-tức"  # sent percent-encoded
    # what httpx refused while reading the answer (301, 302, 303, 307, 308) is refused as it was
    with pytest.raises(httpx.InvalidURL):
        redirect_target(current, "http:\\\\evil/x", 302)  # bad_url
    with pytest.raises(httpx.InvalidURL):
        redirect_target(current, "mailto:x", 301)
    with pytest.raises(httpx.RemoteProtocolError):
        redirect_target(current, "http://h:abc/", 302)  # protocol_error
    # the other 3xx answers httpx did not read: their Location is joined as it was
    assert redirect_target(current, "mailto:x", 300) == "mailto:x"  # then blocked_scheme
    assert redirect_target(current, "http://h:abc/", 300) == "http://h:abc/"  # then bad_url


def test_a_url_is_sent_as_httpx_wrote_it():
    assert as_httpx_writes("http://127.0.0.1:5000/tin-tức") == "http://127.0.0.1:5000/tin-t%E1%BB%A9c"
    assert as_httpx_writes("https://Cổng.Gov.VN:443/a b") == "https://xn--cng-qmz.gov.vn/a%20b"
    assert as_httpx_writes("http://h.vn:80/x") == "http://h.vn/x"
    assert as_httpx_writes("http://h.vn/a/../b/./c") == "http://h.vn/b/c"
    assert as_httpx_writes("http://h.vn/.well-known/x") == "http://h.vn/.well-known/x"
    lines = []

    def record(conn):
        lines.append(_request(conn).split(b"\r\n")[0])
        conn.sendall(OK)

    server = Scripted(record)
    [fetched] = _get(_limits(server.port), f"http://127.0.0.1:{server.port}/tin-tức/../a b?q=đ")
    server.close()
    assert lines == [b"GET /a%20b?q=%C4%91 HTTP/1.1"]
    assert fetched.exchange.url == f"http://127.0.0.1:{server.port}/tin-tức/../a b?q=đ"  # archived as named


def test_a_failed_connection_is_classified_by_what_happened_not_by_the_hosts_name():
    from aiohttp.client_reqrep import ConnectionKey

    for host in ("tls.ssl-certificate.gov.vn", "refused.gov.vn"):
        key = ConnectionKey(host, 443, True, True, None, None, None)
        unreachable = aiohttp.ClientConnectorError(key, OSError(113, "No route to host"))
        assert classify(as_httpx(unreachable)) == "connect_error"
        refused = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
        assert classify(as_httpx(refused)) == "connection_refused"
