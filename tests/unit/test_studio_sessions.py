"""Studio sign-in tokens and sessions: one use, expiry, CSRF and Origin checks (fake clock)."""

from __future__ import annotations

from pathlib import Path

import pytest

from switchman.errors import UnauthorizedError
from switchman.studio.sessions import SESSION_TTL_S, SIGN_IN_TTL_S, StudioSessions

ORIGIN = "http://127.0.0.1:8000"


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sessions(tmp_path: Path, clock: Clock) -> StudioSessions:
    store = StudioSessions(tmp_path / "state.db", clock=clock)
    yield store
    store.close()


def test_a_sign_in_token_works_once(sessions: StudioSessions) -> None:
    token = sessions.issue_sign_in()
    first = sessions.redeem(token)
    assert first is not None
    session_token, session = first
    assert sessions.lookup(session_token) == session
    assert sessions.redeem(token) is None


def test_a_sign_in_token_expires(sessions: StudioSessions, clock: Clock) -> None:
    token = sessions.issue_sign_in()
    clock.now += SIGN_IN_TTL_S + 1
    assert sessions.redeem(token) is None


def test_unknown_tokens_and_session_tokens_do_not_sign_in(sessions: StudioSessions) -> None:
    assert sessions.redeem("not-a-token") is None
    redeemed = sessions.redeem(sessions.issue_sign_in())
    assert redeemed is not None
    assert sessions.redeem(redeemed[0]) is None  # a session token is no sign-in token
    assert sessions.lookup(None) is None
    assert sessions.lookup("nope") is None


def test_sessions_expire_and_end(sessions: StudioSessions, clock: Clock) -> None:
    redeemed = sessions.redeem(sessions.issue_sign_in())
    assert redeemed is not None
    token = redeemed[0]
    clock.now += SESSION_TTL_S - 1
    assert sessions.lookup(token) is not None
    sessions.end(token)
    assert sessions.lookup(token) is None
    other = sessions.redeem(sessions.issue_sign_in())
    assert other is not None
    clock.now += SESSION_TTL_S + 1
    assert sessions.lookup(other[0]) is None


def test_sessions_survive_a_new_store_on_the_same_database(tmp_path: Path, clock: Clock) -> None:
    first = StudioSessions(tmp_path / "state.db", clock=clock)
    redeemed = first.redeem(first.issue_sign_in())
    first.close()
    assert redeemed is not None
    second = StudioSessions(tmp_path / "state.db", clock=clock)
    try:
        assert second.lookup(redeemed[0]) == redeemed[1]
    finally:
        second.close()


def test_only_digests_are_stored(tmp_path: Path, clock: Clock) -> None:
    sessions = StudioSessions(tmp_path / "state.db", clock=clock)
    token = sessions.issue_sign_in()
    redeemed = sessions.redeem(sessions.issue_sign_in())
    sessions.close()
    assert redeemed is not None
    raw = (tmp_path / "state.db").read_bytes()
    assert token.encode() not in raw and redeemed[0].encode() not in raw


def test_authorize_safe_and_unsafe_methods(sessions: StudioSessions) -> None:
    redeemed = sessions.redeem(sessions.issue_sign_in())
    assert redeemed is not None
    cookie, session = redeemed
    assert sessions.authorize("GET", cookie, None, None, ORIGIN)
    assert not sessions.authorize("GET", None, None, None, ORIGIN)
    assert not sessions.authorize("PUT", "forged", session.csrf, ORIGIN, ORIGIN)
    assert sessions.authorize("PUT", cookie, session.csrf, ORIGIN, ORIGIN)
    assert sessions.authorize("POST", cookie, session.csrf, None, ORIGIN)
    with pytest.raises(UnauthorizedError, match="CSRF"):
        sessions.authorize("PUT", cookie, None, ORIGIN, ORIGIN)
    with pytest.raises(UnauthorizedError, match="CSRF"):
        sessions.authorize("DELETE", cookie, "wrong", ORIGIN, ORIGIN)
    with pytest.raises(UnauthorizedError, match="Cross-origin"):
        sessions.authorize("POST", cookie, session.csrf, "http://evil.localhost:8000", ORIGIN)
