"""A forward proxy on loopback that connects only where the private-address guard allows.

The accessibility audit's Chromium is launched with this proxy for every scheme and with its own
name resolution switched off (docs/probes.md, "Accessibility audit"), so each connection the
browser makes (navigation, redirect, subresource, WebSocket, prefetch) arrives here as a request
for a host name and port. The proxy resolves the name itself, vets every address with
`netguard.vetted_addresses` (the crawler's check: one bad answer refuses the name) and connects to a
vetted address; a refused target gets `403` with the reason and is recorded in `refusals`.

It speaks the HTTP/1.1 proxy protocol:

- `CONNECT host:port` (HTTPS, and WebSockets, which Chromium always tunnels through a proxy):
  `200`, then bytes are relayed both ways until both sides are done.
- an absolute-form request (`GET http://host:port/path`, plain HTTP): one request per client
  connection. The request line is rewritten to origin form, hop-by-hop headers are dropped and
  `Connection: close` is sent upstream; the response head gets `Connection: close` and
  `Proxy-Connection: close` (so the browser never sends a second request, perhaps for another
  host, down the same connection), then the rest is relayed until the server closes. A `101`
  (a WebSocket upgrade) is passed on unchanged and relayed both ways.

Bounds: the request head must arrive within `header_timeout` and fit in `max_header_bytes`
(else `408` or `431`), a relay ends after `idle_timeout` without a byte either way, at most
`max_clients` connections at a time (`503` beyond). It listens on 127.0.0.1 at a random port and
lives as long as one audit: it is no open proxy, and any local process that found it could only
reach what the guard lets the audit reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio

from portal_index.fetch.netguard import BlockedAddress, Guard, vetted_addresses

GUARD_HEADER = "X-Portal-Index-Guard"  # on the proxy's own refusals, so the audit can tell them from a site's 403
CHUNK = 64 * 1024
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te"}
_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    405: "Method Not Allowed",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(frozen=True)
class Refusal:
    host: str
    port: int
    reason: str


class _Reply(Exception):
    """Answer the client with this status and reason, then close."""

    def __init__(self, status: int, reason: str, refused: bool = False):
        super().__init__(reason)
        self.status = status
        self.reason = "".join(c if c.isprintable() and c.isascii() else "?" for c in reason)[:300]
        self.refused = refused


def _split_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The start line and the header fields of a message head (which ends with CRLF CRLF)."""
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as e:  # pragma: no cover - latin-1 decodes every byte
        raise _Reply(400, "undecodable head") from e
    lines = text[:-4].split("\r\n")
    fields = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or line[:1] in (" ", "\t"):
            raise _Reply(400, "malformed header field")
        fields.append((name, value.strip()))
    return lines[0], fields


