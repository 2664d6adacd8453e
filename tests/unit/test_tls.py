"""Certificates: the local CA and server certificate, and the one-paragraph errors for bad pairs."""

from __future__ import annotations

import datetime as dt
import os
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from switchman.errors import BadArgumentError
from switchman.home import Home
from switchman.tls import (
    CertReloader,
    check_pair,
    client_context,
    ensure_local,
    server_context,
    server_names,
)


def _self_signed(
    folder: Path, name: str, *, days: int = 30, start_days: int = -1
) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=start_days))
        .not_valid_after(now + dt.timedelta(days=start_days + days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_local_ca_and_server_certificate(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    files = ensure_local(home, "ml.example.com")
    assert stat.S_IMODE(os.stat(files.key).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(home.root / "tls" / "ca-key.pem").st_mode) == 0o600
    assert files.ca == home.root / "tls" / "ca.pem"
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(san.get_values_for_type(x509.DNSName))
    ips = {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}
    assert {"localhost", "*.localhost", "ml.example.com", "*.ml.example.com"} <= dns
    assert {"127.0.0.1", "::1"} <= ips
    check_pair(files.cert, files.key)
    # idempotent: the same names keep the same certificate; a new public host makes a new one
    assert ensure_local(home, "ml.example.com").cert.read_bytes() == files.cert.read_bytes()
    before = files.cert.read_bytes()
    ensure_local(home, "other.example.com")
    assert files.cert.read_bytes() != before
    assert "other.example.com" in server_names("other.example.com")


def test_server_context_is_tls12_plus_and_clients_trust_the_ca(tmp_path: Path) -> None:
    files = ensure_local(Home(tmp_path), None)
    ctx = server_context(files.cert, files.key)
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    names = {c["name"] for c in ctx.get_ciphers()}
    assert not any("CBC" in n or n.endswith("-SHA") or "RC4" in n for n in names), names
    client = client_context(files.ca)
    assert client.verify_mode == ssl.CERT_REQUIRED and client.check_hostname


def test_a_certificate_that_does_not_match_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = _self_signed(tmp_path, "a")
    _, other_key = _self_signed(tmp_path, "b")
    with pytest.raises(BadArgumentError) as err:
        check_pair(cert, other_key)
    assert str(cert) in err.value.message and "does not match" in err.value.message


def test_an_expired_certificate_is_refused(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "old", days=5, start_days=-10)
    with pytest.raises(BadArgumentError) as err:
        check_pair(cert, key)
    assert str(cert) in err.value.message and "expired" in err.value.message


def test_not_pem_and_missing_files_are_refused(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "ok")
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    with pytest.raises(BadArgumentError, match="not a PEM certificate"):
        check_pair(junk, key)
    with pytest.raises(BadArgumentError, match="not an unencrypted PEM private key"):
        check_pair(cert, junk)
    with pytest.raises(BadArgumentError, match="Cannot read the TLS certificate"):
        check_pair(tmp_path / "missing.pem", key)


def test_reloader_swaps_a_good_pair_and_keeps_the_old_on_a_bad_one(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path, "live")
    ctx = server_context(cert, key)
    reloader = CertReloader(ctx, cert, key)
    assert not reloader.poll()
    _, bad_key = _self_signed(tmp_path, "x")
    key.write_bytes(bad_key.read_bytes())  # the key changed but the certificate did not
    os.utime(key, (1, 1))
    assert not reloader.poll()
    new_cert, new_key = _self_signed(tmp_path, "y")
    cert.write_bytes(new_cert.read_bytes())
    key.write_bytes(new_key.read_bytes())
    os.utime(cert, (2, 2))
    assert reloader.poll() and reloader.reloads == 1
