"""Pooled keep-alive HTTP/1.1 connections to instances, on asyncio protocols + httptools.

One :class:`UpstreamPool` per instance holds idle connections. A request either fails *before* any
byte reached the instance (:class:`ConnectFailed`: refused, or the pooled connection was found
closed) — safe to send elsewhere — or it may have reached it (:class:`UpstreamLost`) and must not be
retried, so ``run()`` never executes twice for one request.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Protocol, cast

import httptools

IDLE_TTL_S = (
    2.0  # below uvicorn's 5 s keep-alive, so the instance rarely closes a pooled socket first
)


class ConnectFailed(Exception):
    """Nothing of the request reached the instance; another instance may take it."""


class UpstreamLost(Exception):
    """The connection broke after the request was (maybe) sent; never retry."""


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    reason: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    first_byte_at: float


class ResponseListener(Protocol):
    """Who hears how one request on an :class:`UpstreamConnection` ended (called on the loop)."""

    def on_response(self, response: UpstreamResponse) -> None: ...

    def on_lost(self, error: UpstreamLost) -> None: ...


class _FutureListener:
    """Adapts the listener callbacks to a future (for callers that prefer ``await``)."""

    __slots__ = ("future",)

    def __init__(self, future: asyncio.Future[UpstreamResponse]) -> None:
        self.future = future

    def on_response(self, response: UpstreamResponse) -> None:
        if not self.future.done():
            self.future.set_result(response)

    def on_lost(self, error: UpstreamLost) -> None:
        if not self.future.done():
            self.future.set_exception(error)


class UpstreamConnection(asyncio.Protocol):
    """One keep-alive connection; carries one request at a time.

    The outcome goes to a :class:`ResponseListener` straight from the parser callbacks (no future,
    no task): the router's hot path is a chain of plain calls.
    """

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._parser = httptools.HttpResponseParser(self)
        self._listener: ResponseListener | None = None
        self._reset()

    def _reset(self) -> None:
        self._status_text = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._first_byte_at = 0.0

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(
            asyncio.Transport, transport
        )  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        if not self._first_byte_at:
            self._first_byte_at = time.monotonic()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamLost(f"the instance sent a malformed response: {exc}"))
            self.close()

    def eof_received(self) -> bool | None:
        self.closed = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(UpstreamLost(f"the instance closed the connection: {exc or 'EOF'}"))

    # httptools callbacks
    def on_status(self, status: bytes) -> None:
        self._status_text += status

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        listener = self._listener
        self._listener = None
        body = self._body
        response = UpstreamResponse(
            self._parser.get_status_code(),
            self._status_text.decode("latin-1"),
            self._headers,
            body[0] if len(body) == 1 else b"".join(body),
            self._first_byte_at,
        )
        if not self._parser.should_keep_alive():
            self.close()
        self._reset()
        if listener is not None:
            listener.on_response(response)

    def _fail(self, exc: UpstreamLost) -> None:
        listener = self._listener
        self._listener = None
        if listener is not None:
            listener.on_lost(exc)

    def start(self, data: bytes, listener: ResponseListener) -> None:
        """Write one request (one ``write`` of pre-joined bytes); ``listener`` hears the outcome.

        Raises:
            ConnectFailed: the pooled connection was found closed; nothing was sent.
        """
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            raise ConnectFailed("pooled connection found closed before sending")
        self._listener = listener
        transport.write(data)

    def send(self, data: bytes) -> asyncio.Future[UpstreamResponse]:
        """Write one request; the future resolves with the whole response."""
        future: asyncio.Future[UpstreamResponse] = asyncio.get_running_loop().create_future()
        self.start(data, _FutureListener(future))
        return future

    def abandon(self) -> None:
        """Stop listening and close: the answer may still come, and must never reach anyone."""
        self._listener = None
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class UpstreamPool:
    """Idle keep-alive connections to one instance."""

    def __init__(self, host: str, port: int, max_idle: int = 64, *, uds: str | None = None) -> None:
        self.host = host
        self.port = port
        self.uds = uds  # set: connect to this Unix socket (a network-isolated instance)
        self._idle: deque[UpstreamConnection] = deque()
        self._max_idle = max_idle

    async def acquire(self) -> UpstreamConnection:
        """A live idle connection, or a new one.

        Raises:
            ConnectFailed: the instance refused or could not be reached.
        """
        return self.take_idle() or await self.connect()

    def take_idle(self) -> UpstreamConnection | None:
        """A live idle connection (the warmest), or None when there is none."""
        idle = self._idle
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # LIFO: the warmest connection
            if conn.closed or conn.transport is None or conn.transport.is_closing():
                continue
            if now - conn.idle_since > IDLE_TTL_S:
                conn.close()
                continue
            return conn
        return None

    async def connect(self) -> UpstreamConnection:
        """A new connection.

        Raises:
            ConnectFailed: the instance refused or could not be reached.
        """
        loop = asyncio.get_running_loop()
        try:
            if self.uds is not None:
                _, protocol = await loop.create_unix_connection(UpstreamConnection, self.uds)
            else:
                _, protocol = await loop.create_connection(UpstreamConnection, self.host, self.port)
        except OSError as exc:
            where = f"unix:{self.uds}" if self.uds else f"{self.host}:{self.port}"
            raise ConnectFailed(f"cannot connect to {where}: {exc}") from exc
        return protocol

    def release(self, conn: UpstreamConnection) -> None:
        """Give a connection back after a complete response."""
        if conn.closed or len(self._idle) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        self._idle.append(conn)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
