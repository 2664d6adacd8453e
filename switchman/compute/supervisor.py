"""The node side of the Ray backend: one supervisor per instance (or batch worker), run as a
detached, named Ray actor placed on a node with the SKU's resources.

It starts the same process the local backend starts (the instance launcher, or the batch worker)
in a node-local folder, and answers the control plane's questions about it: is it running, where
does it listen, why did it end, how much CPU and memory it uses, what is in its logs. The process
gets ``PR_SET_PDEATHSIG`` so it dies with its supervisor (a lost node or a killed actor never
leaves a runtime serving behind). This module does not import Ray: ``switchman.compute.ray``
wraps the class with ``ray.remote``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

from switchman.compute.backend import (
    ADDRESS_FILE,
    CONTAINER_LOGS,
    LAUNCH_FILE,
    STATUS_FILE,
    WORKER_LOGS,
)

PR_SET_PDEATHSIG = 1


def node_root() -> Path:
    """Where supervisors keep their folders on this node (a node-local cache, not shared)."""
    return Path(os.environ.get("SWITCHMAN_NODE_CACHE") or "/tmp/switchman-node")


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    """One instance or batch worker on this node (see the module docstring)."""

    def __init__(self, kind: str, ident: str, namespace: str, spec: dict[str, Any]) -> None:
        self.kind = kind
        self.ident = ident
        self.node_ip = _node_ip()
        self.node_id = _node_id()
        self.folder = node_root() / namespace / f"{kind}s" / ident
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = time.time()
        self.error: str | None = None
        self._cpu: Any = None
        try:
            self._start(spec, namespace)
        except Exception as exc:  # reported through status(), never raised into Ray
            self.error = f"{type(exc).__name__}: {exc}"

    def _start(self, spec: dict[str, Any], namespace: str) -> None:
        if shutil.which("uv") is None and not _uv_module():
            raise RuntimeError(
                f"node {self.node_ip} has no uv (environments are built with it): install "
                "Switchman on every Ray node with `pip install 'switchman[ray]'`"
            )
        env = dict(os.environ)
        env["SWITCHMAN_HOME"] = str(node_root() / namespace / "home")
        env.update(spec.pop("secret_environment", None) or {})  # connection secrets: env only
        if self.kind == "instance":
            spec = {**spec, "home": env["SWITCHMAN_HOME"], "bind_host": self.node_ip}
            path = self.folder / "instance.json"
            path.write_text(json.dumps(spec, indent=2))
            args = [sys.executable, "-m", "switchman.compute.launcher", str(path)]
            out = open(self.folder / CONTAINER_LOGS["storage-initializer"], "ab")  # noqa: SIM115
            err = None
        else:
            spec = {**spec, "home": env["SWITCHMAN_HOME"], "worker_dir": str(self.folder)}
            if spec.get("artifacts"):
                spec["config"] = _download(spec["config"], spec["artifacts"], env, self.folder)
            path = self.folder / "worker.json"
            path.write_text(json.dumps(spec, indent=2))
            args = [sys.executable, "-m", "switchman.batch.worker", str(path)]
            out = open(self.folder / WORKER_LOGS["stdout"], "ab")  # noqa: SIM115
            err = open(self.folder / WORKER_LOGS["stderr"], "ab")  # noqa: SIM115
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err if err is not None else subprocess.STDOUT,
                cwd=self.folder,
                env=env,
                start_new_session=True,  # its own group: terminate/kill reach launcher + runtime
                close_fds=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            out.close()
            if err is not None:
                err.close()

    # -- questions -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        code = self.proc.poll() if self.proc is not None else 1
        if code is not None and code < 0:
            code = 128 - code
        failure = _read_json(self.folder / STATUS_FILE) if code is not None else {}
        if self.error and not failure:
            failure = {"code": "NodeSetupFailed", "message": self.error}
        sizes = {}
        for container in (*CONTAINER_LOGS, *WORKER_LOGS):
            with contextlib.suppress(OSError):
                sizes[container] = (self.folder / _log_name(container)).stat().st_size
        launched = None
        with contextlib.suppress(OSError):
            launched = (self.folder / LAUNCH_FILE).stat().st_mtime
        return {
            "running": code is None,
            "exit_code": code,
            "address": _read_json(self.folder / ADDRESS_FILE).get("address"),
            "failure": failure or None,
            "runtime_started": launched,
            "node": self.node_ip,
            "node_id": self.node_id,
            "pid": self.proc.pid if self.proc is not None else None,
            "log_sizes": sizes,
        }

    def usage(self) -> dict[str, float | None] | None:
        if self.proc is None or self.proc.poll() is not None:
            return None
        import psutil

        try:
            if self._cpu is None:
                self._cpu = psutil.Process(self.proc.pid)
                self._cpu.cpu_percent(None)
                cpu = None
            else:
                cpu = float(self._cpu.cpu_percent(None))
            total = self._cpu.memory_info().rss
            for child in self._cpu.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
        except psutil.Error:
            return None
        return {"cpu_percent": cpu, "memory_mib": total / (1024 * 1024)}

    def read_log(self, container: str, lines: int) -> str:
        try:
            with open(self.folder / _log_name(container), errors="replace") as log:
                return "".join(deque(log, maxlen=max(lines, 0)))
        except FileNotFoundError:
            return ""

    def log_chunk(self, container: str, offset: int, limit: int) -> tuple[bytes, int] | None:
        path = self.folder / _log_name(container)
        try:
            size = path.stat().st_size
        except OSError:
            return None
        if offset >= size:
            return b"", size
        with open(path, "rb") as log:
            log.seek(offset)
            return log.read(min(size - offset, limit)), size

    # -- stopping --------------------------------------------------------------------------------

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, sig)

    def shutdown(self, grace_s: float = 5.0) -> bool:
        """Stop the process (SIGTERM, then SIGKILL after ``grace_s``) and remove the folder;
        returns whether it was still running. The caller then ends the actor."""
        running = self.proc is not None and self.proc.poll() is None
        if running and self.proc is not None:
            self.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(grace_s)
            self.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        shutil.rmtree(self.folder, ignore_errors=True)
        return running


def _download(
    config: dict[str, Any], artifacts: dict[str, Any], env: dict[str, str], folder: Path
) -> dict[str, Any]:
    """A batch worker's code and model over HTTP into the node cache (as the launcher does for
    instances); its config then points at the cached copies."""
    from switchman.compute.fetch import fetch

    cache = Path(env["SWITCHMAN_HOME"]) / "artifacts"
    config = json.loads(json.dumps(config))
    with open(folder / WORKER_LOGS["stdout"], "a") as log:

        def say(message: str) -> None:
            log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} {message}\n")

        for kind in ("code", "model"):
            entry = config.get(kind)
            if isinstance(entry, dict) and entry.get("asset"):
                digest = Path(str(entry["asset"])).name
                entry["asset"] = str(fetch(digest, artifacts, cache, say))
    return config


def _log_name(container: str) -> str:
    return CONTAINER_LOGS.get(container) or WORKER_LOGS[container]


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _uv_module() -> bool:
    try:
        import uv

        return bool(uv.find_uv_bin())
    except (ImportError, FileNotFoundError):
        return False


def _node_id() -> str | None:
    try:
        import ray

        return str(ray.get_runtime_context().get_node_id())
    except Exception:
        return None


def _node_ip() -> str:
    """The address this node's instances bind: Ray's idea of the node's IP."""
    try:
        import ray

        return str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]
    except Exception:
        return socket.gethostbyname(socket.gethostname())
