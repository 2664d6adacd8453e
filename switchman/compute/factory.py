"""Which compute backend a platform uses: chosen by `switchman up`, remembered in its home.

``$SWITCHMAN_HOME/compute.json`` holds ``{"backend": "local"}`` or ``{"backend": "ray",
"ray_address": "HOST:PORT"}``; the control plane and `switchman down` (also without a running
control plane) open the same backend from it. Ray is imported only when the Ray backend is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from switchman.compute.backend import ComputeBackend
from switchman.errors import BadArgumentError
from switchman.home import Home, write_private

BACKENDS = ("local", "ray")


def config_path(home: Home) -> Path:
    return home.root / "compute.json"


def read_config(home: Home) -> dict[str, Any]:
    try:
        data = json.loads(config_path(home).read_text())
    except (OSError, ValueError):
        return {"backend": "local"}
    return data if isinstance(data, dict) else {"backend": "local"}


def write_config(home: Home, config: dict[str, Any]) -> None:
    write_private(config_path(home), json.dumps(config, indent=2))


def open_backend(home: Home, config: dict[str, Any] | None = None) -> ComputeBackend:
    config = config if config is not None else read_config(home)
    kind = str(config.get("backend") or "local")
    if kind == "local":
        from switchman.compute.local import LocalBackend

        return LocalBackend(home)
    if kind == "ray":
        from switchman.compute.ray import RayBackend

        ray_backend: ComputeBackend = RayBackend(home, str(config.get("ray_address") or ""))
        return ray_backend
    raise BadArgumentError(
        f"Unknown compute backend {kind!r} in {config_path(home)}; use one of {', '.join(BACKENDS)} "
        "(`switchman up --backend local|ray`)."
    )
