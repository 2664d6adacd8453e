"""`switchman up`, `switchman down`, `switchman status`: the platform's own processes."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

import psutil

from switchman.cli.main import add_common
from switchman.client import Client
from switchman.errors import BadArgumentError, PlatformError, SwitchmanError
from switchman.home import Home, write_private
from switchman.tls import TlsFiles, check_pair, client_context, ensure_local

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0


def register(sub: Any) -> None:
    up = sub.add_parser("up", help="Start the control plane and the router in the background.")
    up.add_argument("--port", type=int, default=None, help="Router port (0 = pick a free one).")
    up.add_argument(
        "--api-port", type=int, default=None, help="Control-plane port (0 = pick a free one)."
    )
    up.add_argument(
        "--public-host", default=None, help="Domain for <endpoint>.<domain> scoring URIs."
    )
    up.add_argument("--quota-vcpus", type=int, default=None, help="vCPU quota for deployments.")
    up.add_argument(
        "--host",
        default=None,
        help="Address the router binds (default 127.0.0.1; 0.0.0.0 serves other machines).",
    )
    up.add_argument("--tls", action="store_true", help="The router serves HTTPS only.")
    up.add_argument("--tls-cert", default=None, help="PEM certificate (chain) for --tls.")
    up.add_argument("--tls-key", default=None, help="PEM private key of --tls-cert.")
    up.add_argument(
        "--api-tls", action="store_true", help="The control plane serves HTTPS too (with --tls)."
    )
    up.add_argument(
        "--private-range",
        action="append",
        default=[],
        metavar="CIDR",
        help="Besides loopback, clients that reach public_network_access: disabled endpoints.",
    )
    up.add_argument(
        "--backend",
        choices=("local", "ray"),
        default=None,
        help="Where instances run: local processes (default) or a Ray cluster.",
    )
    up.add_argument(
        "--ray-address", default=None, help="The Ray cluster's head, HOST:PORT (--backend ray)."
    )
    up.add_argument(
        "--api-host",
        default=None,
        help="Address the control plane binds (default 127.0.0.1; Ray nodes on other machines "
        "must reach it, see docs/ray.md).",
    )
    add_common(up)
    up.set_defaults(func=cmd_up)

    down = sub.add_parser(
        "down", help="Stop everything `switchman up` started, instances included."
    )
    add_common(down)
    down.set_defaults(func=cmd_down)

    status = sub.add_parser("status", help="Show what runs.")
    add_common(status)
    status.set_defaults(func=cmd_status)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        with open(path, errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).strip()
    except OSError:
        return ""


def _spawn(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            env=env,
        )


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _start_part(
    home: Home, name: str, module: str, args: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Start one platform process (detached, its own session) logging to logs/<name>.log."""
    cmd = [sys.executable, "-m", module, "--home", str(home.root), *args]
    return _spawn(cmd, home.logs_dir / f"{name}.log", env)


def _ready(url: str, ctx: Any = None) -> bool:
    opener = _NO_PROXY
    if ctx is not None:
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=ctx)
        )
    try:
        with opener.open(url, timeout=1.0) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def _choose_port(flag: int | None, previous: int | None, name: str) -> int:
    if flag is not None and flag != 0:
        if not _port_free(flag):
            raise BadArgumentError(
                f"Port {flag} for the {name} is in use; pick another with --{'port' if name == 'router' else 'api-port'} or 0."
            )
        return flag
    if flag is None and previous and _port_free(previous):
        return previous  # keep scoring URIs stable across down/up
    return _free_port()


