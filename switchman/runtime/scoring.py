"""The transport-agnostic core: routes, request ids, ``run()`` dispatch, timeouts, replies.

Mirrors azmlinfsrv 1.5.1's routes (reference/aml-behaviour.md §10.4, §10.5). Runs on the event
loop; user code runs on the :class:`~switchman.runtime.workers.WorkerPool`, never here.
"""

from __future__ import annotations

import asyncio
import logging
import time
import traceback
import uuid
from collections import deque
from typing import Any, Protocol
from urllib.parse import parse_qsl

from switchman.runtime import correlation
from switchman.runtime.inputs import InputError, MethodNotScored, build_kwargs
from switchman.runtime.loader import InputMode, UserScript
from switchman.runtime.logs import AccessLog
from switchman.runtime.outputs import (
    INTERNAL_ERROR_MESSAGE,
    RUN_ERROR_MESSAGE,
    error_reply,
    json_reply,
    result_reply,
)
from switchman.runtime.swagger import SwaggerDocs, SwaggerError
from switchman.runtime.wire import HttpRequest, Reply
from switchman.runtime.workers import WorkerPool

logger = logging.getLogger("azmlinfsrv")

HEADER_LIMIT = 100
NOT_FOUND = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)
NOT_ALLOWED = "The method is not allowed for the requested URL."
_HEALTHY = Reply(200, [("Content-Type", "text/html; charset=utf-8")], b"Healthy")


class Channel(Protocol):
    """Where a reply goes (the HTTP connection). Called on the event loop only."""

    def finish(self, request: HttpRequest, reply: Reply) -> None: ...


class _Call:
    """One ``run()`` call in flight: the timeout sweep and the worker thread share it."""

    __slots__ = ("channel", "done", "ids", "request", "started", "t0")

    def __init__(
        self, request: HttpRequest, channel: Channel, ids: list[tuple[str, str]], t0: float
    ) -> None:
        self.request = request
        self.channel = channel
        self.ids = ids
        self.t0 = t0
        self.started: float | None = None  # set by the worker thread when run() starts
        self.done = False


