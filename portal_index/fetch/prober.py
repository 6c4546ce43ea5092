"""Timed probes of each portal's key URLs: DNS, connect, TLS, time to first byte, total.

Every probe opens a fresh connection, so that each phase is measured: the host name is resolved by
our own network backend (timed, and checked by the private-address guard), and httpcore's trace
hooks mark connect and TLS. TTFB and total are counted from the start of the connection, DNS
included, as curl's `time_starttransfer` and `time_total` are (the benchmark compares the two): the
clock starts when the name lookup does (the client's own Python before it is not the portal's time;
curl's is microseconds of C), TTFB stops when the first byte of the answer is read from the
connection (not once the headers are parsed), and the cyclic garbage collector is held off in
between (docs/probes.md, "Timing accuracy"). For an https
URL the probe also asks whether plain http redirects to https, and records the certificate's
expiry, from a second, non-verifying handshake when verification failed.

A bot wall's answer (`portal_index.parse.bot_walls`) is `blocked`, not a measurement of the
portal. A certificate chain without its intermediate is completed from its AIA URL, as a browser
does (`portal_index.fetch.chains`), and the probe carries `tls_fault: tls_incomplete_chain`.

Error classes: `blocked`, `timeout`, `connection_refused`, `dns_failure`, `tls_expired`,
`tls_hostname_mismatch`, `tls_untrusted`, `tls_failure`, `blocked_address`, `protocol_error`,
`http_<status>` (an answer >= 400).
"""

from __future__ import annotations

import gc
import os
import ssl
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import httpcore
import httpx

from portal_index.fetch.chains import INCOMPLETE_CHAIN, complete_chain, missing_issuer, presented_certificate
from portal_index.fetch.crawler import BoundedDecoder
from portal_index.fetch.netguard import Guard, classify, resolve_sync, with_backend
from portal_index.fetch.user_agent import USER_AGENT
from portal_index.parse.bot_walls import challenge_redirect, wall_of

WALL_BYTES = 64 * 1024  # the start of a body that is kept to recognise a bot wall
DEFAULT_TIMEOUT = 30.0  # long enough that a slow portal is measured as slow, not as down


class _TimedBackend(httpcore.NetworkBackend):
    """A sync network backend that resolves the name itself (timed, guarded as in `netguard`) and
    connects; its streams mark the moment the first byte of the answer is read."""

    def __init__(self, guard: Guard, source_address: str | None = None):
        self.guard = guard
        self.source_address = source_address  # the local address to connect from (a vantage's own)
        self.dns_ms: float | None = None
        self.first_byte_at: float | None = None  # perf_counter() when the first answer bytes were read
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        start = time.perf_counter()
        addresses, target_port = resolve_sync(self.guard, host, port)
        if self.dns_ms is None:  # the probe's own connection (not the http -> https check after it)
            self.dns_ms = (time.perf_counter() - start) * 1000
        stream = self._inner.connect_tcp(  # httpcore sets TCP_NODELAY, as curl does
            addresses[0],
            target_port,
            timeout=timeout,
            local_address=self.source_address or local_address,
            socket_options=socket_options,
        )
        return _TimedStream(stream, self)


class _TimedStream(httpcore.NetworkStream):
    """A connection (plain or TLS) that tells its backend when the first bytes of an answer arrive:
    curl's `time_starttransfer` is the first byte received, not the end of the headers. The TLS
    handshake's reads happen inside `start_tls`, so the first `read` is the answer's."""

    def __init__(self, inner: httpcore.NetworkStream, backend: _TimedBackend):
        self._inner, self._backend = inner, backend
        self._fault: Exception | None = None

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._fault is not None:  # met while reading ahead: reported now, as httpcore reports it
            fault, self._fault = self._fault, None
            raise httpcore.ReadError(str(fault)) from fault
        data = self._inner.read(max_bytes, timeout)
        if data and self._backend.first_byte_at is None:
            self._backend.first_byte_at = time.perf_counter()
        sock = self._inner.get_extra_info("socket")
        if data and isinstance(sock, ssl.SSLSocket) and len(data) < max_bytes:
            data, self._fault = _more_records(sock, data, max_bytes)
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        return _TimedStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._backend)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


