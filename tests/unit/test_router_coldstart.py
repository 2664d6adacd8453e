"""The router's scale-to-zero hold (switchman.dataplane.coldstart) with a fake service."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from switchman.dataplane.coldstart import ColdStart
from switchman.dataplane.errors import ScoringError, TooManyRequestsError
from switchman.dataplane.table import Deployment, Endpoint, RouteTable, WakeTarget


@dataclass
class FakeService:
    resumed: list[Any] = field(default_factory=list)
    rejected: list[tuple[Any, ScoringError]] = field(default_factory=list)

    def resume(self, ep: Endpoint, dep: Deployment, call: Any) -> None:
        self.resumed.append(call)

    def reject(self, call: Any, exc: ScoringError) -> None:
        self.rejected.append((call, exc))


@dataclass
class FakeGate:
    slots: list[object]


def table(timeout_ms: int = 5000, wake: WakeTarget | None = None) -> RouteTable:
    dep = Deployment("blue", timeout_ms, 1, (), scale_to_zero=True)
    ep = Endpoint("ep", "key", (), None, (("blue", 100),), (), {"blue": dep})
    return RouteTable(1, {"ep": ep}, None, wake)


def cold(limit: int = 3) -> tuple[ColdStart, FakeService]:
    service = FakeService()
    return ColdStart(service, None, limit=limit), service  # type: ignore[arg-type]


def test_holds_in_order_until_a_ready_instance_arrives() -> None:
    async def scenario() -> None:
        hold, service = cold()
        t = table()
        ep, dep = t.endpoints["ep"], t.endpoints["ep"].deployments["blue"]
        hold.installed(t, {("ep", "blue"): FakeGate([])})  # type: ignore[dict-item]
        for call in ("a", "b"):
            hold.hold(ep, dep, call)
        assert hold.held_counts() == {("ep", "blue"): 2}
        hold.installed(t, {("ep", "blue"): FakeGate([])})  # type: ignore[dict-item]
        assert service.resumed == []  # still no instance
        hold.installed(t, {("ep", "blue"): FakeGate([object()])})  # type: ignore[dict-item]
        assert service.resumed == ["a", "b"] and service.rejected == []
        assert hold.held_counts() == {}
        hold.close()

    asyncio.run(scenario())


def test_bounded_queue_answers_429_with_the_numbers() -> None:
    async def scenario() -> None:
        hold, _ = cold(limit=2)
        t = table()
        ep, dep = t.endpoints["ep"], t.endpoints["ep"].deployments["blue"]
        hold.hold(ep, dep, 1)
        hold.hold(ep, dep, 2)
        with pytest.raises(TooManyRequestsError) as caught:
            hold.hold(ep, dep, 3)
        assert caught.value.details == {"held": 2, "limit": 2}
        hold.close()

    asyncio.run(scenario())


def test_timeout_answers_503_cold_start_timeout() -> None:
    async def scenario() -> None:
        hold, service = cold()
        t = table(timeout_ms=30)
        ep, dep = t.endpoints["ep"], t.endpoints["ep"].deployments["blue"]
        hold.hold(ep, dep, "late")
        for _ in range(100):
            if service.rejected:
                break
            await asyncio.sleep(0.01)
        [(call, exc)] = service.rejected
        assert call == "late" and exc.status == 503 and exc.code == "ColdStartTimeout"
        assert "request_timeout_ms (30 ms)" in exc.message
        assert hold.held_counts() == {}
        hold.close()

    asyncio.run(scenario())


def test_removed_deployment_fails_what_waits() -> None:
    async def scenario() -> None:
        hold, service = cold()
        t = table()
        hold.hold(t.endpoints["ep"], t.endpoints["ep"].deployments["blue"], "x")
        hold.installed(RouteTable(2, {}, None), {})
        assert [c for c, _ in service.rejected] == ["x"]
        hold.close()

    asyncio.run(scenario())


def test_wake_call_carries_the_token_and_the_deployment() -> None:
    async def scenario() -> None:
        got: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(
                    line.split(b":")[1]
                    for line in data.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            body = await reader.readexactly(length)
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
            await writer.drain()
            writer.close()
            if not got.done():
                got.set_result(data + body)

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        hold, _ = cold()
        t = table(wake=WakeTarget("127.0.0.1", port, "/api/autoscale/wake", "sekrit"))
        hold.installed(t, {("ep", "blue"): FakeGate([])})  # type: ignore[dict-item]
        hold.hold(t.endpoints["ep"], t.endpoints["ep"].deployments["blue"], "x")
        raw = await asyncio.wait_for(got, 5)
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"POST /api/autoscale/wake HTTP/1.1")
        assert b"authorization: Bearer sekrit" in head
        assert json.loads(body) == {"endpoint": "ep", "deployment": "blue", "held": 1}
        hold.close()
        server.close()
        await server.wait_closed()

    asyncio.run(scenario())
