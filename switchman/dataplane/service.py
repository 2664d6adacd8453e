"""The scoring service: route → authenticate → pick → admit → forward → log, per request.

Transport-agnostic: it takes a parsed :class:`Request` and returns a :class:`Response`; the HTTP
protocol (``protocol.py``) only parses and writes bytes. The route table is swapped atomically by
:meth:`ScoringService.install`; decisions are the pure functions in ``policy.py`` with an injected
random source.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from switchman.dataplane.admission import DeploymentGate, InstanceSlot
from switchman.dataplane.auth import Authenticator
from switchman.dataplane.errors import (
    InternalError,
    ModelError,
    NoReadyInstanceError,
    NotReadyError,
    RequestTimeoutError,
    RouteNotFoundError,
    ScoringError,
)
from switchman.dataplane.message import Request, Response, json_response, reason
from switchman.dataplane.metrics import InstanceInfo, Metrics
from switchman.dataplane.policy import pick_deployment, pick_mirror
from switchman.dataplane.store import StateWriter
from switchman.dataplane.table import Deployment, Endpoint, RouteTable
from switchman.dataplane.upstream import ConnectFailed, UpstreamLost, UpstreamPool

log = logging.getLogger(__name__)

_CLIENT_ID_JUNK = re.compile(r"[^A-Za-z0-9_-]")
# Never forwarded to the instance: hop-by-hop, framing we recompute, the caller's credential, and ids
# the platform owns.
_DROP_REQUEST = frozenset(
    b"host connection keep-alive transfer-encoding content-length authorization x-request-id "
    b"x-ms-client-request-id te upgrade trailer expect proxy-connection proxy-authorization".split()
)
_DROP_RESPONSE = frozenset(
    b"connection keep-alive transfer-encoding content-length x-request-id x-ms-client-request-id "
    b"azureml-model-deployment date server".split()
)
_MODEL_MESSAGE_LIMIT = 4096


def new_request_id() -> str:
    """A random (version 4) GUID string, built without the ``uuid.UUID`` object on the hot path."""
    h = os.urandom(16).hex()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def client_request_id(raw: str | None) -> str:
    """``x-ms-client-request-id`` as Azure ML keeps it: alphanumerics, ``-``, ``_``; 40 chars."""
    if not raw:
        return ""
    return _CLIENT_ID_JUNK.sub("", raw)[:40]


def endpoint_from_host(host: str | None, domain: str) -> str | None:
    """``<endpoint>.<domain>[:port]`` → ``endpoint``; None when the host is not under ``domain``."""
    if not host:
        return None
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    suffix = "." + domain
    if not name.lower().endswith(suffix.lower()):
        return None
    label = name[: -len(suffix)]
    return label if label and "." not in label else None


@dataclass(slots=True)
class _Call:
    """What the traffic log and metrics need to know about one request."""

    request_id: str
    client_id: str
    endpoint: str = ""
    deployment: str = ""
    model_status: str = ""
    model_reason: str = ""
    first_byte: float = 0.0
    mirrored: bool = False


class ScoringService:
    """Routes scoring requests with Azure ML semantics.

    Args:
        metrics: shared counters.
        writer: the traffic-log / metrics writer (may be None in unit tests).
        public_host: the domain for Host-header routing (``<endpoint>.<domain>``); ``localhost`` if None.
        rng: random source for the traffic split and mirror sampling.
        max_mirror_in_flight: mirror copies in flight at most; more are dropped and counted.
    """

    def __init__(
        self,
        *,
        metrics: Metrics,
        writer: StateWriter | None,
        public_host: str | None = None,
        rng: Callable[[], float] = random.random,
        max_mirror_in_flight: int = 64,
    ) -> None:
        self.metrics = metrics
        self.writer = writer
        self.domain = (public_host or "localhost").lower()
        self.rng = rng
        self.max_mirror_in_flight = max_mirror_in_flight
        self.table: RouteTable | None = None
        self.in_flight = 0
        self._auth = Authenticator(None)
        self._gates: dict[tuple[str, str], DeploymentGate] = {}
        self._slots: dict[str, InstanceSlot] = {}
        self._pools: dict[tuple[str, int], UpstreamPool] = {}
        self._mirrors: set[asyncio.Task[None]] = set()
        metrics.load_source = self.loads

    def loads(self) -> list[tuple[str, str, int, int]]:
        """(endpoint, deployment, in flight, queued) of every deployment."""
        return [(ep, dep, g.in_flight, len(g.queue)) for (ep, dep), g in self._gates.items()]

    # ------------------------------------------------------------------ route table
    def install(self, table: RouteTable) -> None:
        """Swap in a new route table; keep live loads, pools and queues of what stays."""
        auth = (
            self._auth
            if self.table and self.table.token_public_key == table.token_public_key
            else Authenticator(table.token_public_key)
        )
        slots: dict[str, InstanceSlot] = {}
        pools: dict[tuple[str, int], UpstreamPool] = {}
        gates: dict[tuple[str, str], DeploymentGate] = {}
        for ep in table.endpoints.values():
            for dep in ep.deployments.values():
                dep_slots = []
                for inst in dep.ready_instances:
                    address = (inst.host, inst.port)
                    pool = (
                        pools.get(address)
                        or self._pools.get(address)
                        or UpstreamPool(inst.host, inst.port)
                    )
                    pools[address] = pool
                    slot = self._slots.get(inst.id)
                    if slot is None or slot.pool is not pool:
                        slot = InstanceSlot(inst, pool)
                    else:
                        slot.instance = inst
                    slots[inst.id] = slot
                    dep_slots.append(slot)
                gate = self._gates.get((ep.name, dep.name)) or DeploymentGate(ep.name, dep)
                gate.configure(dep, dep_slots)
                gates[(ep.name, dep.name)] = gate
        for key, gate in self._gates.items():
            if key not in gates:
                gate.fail_all(f"Deployment {key[1]!r} of endpoint {key[0]!r} was removed.")
        for address, pool in self._pools.items():
            if address not in pools:
                pool.close()
        self._auth, self._slots, self._pools, self._gates = auth, slots, pools, gates
        self.table = table
        self.metrics.table_version = table.version

    def instances(self) -> list[InstanceInfo]:
        """Every instance in the table, for the metrics roll-up."""
        table = self.table
        if table is None:
            return []
        return [
            InstanceInfo(ep.name, dep.name, inst.id, inst.pid, inst.ready)
            for ep in table.endpoints.values()
            for dep in ep.deployments.values()
            for inst in dep.instances
        ]

    async def close(self) -> None:
        """Cancel mirror copies still running and close pooled connections."""
        for task in list(self._mirrors):
            task.cancel()
        if self._mirrors:
            await asyncio.gather(*self._mirrors, return_exceptions=True)
        for pool in self._pools.values():
            pool.close()

    # ------------------------------------------------------------------ requests
    async def handle(self, req: Request) -> Response:
        """Answer one request; never raises."""
        path = req.path
        if path.startswith("/-/") or path == "/metrics":
            return self._builtin(req)
        call = _Call(new_request_id(), client_request_id(req.header(b"x-ms-client-request-id")))
        self.in_flight += 1
        try:
            response = await self._score(req, call)
        except ScoringError as exc:
            response = self._error(exc, call)
        except Exception as exc:  # a platform fault must still answer with JSON and be logged
            log.exception("request %s failed inside the router", call.request_id)
            response = self._error(InternalError(f"The router failed: {exc!r}."), call)
        finally:
            self.in_flight -= 1
        rid = call.request_id.encode()
        response.headers.append((b"x-request-id", rid))
        if call.client_id:
            response.headers.append((b"x-ms-client-request-id", call.client_id.encode()))
        self._finish(req, call, response)
        return response

    def _error(self, exc: ScoringError, call: _Call) -> Response:
        body = exc.to_body()
        body["request_id"] = call.request_id
        headers = [(k.encode(), v.encode()) for k, v in exc.headers]
        if exc.deployment:
            call.deployment = exc.deployment
            headers.append((b"azureml-model-deployment", exc.deployment.encode()))
        return json_response(exc.status, body, headers)

    def _builtin(self, req: Request) -> Response:
        table = self.table
        if req.path == "/metrics":
            return Response(
                200,
                [(b"content-type", b"text/plain; version=0.0.4; charset=utf-8")],
                self.metrics.exposition(),
            )
        if req.path in ("/-/ready", "/-/routes"):
            if table is None:
                return json_response(
                    503,
                    {
                        "message": "The router has no route table yet.",
                        "code": "RouterNotReady",
                        "request_id": "",
                    },
                )
            if req.path == "/-/ready":
                return json_response(200, {"status": "ready", "version": table.version})
            return json_response(200, {"version": table.version})
        return json_response(
            404,
            {"message": f"No route {req.path!r}.", "code": "ResourceNotFound", "request_id": ""},
        )

    def _route(self, req: Request) -> tuple[str, str]:
        path = req.path
        if path.startswith("/endpoints/"):
            name, _, tail = path[len("/endpoints/") :].partition("/")
            if tail in ("score", "swagger.json") and name:
                return name, tail
            raise RouteNotFoundError(
                f"No route {path!r}: use /endpoints/<endpoint>/score or /endpoints/<endpoint>/swagger.json."
            )
        if path in ("/score", "/swagger.json"):
            host_name = endpoint_from_host(req.header(b"host"), self.domain)
            if host_name:
                return host_name, path[1:]
            raise RouteNotFoundError(
                f"Cannot tell the endpoint of {path!r} from Host {req.header(b'host')!r}: use "
                f"/endpoints/<endpoint>{path} or Host <endpoint>.{self.domain}."
            )
        raise RouteNotFoundError(f"No route {path!r}: use /endpoints/<endpoint>/score.")

    async def _score(self, req: Request, call: _Call) -> Response:
        table = self.table
        if table is None:
            raise NotReadyError("The router has no route table yet; is the control plane running?")
        name, kind = self._route(req)
        call.endpoint = name
        ep = table.endpoints.get(name)
        if ep is None:
            raise RouteNotFoundError(f"No endpoint named {name!r}.")
        self._auth.check(ep, req.header(b"authorization"))
        pinned = req.header(b"azureml-model-deployment")
        if pinned:
            if pinned not in ep.deployments:
                raise RouteNotFoundError(
                    f"Endpoint {name!r} has no deployment {pinned!r} (header azureml-model-deployment); "
                    f"deployments: {', '.join(sorted(ep.deployments)) or 'none'}."
                )
            chosen = pinned
        else:
            picked = (
                ep.busiest_deployment
                if kind == "swagger.json"
                else pick_deployment(ep.traffic, self.rng)
            )
            if picked is None:
                raise RouteNotFoundError(
                    f"Endpoint {name!r} has no deployment with traffic; set traffic (e.g. --traffic "
                    '"blue=100") or pin one with the azureml-model-deployment header.'
                )
            chosen = picked
            if kind == "score" and ep.mirror_traffic:
                mirror = pick_mirror(ep.mirror_traffic, self.rng)
                if mirror is not None and mirror != chosen and mirror in ep.deployments:
                    self._mirror(ep, ep.deployments[mirror], req, call)
        call.deployment = chosen
        dep = ep.deployments.get(chosen)
        if dep is None:
            raise NoReadyInstanceError(
                f"Deployment {chosen!r} of endpoint {name!r} has traffic but does not exist yet.",
                deployment=chosen,
            )
        upstream_target = b"/score" if kind == "score" else b"/swagger.json"
        if req.query:
            upstream_target += b"?" + req.query
        return await self._forward(ep, dep, req, call, upstream_target)

    async def _forward(
        self, ep: Endpoint, dep: Deployment, req: Request, call: _Call, target: bytes
    ) -> Response:
        gate = self._gates[(ep.name, dep.name)]
        gate.admit()
        dep_name = dep.name.encode()
        try:
            async with asyncio.timeout(dep.request_timeout_ms / 1000.0):
                upstream = await self._send(gate, dep, req, call, target)
        except TimeoutError:
            raise RequestTimeoutError(
                f"The request to deployment {dep.name!r} took longer than its request_timeout_ms "
                f"({dep.request_timeout_ms} ms); raise request_timeout_ms or make run() faster.",
                deployment=dep.name,
            ) from None
        finally:
            gate.leave()
        call.first_byte = upstream.first_byte_at
        call.model_status = str(upstream.status)
        call.model_reason = upstream.reason
        if upstream.status != 200:
            text = upstream.body[:_MODEL_MESSAGE_LIMIT].decode("utf-8", "replace")
            raise ModelError(
                f"The model in deployment {dep.name!r} answered HTTP {upstream.status} "
                f"{upstream.reason}: {text}",
                deployment=dep.name,
                headers=(
                    ("ms-azureml-model-error-statuscode", str(upstream.status)),
                    ("ms-azureml-model-error-reason", upstream.reason or "Unknown"),
                ),
                details={"model_status_code": upstream.status, "model_message": text},
            )
        headers = [(k, v) for k, v in upstream.headers if k not in _DROP_RESPONSE]
        headers.append((b"azureml-model-deployment", dep_name))
        return Response(200, headers, upstream.body)

    async def _send(
        self, gate: DeploymentGate, dep: Deployment, req: Request, call: _Call, target: bytes
    ) -> Any:
        tried: frozenset[str] = frozenset()
        while True:
            slot = await gate.acquire(tried)
            try:
                try:
                    conn = await slot.pool.acquire()
                    future = conn.send(self._upstream_bytes(req, call, slot, target))
                except ConnectFailed:
                    # Nothing reached this instance: safe to offer the request to another one.
                    slot.eject(time.monotonic())
                    tried = tried | {slot.instance.id}
                    continue
                try:
                    response = await future
                except UpstreamLost as exc:
                    raise InternalError(
                        f"Instance {slot.instance.id!r} of deployment {dep.name!r} dropped the connection "
                        f"while handling the request ({exc}); see its logs.",
                        code="InstanceConnectionLost",
                        deployment=dep.name,
                    ) from None
                except BaseException:
                    conn.close()  # timed out or cancelled: the answer may still come; never reuse
                    raise
                slot.pool.release(conn)
                return response
            finally:
                gate.release(slot)

    def _upstream_bytes(
        self, req: Request, call: _Call, slot: InstanceSlot, target: bytes
    ) -> bytes:
        inst = slot.instance
        parts = [
            req.method.encode(),
            b" ",
            target,
            b" HTTP/1.1\r\nhost: ",
            inst.host.encode(),
            b":",
            str(inst.port).encode(),
            b"\r\ncontent-length: ",
            str(len(req.body)).encode(),
            b"\r\nx-request-id: ",
            call.request_id.encode(),
            b"\r\n",
        ]
        if call.client_id:
            parts += [b"x-ms-client-request-id: ", call.client_id.encode(), b"\r\n"]
        for name, value in req.headers:
            if name not in _DROP_REQUEST:
                parts += [name, b": ", value, b"\r\n"]
        parts += [b"\r\n", req.body]
        return b"".join(parts)

    # ------------------------------------------------------------------ mirror
    def _mirror(self, ep: Endpoint, dep: Deployment, req: Request, live: _Call) -> None:
        if len(self._mirrors) >= self.max_mirror_in_flight:
            self.metrics.mirror_dropped += 1
            return
        call = _Call(live.request_id, live.client_id, ep.name, dep.name, mirrored=True)
        task = asyncio.get_running_loop().create_task(self._mirror_one(ep, dep, req, call))
        self._mirrors.add(task)
        task.add_done_callback(self._mirrors.discard)

    async def _mirror_one(self, ep: Endpoint, dep: Deployment, req: Request, call: _Call) -> None:
        try:
            response = await self._forward(ep, dep, req, call, b"/score")
        except ScoringError as exc:
            response = Response(exc.status)
        except asyncio.CancelledError:
            raise
        except Exception:  # the client never sees a mirror's failure; log it
            log.exception("mirror copy of request %s to %s failed", call.request_id, dep.name)
            response = Response(500)
        self._finish(req, call, response)

    # ------------------------------------------------------------------ accounting
    def _finish(self, req: Request, call: _Call, response: Response) -> None:
        now = time.monotonic()
        total_ms = (now - req.started) * 1000.0
        self.metrics.record(
            call.endpoint,
            call.deployment,
            response.status,
            call.model_status,
            total_ms,
            len(req.body) + len(response.body),
        )
        writer = self.writer
        if writer is None:
            return
        agent = req.header(b"user-agent") or ""
        writer.log(
            (
                time.time(),
                req.method,
                req.path,
                "",
                "",
                "switchman",
                call.endpoint,
                call.deployment,
                f"HTTP/{req.http_version}",
                response.status,
                reason(response.status).decode(),
                call.model_status,
                call.model_reason,
                len(req.body),
                len(response.body),
                agent[:70],
                call.request_id,
                call.client_id,
                total_ms,
                (req.received - req.started) * 1000.0,
                (call.first_byte - req.started) * 1000.0 if call.first_byte else None,
                0.0,
                0.0,
                1 if call.mirrored else 0,
            )
        )
