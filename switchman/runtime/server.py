"""Composition root of an instance: load the script, ``init()``, *then* bind and serve.

``python -m switchman.runtime --host 127.0.0.1 --port P`` (docs/internals.md "Instance runtime").
A startup failure prints the script's traceback on stderr, writes ``SWITCHMAN_STATUS_FILE`` and
exits 3. SIGTERM stops accepting, lets in-flight requests finish (bounded) and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from switchman.errors import SwitchmanError
from switchman.runtime.loader import StartupError, UserScript, load_script, run_init, write_status
from switchman.runtime.logs import AccessLog, configure_logging, redirect_print
from switchman.runtime.protocol import HttpConnection, ServerState
from switchman.runtime.scoring import ScoringApp
from switchman.runtime.settings import RuntimeSettings
from switchman.runtime.swagger import SwaggerDocs
from switchman.runtime.workers import WorkerPool

logger = logging.getLogger("azmlinfsrv")

SHIMS_DIR = str(Path(__file__).resolve().parent / "shims")
EXIT_STARTUP_FAILED = 3
IDLE_KEEPALIVE_S = 75.0  # longer than the router's pool keeps idle connections
_TICK_S = 0.25


def prepare_process(settings: RuntimeSettings) -> None:
    """Logging, ``sys.path`` (compat shims first, app root last) and the print redirect."""
    entry_dir = os.path.dirname(settings.entry_script) if settings.entry_script else ""
    configure_logging(settings.log_level, [settings.app_root, entry_dir])
    if SHIMS_DIR not in sys.path:
        sys.path.insert(0, SHIMS_DIR)
    if settings.app_root not in sys.path:
        sys.path.append(settings.app_root)
    source_dir = os.environ.get("AZUREML_SOURCE_DIRECTORY")
    if source_dir:
        sys.path.append(os.path.join(settings.app_root, source_dir))
    redirect_print()


def connect_debugger(port: int) -> None:
    """``AZUREML_DEBUG_PORT``: attach to a waiting debugpy client before loading the script."""
    sys.stdout.write(
        "!! Starting the inference server in DEBUGGING mode because AZUREML_DEBUG_PORT is set.\n"
    )
    try:
        import debugpy  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError:
        raise SwitchmanError(
            f"AZUREML_DEBUG_PORT={port} asks for a debugger but debugpy is not installed in this "
            "environment; `pip install debugpy` or unset AZUREML_DEBUG_PORT.",
            code="DebuggerUnavailable",
        ) from None
    sys.stdout.write(f"** Connecting to debugger at port {port}...\n")
    sys.stdout.flush()
    debugpy.connect(port)
    debugpy.wait_for_client()


def start_script(settings: RuntimeSettings) -> UserScript:
    """Import the script and run ``init()``; raises :class:`StartupError`."""
    if not settings.entry_script and settings.mlflow_model:
        from switchman.runtime.mlflow_scorer import load_builtin

        return load_builtin(settings.mlflow_model)
    if not settings.entry_script:
        raise StartupError(
            "UserScriptImportError",
            "AZUREML_ENTRY_SCRIPT is not set; it must be the absolute path of the scoring script.",
        )
    script = load_script(settings.entry_script, settings.app_root)
    run_init(script)
    return script


def report_startup_failure(error: StartupError, settings: RuntimeSettings) -> None:
    """Traceback on stderr, the azmlinfsrv log lines, the status file."""
    if error.code == "UserScriptInitFailed":
        logger.error("User's init function failed")
    logger.error(f"Encountered Exception {error.trace or error.message}")
    document = error.to_status(settings.model_dir)
    if document["model_dir_listing"]:
        logger.info("Model Directory Contents:")
        for line in document["model_dir_listing"]:
            logger.info(line)
    sys.stderr.write(error.trace or f"{error.message}\n")
    sys.stderr.write(f"{error.code}: {error.message}\n")
    sys.stderr.flush()
    if settings.status_file:
        try:
            write_status(settings.status_file, document)
        except OSError as exc:
            sys.stderr.write(f"Could not write the status file {settings.status_file}: {exc}\n")


class RuntimeServer:
    """The serving half: event loop, listener, worker threads, graceful drain."""

    def __init__(self, settings: RuntimeSettings, script: UserScript) -> None:
        self.settings = settings
        self.script = script
        self.swagger = SwaggerDocs(
            settings.app_root,
            script.run,
            service_name=settings.service_name,
            service_version=settings.service_version,
            path_prefix=settings.service_path_prefix,
            documents=script.swagger,
        )

    async def serve(self, host: str, port: int, on_ready: Callable[[], None] | None = None) -> None:
        loop = asyncio.get_running_loop()
        pool = WorkerPool(self.settings.worker_count)
        access = AccessLog(sys.stdout, self.settings.access_log)
        app = ScoringApp(
            self.script,
            pool,
            self.swagger,
            loop,
            scoring_timeout_ms=self.settings.scoring_timeout_ms,
            server_version=self.settings.server_version_header,
            access_log=access,
        )
        streams = ThreadPoolExecutor(max(4, self.settings.worker_count), "stream")
        state = ServerState(app, streams)
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if host.startswith("unix:"):  # a network-isolated instance (switchman/compute/isolation.py)
            server = await loop.create_unix_server(
                lambda: HttpConnection(state), host[len("unix:") :], backlog=1024
            )
        else:
            server = await loop.create_server(
                lambda: HttpConnection(state), host, port, reuse_address=True, backlog=1024
            )
        report_address(server)
        logger.info(f"Scoring timeout is set to {self.settings.scoring_timeout_ms}")
        logger.info(f"Worker with pid {os.getpid()} ready for serving traffic")
        sys.stdout.flush()
        if on_ready is not None:
            on_ready()
        housekeeping = asyncio.create_task(self._housekeeping(state, access), name="housekeeping")
        try:
            await stop.wait()
            logger.info("Shutting down: no new connections; finishing requests in flight")
            server.close()
            await self._drain(state)
        finally:
            housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await housekeeping
            for conn in list(state.connections):
                if conn.transport is not None:
                    conn.transport.close()
            access.flush()
            streams.shutdown(wait=False, cancel_futures=True)
            pool.shutdown(timeout=0.1)
            logger.info("Shutdown complete")
            sys.stdout.flush()

    async def _drain(self, state: ServerState) -> None:
        state.draining = True
        deadline = time.monotonic() + self.settings.shutdown_timeout_s
        while time.monotonic() < deadline:
            for conn in list(state.connections):
                conn.close_if_idle()
            if state.app.in_flight == 0 and not any(c.busy for c in state.connections):
                return
            await asyncio.sleep(0.02)
        logger.warning(
            f"Shutdown timeout of {self.settings.shutdown_timeout_s:g}s reached with "
            f"{state.app.in_flight} run() call(s) in flight; exiting anyway"
        )

    async def _housekeeping(self, state: ServerState, access: AccessLog) -> None:
        while True:
            await asyncio.sleep(_TICK_S)
            access.flush()
            cutoff = time.monotonic() - IDLE_KEEPALIVE_S
            for conn in list(state.connections):
                if conn.last_active < cutoff:
                    conn.close_if_idle()


def report_address(server: asyncio.Server) -> None:
    """``SWITCHMAN_ADDRESS_FILE``: tell the compute backend the address actually bound (the
    launcher asks for port 0, so the port is the kernel's choice on this node)."""
    target = os.environ.get("SWITCHMAN_ADDRESS_FILE")
    if not target or not server.sockets:
        return
    bound = server.sockets[0].getsockname()
    if isinstance(bound, str):
        address = f"unix:{bound}"
    else:
        host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
        address = f"{host}:{bound[1]}"
    write_status(target, {"address": address, "pid": os.getpid()})


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop when it is installed, else the default loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def run_instance(
    settings: RuntimeSettings,
    host: str,
    port: int,
    *,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Start one instance to completion; returns the process exit code."""
    prepare_process(settings)
    if settings.debug_port is not None:
        connect_debugger(settings.debug_port)
    try:
        script = start_script(settings)
    except StartupError as error:
        report_startup_failure(error, settings)
        return EXIT_STARTUP_FAILED
    server = RuntimeServer(settings, script)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        try:
            runner.run(server.serve(host, port, on_ready))
        except OSError as exc:
            logger.critical(f"Cannot listen on {host}:{port}: {exc}")
            return 1
    return 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m switchman.runtime",
        description="Serve one scoring script (AZUREML_ENTRY_SCRIPT) the way azmlinfsrv does.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1).")
    parser.add_argument("--port", type=int, required=True, help="Port to bind.")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m switchman.runtime``."""
    args = parse_args(argv)
    try:
        settings = RuntimeSettings.from_env()
        return run_instance(settings, args.host, args.port)
    except SwitchmanError as exc:
        sys.stderr.write(f"Configuration Error: {exc.message}\n")
        if exc.code == "DebuggerUnavailable":
            return 1
        return EXIT_STARTUP_FAILED
