"""The request a ``run()`` call is serving, for ``Collector.collect`` (correlation context).

The worker thread sets it around each ``run()``; the ``azureml.ai.monitoring`` shim reads it, so
records a scoring script collects carry the request's ``x-request-id`` without any code change.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

_current: ContextVar[str | None] = ContextVar("switchman_request_id", default=None)


def enter(request_id: str | None) -> Token[str | None]:
    """Mark ``request_id`` as the request being served on this thread."""
    return _current.set(request_id)


def leave(token: Token[str | None]) -> None:
    _current.reset(token)


def current() -> str | None:
    """The ``x-request-id`` of the request this thread serves, or None outside ``run()``."""
    return _current.get()
