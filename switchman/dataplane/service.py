"""The scoring service: route → authenticate → pick → admit → forward → log, per request.

Transport-agnostic: it takes a parsed :class:`Request` and answers through a :class:`Channel`
(``respond(response)``), synchronously for what it can decide at once and from the upstream
connection's callbacks otherwise (``exchange.py``): no task per request. The HTTP protocol
(``protocol.py``) only parses and writes bytes. The route table is swapped atomically by
:meth:`ScoringService.install`; decisions are the pure functions in ``policy.py`` with an injected
random source.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Protocol

from switchman.dataplane.admission import DeploymentGate, InstanceSlot
from switchman.dataplane.auth import Authenticator
from switchman.dataplane.coldstart import ColdStart
from switchman.dataplane.errors import (
    InternalError,
    ModelError,
    NoReadyInstanceError,
    NotReadyError,
    RouteNotFoundError,
    ScoringError,
)
from switchman.dataplane.exchange import DeadlineSweep, Exchange
from switchman.dataplane.inbound import InboundPolicy
from switchman.dataplane.jobs import JobsForwarder
from switchman.dataplane.message import Request, Response, json_response, reason
from switchman.dataplane.metrics import InstanceInfo, Metrics
from switchman.dataplane.policy import pick_deployment, pick_mirror
from switchman.dataplane.store import StateWriter
from switchman.dataplane.table import Deployment, Endpoint, RouteTable
from switchman.dataplane.tap import Tap
from switchman.dataplane.upstream import UpstreamPool

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
_STATUS_TEXT = {int(s): str(int(s)) for s in HTTPStatus}
_REASON_TEXT = {int(s): s.phrase for s in HTTPStatus}
_PROTOCOLS = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}


# Request ids need uniqueness, not secrecy: a generator seeded once from the OS saves a getrandom()
# system call per request.
_random_bits = random.Random(os.urandom(32)).getrandbits
_GUID_MASK = ~((0xF << 76) | (0x3 << 62)) & ((1 << 128) - 1)
_GUID_SET = (0x4 << 76) | (0x2 << 62)  # version 4, RFC 4122 variant


def new_request_id() -> str:
    """A random (version 4) GUID string, built without the ``uuid.UUID`` object on the hot path."""
    h = "%032x" % ((_random_bits(128) & _GUID_MASK) | _GUID_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


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


class Channel(Protocol):
    """Where a request's response goes (the client connection); called on the event loop."""

    def respond(self, response: Response) -> None: ...


class _Call:
    """One request on its way through the service: what the traffic log and metrics need, and
    where the answer goes."""

    __slots__ = (
        "channel",
        "client_id",
        "deployment",
        "endpoint",
        "first_byte",
        "mirrored",
        "model_reason",
        "model_status",
        "req",
        "request_id",
        "service",
        "target",
    )

    def __init__(
        self,
        service: ScoringService,
        req: Request,
        channel: Channel | None,
        request_id: str,
        client_id: str,
        endpoint: str = "",
        deployment: str = "",
        mirrored: bool = False,
    ) -> None:
        self.service = service
        self.req = req
        self.channel = channel
        self.request_id = request_id
        self.client_id = client_id
        self.endpoint = endpoint
        self.deployment = deployment
        self.model_status = ""
        self.model_reason = ""
        self.first_byte = 0.0
        self.mirrored = mirrored
        self.target = b"/score"

    def encode(self, slot: InstanceSlot) -> bytes:
        """The request bytes for the instance behind ``slot`` (one write)."""
        return upstream_bytes(self.req, self, slot, self.target)

    def done(self, exchange: Exchange) -> None:
        self.service._exchanged(self, exchange)


