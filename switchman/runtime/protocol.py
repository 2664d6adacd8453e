"""HTTP/1.1 on asyncio protocols with httptools: keep-alive, pipelining, 100-continue, chunked
streaming. The runtime's hot path, so it does as little per request as it can.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Executor
from email.utils import formatdate
from http import HTTPStatus

import httptools

from switchman.runtime.outputs import INTERNAL_ERROR_MESSAGE, error_reply
from switchman.runtime.scoring import ScoringApp
from switchman.runtime.wire import HttpRequest, Reply

logger = logging.getLogger("azmlinfsrv")

_STATUS_LINES: dict[int, bytes] = {}
_SKIPPED = frozenset({"content-length", "transfer-encoding", "connection"})
MAX_PIPELINE = 32
# Encoded header lines, cached for the few names whose values repeat on every reply (the cache is
# bounded by the values a script can produce for them; ids and timings are never cached).
_STABLE = frozenset({"Content-Type", "x-ms-run-function-failed", "x-ms-server-version"})
_HEADER_LINES: dict[tuple[str, str], bytes] = {}


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Unknown"
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")
    return line


class _Clock:
    """The ``Date`` header, formatted once a second."""

    second = -1
    header = b""

    @classmethod
    def date(cls) -> bytes:
        now = int(time.time())
        if now != cls.second:
            cls.second = now
            cls.header = f"date: {formatdate(now, usegmt=True)}\r\n".encode("latin-1")
        return cls.header


class ServerState:
    """What the server owns across connections: the open ones and the drain flag."""

    def __init__(self, app: ScoringApp, stream_executor: Executor) -> None:
        self.app = app
        self.stream_executor = stream_executor
        self.connections: set[HttpConnection] = set()
        self.draining = False


class HttpConnection(asyncio.Protocol):
    """One client connection. Requests are answered one at a time, in order."""

    def __init__(self, state: ServerState) -> None:
        self.state = state
        self.app = state.app
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.remote: str | None = None
        self.closed = False
        self.busy = False
        self.last_active = time.monotonic()
        self._pipeline: deque[tuple[HttpRequest, bool]] = deque()
        self._keep_alive = True
        self._head_only = False
        self._writable = threading.Event()
        self._writable.set()
        self._url = b""
        self._headers: list[tuple[str, str]] = []
        self._body: list[bytes] = []

    # --- asyncio.Protocol ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        peer = transport.get_extra_info("peername")
        self.remote = str(peer[0]) if isinstance(peer, tuple) else None
        self.state.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._writable.set()  # wake a streaming thread so it notices
        self.state.connections.discard(self)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._reject("Protocol upgrades are not supported.")
        except httptools.HttpParserError as exc:
            self._reject(f"Bad request: {exc}")

    def _reject(self, message: str) -> None:
        if self.transport is None or self.closed:
            return
        self._keep_alive = False
        self._write_reply(error_reply(400, message), head_only=False)
        self.transport.close()

    # --- httptools callbacks ------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))

    def on_headers_complete(self) -> None:
        if self.transport is not None:
            for name, value in self._headers:
                if name == "expect" and value.lower() == "100-continue":
                    self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        url = httptools.parse_url(self._url)
        request = HttpRequest(
            self.parser.get_method().decode("latin-1"),
            url.path.decode("latin-1"),
            url.query or b"",
            self._headers,
            b"".join(self._body),
            self.remote,
        )
        self._pipeline.append((request, self.parser.should_keep_alive()))
        if len(self._pipeline) > MAX_PIPELINE and self.transport is not None:
            self.transport.pause_reading()
        if not self.busy:
            self._next()

    # --- dispatch -----------------------------------------------------------------------------------
    def _next(self) -> None:
        if not self._pipeline or self.closed:
            return
        request, keep_alive = self._pipeline.popleft()
        if self.transport is not None and len(self._pipeline) == MAX_PIPELINE:
            self.transport.resume_reading()
        self.busy = True
        self._keep_alive = keep_alive and not self.state.draining
        self._head_only = request.method == "HEAD"
        try:
            self.app.handle(request, self)
        except Exception:
            logger.exception("Unhandled error while answering a request")
            self.finish(request, error_reply(500, INTERNAL_ERROR_MESSAGE))

    def finish(self, request: HttpRequest, reply: Reply) -> None:
        """Write ``reply`` for the current request (the :class:`Channel` the app calls)."""
        if self.closed or self.transport is None:
            self.busy = False
            if reply.stream is not None:
                _close_quietly(reply.stream)
            return
        if self.state.draining:
            self._keep_alive = False
        if reply.stream is not None and not self._head_only:
            self._write_reply(reply, head_only=False, chunked=True)
            self.state.stream_executor.submit(self._pump, reply.stream)
            return
        self._write_reply(reply, head_only=self._head_only)
        self._done()

    def _done(self) -> None:
        self.busy = False
        self.last_active = time.monotonic()
        if not self._keep_alive:
            if self.transport is not None:
                self.transport.close()
            return
        if self._pipeline:
            self._next()

    def _write_reply(self, reply: Reply, *, head_only: bool, chunked: bool = False) -> None:
        assert self.transport is not None
        parts = [_status_line(reply.status), _Clock.date()]
        lines = _HEADER_LINES
        for item in reply.headers:
            line = lines.get(item)
            if line is None:
                name, value = item
                if name.lower() in _SKIPPED:
                    continue
                line = f"{name}: {value}\r\n".encode("latin-1", "replace")
                if name in _STABLE and len(lines) < 256:
                    lines[item] = line
            parts.append(line)
        if chunked:
            parts.append(b"transfer-encoding: chunked\r\n")
        else:
            parts.append(b"content-length: %d\r\n" % len(reply.body))
        if not self._keep_alive:
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        if not head_only and not chunked:
            parts.append(reply.body)
        self.transport.write(b"".join(parts))

    # --- streaming (a generator body is user code: drained on a thread) -------------------------
    def _pump(self, stream: Iterator[bytes]) -> None:
        ok = True
        try:
            for chunk in stream:
                if not chunk:
                    continue
                while not self._writable.wait(1.0):
                    if self.closed:
                        break
                if self.closed:
                    ok = False
                    break
                self.loop.call_soon_threadsafe(self._write_chunk, chunk)
        except Exception:
            logger.exception("Encountered Exception while streaming the response body")
            ok = False
        finally:
            _close_quietly(stream)
        self.loop.call_soon_threadsafe(self._end_stream, ok)

    def _write_chunk(self, chunk: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    def _end_stream(self, ok: bool) -> None:
        if self.closed or self.transport is None:
            self.busy = False
            return
        if not ok:  # the client must not take a cut-short body for a whole one
            self.transport.close()
            self.busy = False
            return
        self.transport.write(b"0\r\n\r\n")
        self._done()

    # --- shutdown -----------------------------------------------------------------------------------
    def close_if_idle(self) -> bool:
        """Close now when no request is being answered; returns whether it did."""
        if not self.busy and not self._pipeline and self.transport is not None:
            self.transport.close()
            return True
        return False


def _close_quietly(stream: object) -> None:
    close = getattr(stream, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            logger.exception("Closing a response stream failed")