class ScoringApp:
    """Answers requests for one loaded script.

    Args:
        script: the loaded scoring script.
        pool: the worker threads (``WORKER_COUNT`` of them) that call ``run()``.
        swagger: the OpenAPI documents.
        loop: the server's event loop.
        scoring_timeout_ms: ``SCORING_TIMEOUT_MS``.
        server_version: ``x-ms-server-version`` value, or ``None`` to leave it out.
        access_log: per-request access lines.
    """

    def __init__(
        self,
        script: UserScript,
        pool: WorkerPool,
        swagger: SwaggerDocs,
        loop: asyncio.AbstractEventLoop,
        *,
        scoring_timeout_ms: int,
        server_version: str | None,
        access_log: AccessLog,
    ) -> None:
        self.script = script
        self.pool = pool
        self.swagger = swagger
        self.loop = loop
        self.timeout_ms = scoring_timeout_ms
        self._timeout_s = scoring_timeout_ms / 1000.0
        self._version_header = [("x-ms-server-version", server_version)] if server_version else []
        self.access = access_log
        self.in_flight = 0
        # Calls in submission order for the timeout sweep: the queue is FIFO, so run() starts (and
        # deadlines) come in this order too. One timer for all of them instead of one per call
        # (a uvloop timer armed and cancelled per request costs about 2 µs).
        self._calls: deque[_Call] = deque()
        self._timer: asyncio.TimerHandle | None = None

    # --- routing ---------------------------------------------------------------------------------
    def handle(self, request: HttpRequest, channel: Channel) -> None:
        """Answer ``request`` now or later through ``channel.finish``."""
        t0 = time.perf_counter()
        path = request.path
        if path == "/score":
            route = "/score"
        elif path == "/":
            route = "/"
        elif path == "/swagger.json":
            route = "/swagger.json"
        else:
            channel.finish(request, error_reply(404, NOT_FOUND))
            return
        method = request.method
        if route == "/score":
            allowed: tuple[str, ...] = ("GET", "HEAD", "POST", "OPTIONS")
        else:
            allowed = ("GET", "HEAD", "OPTIONS")
        if method not in allowed:
            reply = error_reply(405, NOT_ALLOWED)
            reply.headers.append(("Allow", ", ".join(sorted(allowed))))
            channel.finish(request, reply)
            return
        if method == "OPTIONS" and route != "/score":
            # Flask answers OPTIONS itself for routes that do not list it.
            channel.finish(request, Reply(200, [("Allow", ", ".join(sorted(allowed)))]))
            return
        ids, rejection = self._request_ids(request)
        if rejection is not None:
            self._send(request, channel, rejection, ids, t0, log=route != "/")
        elif route == "/score":
            self._score(request, channel, ids, t0)
        elif route == "/":
            self._send(
                request, channel, Reply(200, list(_HEALTHY.headers), b"Healthy"), ids, t0, log=False
            )
        else:
            self._send(request, channel, self._swagger(request), ids, t0, log=True)

    def _swagger(self, request: HttpRequest) -> Reply:
        version = _query_value(request.query, "version")
        try:
            body = self.swagger.get(version)
        except SwaggerError as exc:
            return error_reply(404, exc.message)
        return Reply(
            200, [("Content-Type", "application/json"), ("x-ms-run-function-failed", "False")], body
        )

    # --- headers -----------------------------------------------------------------------------------
    def _request_ids(self, request: HttpRequest) -> tuple[list[tuple[str, str]], Reply | None]:
        """The id headers to send back, or a 431 when a supplied id is too long (§10.5)."""
        request_id = request.header("x-request-id")
        if request_id is None:
            request_id = str(uuid.uuid4())
        elif len(request_id) > HEADER_LIMIT:
            return [], error_reply(431, f"x-request-id must not exceed {HEADER_LIMIT} characters")
        ids = [("x-request-id", request_id)]
        legacy = request.header("x-ms-request-id") or ""
        client = request.header("x-ms-client-request-id") or ""
        if legacy:
            logger.warning(
                "x-ms-request-id header has been deprecated and will be removed from future "
                "versions of the server. Please use x-ms-client-request-id."
            )
            client = client or legacy
        else:
            legacy = client or request_id
        if len(legacy) > HEADER_LIMIT or len(client) > HEADER_LIMIT:
            return ids, error_reply(
                431,
                f"x-ms-request-id and x-ms-client-request-id must not exceed {HEADER_LIMIT} characters",
            )
        ids.append(("x-ms-request-id", legacy))
        if client:
            ids.append(("x-ms-client-request-id", client))
        return ids, None

    def _send(
        self,
        request: HttpRequest,
        channel: Channel,
        reply: Reply,
        ids: list[tuple[str, str]],
        t0: float,
        *,
        log: bool,
    ) -> None:
        headers = reply.headers
        if self._version_header:
            headers.extend(self._version_header)
        headers.extend(ids)
        trace_id = request.header("traceid")
        if trace_id is not None:
            headers.append(("TraceId", trace_id))
        if log and self.access.enabled:
            self.access.line(
                request.method,
                request.target,
                reply.status,
                (time.perf_counter() - t0) * 1000.0,
                reply.length,
            )
        channel.finish(request, reply)

    # --- scoring -----------------------------------------------------------------------------------
    def _score(
        self, request: HttpRequest, channel: Channel, ids: list[tuple[str, str]], t0: float
    ) -> None:
        try:
            kwargs = build_kwargs(self.script, request)
        except InputError as exc:
            self._send(request, channel, error_reply(exc.status, exc.message), ids, t0, log=True)
            return
        except MethodNotScored:
            if request.method == "OPTIONS":
                reply = Reply(
                    200,
                    [
                        ("Content-Type", "text/html; charset=utf-8"),
                        ("x-ms-run-function-failed", "False"),
                    ],
                )
            else:
                reply = error_reply(405, "Method not allowed")
            self._send(request, channel, reply, ids, t0, log=True)
            return
        call = _Call(request, channel, ids, t0)
        calls = self._calls
        while calls and calls[0].done:
            calls.popleft()
        calls.append(call)
        if self._timer is None:
            self._timer = self.loop.call_later(self._timeout_s, self._sweep)
        self.in_flight += 1
        self.pool.submit(lambda: self._run(call, kwargs))

    def _run(self, call: _Call, kwargs: dict[str, Any]) -> None:
        """Worker thread: call run() and post the reply back to the loop."""
        started = call.started = time.perf_counter()
        token = correlation.enter(call.ids[0][1] if call.ids else None)  # for Collector.collect
        try:
            result = self.script.invoke(kwargs)
        except BaseException:
            logger.error(f"Encountered Exception: {traceback.format_exc()}")
            reply = error_reply(500, RUN_ERROR_MESSAGE, run_failed=True)
        else:
            exec_ms = (time.perf_counter() - started) * 1000.0
            try:
                reply = result_reply(result, exec_ms)
            except Exception:
                logger.error(f"Encountered Exception: {traceback.format_exc()}")
                reply = error_reply(500, INTERNAL_ERROR_MESSAGE)
        finally:
            correlation.leave(token)
        self.loop.call_soon_threadsafe(self._complete, call, reply)

    def _complete(self, call: _Call, reply: Reply) -> None:
        self.in_flight -= 1
        if call.done:  # the timeout already answered; drop what came late
            if reply.stream is not None:
                _close(reply.stream)
            return
        call.done = True
        self._send(call.request, call.channel, reply, call.ids, call.t0, log=True)

    def _sweep(self) -> None:
        """Answer calls whose run() has outlived the timeout; re-arm for the next deadline."""
        self._timer = None
        calls = self._calls
        while calls:
            call = calls[0]
            if call.done:
                calls.popleft()
                continue
            # The clock starts when run() starts, not while the call waits for a free worker.
            started = call.started
            remaining = (
                self._timeout_s
                if started is None
                else started + self._timeout_s - time.perf_counter()
            )
            if remaining > 0:
                self._timer = self.loop.call_later(remaining, self._sweep)
                return
            calls.popleft()
            self._expire(call)

    def _expire(self, call: _Call) -> None:
        call.done = True
        logger.error(
            f"Encountered Exception: run() did not finish within the scoring timeout of "
            f"{self.timeout_ms} ms (SCORING_TIMEOUT_MS); its worker thread stays busy until it returns."
        )
        reply = error_reply(500, f"Scoring timeout after {self.timeout_ms} ms", run_failed=True)
        self._send(call.request, call.channel, reply, call.ids, call.t0, log=True)

    @property
    def input_mode(self) -> InputMode:
        return self.script.mode


def _query_value(query: bytes, key: str, default: str = "2") -> str:
    for k, v in parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True):
        if k == key:
            return v
    return default


def _close(stream: Any) -> None:
    close = getattr(stream, "close", None)
    if callable(close):
        try:
            close()
        except Exception:
            logger.exception("Closing an abandoned response stream failed")


__all__ = ["Channel", "ScoringApp", "json_reply"]
