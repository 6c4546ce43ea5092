"""Timed probes of each portal's key URLs: DNS, connect, TLS, time to first byte, total.

Every probe opens a fresh connection, so that each phase is measured: the host name is resolved by
our own network backend (timed, and checked by the private-address guard), and httpcore's trace
hooks mark connect and TLS. TTFB and total are counted from the start of the probe, DNS included,
as curl's `time_starttransfer` and `time_total` are (the benchmark compares the two). For an https
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
    """A sync network backend that resolves the name itself (timed, guarded as in `netguard`) and connects."""

    def __init__(self, guard: Guard, source_address: str | None = None):
        self.guard = guard
        self.source_address = source_address  # the local address to connect from (a vantage's own)
        self.dns_ms: float | None = None
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        start = time.perf_counter()
        addresses, target_port = resolve_sync(self.guard, host, port)
        if self.dns_ms is None:  # the probe's own connection (not the http -> https check after it)
            self.dns_ms = (time.perf_counter() - start) * 1000
        return self._inner.connect_tcp(
            addresses[0],
            target_port,
            timeout=timeout,
            local_address=self.source_address or local_address,
            socket_options=socket_options,
        )


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

    guard = guard or Guard()
    backend = _TimedBackend(guard, source_address)
    transport = with_backend(httpx.HTTPTransport(verify=guard.ssl_context() if verify is True else verify), backend)
    start = time.perf_counter()
    try:
        with httpx.Client(
            transport=transport, headers={"User-Agent": USER_AGENT}, timeout=timeout, follow_redirects=False
        ) as client:
            with client.stream("GET", url, extensions={"trace": trace}) as r:
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
            row.update(
                status=r.status_code,
                ttfb_ms=round((headers_at - start) * 1000, 2),
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
        row["total_ms"] = round((time.perf_counter() - start) * 1000, 2)
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
