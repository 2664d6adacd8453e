"""The layout of ``$SWITCHMAN_HOME``: every path a Switchman process reads or writes lives here.

$SWITCHMAN_HOME/
  state.db              SQLite (WAL): specs, status, keys (encrypted), events, logs, metrics
  server.json           ports and pids of the running platform (written by `switchman up`)
  admin-token           control-plane bearer token, mode 0600
  secret.key            Fernet key that encrypts secrets at rest, mode 0600
  routes.json           the route table the control plane publishes for the router (0600)
  logs/                 control-plane.log, router.log
  assets/               content-addressed snapshots of uploaded code and model folders
  envs/                 content-addressed Python environments (see switchman.environments)
  instances/<id>/       one folder per instance: staged model + code, logs, status.json
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_HOME = "~/.switchman"


@dataclass(frozen=True)
class Home:
    """Paths under one ``SWITCHMAN_HOME``. Two homes are two independent installations."""

    root: Path

    @classmethod
    def from_env(cls, explicit: str | os.PathLike[str] | None = None) -> Home:
        raw = explicit or os.environ.get("SWITCHMAN_HOME") or DEFAULT_HOME
        return cls(Path(raw).expanduser().resolve())

    @property
    def db_path(self) -> Path:
        return self.root / "state.db"

    @property
    def server_file(self) -> Path:
        return self.root / "server.json"

    @property
    def admin_token_file(self) -> Path:
        return self.root / "admin-token"

    @property
    def secret_key_file(self) -> Path:
        return self.root / "secret.key"

    @property
    def routes_file(self) -> Path:
        return self.root / "routes.json"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def assets_dir(self) -> Path:
        return self.root / "assets"

    @property
    def envs_dir(self) -> Path:
        return self.root / "envs"

    @property
    def instances_dir(self) -> Path:
        return self.root / "instances"

    def ensure(self) -> None:
        for path in (self.root, self.logs_dir, self.assets_dir, self.envs_dir, self.instances_dir):
            path.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)

    def admin_token(self, *, create: bool = False) -> str | None:
        """The control-plane token; ``create`` makes one (mode 0600) when missing."""
        path = self.admin_token_file
        if path.exists():
            return path.read_text().strip()
        if not create:
            return None
        token = secrets.token_urlsafe(32)
        write_private(path, token + "\n")
        return token

    def read_server(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.server_file.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically with mode 0600 (secrets, tokens, route tables)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # Unique per call: two threads of one process (API and reconciler) may publish at once.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)