def _more_records(sock: ssl.SSLSocket, data: bytes, max_bytes: int) -> tuple[bytes, Exception | None]:
    """`data` and the TLS records already received after it, up to `max_bytes`, without waiting
    (and the fault that stopped it, if one did).

    A TLS read returns one record (at most 16 KiB), and each read went through httpcore, h11 and
    httpx one by one: a 4 MB page cost about 250 rounds of that Python, which a loaded machine made
    tens of milliseconds of total time that curl, reading in C, does not spend."""
    parts, size, fault = [data], len(data), None
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        while size < max_bytes:
            more = sock.recv(max_bytes - size)
            if not more:  # the end of the answer: the next read says so again
                break
            parts.append(more)
            size += len(more)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        pass  # nothing more has arrived yet
    except OSError as e:  # ssl.SSLError included
        fault = e
    finally:
        sock.settimeout(timeout)
    return b"".join(parts), fault


_contexts: dict[str | None, tuple[tuple, ssl.SSLContext]] = {}  # trust store -> (its file's state, context)
_contexts_lock = threading.Lock()


def verifying_context(guard: Guard) -> ssl.SSLContext:
    """`guard.ssl_context()`, made once per trust store (its file, as long as the file is unchanged)
    and shared by the probes: loading the system's CAs costs about 35 ms of CPU, part of it holding
    the GIL, which delayed the other probe threads' timings. Sharing a client context resumes no
    session (Python's client contexts keep no session cache), so every probe still makes a full
    handshake."""
    path = guard.ca_file or ssl.get_default_verify_paths().cafile
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return guard.ssl_context()
    state = (path, stat.st_mtime_ns, stat.st_size) if stat else (path,)
    with _contexts_lock:
        known = _contexts.get(guard.ca_file)
        if known is None or known[0] != state:
            known = _contexts[guard.ca_file] = (state, guard.ssl_context())
        return known[1]


class _CollectorPause:
    """Holds Python's cyclic garbage collector off while any probe is between the start of its
    request and its last byte (probes run in threads, so the first in disables it and the last out
    enables it again, if it was enabled): a collection in that window was added to the timings.

    When the windows of many threads overlap without a gap for longer than `max_pause` seconds, the
    next probe to start waits, at most `max_wait` seconds, for those inside to finish; if they do,
    the young generations are collected outside every window, and the probes go on. If they do not
    (a slow connect, a body dripping in), the probes go on without a collection and the next try
    comes after twice the pause, up to a minute: one slow portal never holds up the others for more
    than `max_wait`, and the garbage of a long round stays bounded when windows do end. A thread
    already inside (a nested window) never waits."""

    def __init__(self, max_pause: float = 2.0, max_wait: float = 0.25):
        self.max_pause, self.max_wait = max_pause, max_wait
        self._cond = threading.Condition()
        self._inside = 0
        self._disabled = False
        self._since = 0.0  # when it was disabled, or the last collection was tried
        self._pause = max_pause  # the current interval between tries
        self._draining = False
        self._mine = threading.local()  # this thread's depth of windows

    def __enter__(self):
        depth = getattr(self._mine, "depth", 0)
        self._mine.depth = depth + 1
        with self._cond:
            if not depth:
                while self._draining:
                    self._cond.wait()
                if self._disabled and time.monotonic() - self._since > self._pause:
                    self._collect_between_windows()
            if self._inside == 0 and gc.isenabled():
                gc.disable()
                self._disabled = True
                self._since = time.monotonic()
            self._inside += 1

    def _collect_between_windows(self) -> None:
        """Wait (the lock held by the caller) for the open windows to end, then collect."""
        self._draining = True
        try:
            ended = self._cond.wait_for(lambda: self._inside == 0, timeout=self.max_wait)
            if ended:  # the last one out enabled the collector again
                gc.collect(1)
                self._pause = self.max_pause
            else:
                self._since = time.monotonic()
                self._pause = min(60.0, self._pause * 2)
        finally:
            self._draining = False
            self._cond.notify_all()

    def __exit__(self, *exc):
        self._mine.depth -= 1
        with self._cond:
            self._inside -= 1
            if self._inside == 0 and self._disabled:
                self._disabled = False
                gc.enable()
                self._cond.notify_all()


_collector_paused = _CollectorPause()


