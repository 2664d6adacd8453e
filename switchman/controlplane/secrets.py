"""Secrets at rest: endpoint keys are encrypted with a Fernet key kept in ``$SWITCHMAN_HOME`` (0600),
and aml_token JWTs are signed with an Ed25519 key whose public half goes into the route table."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import jwt
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from switchman.home import Home, write_private

TOKEN_LIFETIME_S = 24 * 3600
TOKEN_REFRESH_S = 12 * 3600


def new_key() -> str:
    """A fresh endpoint key (same length class as Azure ML's 32-char keys)."""
    return secrets.token_urlsafe(24)


def token_audience(endpoint: str) -> str:
    return f"switchman:{endpoint}"


class Vault:
    """Encrypts endpoint secrets and signs tokens for one home."""

    def __init__(self, home: Home) -> None:
        path = home.secret_key_file
        if not path.exists():
            write_private(path, Fernet.generate_key().decode() + "\n")
        self._fernet = Fernet(path.read_text().strip().encode())
        signing = home.root / "token-signing.key"
        if not signing.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            write_private(signing, pem.decode())
        loaded = serialization.load_pem_private_key(signing.read_bytes(), password=None)
        assert isinstance(loaded, Ed25519PrivateKey)
        self._signing_key = loaded
        self.public_key_pem = (
            loaded.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def seal(self, data: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(data).encode())

    def open(self, blob: bytes | None) -> dict[str, Any]:
        if not blob:
            return {}
        value = json.loads(self._fernet.decrypt(blob))
        return value if isinstance(value, dict) else {}

    def issue_token(self, endpoint: str, *, now: float | None = None) -> dict[str, Any]:
        """An aml_token for ``endpoint``, shaped like Azure ML's get-credentials output (§7.2)."""
        issued = int(now if now is not None else time.time())
        claims = {
            "aud": token_audience(endpoint),
            "iss": "switchman",
            "iat": issued,
            "exp": issued + TOKEN_LIFETIME_S,
        }
        token = jwt.encode(claims, self._signing_key, algorithm="EdDSA")
        return {
            "accessToken": token,
            "expiryTimeUtc": issued + TOKEN_LIFETIME_S,
            "refreshAfterTimeUtc": issued + TOKEN_REFRESH_S,
            "tokenType": "Bearer",
        }
