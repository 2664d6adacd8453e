"""Batch scoring URIs on the router: ``POST /endpoints/<endpoint>/jobs`` (or ``/jobs`` with Host
``<endpoint>.<domain>``) is forwarded to the control plane, which checks the caller's token and
starts the job (issue 10). Not the hot path: one asyncio task per job submission is fine.

The control plane's address comes from ``$SWITCHMAN_HOME/server.json`` (re-read when a connection
fails, so a restarted control plane is found again).
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import quote, urlsplit

from switchman.dataplane.message import Request, Response, json_response
from switchman.dataplane.upstream import ConnectFailed, UpstreamLost, UpstreamPool
from switchman.home import Home

log = logging.getLogger(__name__)

_FORWARD = (
    b"authorization",
    b"content-type",
    b"azureml-model-deployment",
    b"x-ms-client-request-id",
)
_TIMEOUT_S = 120.0


class JobsForwarder:
    def __init__(self, home: Home) -> None:
        self.home = home
        self._pool: UpstreamPool | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def endpoint_of(req: Request, host_endpoint: str | None) -> str | None:
        """The batch endpoint a ``/jobs`` request names, or None when it is not such a request."""
        path = req.path
        if path.startswith("/endpoints/") and path.endswith("/jobs"):
            name = path[len("/endpoints/") : -len("/jobs")]
            return name if name and "/" not in name else None
        if path == "/jobs":
            return host_endpoint
        return None

    def _upstream(self, refresh: bool) -> UpstreamPool | None:
        if self._pool is not None and not refresh:
            return self._pool
        server = self.home.read_server() or {}
        url = urlsplit(str(server.get("api_url") or ""))
        if not url.hostname or not url.port:
            return None
        if self._pool is None or (self._pool.host, self._pool.port) != (url.hostname, url.port):
            if self._pool is not None:
                self._pool.close()
            self._pool = UpstreamPool(url.hostname, url.port)
        return self._pool

    def forward(self, req: Request, endpoint: str, respond: object) -> None:
        task = asyncio.get_running_loop().create_task(self._forward(req, endpoint, respond))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _forward(self, req: Request, endpoint: str, respond: object) -> None:
        answer = await self._exchange(req, endpoint)
        respond(answer)  # type: ignore[operator]

    async def _exchange(self, req: Request, endpoint: str) -> Response:
        if req.method != "POST":
            return json_response(
                405,
                {"message": "Start a batch job with POST .../jobs.", "code": "MethodNotAllowed"},
            )
        target = f"/batch-jobs/endpoints/{quote(endpoint, safe='')}/jobs".encode()
        server = self.home.read_server() or {}
        if str(server.get("api_url") or "").startswith("https://"):
            return await self._exchange_tls(req, target, server)
        headers = b"".join(
            name + b": " + value + b"\r\n" for name, value in req.headers if name in _FORWARD
        )
        for refresh in (False, True):
            pool = self._upstream(refresh)
            if pool is None:
                break
            head = b"POST %s HTTP/1.1\r\nhost: %s:%d\r\ncontent-length: %d\r\n" % (
                target,
                pool.host.encode(),
                pool.port,
                len(req.body),
            )
            try:
                conn = await pool.acquire()
                upstream = await asyncio.wait_for(
                    conn.send(head + headers + b"\r\n" + req.body), _TIMEOUT_S
                )
            except (ConnectFailed, UpstreamLost, TimeoutError, OSError) as exc:
                log.info("batch job submission to the control plane failed: %s", exc)
                continue
            pool.release(conn)
            kept = [(k, v) for k, v in upstream.headers if k in (b"content-type",)]
            return Response(upstream.status, kept, upstream.body)
        return json_response(
            503,
            {
                "message": "The control plane is not reachable, so batch jobs cannot start now; "
                "check `switchman status`.",
                "code": "ServiceUnavailable",
            },
        )

    async def _exchange_tls(
        self, req: Request, target: bytes, server: dict[str, object]
    ) -> Response:
        """The control plane serves HTTPS (`up --api-tls`): one TLS connection per submission,
        trusting the home's CA (job submissions are rare; no pool)."""
        from switchman.tls import client_context

        url = urlsplit(str(server["api_url"]))
        ca = server.get("ca_file")
        headers = b"".join(n + b": " + v + b"\r\n" for n, v in req.headers if n in _FORWARD)
        head = b"POST %s HTTP/1.1\r\nhost: %s:%d\r\ncontent-length: %d\r\nconnection: close\r\n" % (
            target,
            (url.hostname or "").encode(),
            url.port or 443,
            len(req.body),
        )
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    url.hostname, url.port or 443, ssl=client_context(str(ca) if ca else None)
                ),
                _TIMEOUT_S,
            )
            writer.write(head + headers + b"\r\n" + req.body)
            raw = await asyncio.wait_for(reader.read(), _TIMEOUT_S)
            writer.close()
        except (OSError, TimeoutError) as exc:
            log.info("batch job submission to the control plane failed: %s", exc)
            return json_response(
                503,
                {"message": "The control plane is not reachable over HTTPS; check `switchman "
                 "status`.", "code": "ServiceUnavailable"},
            )  # fmt: skip
        top, _, body = raw.partition(b"\r\n\r\n")
        lines = top.split(b"\r\n")
        status = int(lines[0].split(b" ")[1])
        fields = dict(line.split(b": ", 1) for line in lines[1:] if b": " in line)
        if fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = _unchunk(body)
        kept = [(b"content-type", fields[b"content-type"])] if b"content-type" in fields else []
        return Response(status, kept, body)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._pool is not None:
            self._pool.close()


__all__ = ["JobsForwarder"]


def _unchunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        size_line, _, rest = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)