def certificate_expiry(host: str, port: int, timeout: float, guard: Guard) -> datetime | None:
    """notAfter of the certificate a server presents, without trusting it (for failed verifications)."""
    leaf = presented_certificate(guard, host, port, timeout)
    return leaf.not_valid_after_utc if leaf is not None else None


def probe(
    portal_id: str,
    url: str,
    timeout: float = DEFAULT_TIMEOUT,
    guard: Guard | None = None,
    verify: ssl.SSLContext | bool = True,
    url_kind: str = "home",
    vantage: str = "local",
    source_address: str | None = None,
) -> dict:
    """One probe of one URL from `vantage` (connecting from `source_address` when given); every
    failure is a row with its error class, never an exception."""
    parts = urlsplit(url)
    row: dict = {
        "portal_id": portal_id,
        "url": url,
        "url_kind": url_kind,
        "probed_at": datetime.now(UTC).isoformat(),
        "vantage": vantage,
    }
    marks: dict[str, float] = {}

    def trace(name: str, info: dict) -> None:
        marks[name] = time.perf_counter()

    def connection_start() -> float:  # the clock's start: the connect mark, or the request's when none
        return marks.get("connection.connect_tcp.started", start)

    guard = guard or Guard()
    backend = _TimedBackend(guard, source_address)
    context = verifying_context(guard) if verify is True else verify
    transport = with_backend(httpx.HTTPTransport(verify=context), backend)
    start = time.perf_counter()
    try:
        with httpx.Client(
            transport=transport, headers={"User-Agent": USER_AGENT}, timeout=timeout, follow_redirects=False
        ) as client:
            request = client.build_request("GET", url, extensions={"trace": trace})
            with _collector_paused:  # the timed window: from the request's start to its last byte
                start = time.perf_counter()  # until the connection starts (below)
                r = client.send(request, stream=True)
                # as curl's clock: from the connection's start (its name lookup), the same mark that
                # DNS and connect are timed from, so TTFB is never less than their sum
                start = connection_start()
                try:
                    headers_at = time.perf_counter()
                    size, head = 0, bytearray()
                    for chunk in r.iter_raw():
                        size += len(chunk)
                        if len(head) < WALL_BYTES:
                            head += chunk[: WALL_BYTES - len(head)]
                    end = time.perf_counter()
                    stream = r.extensions.get("network_stream")
                    ssl_object = stream.get_extra_info("ssl_object") if stream else None
                    if ssl_object is not None:
                        cert = ssl_object.getpeercert()
                        if cert and cert.get("notAfter"):
                            expires = ssl.cert_time_to_seconds(cert["notAfter"])
                            row["tls_expires_at"] = datetime.fromtimestamp(expires, UTC).isoformat()
                finally:
                    r.close()
            first_byte_at = min(backend.first_byte_at or headers_at, headers_at)
            row.update(
                status=r.status_code,
                ttfb_ms=round((first_byte_at - start) * 1000, 2),
                total_ms=round((end - start) * 1000, 2),
                bytes=size,
                http_version=r.http_version,
                error=None if r.status_code < 400 else f"http_{r.status_code}",
            )
            wall = wall_of(r.status_code, list(r.headers.items()), _decoded(head, r.headers.get("content-encoding")))
            wall = wall or challenge_redirect(r.headers.get("location"))
            if wall is not None:  # the portal answered, but a wall's answer measures the wall, not the portal
                row.update(error="blocked", detail=wall.reason())
            if parts.scheme == "https" and url_kind == "home":
                row["redirects_to_https"] = _redirects_to_https(client, parts)
    except Exception as exc:  # every failure is recorded as data, never raised
        if verify is True and parts.scheme == "https" and missing_issuer(str(exc)):
            context = complete_chain(guard, parts.hostname, parts.port or 443, min(timeout, 10))
            if context is not None:  # read as a browser would, and the fault recorded
                again = probe(portal_id, url, timeout, guard, context, url_kind, vantage, source_address)
                return {**again, "tls_fault": INCOMPLETE_CHAIN}
        row["error"] = classify(exc)
        row["total_ms"] = round((time.perf_counter() - connection_start()) * 1000, 2)
        if row["error"].startswith("tls_"):
            expires = certificate_expiry(parts.hostname, parts.port or 443, min(timeout, 10), guard)
            row["tls_expires_at"] = expires.isoformat() if expires else None
    row["dns_ms"] = round(backend.dns_ms, 2) if backend.dns_ms is not None else None
    if "connection.connect_tcp.complete" in marks:
        connect = marks["connection.connect_tcp.complete"] - marks["connection.connect_tcp.started"]
        row["connect_ms"] = round(connect * 1000 - (backend.dns_ms or 0), 2)
    if "connection.start_tls.complete" in marks:
        row["tls_ms"] = round(
            (marks["connection.start_tls.complete"] - marks["connection.start_tls.started"]) * 1000, 2
        )
    return row


