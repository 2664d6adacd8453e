"""The client-facing HTTP/1.1 server: one asyncio protocol per connection, parsed by httptools.

No framework on the hot path: bytes in → :class:`Request` → ``ScoringService.handle`` → bytes out.
Requests pipelined on one connection are answered in order. Bodies above ``body_limit`` are refused
with 413 as soon as the size is known; a request head (request line + headers) above
``limits.head_bytes`` or with more than ``limits.header_count`` headers gets 431. Slow or idle
connections are closed by :class:`~switchman.dataplane.guard.ConnectionGuard`'s sweep, which reads
the ``head_since`` / ``idle_since`` stamps kept here.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import cast

import httptools

from switchman.dataplane.guard import HeadLimits
from switchman.dataplane.message import Request, Response, reason
from switchman.dataplane.metrics import Metrics
from switchman.dataplane.service import ScoringService

log = logging.getLogger(__name__)

DEFAULT_BODY_LIMIT = 100 * 1024 * 1024
_SMALL = 64 * 1024
_STATUS_LINES = {s.value: b"HTTP/1.1 %d %s\r\n" % (s.value, s.phrase.encode()) for s in HTTPStatus}


@dataclass
class ServerState:
    """What all connections share; ``draining`` is set on SIGTERM."""

    service: ScoringService
    metrics: Metrics
    body_limit: int = DEFAULT_BODY_LIMIT
    limits: HeadLimits = field(default_factory=HeadLimits)
    connections: set[HttpProtocol] = field(default_factory=set)
    draining: bool = False

    def busy_connections(self) -> int:
        return sum(1 for c in self.connections if c.busy)

    def close_idle(self) -> None:
        for conn in list(self.connections):
            if not conn.busy:
                conn.close()


class HttpProtocol(asyncio.Protocol):
    """One client connection."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.transport: asyncio.Transport | None = None
        self.busy = False
        self._parser = httptools.HttpRequestParser(self)
        self._pending: deque[tuple[Request, bool]] = deque()
        self._keep_alive = True
        self._closed = False
        self._peer = ""
        self._in_body = False
        self._head_bytes = 0
        # monotonic stamps for the guard's sweep: when the unfinished head began (0: none), and
        # since when the connection has had nothing to do
        self.head_since = 0.0
        self.idle_since = time.monotonic()
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._started = time.monotonic()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(
            asyncio.Transport, transport
        )  # uvloop's transports are not subclasses
        self.state.connections.add(self)
        self.state.metrics.connections_active += 1
        peer = transport.get_extra_info("peername")
        self._peer = str(peer[0]) if isinstance(peer, tuple) and peer else ""

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._closed:
            self._closed = True
        if self in self.state.connections:
            self.state.connections.discard(self)
            self.state.metrics.connections_active -= 1

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        in_head = not self._in_body
        if in_head:
            # bytes of a head not yet complete; httptools buffers a partial header line itself,
            # so this count (checked after each read) is what bounds that buffer
            self._head_bytes += len(data)
        try:
            self._parser.feed_data(data)
            if in_head and not self._in_body and self._head_bytes > self.state.limits.head_bytes:
                self._head_too_large()
        except httptools.HttpParserUpgrade:
            self._reject(400, "BadRequest", "Protocol upgrades are not supported.")
        except httptools.HttpParserError as exc:
            if not self._closed:
                self._reject(400, "BadRequest", f"Malformed HTTP request: {exc}.")

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset()
        self.head_since = self._started

    @property
    def waiting(self) -> bool:
        """Nothing to do: no request being read, answered or queued (an idle keep-alive)."""
        return not (self.busy or self._pending or self._in_body or self.head_since)

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))
        if len(self._headers) > self.state.limits.header_count:
            self._head_too_large()
            raise httptools.HttpParserError("too many headers")  # stop parsing this connection

    def on_headers_complete(self) -> None:
        self._in_body = True
        self._head_bytes = 0
        self.head_since = 0.0
        length = -1
        expect = False
        size = len(self._url)
        for name, value in self._headers:
            size += len(name) + len(value) + 4
            if name == b"content-length":
                length = int(value) if value.strip().isdigit() else -1
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        if size > self.state.limits.head_bytes:  # a head that arrived whole, in one read
            self._head_too_large()
            raise httptools.HttpParserError("head too large")
        if length > self.state.body_limit:
            self._too_large(length)
        elif expect and self.transport is not None:
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self.state.body_limit:
            self._too_large(self._size)
            raise httptools.HttpParserError("body too large")  # stop parsing this connection
        self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        parsed = httptools.parse_url(self._url)
        request = Request(
            method=self._parser.get_method().decode(),
            path=(parsed.path or b"/").decode("latin-1"),
            query=parsed.query or b"",
            headers=self._headers,
            body=b"".join(self._body),
            started=self._started,
            received=time.monotonic(),
            http_version=self._parser.get_http_version(),
            peer=self._peer,
        )
        self._pending.append((request, self._parser.should_keep_alive()))
        if not self.busy:
            self._next()

    # answering: the service calls respond() — at once, or later from the upstream's callbacks
    def _next(self) -> None:
        request, keep_alive = self._pending.popleft()
        self.busy = True
        self._keep_alive = keep_alive
        self.state.service.serve(request, self)

    def respond(self, response: Response) -> None:
        """Write the response to the request being answered; then go on with the next one."""
        self.busy = False
        self.idle_since = time.monotonic()
        keep_alive = self._keep_alive and not self.state.draining
        self._write(response, keep_alive)
        if not keep_alive:
            self.close()
        elif self._pending and not self._closed:
            self._next()

    def _write(self, response: Response, keep_alive: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        body = response.body
        status = response.status
        line = _STATUS_LINES.get(status)
        if line is None:
            line = b"HTTP/1.1 %d %s\r\n" % (status, reason(status))
        parts = [line]
        for name, value in response.headers:
            parts.append(b"%s: %s\r\n" % (name, value))
        parts.append(
            b"content-length: %d\r\n\r\n" % len(body)
            if keep_alive
            else b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body)
        )
        if len(body) <= _SMALL:
            parts.append(body)
            transport.write(b"".join(parts))
        else:
            transport.write(b"".join(parts))
            transport.write(body)

    def _reject(self, status: int, code: str, message: str) -> None:
        request_id = str(uuid.uuid4())
        body = json.dumps({"message": message, "code": code, "request_id": request_id}).encode()
        response = Response(
            status,
            [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode())],
            body,
        )
        if not self.busy:
            self._write(response, keep_alive=False)
        self.close()

    def _head_too_large(self) -> None:
        limits = self.state.limits
        self._reject(
            431,
            "RequestHeaderFieldsTooLarge",
            f"The request line and headers are larger than the router's limit of "
            f"{limits.head_bytes} bytes or {limits.header_count} headers; send fewer or shorter "
            "headers.",
        )

    def timed_out(self) -> None:
        """The guard found the head unfinished past its deadline (a slow or stalled client)."""
        self._reject(
            408,
            "RequestTimeout",
            "The request headers did not arrive in time; send the whole request head at once.",
        )

    def _too_large(self, size: int) -> None:
        limit = self.state.body_limit
        self._reject(
            413,
            "PayloadTooLarge",
            f"The request body ({size} bytes or more) is larger than the router's limit of {limit} "
            "bytes; send a smaller payload or start the router with a larger --max-body-bytes.",
        )

    def close(self) -> None:
        self._closed = True
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