def upstream_bytes(req: Request, call: _Call, slot: InstanceSlot, target: bytes) -> bytes:
    """The request as the instance gets it: platform ids set, hop-by-hop and credentials dropped."""
    inst = slot.instance
    parts = [
        req.method.encode(),
        b" ",
        target,
        b" HTTP/1.1\r\nhost: ",
        inst.host.encode(),
        b":%d\r\ncontent-length: %d\r\nx-request-id: " % (inst.port, len(req.body)),
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


class ScoringService:
    """Routes scoring requests with Azure ML semantics.

    Args:
        metrics: shared counters.
        writer: the traffic-log / metrics writer (may be None in unit tests).
        public_host: the domain for Host-header routing (``<endpoint>.<domain>``); ``localhost`` if None.
        rng: random source for the traffic split and mirror sampling.
        max_mirror_in_flight: mirror copies in flight at most; more are dropped and counted.
        tap: the data-collection / shadow-pairing hooks (None: neither).
    """

    def __init__(
        self,
        *,
        metrics: Metrics,
        writer: StateWriter | None,
        public_host: str | None = None,
        rng: Callable[[], float] = random.random,
        max_mirror_in_flight: int = 64,
        tap: Tap | None = None,
    ) -> None:
        self.metrics = metrics
        self.tap = tap  # data collection and shadow pairing (dataplane/tap.py), off the hot path
        self.cold: ColdStart | None = None  # holds requests for deployments at zero (coldstart.py)
        self.writer = writer
        self.domain = (public_host or "localhost").lower()
        self.rng = rng
        self.max_mirror_in_flight = max_mirror_in_flight
        self.table: RouteTable | None = None
        self.in_flight = 0
        self._auth = Authenticator(None)
        self.inbound = InboundPolicy()  # the router adds its --private-range networks
        self._gates: dict[tuple[str, str], DeploymentGate] = {}
        self._slots: dict[str, InstanceSlot] = {}
        self._pools: dict[tuple[str, int], UpstreamPool] = {}
        self._mirrors: set[Exchange] = set()
        self._deadlines = DeadlineSweep()
        metrics.load_source = self.loads
        self.jobs: JobsForwarder | None = None  # set by the router: batch /jobs submissions

    def capacity(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(endpoint, deployment) → (requests in flight incl. held at zero, ready instances)."""
        held = self.cold.held_counts() if self.cold is not None else {}
        out = {
            key: (g.in_flight + held.get(key, 0), len(g.slots)) for key, g in self._gates.items()
        }
        for key, count in held.items():
            out.setdefault(key, (count, 0))
        return out

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
                    address = (inst.uds or inst.host, inst.port)
                    pool = (
                        pools.get(address)
                        or self._pools.get(address)
                        or UpstreamPool(inst.host, inst.port, uds=inst.uds)
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
        if self.tap is not None:
            self.tap.install(table)
        if self.cold is not None:
            self.cold.installed(table, gates)
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
        """Abort mirror copies still running, stop the deadline timer, close pooled connections."""
        for exchange in list(self._mirrors):
            exchange.abort()
        self._deadlines.close()
        for pool in self._pools.values():
            pool.close()

    # ------------------------------------------------------------------ requests
    def serve(self, req: Request, channel: Channel) -> None:
        """Answer ``req`` through ``channel.respond``, now or later; never raises."""
        path = req.path
        if path.startswith("/-/") or path == "/metrics":
            channel.respond(self._builtin(req))
            return
        if self.jobs is not None and path.endswith("/jobs"):  # batch scoring URIs (issue 10)
            batch = self.jobs.endpoint_of(req, endpoint_from_host(req.header(b"host"), self.domain))
            if batch is not None:
                self.jobs.forward(req, batch, channel.respond)
                return
        client = req.header_map().get(b"x-ms-client-request-id")
        call = _Call(
            self,
            req,
            channel,
            new_request_id(),
            client_request_id(client.decode("latin-1")) if client else "",
        )
        self.in_flight += 1
        try:
            self._score(req, call)
        except ScoringError as exc:
            self._answer(call, self._error(exc, call))
        except Exception as exc:  # a platform fault must still answer with JSON and be logged
            log.exception("request %s failed inside the router", call.request_id)
            self._answer(call, self._error(InternalError(f"The router failed: {exc!r}."), call))

    def _answer(self, call: _Call, response: Response) -> None:
        self.in_flight -= 1
        headers = response.headers
        headers.append((b"x-request-id", call.request_id.encode()))
        if call.client_id:
            headers.append((b"x-ms-client-request-id", call.client_id.encode()))
        self._finish(call.req, call, response)
        channel = call.channel
        call.channel = None
        if channel is not None:
            channel.respond(response)

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

    def _score(self, req: Request, call: _Call) -> None:
        table = self.table
        if table is None:
            raise NotReadyError("The router has no route table yet; is the control plane running?")
        name, kind = self._route(req)
        call.endpoint = name
        ep = table.endpoints.get(name)
        if ep is None:
            raise RouteNotFoundError(f"No endpoint named {name!r}.")
        if ep.private:
            self.inbound.check(name, req.peer)
        headers = req.header_map()
        credential = headers.get(b"authorization")
        self._auth.check(ep, credential.decode("latin-1") if credential is not None else None)
        pinned_raw = headers.get(b"azureml-model-deployment")
        pinned = pinned_raw.decode("latin-1") if pinned_raw else None
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
        target = b"/score" if kind == "score" else b"/swagger.json"
        if req.query:
            target += b"?" + req.query
        call.target = target
        self._forward(ep, dep, call)

    def _forward(self, ep: Endpoint, dep: Deployment, call: _Call) -> None:
        """Admit (raises 429/503 at once) and start the exchange with its deadline."""
        gate = self._gates[(ep.name, dep.name)]
        if not gate.slots and dep.scale_to_zero and self.cold is not None and not call.mirrored:
            self.cold.hold(ep, dep, call)  # at zero instances: wait for one to start
            return
        gate.admit()
        exchange = Exchange(gate, dep, call.encode, call.done)
        if call.mirrored:
            self._mirrors.add(exchange)
        self._deadlines.add(exchange, dep.request_timeout_ms / 1000.0)
        exchange.start()

    def resume(self, ep: Endpoint, dep: Deployment, call: _Call) -> None:
        """Forward a request the cold-start queue held (an instance is ready now)."""
        try:
            self._forward(ep, dep, call)
        except ScoringError as exc:
            self._answer(call, self._error(exc, call))

    def reject(self, call: _Call, exc: ScoringError) -> None:
        """Answer a held request with an error (timed out, deployment removed, queue full)."""
        self._answer(call, self._error(exc, call))

    def _exchanged(self, call: _Call, exchange: Exchange) -> None:
        """The exchange ended: turn its outcome into the client's response."""
        try:
            response = self._outcome(call, exchange)
        except ScoringError as exc:
            response = self._error(exc, call)
        except Exception as exc:  # a platform fault must still answer with JSON and be logged
            log.exception("request %s failed inside the router", call.request_id)
            response = self._error(InternalError(f"The router failed: {exc!r}."), call)
        if call.mirrored:
            self._mirrors.discard(exchange)
            self._finish(call.req, call, response)
        else:
            self._answer(call, response)

    def _outcome(self, call: _Call, exchange: Exchange) -> Response:
        if exchange.error is not None:
            raise exchange.error
        upstream = exchange.response
        assert upstream is not None
        dep = exchange.deployment
        call.first_byte = upstream.first_byte_at
        status = upstream.status
        call.model_status = _STATUS_TEXT.get(status) or str(status)
        call.model_reason = upstream.reason
        if status != 200:
            text = upstream.body[:_MODEL_MESSAGE_LIMIT].decode("utf-8", "replace")
            raise ModelError(
                f"The model in deployment {dep.name!r} answered HTTP {status} "
                f"{upstream.reason}: {text}",
                deployment=dep.name,
                headers=(
                    ("ms-azureml-model-error-statuscode", str(status)),
                    ("ms-azureml-model-error-reason", upstream.reason or "Unknown"),
                ),
                details={"model_status_code": status, "model_message": text},
            )
        drop = _DROP_RESPONSE
        headers = [item for item in upstream.headers if item[0] not in drop]
        headers.append((b"azureml-model-deployment", dep.name.encode()))
        return Response(200, headers, upstream.body)

    # ------------------------------------------------------------------ mirror
    def _mirror(self, ep: Endpoint, dep: Deployment, req: Request, live: _Call) -> None:
        if len(self._mirrors) >= self.max_mirror_in_flight:
            self.metrics.mirror_dropped += 1
            return
        call = _Call(
            self, req, None, live.request_id, live.client_id, ep.name, dep.name, mirrored=True
        )
        if self.tap is not None:
            self.tap.mirrored(live.request_id)
        try:
            self._forward(ep, dep, call)
        except ScoringError as exc:  # the client never sees a mirror's failure
            self._finish(req, call, Response(exc.status))

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
        tap = self.tap
        if tap is not None:
            tap.finished(
                req,
                call.endpoint,
                call.deployment,
                call.request_id,
                call.mirrored,
                response,
                total_ms,
            )
        writer = self.writer
        if writer is None:
            return
        agent_raw = req.header_map().get(b"user-agent")
        agent = agent_raw[:70].decode("latin-1") if agent_raw else ""
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
                _PROTOCOLS.get(req.http_version) or f"HTTP/{req.http_version}",
                response.status,
                _REASON_TEXT.get(response.status) or reason(response.status).decode(),
                call.model_status,
                call.model_reason,
                len(req.body),
                len(response.body),
                agent,
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
