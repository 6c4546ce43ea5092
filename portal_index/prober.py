"""A first performance prober: timed GETs of each portal's home page.

Every probe opens a fresh connection so that DNS, connect, TLS, time to first byte and total are
all measured (httpcore's trace hooks give the phase boundaries). For an https portal it also asks
whether plain http redirects to https, and records the certificate's expiry.
"""

from __future__ import annotations

import socket
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import urlsplit, urlunsplit

import httpx

from portal_index.crawler import USER_AGENT

DEFAULT_TIMEOUT = 20.0  # long enough that a slow portal is measured as slow, not as down


def _error_class(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "name or service" in text or "nodename" in text or "getaddrinfo" in text:
            return "dns_failure"
        if "ssl" in text or "certificate" in text:
            return "tls_failure"
        return "connection_refused" if "refused" in text else "connect_error"
    return type(exc).__name__


def probe(portal_id: str, url: str, timeout: float = DEFAULT_TIMEOUT) -> dict:
    parts = urlsplit(url)
    row: dict = {"portal_id": portal_id, "url": url, "probed_at": datetime.now(timezone.utc).isoformat()}
    marks: dict[str, float] = {}

    def trace(name: str, info: dict) -> None:
        marks[name] = time.perf_counter()

    try:
        t0 = time.perf_counter()
        socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        row["dns_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    except OSError:
        return {**row, "error": "dns_failure"}
    try:
        with httpx.Client(headers={"User-Agent": USER_AGENT}, timeout=timeout, follow_redirects=False) as client:
            start = time.perf_counter()
            with client.stream("GET", url, extensions={"trace": trace}) as r:
                headers_at = time.perf_counter()
                size = sum(len(chunk) for chunk in r.iter_raw())
                end = time.perf_counter()
                stream = r.extensions.get("network_stream")
                ssl_object = stream.get_extra_info("ssl_object") if stream else None
                if ssl_object is not None:
                    cert = ssl_object.getpeercert()
                    if cert and cert.get("notAfter"):
                        expires = ssl.cert_time_to_seconds(cert["notAfter"])
                        row["tls_expires_at"] = datetime.fromtimestamp(expires, timezone.utc).isoformat()
            connect_start = marks.get("connection.connect_tcp.started", start)
            connect_end = marks.get("connection.connect_tcp.complete", connect_start)
            row.update(
                status=r.status_code,
                connect_ms=round((connect_end - connect_start) * 1000, 2),
                tls_ms=round((marks["connection.start_tls.complete"] - marks["connection.start_tls.started"]) * 1000, 2)
                if "connection.start_tls.complete" in marks else None,
                ttfb_ms=round((headers_at - start) * 1000, 2),
                total_ms=round((end - start) * 1000, 2),
                bytes=size,
                http_version=r.http_version,
                error=None if r.status_code < 400 else f"http_{r.status_code}",
            )
            if parts.scheme == "https":
                row["redirects_to_https"] = _redirects_to_https(client, parts)
    except Exception as exc:  # every failure is recorded as data, never raised
        row["error"] = _error_class(exc)
    return row


def _redirects_to_https(client: httpx.Client, parts) -> bool:
    try:
        r = client.get(urlunsplit(("http", parts.netloc, parts.path or "/", "", "")))
        return 300 <= r.status_code < 400 and r.headers.get("location", "").startswith("https://")
    except httpx.HTTPError:
        return False


def probe_all(portals: dict[str, str], rounds: int = 3, workers: int = 16,
              timeout: float = DEFAULT_TIMEOUT, log=print) -> list[dict]:
    rows: list[dict] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for n in range(rounds):
            batch = list(pool.map(lambda item: probe(item[0], item[1], timeout), sorted(portals.items())))
            failed = sum(1 for r in batch if r.get("error"))
            log(f"probe round {n + 1}/{rounds}: {len(batch)} probes, {failed} failed")
            rows += batch
    return rows
