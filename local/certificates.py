"""The local cloud's own certificate authority, so that its AWS endpoint speaks HTTPS as AWS's do.

Every queue and topic policy of this stack denies requests that are not over TLS (`aws:SecureTransport`
false), so a local endpoint on plain HTTP would either refuse the stack's own traffic or have to ignore the
policy. The local cloud makes a CA once, under `.local/tls/` (kept across runs, so `AWS_CA_BUNDLE` keeps
pointing at the same file), and a server certificate for 127.0.0.1 and localhost signed by it. Keys are
EC P-256 (made in a millisecond, unlike RSA). The CA's key never leaves the directory; nothing is trusted
system-wide: clients are given the CA file (`AWS_CA_BUNDLE`, boto3's `verify=`, the AWS CLI's `--ca-bundle`).
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CA_DAYS, SERVER_DAYS = 3650, 825  # 825 days: the longest a server certificate may live for Apple's clients
RENEW_BEFORE = dt.timedelta(days=30)
HOSTS = ("localhost",)
ADDRESSES = ("127.0.0.1",)


@dataclass(frozen=True)
class Certificates:
    ca: Path  # the CA certificate: what clients trust (AWS_CA_BUNDLE)
    certificate: Path  # the server's certificate chain
    key: Path  # the server's private key


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Wild Rydes local cloud"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(path: Path, data: bytes, private: bool = False) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    if private:
        os.chmod(temporary, 0o600)
    temporary.replace(path)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _valid(path: Path, now: dt.datetime) -> bool:
    try:
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return False
    return certificate.not_valid_after_utc - RENEW_BEFORE > now


def _make_ca(directory: Path, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("Wild Rydes local cloud CA")
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=CA_DAYS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                                content_commitment=False, key_encipherment=False,
                                                data_encipherment=False, key_agreement=False, encipher_only=False,
                                                decipher_only=False), critical=True)
                   .sign(key, hashes.SHA256()))
    _write(directory / "ca-key.pem", _pem_key(key), private=True)
    _write(directory / "ca.pem", certificate.public_bytes(serialization.Encoding.PEM))


def _make_server(directory: Path, now: dt.datetime) -> None:
    ca_key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), password=None)
    ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(h) for h in HOSTS] + [x509.IPAddress(ipaddress.ip_address(a)) for a in ADDRESSES]
    certificate = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(minutes=5))
                   .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
                   .add_extension(x509.SubjectAlternativeName(names), critical=False)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    _write(directory / "server-key.pem", _pem_key(key), private=True)
    _write(directory / "server.pem", certificate.public_bytes(serialization.Encoding.PEM))


def ensure_certificates(directory: Path, now: dt.datetime | None = None) -> Certificates:
    """The CA and server certificate under `directory`, made or renewed when missing or near their end."""
    now = now or dt.datetime.now(dt.UTC)
    directory.mkdir(parents=True, exist_ok=True)
    if not (_valid(directory / "ca.pem", now) and (directory / "ca-key.pem").is_file()):
        _make_ca(directory, now)
        (directory / "server.pem").unlink(missing_ok=True)
    if not (_valid(directory / "server.pem", now) and (directory / "server-key.pem").is_file()):
        _make_server(directory, now)
    return Certificates(directory / "ca.pem", directory / "server.pem", directory / "server-key.pem")