def _decoded(head: bytes, encoding: str | None) -> bytes:
    """The start of a body as the server encoded it, decoded as far as it goes (for wall markers)."""
    try:
        return BoundedDecoder(encoding).feed(bytes(head), WALL_BYTES)
    except (httpx.DecodingError, zlib.error):
        return b""


def _redirects_to_https(client: httpx.Client, parts) -> bool:
    try:
        r = client.get(urlunsplit(("http", parts.netloc, parts.path or "/", "", "")))
        return 300 <= r.status_code < 400 and r.headers.get("location", "").startswith("https://")
    except httpx.HTTPError:
        return False


RETRYABLE = ("timeout", "connection_refused", "connect_error", "protocol_error")


def probe_all(
    targets: dict[str, str] | list[tuple[str, str, str]],
    rounds: int = 3,
    workers: int = 16,
    timeout: float = DEFAULT_TIMEOUT,
    guard: Guard | None = None,
    per_site: int = 2,
    retry_after: float = 2.0,
    site_of=lambda portal_id, url: urlsplit(url).netloc,
    log=print,
    vantage: str = "local",
    source_address: str | None = None,
) -> list[dict]:
    """`rounds` probes of each target, {portal_id: home URL} or [(portal_id, url kind, URL)]
    (`portal_index.fetch.key_urls`), `workers` at a time and at most `per_site` at a time to one site
    (`site_of`: the host, or the portal where many share one address). A probe that failed at the
    network level is tried once more after `retry_after` seconds; the retry is its own row, with
    `retry_of` = the first attempt's time, so availability can count the pair once. Every row says
    the `vantage` it was measured from."""
    if isinstance(targets, dict):
        targets = [(portal_id, "home", url) for portal_id, url in sorted(targets.items())]
    sites: dict[str, threading.BoundedSemaphore] = {}
    lock = threading.Lock()

    def one(item: tuple[str, str, str]) -> list[dict]:
        portal_id, kind, url = item
        with lock:
            site = sites.setdefault(site_of(portal_id, url), threading.BoundedSemaphore(per_site))
        with site:
            first = probe(portal_id, url, timeout, guard, url_kind=kind, vantage=vantage, source_address=source_address)
        if first.get("error") not in RETRYABLE:
            return [first]
        time.sleep(retry_after)
        with site:
            again = probe(portal_id, url, timeout, guard, url_kind=kind, vantage=vantage, source_address=source_address)
        return [first, {**again, "retry_of": first["probed_at"]}]

    rows: list[dict] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n in range(rounds):
            batch = [row for rows_of in pool.map(one, targets) for row in rows_of]
            failed = sum(
                1
                for r in batch
                if r.get("error") and not any(o.get("retry_of") == r["probed_at"] and not o.get("error") for o in batch)
            )
            log(
                f"probe round {n + 1}/{rounds} from {vantage}: {len(targets)} URLs, {len(batch)} probes "
                f"({sum(1 for r in batch if r.get('retry_of'))} retries), {failed} failed"
            )
            rows += batch
    return rows


def probe_from_vantages(targets, vantages, **options) -> list[dict]:
    """`probe_all` of the same targets from each of `vantages`, (name, source address) pairs, one
    vantage after the other, each with its own workers and per-site limits (docs/probes.md, "Vantage
    points"). Not at the same time: probed together, the 90th percentile of the demo's times to
    first byte went from about 0.7 s to 1.1 to 1.2 s (docs/performance.md), from either or both of
    two causes: every probe thread of a step shares this process (and its interpreter lock) while
    its clock runs, and portals simulated on this machine (the demo) answer twice as many probes at
    once. A cluster probes each vantage in a step of its own, on a worker of its own."""
    return [
        row for name, address in vantages for row in probe_all(targets, vantage=name, source_address=address, **options)
    ]
