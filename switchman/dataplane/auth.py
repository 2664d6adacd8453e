"""Data-plane authentication: endpoint keys (sha256 + constant-time compare) and EdDSA JWTs.

Verified tokens are cached until they expire, so a client that reuses its token pays for the
signature check once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from switchman.dataplane.errors import AuthError
from switchman.dataplane.table import Endpoint

_CACHE_LIMIT = 10_000


def bearer(header: str | None) -> str | None:
    """The credential from an ``Authorization: Bearer <value>`` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


class Authenticator:
    """Checks a request's credential against one route table's endpoint.

    Args:
        public_key_pem: the table's ``token_public_key`` (Ed25519), or None when no endpoint uses tokens.
        clock: seconds since the epoch (injected for tests).
    """

    def __init__(self, public_key_pem: str | None, clock: Callable[[], float] = time.time) -> None:
        self._key = load_pem_public_key(public_key_pem.encode()) if public_key_pem else None
        self._clock = clock
        self._tokens: dict[tuple[str, str], float] = {}
        # sha256 of keys seen recently: clients resend the same key on every request. The compare
        # against the endpoint's hashes below still runs, in constant time, every time.
        self._digests: dict[str, str] = {}

    def check(self, endpoint: Endpoint, authorization: str | None) -> str:
        """Return the caller identity (``key``, ``token:<sub>`` or ``anonymous``).

        Raises:
            AuthError: the credential is missing, malformed, wrong or expired.
        """
        mode = endpoint.auth_mode
        if mode == "none":
            return "anonymous"
        credential = bearer(authorization)
        if credential is None:
            raise AuthError(
                f"Endpoint {endpoint.name!r} uses auth_mode {mode}: send 'Authorization: Bearer <"
                f"{'key' if mode == 'key' else 'token'}>' (get it with `switchman online-endpoint "
                "get-credentials`)."
            )
        if mode == "key":
            digest = self._digests.get(credential)
            if digest is None:
                digest = hashlib.sha256(credential.encode()).hexdigest()
                if len(self._digests) >= _CACHE_LIMIT:
                    self._digests.clear()
                self._digests[credential] = digest
            matched = False
            for known in endpoint.key_sha256:  # compare with both, always, in constant time
                matched |= hmac.compare_digest(digest, known)
            if not matched:
                raise AuthError(f"The key sent for endpoint {endpoint.name!r} is not valid.")
            return "key"
        return self._check_token(endpoint, credential)

    def _check_token(self, endpoint: Endpoint, token: str) -> str:
        audience = endpoint.token_audience or f"switchman:{endpoint.name}"
        cache_key = (token, audience)
        now = self._clock()
        expiry = self._tokens.get(cache_key)
        if expiry is not None:
            if now < expiry:
                return "token"
            del self._tokens[cache_key]
        if self._key is None:
            raise AuthError(
                f"Endpoint {endpoint.name!r} needs a token, but the router has no token key."
            )
        try:
            claims = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=["EdDSA"],
                audience=audience,
                options={"require": ["exp", "aud"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise AuthError(
                f"The token sent for endpoint {endpoint.name!r} is not valid: {exc}."
            ) from None
        exp = float(claims["exp"])
        if exp <= now:  # checked with the injected clock, not PyJWT's
            raise AuthError(
                f"The token sent for endpoint {endpoint.name!r} expired; get a new one."
            )
        if len(self._tokens) >= _CACHE_LIMIT:
            self._tokens.clear()
        self._tokens[cache_key] = exp
        return "token"
