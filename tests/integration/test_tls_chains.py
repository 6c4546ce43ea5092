"""Certificate states of the simulator's PKI, and chain completion from the AIA URL (through the guard)."""

import http.server
import socket
import ssl
import threading

import pytest
import trustme

from portal_index.demo.pki import TLS_STATES, SimulatorPKI
from portal_index.fetch.chains import aia_issuer_urls, complete_chain, presented_certificate
from portal_index.fetch.netguard import Guard, classify

HOST = "dichvucong.example.gov.vn"
AIA_HOST = "pki.ca-demo.invalid"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.hits.append(self.path)
        body = self.server.intermediate if self.path == "/intermediate.crt" else b"<p>Xin chao</p>"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(context: ssl.SSLContext | None, intermediate: bytes = b""):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hits, server.intermediate = [], intermediate
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def pki():
    pki = SimulatorPKI(f"http://{AIA_HOST}/intermediate.crt")
    yield pki
    pki.close()


@pytest.fixture(scope="module")
def aia(pki):
    server = _serve(None, pki.intermediate_der)
    yield server
    server.shutdown()


def _guard(pki, tls_port: int, aia_port: int, aia_allowed: bool = True) -> Guard:
    routes = [(HOST, 443, "127.0.0.1", tls_port), (AIA_HOST, 80, "127.0.0.1", aia_port)]
    return Guard(
        allow=("127.0.0.0/8",),
        allow_ports=(tls_port, aia_port) if aia_allowed else (tls_port,),
        connect_to=tuple(routes),
        mapped_only=True,
        ca_file=str(pki.ca_file),
    )


def _handshake(context: ssl.SSLContext, port: int) -> str:
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=5) as s,
            context.wrap_socket(s, server_hostname=HOST),
        ):
            return "ok"
    except ssl.SSLError as e:
        import httpx

        return classify(httpx.ConnectError(str(e)))


def test_each_tls_state_fails_verification_the_way_it_should(pki, aia):
    expected = {
        "valid": "ok",
        "slow_handshake": "ok",
        "incomplete_chain": "tls_untrusted",  # "unable to get local issuer certificate"
        "expired": "tls_expired",
        "wrong_host": "tls_hostname_mismatch",
        "self_signed": "tls_untrusted",
    }
    assert set(expected) == set(TLS_STATES)
    for state, outcome in expected.items():
        server = _serve(pki.context_for(HOST, state))
        try:
            guard = _guard(pki, server.server_address[1], aia.server_address[1])
            assert _handshake(guard.ssl_context(), server.server_address[1]) == outcome, state
        finally:
            server.shutdown()


def test_an_incomplete_chain_is_completed_from_its_aia_url_through_the_guard(pki, aia):
    server = _serve(pki.context_for(HOST, "incomplete_chain"))
    try:
        port = server.server_address[1]
        guard = _guard(pki, port, aia.server_address[1])
        leaf = presented_certificate(guard, HOST, 443)
        assert aia_issuer_urls(leaf) == [f"http://{AIA_HOST}/intermediate.crt"]
        before = len(aia.hits)
        context = complete_chain(guard, HOST, 443)
        assert context is not None and aia.hits[before:] == ["/intermediate.crt"]
        assert _handshake(context, port) == "ok"
        # the completed context is still a verifying one: another host's name fails
        with pytest.raises(ssl.SSLCertVerificationError), socket.create_connection(("127.0.0.1", port)) as s:
            context.wrap_socket(s, server_hostname="elsewhere.gov.vn")
        # the guard decides where the AIA fetch may go: refused there, no completion and no request
        refused = _guard(pki, port, aia.server_address[1], aia_allowed=False)
        before = len(aia.hits)
        assert complete_chain(refused, HOST, 443) is None and aia.hits[before:] == []
    finally:
        server.shutdown()


def test_completion_never_trusts_an_intermediate_whose_root_is_not_trusted(pki, aia):
    stranger = trustme.CA().create_child_ca()  # its own root, which nobody trusts
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    stranger.issue_cert(HOST).configure_cert(context)  # served with its intermediate
    server = _serve(context)
    try:
        guard = _guard(pki, server.server_address[1], aia.server_address[1])
        assert _handshake(guard.ssl_context(), server.server_address[1]) == "tls_untrusted"
        assert complete_chain(guard, HOST, 443) is None  # no AIA URL, and nothing to complete
    finally:
        server.shutdown()


def test_self_signed_and_expired_are_not_completed(pki, aia):
    for state in ("self_signed", "expired"):
        server = _serve(pki.context_for(HOST, state))
        try:
            guard = _guard(pki, server.server_address[1], aia.server_address[1])
            assert complete_chain(guard, HOST, 443) is None, state
        finally:
            server.shutdown()
