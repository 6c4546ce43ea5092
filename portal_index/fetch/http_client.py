"""The crawler's HTTP client: aiohttp, behind the private-address guard, with chain completion and
retries.

Why aiohttp and not httpx, which the prober and the certificate-chain fetch use: the crawl's CPU a
page. Through httpx, httpcore and anyio a keep-alive GET of a simulator page cost about 0.7 ms of
CPU on this project's 2-core machine, through aiohttp (its HTTP parser is compiled) 0.1 to 0.2 ms,
against 0.06 ms for a bare asyncio client, and the exchange was half of the crawl's CPU; with
aiohttp the crawl spends about 40 % less CPU a page (docs/performance.md, "The crawl's HTTP
client").

What stays as it was with httpx:

- **The guard** (`portal_index.fetch.netguard`). `GuardedConnector` answers every name the
  connector would look up, and every IP literal too (aiohttp's own lookup passes those through
  unchecked), with `netguard.resolve`: the `connect_to` mapping, the lookup, the refusal of a
  blocked address. The connection is made to the vetted address; TLS names the URL's host
  (`server_hostname`), so certificates are checked against the portal's name. No DNS cache: every
  new connection is resolved and vetted again. No proxy from `HTTP_PROXY` and its kin (aiohttp
  reads them only when asked to).
- **Chain completion** (`portal_index.fetch.chains`): a request whose verification failed for want
  of an intermediate is sent again with a context that knows the intermediate from the certificate's
  AIA URL, for that host only; its exchanges carry `tls_fault = tls_incomplete_chain`.
- **Retries**: timeouts, dropped connections and 429/5xx answers are retried `CrawlLimits.retries`
  times with exponential backoff and full jitter (`backoff_seconds`, doubling, at most 10 s), a
  server's `Retry-After` respected up to 10 s; the attempts are counted. A failure up to the
  response's head is retried, one while its body is read is not (`BodyError`), as httpx-retries
  retried httpx's `send`. aiohttp's own silent second try of a request whose connection the
  server closed is turned off: every request a server sees is an attempt the crawl records.
- **The response as the crawler reads it**: its head at most `MAX_HEAD_BYTES` (h11's limit in
  httpx), its headers as httpx gave them (lower-case names, a repeated header joined, values read
  as ASCII, else UTF-8, else Latin-1), its body raw (no decoding by aiohttp), decoded by the
  crawler's `BoundedDecoder` and cut at `max_bytes`; a response cut short is not read further. Idle
  connections are closed after httpx's 5 s.
- **The URLs**: each is sent as httpx wrote it (`as_httpx_writes`: percent-encoded, dot segments
  resolved; then `yarl.URL(..., encoded=True)`, which sends it as written) and archived as the
  crawler named it, so the WARC's target URIs and request lines are what they were.
- **The errors**: aiohttp's exceptions become httpx's (`httpx.ConnectError` with the same message
  forms, a connection's failure told without the host's name, `httpx.ReadTimeout`,
  `httpx.RemoteProtocolError`, ...), so
  that `netguard.classify` stays the one home of the error classes a crawl fetch and a probe
  record. A refused connection is a `connection_refused`, as the prober records it (through
  httpx's anyio backend it was a `connect_error`).
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import socket
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
import httpcore
import httpx
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from portal_index.fetch.chains import INCOMPLETE_CHAIN, complete_chain, missing_issuer
from portal_index.fetch.netguard import Guard, resolve
from portal_index.fetch.warc_writer import Exchange

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RETRY_ERRORS = (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError)
MAX_BACKOFF_SECONDS = 10.0
MAX_HEAD_BYTES = 100 * 1024  # a response's status line and headers, as httpx (h11) allowed them
MAX_FIELD_BYTES = 64 * 1024  # one line of it: aiohttp's 8 KiB would refuse a long cookie or policy
KEEPALIVE_SECONDS = 5.0  # an idle connection is closed after this (httpx's default; aiohttp's is 15 s)


class BodyError(Exception):
    """A failure while reading a response's body (`error`, as httpx's exception): not retried. The
    request is retried up to its response's head, as httpx-retries retried httpx's `send`."""

    def __init__(self, error: BaseException):
        super().__init__(str(error))
        self.error = error


class _ResponseHandler(ResponseHandler):
    """aiohttp's protocol, but a body whose framing breaks after the response's head (a chunk size
    that is no number, a missing line end) fails at once: aiohttp 3.14 puts the parser's error on
    the connection and closes it, and the body being read waits for data that never comes (until
    the crawler's `response_seconds`). httpx reported it as a protocol error."""

    def set_exception(self, exc, *cause) -> None:
        payload = self._payload
        if isinstance(exc, HttpProcessingError) and payload is not None and not payload.is_eof():
            payload.set_exception(aiohttp.ClientPayloadError(f"Response payload is not completed: {exc!r}"))
        super().set_exception(exc, *cause)


class GuardedConnector(aiohttp.TCPConnector):
    """A connector whose every lookup, IP literals included, is `netguard.resolve`: connections go
    only to addresses the guard vetted (BlockedAddress otherwise, before any connection is made)."""

    def __init__(self, guard: Guard, limit: int):
        super().__init__(
            limit=limit,
            limit_per_host=0,
            use_dns_cache=False,
            ssl=guard.ssl_context(),
            keepalive_timeout=KEEPALIVE_SECONDS,
        )
        self.guard = guard
        self._factory = functools.partial(_ResponseHandler, loop=self._loop)  # aiohttp 3.14, pinned

    async def _resolve_host(self, host: str, port: int, traces=None) -> list[dict]:  # aiohttp 3.14, pinned
        addresses, target_port = await resolve(self.guard, host, port)
        return [
            {
                "hostname": host,
                "host": address,
                "port": target_port,
                "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
            for address in addresses
        ]


@dataclass
class Fetched:
    """One exchange as the crawler reads it: the request and response, whether the body was cut at the
    byte limit, how many attempts it took, and the host's TLS fault (`tls_incomplete_chain`)."""

    exchange: Exchange
    truncated: bool
    attempts: int
    tls_fault: str | None


@dataclass
class CrawlClient:
    """One aiohttp session for a crawl process; `get` is one request, retried and completed."""

    guard: Guard
    connections: int
    timeout_seconds: float
    retries: int
    backoff_seconds: float
    headers: dict[str, str]
    tls_for: dict[str, ssl.SSLContext] = field(default_factory=dict)  # host -> its completed chain's context
    _completions: dict[str, asyncio.Task] = field(default_factory=dict)
    _session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> CrawlClient:
        self._session = aiohttp.ClientSession(
            connector=GuardedConnector(self.guard, self.connections),
            headers=self.headers,
            auto_decompress=False,  # the crawler decodes, within its byte limit
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies of hosts named by address too, as httpx keeps them
            # each line of a response's head; the whole head is held to MAX_HEAD_BYTES once read (at
            # most aiohttp's 128 headers of 64 KiB before that: 8 MB, whatever a server sends)
            max_line_size=MAX_FIELD_BYTES,
            max_field_size=MAX_FIELD_BYTES,
            timeout=aiohttp.ClientTimeout(
                total=None, sock_connect=self.timeout_seconds, sock_read=self.timeout_seconds
            ),
        )
        # aiohttp sends an idempotent request again, once, on a new connection when the server closed
        # the one it used; our retries do that, counted and spaced (aiohttp 3.14, pinned)
        self._session._retry_connection = False
        return self

    async def __aexit__(self, *exc) -> None:
        await self._session.close()

    async def get(self, url: str, decoder_for, max_bytes: int) -> Fetched:
        """GET `url` (sent as httpx wrote it, `as_httpx_writes`; archived as given), retried; the body
        read through `decoder_for(content_encoding)` (a `BoundedDecoder`) up to `max_bytes`."""
        attempt = 0
        while True:
            attempt += 1
            try:
                fetched = await self._once(url, decoder_for, max_bytes)
            except BodyError as e:
                raise e.error from None
            except RETRY_ERRORS:
                if attempt > self.retries:
                    raise
                await asyncio.sleep(self._backoff(attempt, None))
                continue
            fetched.attempts = attempt
            status = fetched.exchange.status
            if status not in RETRY_STATUSES or attempt > self.retries:
                return fetched
            headers = dict(fetched.exchange.headers)  # names in lower case, each once
            await asyncio.sleep(self._backoff(attempt, headers.get("retry-after")))

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        """The wait before attempt `attempt + 1`: the server's Retry-After (seconds or an HTTP date)
        up to the cap, else exponential backoff with full jitter."""
        if retry_after:
            wait = retry_after_seconds(retry_after)
            if wait is not None and wait > 0:
                return min(wait, MAX_BACKOFF_SECONDS)
        return min(self.backoff_seconds * 2**attempt * random.uniform(0, 1), MAX_BACKOFF_SECONDS)

    async def _once(self, url: str, decoder_for, max_bytes: int) -> Fetched:
        target = URL(as_httpx_writes(url), encoded=True)
        host = (target.raw_host or "").lower()  # an IDN as the connection names it (punycode)
        try:
            try:
                return await self._request(url, target, host, decoder_for, max_bytes)
            except aiohttp.ClientConnectorCertificateError as e:
                if target.scheme != "https" or not missing_issuer(str(e)):
                    raise
                context = await self._complete(host, target.port or 443)
                if context is None:
                    raise
                self.tls_for[host] = context
                return await self._request(url, target, host, decoder_for, max_bytes)
        except Exception as e:
            translated = as_httpx(e)
            if translated is e:
                raise
            raise translated from e

    async def _complete(self, host: str, port: int) -> ssl.SSLContext | None:
        """The host's completed context, looked for once per host (a failed search is tried again)."""
        task = self._completions.get(host)
        if task is None or (task.done() and (task.cancelled() or task.exception() is not None)):
            task = self._completions[host] = asyncio.ensure_future(
                asyncio.to_thread(complete_chain, self.guard, host, port)
            )
        return await asyncio.shield(task)  # a request given up does not cancel the others' wait

    async def _request(self, url: str, target: URL, host: str, decoder_for, max_bytes: int) -> Fetched:
        kwargs = {"ssl": self.tls_for[host]} if host in self.tls_for else {}
        async with self._session.get(target, allow_redirects=False, **kwargs) as response:
            head = sum(len(k) + len(v) + 4 for k, v in response.raw_headers) + len(response.reason or "") + 15
            if head > MAX_HEAD_BYTES:
                raise httpx.RemoteProtocolError(f"a response head of {head} bytes (at most {MAX_HEAD_BYTES})")
            # as httpx gave them: names in lower case, a repeated header's values joined, values read as
            # ASCII, else UTF-8, else Latin-1 (a Vietnamese Location arrives as UTF-8)
            headers = httpx.Headers(list(response.raw_headers))
            body = bytearray()
            truncated = False
            try:
                decoder = decoder_for(headers.get("content-encoding"))  # "gzip, gzip" is no encoding of ours
                async for chunk in response.content.iter_any():
                    body += decoder.feed(chunk, max_bytes - len(body) + 1)
                    if len(body) > max_bytes:
                        del body[max_bytes:]
                        truncated = True
                        break
            except Exception as e:
                raise BodyError(as_httpx(e)) from e
            exchange = Exchange(
                url=url,
                request_headers=[(k.lower(), v) for k, v in response.request_info.headers.items()],  # ours, each once
                status=response.status,
                reason=response.reason or "",
                http_version=f"HTTP/{response.version.major}.{response.version.minor}",
                headers=list(headers.items()),
                body=bytes(body),
            )
        return Fetched(exchange, truncated, 1, INCOMPLETE_CHAIN if host in self.tls_for else None)


_PLAIN_URL = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?")


def plain_url(url: str) -> bool:
    """True for a URL httpx would write as it is, but perhaps for dot segments: lower-case host, safe
    characters only, no default port (httpx drops those)."""
    return bool(_PLAIN_URL.fullmatch(url)) and ":80" not in url and ":443" not in url


def as_httpx_writes(url: str) -> str:
    """The URL as httpx writes it to send it: unsafe characters percent-encoded, the host in lower case
    (an IDN in punycode), a default port left out, dot segments resolved (`/a/../b` is `/b`). A URL
    that is already so is returned as it is, without a parse. Raises `httpx.InvalidURL` (or
    `ValueError`) for a URL httpx refuses."""
    if plain_url(url) and "/." not in url and not url.endswith("?"):
        return url
    return str(httpx.URL(url))


def retry_after_seconds(value: str) -> float | None:
    """A Retry-After header's wait in seconds (a number or an HTTP date), or None when it is neither."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_CONNECTION_LOST = re.compile(r"\b(ConnectionReset|ConnectionAborted|BrokenPipe)Error\(")


def as_httpx(e: BaseException) -> BaseException:
    """aiohttp's exception as the httpx exception `netguard.classify` reads (same message forms:
    "blocked address: ...", "dns failure: ...", "... refused", an ssl error's text); anything else
    as it is."""
    if isinstance(e, httpcore.ConnectError):  # the guard's refusal or a failed lookup (netguard.resolve)
        return httpx.ConnectError(str(e))
    if isinstance(e, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(e) or "connect timeout")
    if isinstance(e, aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(e) or "read timeout")
    # a connection's failure is told without the host's name: `classify` looks for words in a
    # ConnectError's message ("tls.gov.vn"); the TLS errors' own words come from OpenSSL
    if isinstance(e, (aiohttp.ClientConnectorCertificateError, aiohttp.ClientConnectorSSLError)):
        return httpx.ConnectError(str(e.os_error if hasattr(e, "os_error") else e))
    if isinstance(e, aiohttp.ClientConnectorError):  # lookups are netguard.resolve's: no DNS error here
        if isinstance(e.os_error, ConnectionRefusedError):
            return httpx.ConnectError("connection refused")
        return httpx.ConnectError(f"connect failed: {e.os_error.strerror or type(e.os_error).__name__}")
    if isinstance(e, aiohttp.ClientPayloadError) and _CONNECTION_LOST.search(str(e)):
        return httpx.ReadError(str(e))  # a reset in the middle of a body, as httpcore reports it
    if isinstance(
        e,
        (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientResponseError, HttpProcessingError),
    ):  # HttpProcessingError: what aiohttp's parser in Python (without its compiled one) may let through
        return httpx.RemoteProtocolError(str(e) or type(e).__name__)
    if isinstance(e, aiohttp.ClientOSError):
        return httpx.ReadError(str(e) or type(e).__name__)
    if isinstance(e, aiohttp.InvalidURL):
        return e  # a ValueError: the crawler records it as bad_url
    if isinstance(e, aiohttp.ClientError):
        return httpx.TransportError(f"{type(e).__name__}: {e}")
    return e
