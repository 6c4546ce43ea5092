"""Certificate chains a browser would complete: the intermediate fetched from the certificate's AIA URL.

Many servers send their own certificate without the intermediate that signed it. Browsers fill the
gap from the certificate's Authority Information Access extension ("CA Issuers" URL); Python's TLS
stack, curl and most apps do not, and fail with "unable to get local issuer certificate". We read
such a portal the way a citizen's browser does, and record the fault (`tls_incomplete_chain`):

1. `presented_certificate`: the server's own certificate, from a handshake that only reads it
   (nothing else is sent or read over that connection, and no content is ever read unverified);
2. `aia_issuer_urls` and `fetch_issuer`: the intermediate from its CA Issuers URL (plain http, as
   CAs publish them), through the same private-address guard as every other connection, at most
   `MAX_ISSUER_BYTES`;
3. `complete_chain`: a verifying context that knows the intermediate as an untrusted link of the
   chain — verification is never turned off: the chain must still end at a trusted root, the
   intermediate must have signed the certificate, and the host name must match.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from contextlib import suppress

import httpcore
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID
from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError

from portal_index.fetch.netguard import Guard, resolve_sync, with_backend

MAX_ISSUER_BYTES = 64 * 1024
INCOMPLETE_CHAIN = "tls_incomplete_chain"


def missing_issuer(message: str) -> bool:
    """True when a verification failed because the chain lacks a link (not an untrusted root)."""
    return "unable to get local issuer certificate" in message.lower()


def presented_certificate(guard: Guard, host: str, port: int, timeout: float = 10.0) -> x509.Certificate | None:
    """The certificate host:port presents, read without trusting it; None when there is none."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        addresses, target_port = resolve_sync(guard, host, port)
        with socket.create_connection((addresses[0], target_port), timeout=timeout) as sock:
            # a server that drips its handshake a byte at a time is cut off at the deadline
            watchdog = threading.Timer(timeout, _shut, (sock,))
            watchdog.start()
            try:
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    der = tls.getpeercert(binary_form=True)
            finally:
                watchdog.cancel()
    except (OSError, ssl.SSLError, httpcore.ConnectError):
        return None
    return x509.load_der_x509_certificate(der) if der else None


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked read in another thread


def aia_issuer_urls(cert: x509.Certificate) -> list[str]:
    """The certificate's CA Issuers URLs (http and https only)."""
    try:
        aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    except x509.ExtensionNotFound:
        return []
    return [
        d.access_location.value
        for d in aia
        if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
        and d.access_location.value.lower().startswith(("http://", "https://"))
    ][:2]


class _Backend(httpcore.SyncBackend):
    def __init__(self, guard: Guard):
        self.guard = guard

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses, target_port = resolve_sync(self.guard, host, port)
        return super().connect_tcp(addresses[0], target_port, timeout, local_address, socket_options)


def fetch_issuer(guard: Guard, url: str, timeout: float = 10.0) -> x509.Certificate | None:
    """The certificate at a CA Issuers URL (DER or PEM), through the guard, within `timeout`
    seconds in all and `MAX_ISSUER_BYTES` as sent (no content decoding); None when unusable."""
    deadline = time.monotonic() + timeout
    transport = with_backend(httpx.HTTPTransport(verify=guard.ssl_context()), _Backend(guard), 2)
    try:
        with (
            httpx.Client(transport=transport, timeout=timeout, follow_redirects=False) as client,
            client.stream("GET", url, headers={"Accept-Encoding": "identity"}) as r,
        ):
            if r.status_code != 200 or r.headers.get("content-encoding", "identity").lower() != "identity":
                return None
            data = bytearray()
            for chunk in r.iter_raw():
                data += chunk
                if len(data) > MAX_ISSUER_BYTES or time.monotonic() > deadline:
                    return None
    except (httpx.HTTPError, httpcore.ConnectError, ValueError):
        return None
    for load in (x509.load_der_x509_certificate, x509.load_pem_x509_certificate):
        with suppress(ValueError):
            return load(bytes(data))
    return None


def trusted_roots(guard: Guard) -> list[x509.Certificate]:
    """The trust anchors of `guard.ssl_context()`: `ca_file`, else the system's CA bundle."""
    path = guard.ca_file or ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    try:
        return x509.load_pem_x509_certificates(open(path, "rb").read()) if path else []
    except (OSError, ValueError):
        return []


def chain_verifies(guard: Guard, host: str, leaf: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when leaf + issuer is a chain a browser would accept for host: the issuer is a CA
    certificate that is not itself a root (a root fetched from an AIA URL would make anything
    trusted), and the whole path ends at one of the guard's trusted roots (RFC 5280 checks, host
    name and validity included, by cryptography's verifier)."""
    if issuer.subject == issuer.issuer:
        return False
    try:
        constraints = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    roots = trusted_roots(guard)
    if not constraints.ca or not roots:
        return False
    try:
        verifier = PolicyBuilder().store(Store(roots)).build_server_verifier(DNSName(host))
        verifier.verify(leaf, [issuer])
    except (VerificationError, ValueError):
        return False
    return True


def complete_chain(guard: Guard, host: str, port: int, timeout: float = 10.0) -> ssl.SSLContext | None:
    """A verifying context for host that knows the intermediate its certificate's AIA names, or
    None when the chain cannot be completed (no certificate, no AIA URL, a fetch that failed, an
    issuer that is a root or no CA, a path that does not end at a trusted root). All of it within
    `timeout` seconds."""
    deadline = time.monotonic() + timeout
    leaf = presented_certificate(guard, host, port, timeout)
    if leaf is None:
        return None
    for url in aia_issuer_urls(leaf):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        issuer = fetch_issuer(guard, url, remaining)
        if issuer is None or not chain_verifies(guard, host, leaf, issuer):
            continue
        context = guard.ssl_context()
        if hasattr(ssl, "VERIFY_X509_PARTIAL_CHAIN"):  # the intermediate is a link, never a trust anchor
            context.verify_flags &= ~ssl.VERIFY_X509_PARTIAL_CHAIN
        context.load_verify_locations(cadata=issuer.public_bytes(serialization.Encoding.PEM).decode())
        return context
    return None
