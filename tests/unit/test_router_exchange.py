"""The callback-driven exchange and the deadline sweep, on a real loop against in-process servers."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from switchman.dataplane.admission import DeploymentGate, InstanceSlot
from switchman.dataplane.errors import (
    InternalError,
    NoReadyInstanceError,
    RequestTimeoutError,
)
from switchman.dataplane.exchange import DeadlineSweep, Exchange
from switchman.dataplane.table import Deployment, Instance
from switchman.dataplane.upstream import UpstreamPool
from tests.support.proc import free_port

OK = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


@dataclass
class _Fake:
    """Stands in for an Exchange in the sweep: only ``finished``, ``deadline`` and ``expire``."""

    name: str
    log: list[str]
    finished: bool = False
    deadline: float = field(default=0.0)

    def expire(self) -> None:
        self.finished = True
        self.log.append(self.name)


def test_sweep_expires_due_entries_in_order_and_skips_finished_ones() -> None:
    async def scenario() -> list[str]:
        sweep = DeadlineSweep()
        log: list[str] = []
        slow, done, late = _Fake("slow", log), _Fake("done", log), _Fake("late", log)
        sweep.add(slow, 0.05)  # type: ignore[arg-type]  # duck-typed stand-in
        sweep.add(done, 0.05)  # type: ignore[arg-type]
        sweep.add(late, 0.5)  # type: ignore[arg-type]
        done.finished = True
        await asyncio.sleep(0.15)
        assert log == ["slow"]  # done finished in time; late is not due yet
        sweep.close()
        return log

    assert asyncio.run(scenario()) == ["slow"]


async def _server(answer: bytes | None, hits: list[bytes]) -> asyncio.Server:
    """A loopback server that records each request and answers ``answer`` (None: never)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                hits.append(head + await reader.readexactly(length))
                if answer is not None:
                    writer.write(answer)

    return await asyncio.start_server(handle, "127.0.0.1", 0)


def _gate(ports: list[int], capacity: int = 1) -> DeploymentGate:
    insts = tuple(Instance(f"i{n}", "127.0.0.1", port, True) for n, port in enumerate(ports))
    dep = Deployment("blue", 200, capacity, insts)
    gate = DeploymentGate("ep", dep)
    gate.configure(dep, [InstanceSlot(i, UpstreamPool(i.host, i.port)) for i in insts])
    return gate


@dataclass
class _Ended:
    """What ``done`` saw (the exchange drops its response right after)."""

    status: int | None
    error: Exception | None


def _exchange(gate: DeploymentGate, ended: list[_Ended]) -> Exchange:
    def done(exchange: Exchange) -> None:
        response = exchange.response
        ended.append(_Ended(response.status if response else None, exchange.error))

    gate.admit()
    return Exchange(gate, gate.deployment, lambda slot: b"POST /score HTTP/1.1\r\n\r\n", done)


def test_a_refused_instance_is_skipped_before_anything_was_sent() -> None:
    async def scenario() -> None:
        hits: list[bytes] = []
        server = await _server(OK, hits)
        port = server.sockets[0].getsockname()[1]
        gate = _gate([free_port(), port])  # the first refuses; ties go to it, so it is tried first
        ended: list[_Ended] = []
        exchange = _exchange(gate, ended)
        exchange.start()
        for _ in range(200):
            if ended:
                break
            await asyncio.sleep(0.01)
        assert ended and ended[0].status == 200
        assert len(hits) == 1
        assert gate.slots[0].failed_until > 0  # ejected for a moment
        assert gate.in_flight == 0 and all(s.active == 0 for s in gate.slots)
        # every instance refused: a clear 503, capacity given back
        gate2 = _gate([free_port()])
        exchange2 = _exchange(gate2, ended)
        exchange2.start()
        for _ in range(200):
            if len(ended) == 2:
                break
            await asyncio.sleep(0.01)
        assert isinstance(ended[1].error, NoReadyInstanceError)
        assert gate2.in_flight == 0 and gate2.slots[0].active == 0
        server.close()

    asyncio.run(scenario())


def test_deadline_answers_408_and_gives_everything_back() -> None:
    async def scenario() -> None:
        hits: list[bytes] = []
        server = await _server(None, hits)  # never answers
        port = server.sockets[0].getsockname()[1]
        gate = _gate([port], capacity=1)
        sweep = DeadlineSweep()
        ended: list[_Ended] = []
        sent = _exchange(gate, ended)
        sweep.add(sent, 0.1)
        sent.start()
        queued = _exchange(gate, ended)  # capacity 1: waits in the FIFO queue
        sweep.add(queued, 0.1)
        queued.start()
        assert len(gate.queue) == 1
        for _ in range(100):
            if len(ended) == 2:
                break
            await asyncio.sleep(0.01)
        assert [type(e.error) for e in ended] == [RequestTimeoutError, RequestTimeoutError]
        assert gate.in_flight == 0 and gate.slots[0].active == 0
        assert len(hits) == 1  # the queued one never reached the instance
        sweep.close()
        server.close()

    asyncio.run(scenario())


def test_a_dropped_connection_after_sending_is_not_retried() -> None:
    async def scenario() -> None:
        hits: list[bytes] = []

        async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
                hits.append(await reader.readuntil(b"\r\n\r\n"))
            writer.close()

        server = await asyncio.start_server(drop, "127.0.0.1", 0)
        other = await _server(OK, hits)
        ports = [server.sockets[0].getsockname()[1], other.sockets[0].getsockname()[1]]
        gate = _gate(ports)
        ended: list[_Ended] = []
        exchange = _exchange(gate, ended)
        exchange.start()
        for _ in range(200):
            if ended:
                break
            await asyncio.sleep(0.01)
        error = ended[0].error
        assert isinstance(error, InternalError) and error.code == "InstanceConnectionLost"
        assert len(hits) == 1 and gate.in_flight == 0
        server.close()
        other.close()

    asyncio.run(scenario())
