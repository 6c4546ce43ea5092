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


def _self_signed_root_and_leaf(host: str, aia_url: str):
    """An attacker's own root, and a leaf it signed whose AIA URL publishes that root."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

    now = dt.datetime.now(dt.UTC)
    name = lambda cn: x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # noqa: E731
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(name("Evil Root"))
        .issuer_name(name("Evil Root"))
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=900))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    aia = x509.AccessDescription(AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url))
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(host))
        .issuer_name(root.subject)
        .public_key(leaf_key.public_key())
        .serial_number(2)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.AuthorityInformationAccess([aia]), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    return root, leaf, leaf_key


def test_a_root_published_at_the_aia_url_is_never_trusted(pki, tmp_path):
    from cryptography.hazmat.primitives import serialization

    root, leaf, key = _self_signed_root_and_leaf(HOST, f"http://{AIA_HOST}/intermediate.crt")
    (tmp_path / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "leaf.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    server, aia = _serve(context), _serve(None, root.public_bytes(serialization.Encoding.DER))
    try:
        guard = _guard(pki, server.server_address[1], aia.server_address[1])
        assert complete_chain(guard, HOST, 443) is None
        assert aia.hits == ["/intermediate.crt"]  # it was fetched, and refused
    finally:
        server.shutdown()
        aia.shutdown()


def test_a_slow_aia_server_cannot_hold_the_completion_past_its_deadline(pki):
    import time

    ended = threading.Event()

    class Drip(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                while not ended.wait(0.5):  # a byte every half second until the test ends
                    self.wfile.write(b"x")
                    self.wfile.flush()
            except OSError:  # the client gave up: end quietly, not with a traceback printed later
                pass

        def log_message(self, *args):
            pass

    slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    server = _serve(pki.context_for(HOST, "incomplete_chain"))
    try:
        guard = _guard(pki, server.server_address[1], slow.server_address[1])
        started = time.monotonic()
        assert complete_chain(guard, HOST, 443, timeout=2) is None
        assert time.monotonic() - started < 5
    finally:
        ended.set()
        server.shutdown()
        slow.shutdown()
