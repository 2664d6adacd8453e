"""TLS for the router and the control plane: a local CA, server certificates, contexts, reloads.

``switchman up --tls`` without ``--tls-cert`` makes a CA once (``$SWITCHMAN_HOME/tls/ca.pem``, its
key 0600) and a server certificate it signs for the loopback names and ``--public-host``; clients
(CLI, SDK, studio) trust that CA through ``server.json``'s ``ca_file``. A user's own certificate is
checked (parses, matches its key, is valid now) before anything starts, and re-read when its file
changes, without dropping live connections: new handshakes use the new pair.

``cryptography`` is imported only inside the functions that make or check certificates, so the
CLI's start-up and the router's hot path never pay for it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from switchman.errors import BadArgumentError
from switchman.home import Home, write_private

log = logging.getLogger(__name__)

# TLS 1.2 suites with forward secrecy and AEAD only (TLS 1.3 suites are always modern).
CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!eNULL:!SHA1:!SHA256:!SHA384"
CA_DAYS = 3650
SERVER_DAYS = 397
RENEW_BEFORE = dt.timedelta(days=30)


@dataclass(frozen=True)
class TlsFiles:
    """The certificate chain and key a server presents, and what clients should trust."""

    cert: Path
    key: Path
    ca: Path


def tls_dir(home: Home) -> Path:
    return home.root / "tls"


def server_names(public_host: str | None) -> list[str]:
    """The names the local server certificate covers."""
    names = ["127.0.0.1", "::1", "localhost", "*.localhost"]
    if public_host:
        names += [public_host, f"*.{public_host}"]
    return names


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write_key(path: Path, key: Any) -> None:
    from cryptography.hazmat.primitives import serialization

    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem.decode())


def _ensure_ca(folder: Path) -> tuple[Any, Any]:
    """The local CA (certificate, key), made on first use."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        if cert.not_valid_after_utc - _now() > RENEW_BEFORE:
            return cert, serialization.load_pem_private_key(key_path.read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Switchman local CA")])
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    write_private(cert_path, cert.public_bytes(serialization.Encoding.PEM).decode())
    os.chmod(cert_path, 0o644)  # the CA certificate is public: clients read it
    return cert, key


def _covers(cert: Any, names: list[str]) -> bool:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    have = {str(v) for v in san.get_values_for_type(x509.DNSName)}
    have |= {str(v) for v in san.get_values_for_type(x509.IPAddress)}
    return all(str(_ip(n) or n) in have for n in names)


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


def ensure_local(home: Home, public_host: str | None) -> TlsFiles:
    """The local CA and a current server certificate for :func:`server_names` (made as needed)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder = tls_dir(home)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    files = TlsFiles(folder / "server.pem", folder / "server-key.pem", folder / "ca.pem")
    ca_cert, ca_key = _ensure_ca(folder)
    names = server_names(public_host)
    if files.cert.exists() and files.key.exists():
        current = x509.load_pem_x509_certificate(files.cert.read_bytes())
        if (
            current.issuer == ca_cert.subject
            and current.not_valid_after_utc - _now() > RENEW_BEFORE
            and _covers(current, names)
        ):
            return files
    key = ec.generate_private_key(ec.SECP256R1())
    alt: list[x509.GeneralName] = []
    for name in names:
        ip = _ip(name)
        alt.append(x509.IPAddress(ip) if ip else x509.DNSName(name))
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(files.key, key)
    write_private(files.cert, cert.public_bytes(serialization.Encoding.PEM).decode())
    return files


def check_pair(cert_path: Path, key_path: Path, *, flag: str = "--tls-cert") -> None:
    """Raise a one-paragraph :class:`BadArgumentError` unless the pair can serve TLS now."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    def fail(what: str, fix: str) -> NoReturn:
        raise BadArgumentError(f"{what} {fix}")

    try:
        cert_bytes = cert_path.read_bytes()
    except OSError as exc:
        fail(
            f"Cannot read the TLS certificate {cert_path} ({flag}): {exc.strerror}.",
            "Check the path.",
        )
    try:
        key_bytes = key_path.read_bytes()
    except OSError as exc:
        fail(f"Cannot read the TLS key {key_path} (--tls-key): {exc.strerror}.", "Check the path.")
    try:
        certs = x509.load_pem_x509_certificates(cert_bytes)
    except ValueError:
        fail(
            f"The TLS certificate {cert_path} ({flag}) is not a PEM certificate.",
            "Give a file that starts with '-----BEGIN CERTIFICATE-----' (convert DER with "
            "`openssl x509 -inform der -in F -out F.pem`).",
        )
    try:
        key = serialization.load_pem_private_key(key_bytes, None)
    except (ValueError, TypeError) as exc:
        fail(
            f"The TLS key {key_path} (--tls-key) is not an unencrypted PEM private key ({exc}).",
            "Give the server's private key without a passphrase (`openssl pkey -in F -out F.pem`).",
        )
    leaf = certs[0]
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if leaf.public_key().public_bytes(enc, pub) != key.public_key().public_bytes(enc, pub):
        fail(
            f"The TLS certificate {cert_path} ({flag}) does not match the key {key_path} "
            "(--tls-key): their public keys differ.",
            "Pass the key the certificate was issued for, or issue a new certificate for this key.",
        )
    now = _now()
    if leaf.not_valid_after_utc <= now:
        fail(
            f"The TLS certificate {cert_path} ({flag}) expired on "
            f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC.",
            "Renew it (or drop --tls-cert/--tls-key and let `switchman up --tls` make a local one).",
        )
    if leaf.not_valid_before_utc > now + dt.timedelta(minutes=5):
        fail(
            f"The TLS certificate {cert_path} ({flag}) is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC.",
            "Check this machine's clock or use a certificate valid now.",
        )


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.2+ with modern suites, presenting ``cert``/``key``."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    ctx.set_alpn_protocols(["http/1.1"])
    ctx.load_cert_chain(cert, key)
    return ctx


def client_context(ca_file: str | os.PathLike[str] | None) -> ssl.SSLContext:
    """The system's trust store plus ``ca_file`` (the local CA, or a user's own certificate: a
    self-signed leaf is trusted as its own anchor)."""
    ctx = ssl.create_default_context()
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file:
        ctx.load_verify_locations(cafile=str(ca_file))
        ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    return ctx


def client_context_for(home: Home) -> ssl.SSLContext | None:
    """The context that trusts what ``home``'s platform serves, or None when it serves plain HTTP."""
    server = home.read_server() or {}
    ca = server.get("ca_file")
    return client_context(ca) if ca else None


class CertReloader:
    """Re-reads the certificate and key when either file changes; live connections keep theirs."""

    def __init__(self, ctx: ssl.SSLContext, cert: Path, key: Path) -> None:
        self.ctx = ctx
        self.cert = cert
        self.key = key
        self._stamp = self._stat()
        self._failed: tuple[float, float] | None = None
        self.reloads = 0

    def _stat(self) -> tuple[float, float]:
        try:
            return (self.cert.stat().st_mtime, self.key.stat().st_mtime)
        except OSError:
            return (0.0, 0.0)

    def poll(self) -> bool:
        """Reload when the files changed and the new pair is good; True when it reloaded."""
        stamp = self._stat()
        if stamp == self._stamp or stamp == self._failed:
            return False
        try:
            check_pair(self.cert, self.key)
            self.ctx.load_cert_chain(self.cert, self.key)
        except (BadArgumentError, ssl.SSLError, OSError) as exc:
            # half-written files (cert renewed before key) settle on a later poll
            log.warning("TLS certificate not reloaded (the old one stays in use): %s", exc)
            self._failed = stamp
            return False
        self._stamp = stamp
        self.reloads += 1
        log.info("TLS certificate %s reloaded", self.cert)
        return True


__all__ = [
    "CIPHERS",
    "CertReloader",
    "TlsFiles",
    "check_pair",
    "client_context",
    "client_context_for",
    "ensure_local",
    "server_context",
    "server_names",
]
