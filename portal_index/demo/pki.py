"""The simulator's certificates: a local certificate authority made at start-up, and a certificate
per portal host in the state its profile asks for.

The root and the intermediate come from trustme. The root is written to `ca_file`, which the
demo's and tests' clients trust instead of the system's CAs (`Guard.ca_file`); nothing else ever
trusts it. Certificates that trustme does not make (one naming its issuer by an AIA URL, one that
signs itself) are built with `cryptography`.

TLS states (`TLS_STATES`): `valid` (leaf and intermediate served), `slow_handshake` (valid, but the
server takes its time), `incomplete_chain` (leaf only; its AIA extension names the intermediate at
`aia_url`), `expired`, `wrong_host` (a certificate for another name) and `self_signed`.
"""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
import threading
from pathlib import Path

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

TLS_STATES = ("valid", "slow_handshake", "incomplete_chain", "expired", "wrong_host", "self_signed")
WRONG_HOST = "congthongtin.example.vn"


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _leaf(
    host: str, issuer_name: x509.Name, issuer_key, public_key, aia_url: str | None, authority_key=None
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if authority_key is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key), critical=False
        )
    if aia_url:
        access = x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS, x509.UniformResourceIdentifier(aia_url)
        )
        builder = builder.add_extension(x509.AuthorityInformationAccess([access]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class SimulatorPKI:
    """Certificates for the simulator; `context_for(host, state)` is a server context (cached)."""

    def __init__(self, aia_url: str):
        self.aia_url = aia_url
        self.root = trustme.CA(organization_name="portal-index demo root (trusted in demo mode only)")
        self.intermediate = self.root.create_child_ca()
        self._folder = tempfile.TemporaryDirectory(prefix="portal-index-ca-")
        self.ca_file = Path(self._folder.name) / "demo-ca.pem"
        self.root.cert_pem.write_to_path(str(self.ca_file))
        self._issuer = x509.load_pem_x509_certificate(self.intermediate.cert_pem.bytes())
        self._issuer_key = serialization.load_pem_private_key(self.intermediate.private_key_pem.bytes(), None)
        self._contexts: dict[tuple[str, str], ssl.SSLContext] = {}
        self._lock = threading.Lock()

    @property
    def intermediate_der(self) -> bytes:
        """The intermediate as a CA publishes it at its AIA URL (DER)."""
        return self._issuer.public_bytes(serialization.Encoding.DER)

    def close(self) -> None:
        self._folder.cleanup()

    def context_for(self, host: str, state: str) -> ssl.SSLContext:
        with self._lock:
            key = (host, state)
            if key not in self._contexts:
                self._contexts[key] = self._make(host, state)
            return self._contexts[key]

    def _make(self, host: str, state: str) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        now = dt.datetime.now(dt.UTC)
        if state in ("valid", "slow_handshake"):
            self.intermediate.issue_cert(host).configure_cert(context)
        elif state == "expired":
            leaf = self.intermediate.issue_cert(
                host, not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=30)
            )
            leaf.configure_cert(context)
        elif state == "wrong_host":
            self.intermediate.issue_cert(WRONG_HOST).configure_cert(context)
        elif state in ("incomplete_chain", "self_signed"):
            key = ec.generate_private_key(ec.SECP256R1())
            if state == "incomplete_chain":
                cert = _leaf(
                    host,
                    self._issuer.subject,
                    self._issuer_key,
                    key.public_key(),
                    self.aia_url,
                    self._issuer_key.public_key(),
                )
            else:
                cert = _leaf(host, _name(host), key, key.public_key(), None)
            folder = Path(self._folder.name)
            cert_file, key_file = folder / f"{host}-{state}.pem", folder / f"{host}-{state}.key"
            cert_file.write_bytes(_pem(cert))  # the leaf alone: no intermediate is served
            key_file.write_bytes(
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                )
            )
            context.load_cert_chain(cert_file, key_file)
        else:
            raise ValueError(f"unknown TLS state {state!r}; there are {', '.join(TLS_STATES)}")
        return context
