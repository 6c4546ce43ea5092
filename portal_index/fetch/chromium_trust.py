"""Making headless Chromium trust the demo's certificate authority, and nothing less strict.

In live mode Chromium trusts what it trusts by default. In demo and test mode `Guard.ca_file` names
the one CA the simulator's certificates come from; Chromium on Linux reads the user's NSS database
from `$HOME/.pki/nssdb`, so `trust_options` writes one in a fresh folder with that CA as a trusted
TLS authority (as `certutil -A -t C,,` would; through libnss3, a dependency of Debian's chromium, so
`certutil` is not needed) and gives Chromium that folder as its `HOME`. Verification stays whole:
chain and host name. Not `--ignore-certificate-errors-spki-list` with the CA's key hash: Chromium
156 matches that list against the certificates a server *sends*, without checking signatures, so a
server sending a certificate of any other CA followed by a copy of ours is accepted (measured;
tests/integration/test_render.py keeps the case). Never `--ignore-certificate-errors`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from portal_index.config import child_env
from portal_index.fetch.netguard import Guard

# Run in a child (NSS state is per process): sys.argv = [-c, database folder, PEM file]. Adds every
# certificate of the PEM file as a trusted CA for TLS servers ("C,,", as `certutil -A -t C,,`).
_NSSDB = r"""
import base64, ctypes, re, sys
folder, pem = sys.argv[1], open(sys.argv[2], encoding="ascii").read()
blocks = re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", pem, re.S)
ders = [base64.b64decode(b) for b in blocks]
if not ders:
    sys.exit("no certificate in " + sys.argv[2])
nss = ctypes.CDLL("libnss3.so")
class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_char_p), ("len", ctypes.c_uint)]
class Trust(ctypes.Structure):
    _fields_ = [("ssl", ctypes.c_uint), ("email", ctypes.c_uint), ("objsign", ctypes.c_uint)]
P = ctypes.c_void_p
nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
nss.PK11_GetInternalKeySlot.restype = P
nss.PK11_NeedUserInit.argtypes = [P]
nss.PK11_InitPin.argtypes = [P, ctypes.c_char_p, ctypes.c_char_p]
nss.CERT_GetDefaultCertDB.restype = P
nss.CERT_NewTempCertificate.restype = P
nss.CERT_NewTempCertificate.argtypes = [P, ctypes.POINTER(SECItem), ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
nss.PK11_ImportCert.argtypes = [P, P, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
nss.CERT_DecodeTrustString.argtypes = [P, ctypes.c_char_p]
nss.CERT_ChangeCertTrust.argtypes = [P, P, P]
nss.CERT_DestroyCertificate.argtypes = [P]
nss.PK11_FreeSlot.argtypes = [P]
def check(rv, what):
    if rv != 0:
        sys.exit(f"NSS {what} failed")
check(nss.NSS_InitReadWrite(b"sql:" + folder.encode()), "init")
slot = nss.PK11_GetInternalKeySlot()
if nss.PK11_NeedUserInit(slot):
    check(nss.PK11_InitPin(slot, None, b""), "empty password")
db = nss.CERT_GetDefaultCertDB()
trust = Trust()
check(nss.CERT_DecodeTrustString(ctypes.byref(trust), b"C,,"), "trust string")
for n, der in enumerate(ders):
    item = SECItem(0, der, len(der))
    cert = nss.CERT_NewTempCertificate(db, ctypes.byref(item), None, 0, 1)
    if not cert:
        sys.exit(f"NSS cannot read certificate {n}")
    check(nss.PK11_ImportCert(slot, cert, 0, f"portal-index CA {n}".encode(), 0), "import")
    check(nss.CERT_ChangeCertTrust(db, cert, ctypes.byref(trust)), "trust")
    nss.CERT_DestroyCertificate(cert)
nss.PK11_FreeSlot(slot)
check(nss.NSS_Shutdown(), "shutdown")
"""


def trust_options(guard: Guard, home: Path) -> dict:
    """Keyword arguments for `chromium.launch` that make Chromium trust `guard.ca_file` (demo and
    tests): `{"env": {..., "HOME": home}}` after writing `home/.pki/nssdb`. `{}` when no CA is set.

    The caller owns `home` (a fresh temporary folder) and removes it after the browser closed."""
    if not guard.ca_file:
        return {}
    folder = Path(home) / ".pki" / "nssdb"
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-I", "-c", _NSSDB, str(folder), str(guard.ca_file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot make Chromium trust {guard.ca_file}: {(done.stderr or done.stdout).strip()[-300:]}")
    return {"env": child_env(HOME=str(home))}