def cmd_up(args: argparse.Namespace) -> dict[str, Any]:
    home = Home.from_env()
    home.ensure()
    server = home.read_server() or {}
    procs = server.get("processes", {})
    cp_alive = _alive(procs.get("control-plane", {}).get("pid"))
    router_alive = _alive(procs.get("router", {}).get("pid"))
    if cp_alive and router_alive:
        raise BadArgumentError(
            f"Switchman is already running for SWITCHMAN_HOME={home.root} (control plane "
            f"{server.get('api_url')}, router {server.get('router_url')}). Use `switchman status`, "
            "or `switchman down` first."
        )
    _choose_backend(home, args.backend, args.ray_address)
    last = (
        json.loads((home.root / "last-ports.json").read_text())
        if (home.root / "last-ports.json").exists()
        else {}
    )
    public_host = (
        args.public_host
        if args.public_host is not None
        else server.get("public_host", last.get("public_host"))
    )
    if router_alive:
        router_port = int(server["router_port"])
    else:
        router_port = _choose_port(args.port, last.get("router_port"), "router")
    if cp_alive:
        api_port = int(server["api_port"])
    else:
        api_port = _choose_port(args.api_port, last.get("api_port"), "control plane")
    if router_port == api_port:
        raise BadArgumentError("--port and --api-port must differ.")
    home.admin_token(create=True)
    bind_host = args.host or server.get("router_host") or last.get("router_host") or "127.0.0.1"
    quota = args.quota_vcpus if args.quota_vcpus is not None else last.get("quota_vcpus")
    env = dict(os.environ, SWITCHMAN_HOME=str(home.root))
    if quota is not None:
        env["SWITCHMAN_QUOTA_VCPUS"] = str(quota)
    tls = _tls_files(args, home, public_host)
    _check_ranges(getattr(args, "private_range", None) or [])
    started: list[subprocess.Popen[bytes]] = []
    cp_pid = procs.get("control-plane", {}).get("pid")
    router_pid = procs.get("router", {}).get("pid")
    try:
        extra = ["--public-host", public_host] if public_host else []
        tls_args = ["--tls-cert", str(tls.cert), "--tls-key", str(tls.key)] if tls else []
        if not cp_alive:
            args_cp = ["--port", str(api_port), "--router-port", str(router_port), *extra]
            args_cp += (["--router-tls"] if tls else []) + (tls_args if args.api_tls else [])
            if args.api_host:  # nodes of a remote backend download artifacts from here
                args_cp += ["--host", args.api_host]
            proc = _start_part(home, "control-plane", "switchman.controlplane", args_cp, env)
            started.append(proc)
            cp_pid = proc.pid
        if not router_alive:
            args_router = ["--host", bind_host, "--port", str(router_port), *extra, *tls_args]
            for cidr in getattr(args, "private_range", None) or []:
                args_router += ["--private-range", cidr]
            proc = _start_part(home, "router", "switchman.dataplane", args_router, env)
            started.append(proc)
            router_pid = proc.pid
        api_url = f"{'https' if tls and args.api_tls else 'http'}://127.0.0.1:{api_port}"
        router_url = f"{'https' if tls else 'http'}://127.0.0.1:{router_port}"
        ctx = client_context(tls.ca) if tls else None
        deadline = time.monotonic() + START_TIMEOUT_S
        checks = {"control-plane": api_url + "/api/health", "router": router_url + "/-/ready"}
        pending = dict(checks)
        while pending and time.monotonic() < deadline:
            for name, url in list(pending.items()):
                if _ready(url, ctx):
                    pending.pop(name)
            for proc in started:
                if proc.poll() is not None:
                    which = "control-plane" if proc.pid == cp_pid else "router"
                    raise PlatformError(
                        f"The {which} exited during start-up (code {proc.returncode}). Last lines of "
                        f"{home.logs_dir / (which + '.log')}:\n{_tail(home.logs_dir / (which + '.log'))}"
                    )
            if pending:
                time.sleep(0.05)
        if pending:
            names = ", ".join(pending)
            raise PlatformError(
                f"{names} did not become ready within {START_TIMEOUT_S:.0f}s; see {home.logs_dir}."
            )
    except SwitchmanError:
        for proc in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        raise
    info = {
        "home": str(home.root),
        "api_url": api_url,
        "router_url": router_url,
        "api_port": api_port,
        "router_port": router_port,
        "public_host": public_host,
        "router_host": bind_host,
        "processes": {
            "control-plane": {"pid": cp_pid, "url": api_url},
            "router": {"pid": router_pid, "url": router_url},
        },
    }
    if tls:
        info["ca_file"] = str(tls.ca)  # what clients trust (switchman.tls.client_context_for)
    write_private(home.server_file, json.dumps(info, indent=2))
    write_private(
        home.root / "last-ports.json",
        json.dumps(
            {
                "router_port": router_port,
                "api_port": api_port,
                "public_host": public_host,
                "router_host": bind_host,
                "quota_vcpus": quota,
            }
        ),
    )
    return {"status": "running", **{k: info[k] for k in ("home", "api_url", "router_url")}}


def _check_ranges(ranges: list[str]) -> None:
    from switchman.dataplane.inbound import parse_ranges

    try:
        parse_ranges(ranges)
    except ValueError as exc:
        raise BadArgumentError(str(exc)) from None


def _tls_files(args: argparse.Namespace, home: Home, public_host: str | None) -> TlsFiles | None:
    """The certificate the platform serves with (checked), or None for plain HTTP."""
    tls_flags = bool(getattr(args, "tls", False) or getattr(args, "tls_cert", None))
    if not tls_flags:
        if getattr(args, "api_tls", False):
            raise BadArgumentError("--api-tls needs --tls: the router serves HTTPS first.")
        return None
    cert, key = getattr(args, "tls_cert", None), getattr(args, "tls_key", None)
    if bool(cert) != bool(key):
        raise BadArgumentError(
            "--tls-cert and --tls-key go together: pass both (a PEM certificate and its key), or "
            "neither to let `switchman up --tls` make a local CA and certificate."
        )
    if cert and key:
        check_pair(Path(cert).resolve(), Path(key).resolve())
        # a self-signed or private certificate: clients trust it as its own anchor
        return TlsFiles(Path(cert).resolve(), Path(key).resolve(), Path(cert).resolve())
    return ensure_local(home, public_host)


