"""The router's composition root: wire the parts together, serve, and shut down in order.

Shutdown (SIGTERM/SIGINT): stop accepting connections, close idle keep-alive connections, let
in-flight requests finish up to ``drain_timeout``, cancel background tasks, flush the traffic log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from switchman.dataplane.coldstart import ColdStart
from switchman.dataplane.guard import ConnectionGuard, HeadLimits
from switchman.dataplane.inbound import InboundPolicy, parse_ranges
from switchman.dataplane.jobs import JobsForwarder
from switchman.dataplane.metrics import DeploymentLoad, Metrics
from switchman.dataplane.protocol import DEFAULT_BODY_LIMIT, HttpProtocol, ServerState
from switchman.dataplane.service import ScoringService
from switchman.dataplane.store import StateWriter
from switchman.dataplane.tap import Tap
from switchman.dataplane.watcher import TableWatcher
from switchman.home import Home
from switchman.tls import CertReloader, server_context

log = logging.getLogger("switchman.dataplane")


@dataclass(frozen=True)
class RouterConfig:
    """Everything the router process is started with."""

    home: Home
    host: str = "127.0.0.1"
    port: int = 0
    public_host: str | None = None
    body_limit: int = DEFAULT_BODY_LIMIT
    retention_s: float = 7 * 86400
    metrics_interval: float = 60.0
    fine_interval: float = 1.0  # autoscale's grain (metrics_fine); loads are sampled every 0.1 s
    cold_queue_limit: int = 100  # requests held per deployment at zero before 429
    drain_timeout: float = 10.0
    poll_interval: float = 0.075
    max_mirror_in_flight: int = 64
    limits: HeadLimits = field(default_factory=HeadLimits)
    tls_cert: Path | None = None  # both set: serve HTTPS only (switchman/tls.py)
    tls_key: Path | None = None
    private_ranges: tuple[str, ...] = ()  # CIDRs beside loopback that reach private endpoints


class Router:
    """One router process: HTTP server, table watcher, metrics roll-up, state writer."""

    def __init__(self, config: RouterConfig) -> None:
        self.config = config
        self.metrics = Metrics()
        self.writer = StateWriter(
            config.home.db_path,
            self.metrics,
            retention_s=config.retention_s,
            minute_s=config.metrics_interval,
        )
        self.tap = Tap(config.home.root, config.home.db_path, retention_s=config.retention_s)
        self.service = ScoringService(
            metrics=self.metrics,
            writer=self.writer,
            public_host=config.public_host,
            max_mirror_in_flight=config.max_mirror_in_flight,
            tap=self.tap,
        )
        self.service.inbound = InboundPolicy(parse_ranges(config.private_ranges))
        # Scale to zero (issue #12): hold requests for a deployment at zero while it wakes.
        self.cold = ColdStart(self.service, self.writer, limit=config.cold_queue_limit)
        self.service.cold = self.cold
        self.service.jobs = JobsForwarder(config.home)  # batch /jobs submissions (issue 10)
        self.state = ServerState(
            self.service, self.metrics, body_limit=config.body_limit, limits=config.limits
        )
        self.guard = ConnectionGuard(lambda: self.state.connections, config.limits, time.monotonic)
        self.watcher = TableWatcher(
            config.home.routes_file, self.service.install, config.poll_interval
        )
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    def _spawn(self, coro: object, name: str) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)  # type: ignore[arg-type]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _roll_metrics(self) -> None:
        # Fine windows every fine_interval (to metrics_fine, merged into the 1-minute roll-up);
        # in-flight load sampled every 0.1 s so ConcurrentRequestsPerInstance is a window mean.
        fine = min(self.config.fine_interval, self.config.metrics_interval)
        sums: dict[tuple[str, str], float] = {}
        samples = 0
        due = time.monotonic() + fine
        while True:
            await asyncio.sleep(min(0.1, fine))
            for key, (flying, _ready) in self.service.capacity().items():
                sums[key] = sums.get(key, 0.0) + flying
            samples += 1
            if time.monotonic() < due:
                continue
            loads = [
                DeploymentLoad(ep, dep, sums.get((ep, dep), 0.0) / samples, ready)
                for (ep, dep), (_flying, ready) in self.service.capacity().items()
            ]
            self.writer.roll(self.metrics.swap(), self.service.instances(), loads)
            sums, samples, due = {}, 0, time.monotonic() + fine

    async def _reload_tls(self, reloader: CertReloader) -> None:
        while True:
            await asyncio.sleep(1.0)
            reloader.poll()

    def request_stop(self) -> None:
        self._stop.set()

    async def serve(self) -> int:
        """Run until a stop signal; return the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        self.config.home.root.mkdir(parents=True, exist_ok=True)
        self.writer.start()
        self.tap.start()
        self.watcher.poll()
        tls = None
        if self.config.tls_cert and self.config.tls_key:
            tls = server_context(self.config.tls_cert, self.config.tls_key)
            self._spawn(
                self._reload_tls(CertReloader(tls, self.config.tls_cert, self.config.tls_key)),
                "tls-reloader",
            )
        server = await loop.create_server(
            lambda: HttpProtocol(self.state),
            self.config.host,
            self.config.port,
            backlog=2048,
            reuse_address=True,
            ssl=tls,
            ssl_handshake_timeout=self.config.limits.header_timeout_s if tls else None,
        )
        port = server.sockets[0].getsockname()[1]
        log.info(
            "router listening on %s://%s:%d (home %s)",
            "https" if tls else "http",
            self.config.host,
            port,
            self.config.home.root,
        )
        self._spawn(self.watcher.run(), "route-table-watcher")
        self._spawn(self._roll_metrics(), "metrics-roll-up")
        self._spawn(self.guard.run(), "connection-guard")
        await self._stop.wait()
        log.info(
            "stopping: no new connections; draining %d in-flight request(s)", self.service.in_flight
        )
        server.close()
        self.state.draining = True
        self.state.close_idle()
        deadline = time.monotonic() + self.config.drain_timeout
        while (
            self.state.busy_connections() or self.service.in_flight
        ) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.state.connections):
            conn.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.cold.close()
        await self.service.close()
        if self.service.jobs is not None:
            await self.service.jobs.close()
        self.writer.roll(self.metrics.swap(), self.service.instances())
        self.writer.stop()
        self.tap.stop()
        log.info("router stopped")
        return 0


def run(config: RouterConfig) -> int:
    """Run a router in this process on uvloop (asyncio's loop where uvloop is missing)."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    loop_factory = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(Router(config).serve())


__all__ = ["Router", "RouterConfig", "run"]
