"""Studio sign-in: one-time tokens that become browser sessions (issue #15).

``switchman studio`` asks the control plane (with the admin token) for a sign-in token and prints
``<studio_url>sign-in?token=...``. Opening it redeems the token once (it is deleted in the same
statement that checks it) and sets an HttpOnly, SameSite=Strict cookie holding a fresh session
token. Only SHA-256 digests of tokens are stored, in the ``studio_sessions`` table of ``state.db``,
so sessions survive a control-plane restart and a copy of the database signs nobody in.

Every request a session makes goes through the control plane's one authorization check
(``switchman.controlplane.api.require_admin``): a request without a bearer token is admitted when
:meth:`StudioSessions.authorize` accepts its cookie, and a state-changing request must also carry
the session's CSRF token in ``X-CSRF-Token`` and, when the browser sends one, a same-origin
``Origin`` header.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from switchman.errors import UnauthorizedError

COOKIE = "switchman_studio"
CSRF_HEADER = "x-csrf-token"
SIGN_IN_TTL_S = 600.0  # a printed link works for ten minutes, once
SESSION_TTL_S = 12 * 3600.0  # a browser signs in again after a working day
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS studio_sessions (digest TEXT PRIMARY KEY, kind TEXT NOT NULL, "
    "csrf TEXT, created REAL NOT NULL, expires REAL NOT NULL)"
)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    """A signed-in browser: its CSRF token and when it expires (epoch seconds)."""

    csrf: str
    expires: float


class StudioSessions:
    """Sign-in tokens and sessions in SQLite. Thread safe (one connection behind a lock).

    Args:
        db_path: ``state.db``.
        clock: epoch seconds; tests pass a fake one.
    """

    def __init__(self, db_path: Path, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(db_path), timeout=10, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def issue_sign_in(self, ttl_s: float = SIGN_IN_TTL_S) -> str:
        """A new one-time sign-in token."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        with self._lock:
            self._conn.execute("DELETE FROM studio_sessions WHERE expires < ?", (now,))
            self._conn.execute(
                "INSERT INTO studio_sessions VALUES (?, 'sign-in', NULL, ?, ?)",
                (_digest(token), now, now + ttl_s),
            )
        return token

    def redeem(self, token: str) -> tuple[str, Session] | None:
        """Trade a sign-in token for a session token (once); None when used, expired or unknown."""
        now = self._clock()
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM studio_sessions WHERE digest = ? AND kind = 'sign-in' AND expires >= ?",
                (_digest(token), now),
            )
            if cursor.rowcount != 1:
                return None
            session_token = secrets.token_urlsafe(32)
            session = Session(csrf=secrets.token_urlsafe(24), expires=now + SESSION_TTL_S)
            self._conn.execute(
                "INSERT INTO studio_sessions VALUES (?, 'session', ?, ?, ?)",
                (_digest(session_token), session.csrf, now, session.expires),
            )
        return session_token, session

    def lookup(self, session_token: str | None) -> Session | None:
        if not session_token:
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT csrf, expires FROM studio_sessions WHERE digest = ? AND kind = 'session'",
                (_digest(session_token),),
            ).fetchone()
        if row is None or row[1] < self._clock():
            return None
        return Session(csrf=str(row[0]), expires=float(row[1]))

    def end(self, session_token: str | None) -> None:
        if not session_token:
            return
        with self._lock:
            self._conn.execute(
                "DELETE FROM studio_sessions WHERE digest = ? AND kind = 'session'",
                (_digest(session_token),),
            )

    def authorize(
        self, method: str, cookie: str | None, csrf: str | None, origin: str | None, own: str
    ) -> bool:
        """Whether a cookie-borne request may proceed; raises on a CSRF failure.

        Args:
            method: the HTTP method.
            cookie: the session cookie's value, if any.
            csrf: the ``X-CSRF-Token`` header, if any.
            origin: the ``Origin`` header, if any.
            own: this server's origin (``http://host:port``) as the browser addressed it.

        Returns:
            False when there is no valid session (the caller answers 401).

        Raises:
            UnauthorizedError: a valid session, but an unsafe method without the right CSRF
                token or from another origin.
        """
        session = self.lookup(cookie)
        if session is None:
            return False
        if method.upper() in SAFE_METHODS:
            return True
        if origin is not None and origin != own:
            raise UnauthorizedError(
                f"Cross-origin request refused: Origin {origin!r} is not the studio's ({own})."
            )
        if not csrf or not secrets.compare_digest(csrf.encode(), session.csrf.encode()):
            raise UnauthorizedError(
                "The request lacks the studio's CSRF token (X-CSRF-Token); reload the page."
            )
        return True