def _stop_pid(pid: int | None, timeout: float) -> None:
    if not _alive(pid):
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _kill_orphan_instances(home: Home) -> int:
    """Whatever the compute backend still runs for this home (its control plane is gone, or it
    missed some): the backend finds and stops its own instances and workers."""
    from switchman.compute.factory import open_backend

    if home.db_path.exists():  # batch jobs whose workers go now: Paused, resumed by `up`
        from switchman.batch.cleanup import pause_orphan_jobs

        pause_orphan_jobs(home)

    backend = open_backend(home)
    try:
        return backend.sweep()
    except SwitchmanError as exc:  # e.g. the Ray cluster is gone: nothing left to reach
        print(
            f"warning: could not sweep the {backend.name} backend: {exc.message}", file=sys.stderr
        )
        return 0
    finally:
        backend.close()


def cmd_down(args: argparse.Namespace) -> dict[str, Any]:
    home = Home.from_env()
    server = home.read_server()
    if not server:
        stopped = _kill_orphan_instances(home)
        return {
            "status": "stopped",
            "message": "Switchman was not running.",
            "instances_stopped": stopped,
        }
    procs = server.get("processes", {})
    stopped_instances = 0
    if _alive(procs.get("control-plane", {}).get("pid")):
        with contextlib.suppress(SwitchmanError):  # batch jobs pause; `up` resumes them
            Client.from_home(home).request("POST", "/api/batch-admin/pause")
        try:
            result = Client.from_home(home).request("POST", "/api/admin/stop-instances")
            stopped_instances = int(result.get("stopped", 0))
        except SwitchmanError:
            pass
    _stop_pid(procs.get("control-plane", {}).get("pid"), STOP_TIMEOUT_S)
    _stop_pid(procs.get("router", {}).get("pid"), STOP_TIMEOUT_S)
    stopped_instances += _kill_orphan_instances(home)
    with contextlib.suppress(FileNotFoundError):
        home.server_file.unlink()
    return {"status": "stopped", "home": str(home.root), "instances_stopped": stopped_instances}


def _choose_backend(home: Home, backend: str | None, ray_address: str | None) -> None:
    """Validate --backend/--ray-address and remember them for the control plane and `down`."""
    import importlib.util

    from switchman.compute.factory import read_config, write_config

    config = read_config(home)
    if backend is None and ray_address is None:
        return  # as last time
    kind = backend or str(config.get("backend") or "local")
    if kind == "local":
        if ray_address:
            raise BadArgumentError(
                f"--ray-address {ray_address} needs --backend ray (the local backend runs "
                "instances as processes on this machine)."
            )
        write_config(home, {"backend": "local"})
        return
    address = ray_address or config.get("ray_address")
    if not address:
        raise BadArgumentError(
            "--backend ray needs --ray-address HOST:PORT, the head node of a running Ray cluster "
            "(`ray start --head --port 6379` starts one)."
        )
    if importlib.util.find_spec("ray") is None:
        raise BadArgumentError(
            "--backend ray needs Ray on this machine: pip install 'switchman[ray]' (the same Ray "
            "version as the cluster)."
        )
    write_config(home, {"backend": "ray", "ray_address": str(address)})


def cmd_status(args: argparse.Namespace) -> dict[str, Any]:
    from switchman.compute.factory import read_config

    home = Home.from_env()
    server = home.read_server() or {}
    processes = []
    for name in ("control-plane", "router"):
        entry = server.get("processes", {}).get(name, {})
        processes.append(
            {
                "name": name,
                "pid": entry.get("pid"),
                "url": entry.get("url"),
                "running": _alive(entry.get("pid")),
            }
        )
    running = bool(processes) and all(p["running"] for p in processes)
    compute = read_config(home)
    result: dict[str, Any] = {
        "home": str(home.root),
        "running": running,
        "backend": compute.get("backend", "local"),
        "processes": processes,
    }
    if compute.get("ray_address"):
        result["ray_address"] = compute["ray_address"]
    if running and server.get("api_url"):
        result["studio_url"] = f"{server['api_url']}/studio/"  # sign in with `switchman studio`
    if running:
        try:
            c = Client.from_home(home)
            endpoints = c.list_endpoints()
            result["endpoints"] = [
                {
                    "name": e["name"],
                    "provisioning_state": e["provisioning_state"],
                    "scoring_uri": e["scoring_uri"],
                }
                for e in endpoints
            ]
        except SwitchmanError as exc:
            result["error"] = exc.message
    return result
