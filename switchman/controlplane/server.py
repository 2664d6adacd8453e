"""The control-plane process: REST API + reconciler on one event loop (uvicorn owns signals)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import ssl
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn

from switchman.controlplane.api import create_app
from switchman.controlplane.platform import Platform
from switchman.controlplane.rollout import RolloutDriver
from switchman.controlplane.service import Addresses
from switchman.home import Home

logger = logging.getLogger("switchman.controlplane")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m switchman.controlplane")
    parser.add_argument("--home", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--router-port", type=int, required=True)
    parser.add_argument("--public-host", default=None)
    parser.add_argument("--router-tls", action="store_true", help="The router serves HTTPS.")
    parser.add_argument("--tls-cert", default=None, help="Serve the API over HTTPS with this.")
    parser.add_argument("--tls-key", default=None)
    return parser.parse_args(argv)


def attach_backend(platform: Platform, args: argparse.Namespace, token: str) -> None:
    """Connect the compute backend before serving; a backend that cannot work (no Ray at the
    address, a version mismatch) ends the start with its one-paragraph reason in the log."""
    from switchman.controlplane.artifacts import artifact_token
    from switchman.errors import SwitchmanError

    scheme = "https" if args.tls_cert else "http"
    api_url = os.environ.get("SWITCHMAN_ADVERTISE_URL") or f"{scheme}://127.0.0.1:{args.port}"
    try:
        platform.backend.attach(api_url, artifact_token(token))
    except SwitchmanError as exc:
        logger.error("%s", exc.message)
        raise SystemExit(2) from None


def _watch_certificate(ctx: ssl.SSLContext, cert: Path, key: Path) -> None:
    """Re-read the certificate when its files change (new handshakes get it; live ones keep
    theirs), from a daemon thread: uvicorn owns the event loop."""
    from switchman.tls import CertReloader

    reloader = CertReloader(ctx, cert, key)

    def loop() -> None:
        while True:
            time.sleep(1.0)
            reloader.poll()

    threading.Thread(target=loop, name="tls-reloader", daemon=True).start()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("SWITCHMAN_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s",
    )
    home = Home.from_env(args.home)
    platform = Platform.create(
        home, Addresses(args.router_port, args.public_host, "https" if args.router_tls else "http")
    )
    token = home.admin_token(create=True)
    assert token is not None
    attach_backend(platform, args, token)
    app = create_app(platform, token)
    app.state.rollouts = RolloutDriver(home, platform.store, platform.service, platform.publisher)
    task_holder: dict[str, asyncio.Task[None]] = {}
    from switchman.autoscale.applier import install as install_autoscale

    autoscaler = install_autoscale(app, platform, args.port)  # issue #12: its own owned task

    @contextlib.asynccontextmanager
    async def lifespan(_: object) -> AsyncIterator[None]:
        platform.publisher.publish(force=True)
        task_holder["reconciler"] = asyncio.create_task(
            platform.reconciler.run(), name="reconciler"
        )
        task_holder["rollouts"] = asyncio.create_task(app.state.rollouts.run(), name="rollouts")
        autoscaler.start()
        host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
        own_url = f"{'https' if args.tls_cert else 'http'}://{host}:{args.port}"
        for index, factory in enumerate(app.state.background):
            task_holder[f"background-{index}"] = asyncio.create_task(
                factory(platform, own_url), name=f"background-{index}"
            )
        try:
            yield
        finally:
            await autoscaler.stop()
            for task in task_holder.values():
                task.cancel("control plane shutting down")
            for task in list(task_holder.values()):
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            task_holder.clear()

    app.router.lifespan_context = lifespan
    logger.info("control plane for %s listening on %s:%d", home.root, args.host, args.port)
    tls = {"ssl_certfile": args.tls_cert, "ssl_keyfile": args.tls_key} if args.tls_cert else {}
    config = uvicorn.Config(
        app, host=args.host, port=args.port, log_level="warning", access_log=False, **tls
    )
    if args.tls_cert:
        from switchman.tls import server_context

        config.load()
        config.ssl = server_context(Path(args.tls_cert), Path(args.tls_key))  # TLS 1.2+, modern
        _watch_certificate(config.ssl, Path(args.tls_cert), Path(args.tls_key))
    uvicorn.Server(config).run()
