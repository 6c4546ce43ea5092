"""Outbound HTTP that cannot be turned against the network it runs in.

A portal page, its DNS or a redirect may point the crawler or prober at a private, loopback or
link-local address (a router's admin page, a cloud metadata service at 169.254.169.254). In live
mode we refuse those. The check sits where each connection is made, on the addresses the name
actually resolved to (`resolve`, `resolve_sync`): in the crawler's aiohttp connector
(`portal_index.fetch.http_client`), in the prober's and the certificate-chain fetch's httpcore
network backends (`with_backend`) and in the browser's proxy (`portal_index.fetch.proxy`); the
connection is made to the vetted address:
so a redirect, a DNS answer or a DNS answer that changes between check and use (rebinding) cannot
get past it. Demo runs and tests allow loopback through `Guard.allow`.

In demo and test mode the guard also says where names go: `connect_to` sends a host and port to a
loopback address and port (as `curl --connect-to` does), so the simulator's portals keep their own
host names (`angiang.gov.vn`) while nothing leaves the machine (`mapped_only` refuses every other
host), and `ca_file` is the one certificate authority trusted (the simulator's, made at start-up).
In live mode both are empty: names resolve through the system and the system's CAs are trusted.

Only http and https are ever requested (`check_scheme`).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from dataclasses import dataclass, field

import anyio
import httpcore
import httpx

SCHEMES = ("http", "https")


class BlockedAddress(httpcore.ConnectError):
    """Raised instead of connecting; httpx reports it as a ConnectError with this message."""


def blocked_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is off limits, or None when it is a public unicast address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    for attribute in ("is_loopback", "is_private", "is_link_local", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, attribute):
            return attribute.removeprefix("is_").replace("_", "-")
    return None


@dataclass(frozen=True)
class Guard:
    """Which addresses outbound requests may reach.

    `block_private` is on in live mode. `allow` lists networks that stay reachable even so, e.g.
    `127.0.0.1/32` for the demo's simulator; `allow_ports` narrows that allowance to given ports.
    """

    block_private: bool = True
    allow: tuple[str, ...] = ()
    allow_ports: tuple[int, ...] = ()
    connect_to: tuple[tuple[str, int, str, int], ...] = ()  # (host, port, address, port), demo and tests only
    mapped_only: bool = False  # refuse every host:port that `connect_to` does not map
    ca_file: str | None = None  # the only CA trusted when set (demo and tests), else the system's
    _nets: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_nets", tuple(ipaddress.ip_network(n, strict=False) for n in self.allow))

    @classmethod
    def open(cls) -> Guard:
        return cls(block_private=False)

    def refusal(self, address: str, port: int) -> str | None:
        """A message when connecting to address:port is not allowed, else None."""
        if not self.block_private:
            return None
        ip = ipaddress.ip_address(address.split("%")[0])
        reason = blocked_reason(ip)
        if reason is None:
            return None
        if any(ip in net for net in self._nets) and (not self.allow_ports or port in self.allow_ports):
            return None
        return f"blocked address: {address} is {reason}"

    def route(self, host: str, port: int) -> tuple[str, int]:
        """Where a connection to host:port goes: its `connect_to` mapping, else the name itself
        (BlockedAddress when `mapped_only` and the name is not mapped)."""
        name = (host or "").lower().strip("[]").rstrip(".")
        for mapped_host, mapped_port, address, address_port in self.connect_to:
            if mapped_host == name and mapped_port == port:
                return address, address_port
        if self.mapped_only:
            raise BlockedAddress(
                f"blocked address: {name}:{port} is not a simulated host (the demo reaches nothing else)"
            )
        return host, port

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying TLS context: the system's CAs, or only `ca_file` when it is set."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else ssl.create_default_context()


def check_scheme(url: str | httpx.URL) -> str | None:
    """A refusal unless httpx reads the URL's scheme as http or https. A text that starts with either
    (in any case) is one without parsing it: the crawler asks this of every request, whose URL is
    parsed when it is sent (`http_client.as_httpx_writes`, which raises `httpx.InvalidURL` there, as
    here, for a malformed one)."""
    text = str(url)
    if text[:8].lower().startswith(("http://", "https://")):
        return None
    scheme = httpx.URL(text).scheme
    return None if scheme in SCHEMES else f"blocked scheme: {scheme or 'none'} (only http and https)"


def vetted_addresses(guard: Guard, host: str, port: int, infos: list) -> list[str]:
    """The addresses of a getaddrinfo answer, or BlockedAddress if any of them is off limits."""
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    refusals = [r for r in (guard.refusal(a, port) for a in addresses) if r]
    if refusals:  # one bad answer taints the name: a rebinding attacker mixes good and bad ones
        raise BlockedAddress(f"{refusals[0]} (resolved from {host})")
    return addresses


async def resolve(guard: Guard, host: str, port: int) -> tuple[list[str], int]:
    """The vetted addresses and the port a connection to host:port uses (after `Guard.route`)."""
    target, target_port = guard.route(host, port)
    try:
        infos = await anyio.getaddrinfo(target, target_port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise httpcore.ConnectError(f"dns failure: {host}: {e}") from e
    return vetted_addresses(guard, host, target_port, infos), target_port


def resolve_sync(guard: Guard, host: str, port: int) -> tuple[list[str], int]:
    """`resolve` for blocking code (the prober, the certificate-chain fetch)."""
    target, target_port = guard.route(host, port)
    try:
        infos = socket.getaddrinfo(target, target_port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise httpcore.ConnectError(f"dns failure: {host}: {e}") from e
    return vetted_addresses(guard, host, target_port, infos), target_port


def with_backend(transport: httpx.HTTPTransport, backend, max_connections: int = 100) -> httpx.HTTPTransport:
    """The transport with its httpcore pool rebuilt around `backend` (same TLS context and keep-alive).

    httpx builds its pool without a network-backend argument, so the pool is replaced (httpx 0.28 /
    httpcore 1.0, pinned in requirements.lock)."""
    old = transport._pool
    transport._pool = httpcore.ConnectionPool(
        ssl_context=old._ssl_context,
        max_connections=max_connections,
        max_keepalive_connections=min(old._max_keepalive_connections, max_connections),
        keepalive_expiry=old._keepalive_expiry,
        http1=True,
        http2=False,
        network_backend=backend,
    )
    return transport


def tls_error_class(message: str) -> str | None:
    """The kind of TLS failure an ssl error message describes, if it is one."""
    text = message.lower()
    if "certificate has expired" in text:
        return "tls_expired"
    if "hostname mismatch" in text or "not valid for" in text or "ip address mismatch" in text:
        return "tls_hostname_mismatch"
    if "self-signed" in text or "unable to get local issuer" in text or "self signed" in text:
        return "tls_untrusted"
    if "ssl" in text or "certificate" in text or "tls" in text:
        return "tls_failure"
    return None


def classify(exc: BaseException) -> str:
    """The error class recorded for a request (crawl fetch or probe) that got no usable response."""
    message = str(exc)
    if isinstance(exc, TimeoutError):
        return "slow_response"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        if message.startswith("blocked address"):
            return "blocked_address"
        if message.startswith("dns failure"):
            return "dns_failure"
        if "refused" in message.lower():
            return "connection_refused"
        return tls_error_class(message) or "connect_error"
    if isinstance(exc, httpx.DecodingError):
        return "bad_encoding"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.LocalProtocolError)):
        return "protocol_error"
    return type(exc).__name__