def _target(method: str, target: str) -> tuple[str, int, str | None]:
    """(host, port, origin-form path or None for CONNECT) of a proxy request's target."""
    if method == "CONNECT":
        parts = urlsplit("//" + target)
        try:
            port = parts.port
        except ValueError as e:
            raise _Reply(400, "bad port") from e
        if not parts.hostname or port is None or parts.path or parts.query or parts.username or parts.password:
            raise _Reply(400, "CONNECT needs host:port")
        return parts.hostname, port, None
    parts = urlsplit(target)
    if parts.scheme.lower() != "http":
        raise _Reply(400, "only absolute http:// requests and CONNECT are proxied")
    try:
        port = parts.port or 80
    except ValueError as e:
        raise _Reply(400, "bad port") from e
    if not parts.hostname or parts.username or parts.password:
        raise _Reply(400, "no host")
    return parts.hostname, port, (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _upstream_head(method: str, path: str, version: str, fields: list[tuple[str, str]], authority: str) -> bytes:
    """The request head sent to the origin: origin form, hop-by-hop fields dropped, one request only."""
    upgrade = any(n.lower() == "upgrade" for n, _ in fields) and any(
        n.lower() == "connection" and "upgrade" in v.lower() for n, v in fields
    )
    kept = [(n, v) for n, v in fields if n.lower() not in _HOP_BY_HOP]
    if not any(n.lower() == "host" for n, _ in kept):
        kept.insert(0, ("Host", authority))
    kept.append(("Connection", "Upgrade" if upgrade else "close"))
    lines = [f"{method} {path} {version}"] + [f"{n}: {v}" for n, v in kept]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _downstream_head(head: bytes) -> tuple[int, bytes]:
    """(status, the response head for the browser): `Connection: close` unless it switches protocols."""
    try:
        start, fields = _split_head(head)
    except _Reply as e:
        raise _Reply(502, "malformed response from the site") from e
    version, _, rest = start.partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise _Reply(502, "malformed response from the site")
    status = int(code)
    if status == 101 or 100 <= status < 200:
        return status, head
    kept = [(n, v) for n, v in fields if n.lower() not in _HOP_BY_HOP]
    kept += [("Connection", "close"), ("Proxy-Connection", "close")]
    return status, ("\r\n".join([start] + [f"{n}: {v}" for n, v in kept]) + "\r\n\r\n").encode("latin-1")


async def _close(writer: asyncio.StreamWriter | None) -> None:
    if writer is None:
        return
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


class GuardedProxy:
    """`async with GuardedProxy(guard) as proxy:` then point the browser at `proxy.url`."""

    def __init__(
        self,
        guard: Guard,
        *,
        header_timeout: float = 30.0,
        connect_timeout: float = 10.0,
        idle_timeout: float = 60.0,
        max_header_bytes: int = 32 * 1024,
        max_response_header_bytes: int = 64 * 1024,
        max_clients: int = 128,
        keep_refusals: int = 200,
    ):
        self.guard = guard
        self.header_timeout = header_timeout
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.max_header_bytes = max_header_bytes
        self.max_response_header_bytes = max_response_header_bytes
        self.max_clients = max_clients
        self.keep_refusals = keep_refusals
        self.stats: Counter = Counter()  # clients, tunnels, requests, blocked, dns_failures, connect_failures, …
        self.refusals: list[Refusal] = []  # the first `keep_refusals` targets the guard refused
        self._refused: dict[tuple[str, int], str] = {}
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> GuardedProxy:
        self._server = await asyncio.start_server(
            self._client, host="127.0.0.1", port=0, limit=self.max_header_bytes, reuse_address=False
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)

    async def __aenter__(self) -> GuardedProxy:
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def refused(self, host: str, port: int) -> str | None:
        """Why the guard refused host:port during this proxy's life, if it did."""
        return self._refused.get(((host or "").lower().strip("[]"), port))

    # -- one client connection ------------------------------------------------------------------

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self.stats["clients"] += 1
        upstream: asyncio.StreamWriter | None = None
        try:
            if len(self._tasks) > self.max_clients:
                raise _Reply(503, "too many connections")
            head = await self._read_head(reader)
            if head is None:
                return
            start, fields = _split_head(head)
            method, _, rest = start.partition(" ")
            target, _, version = rest.partition(" ")
            if not method or not target or not version.startswith("HTTP/1."):
                raise _Reply(400, "not an HTTP/1.x request")
            host, port, path = _target(method, target)
            up_reader, upstream = await self._open(host, port)
            if path is None:
                self.stats["tunnels"] += 1
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
                await self._relay(reader, writer, up_reader, upstream)
            else:
                self.stats["requests"] += 1
                authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
                upstream.write(_upstream_head(method, path, version, fields, authority))
                await upstream.drain()
                await self._relay(reader, writer, up_reader, upstream, rewrite_response=True)
        except _Reply as r:
            if r.status == 400 or r.status == 431 or r.status == 408:
                self.stats["bad_requests"] += 1
            with contextlib.suppress(Exception):
                await self._reply(reader, writer, r)
        except (ConnectionError, OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a side went away or stalled: close both
        finally:
            await _close(upstream)
            await _close(writer)
            self._tasks.discard(task)

    async def _read_head(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.header_timeout)
        except TimeoutError as e:
            raise _Reply(408, "no request head in time") from e
        except asyncio.LimitOverrunError as e:
            raise _Reply(431, "request head too large") from e
        except asyncio.IncompleteReadError as e:
            if len(e.partial) > self.max_header_bytes:
                raise _Reply(431, "request head too large") from e
            return None  # the client closed (an unused preconnected socket)

    async def _reply(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, reply: _Reply) -> None:
        """The proxy's own answer, then a short linger so that unread input does not turn the close
        into a reset that destroys the answer."""
        status, phrase = reply.status, _REASONS.get(reply.status, "Error")
        body = f"{status} {phrase}: {reply.reason}\n".encode()
        guard = f"{GUARD_HEADER}: {reply.reason}\r\n" if reply.refused else ""
        writer.write(
            (
                f"HTTP/1.1 {status} {phrase}\r\n"
                "Content-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\n{guard}"
                "Connection: close\r\nProxy-Connection: close\r\n\r\n"
            ).encode("latin-1")
            + body
        )
        await asyncio.wait_for(writer.drain(), 5.0)
        if writer.can_write_eof():
            writer.write_eof()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                while await reader.read(CHUNK):
                    pass

    def _refuse(self, host: str, port: int, reason: str) -> _Reply:
        self.stats["blocked"] += 1
        if len(self._refused) < 10_000:
            self._refused.setdefault((host.lower(), port), reason)
        if len(self.refusals) < self.keep_refusals:
            self.refusals.append(Refusal(host, port, reason))
        return _Reply(403, reason, refused=True)

    async def _open(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to a vetted address of host:port, or `_Reply` (403 refused, 502/504 failed)."""
        if not 0 < port < 65536:
            raise _Reply(400, "bad port")
        try:
            target, target_port = self.guard.route(host, port)
        except BlockedAddress as e:
            raise self._refuse(host, port, str(e)) from e
        try:
            infos = await asyncio.wait_for(
                anyio.getaddrinfo(target, target_port, type=socket.SOCK_STREAM), self.connect_timeout
            )
        except TimeoutError as e:
            self.stats["dns_failures"] += 1
            raise _Reply(504, f"dns timeout: {host}") from e
        except (OSError, UnicodeError, ValueError) as e:
            self.stats["dns_failures"] += 1
            raise _Reply(502, f"dns failure: {host}: {e}") from e
        try:
            addresses = vetted_addresses(self.guard, host, target_port, infos)
        except BlockedAddress as e:
            raise self._refuse(host, port, str(e)) from e
        if target_port == self.port and any(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
            raise self._refuse(host, port, "blocked address: the audit's own proxy")
        last: Exception | None = None
        for address in addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, target_port, limit=self.max_response_header_bytes),
                    self.connect_timeout,
                )
            except (OSError, TimeoutError) as e:
                last = e
        self.stats["connect_failures"] += 1
        raise _Reply(502, f"cannot connect to {host}:{port}: {last or 'no address'}")

    async def _relay(
        self,
        client_reader: asyncio.StreamReader,
        client: asyncio.StreamWriter,
        up_reader: asyncio.StreamReader,
        upstream: asyncio.StreamWriter,
        rewrite_response: bool = False,
    ) -> None:
        """Bytes both ways. A tunnel ends when both directions ended (each EOF is passed on as a
        half-close); a proxied request when the response ended. Either ends when a side fails or
        nothing moved for `idle_timeout`."""
        loop = asyncio.get_running_loop()
        last = [loop.time()]
        answered = [False]

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while data := await src.read(CHUNK):
                last[0] = loop.time()
                dst.write(data)
                await dst.drain()
            if dst.can_write_eof():
                with contextlib.suppress(OSError):
                    dst.write_eof()

        async def response() -> None:
            while True:  # informational answers (100, 103) pass unchanged; the final head is rewritten
                try:
                    head = await up_reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError as e:
                    raise _Reply(502, "response head too large") from e
                last[0] = loop.time()
                status, head = _downstream_head(head)
                answered[0] = True
                client.write(head)
                await client.drain()
                if status == 101 or status >= 200:
                    break
            if status == 101:  # an upgrade: from now on a tunnel
                await asyncio.gather(pipe(up_reader, client), requests)
            else:
                await pipe(up_reader, client)

        requests = asyncio.create_task(pipe(client_reader, upstream))
        answers = asyncio.create_task(response() if rewrite_response else pipe(up_reader, client))
        try:
            pending = {requests, answers}
            while pending:
                timeout = last[0] + self.idle_timeout - loop.time()
                if timeout <= 0:
                    return
                done, pending = await asyncio.wait(pending, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                for t in done:
                    error = None if t.cancelled() else t.exception()
                    if isinstance(error, _Reply) and not answered[0]:
                        raise error
                    if error is not None:
                        return
                if rewrite_response and answers in done:
                    return
        finally:
            for t in (requests, answers):
                t.cancel()
            await asyncio.gather(requests, answers, return_exceptions=True)
