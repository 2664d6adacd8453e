"""Content keys of built environments, the runtime's PYTHONPATH folder, and pruning.

An isolated environment lives at ``$SWITCHMAN_HOME/envs/<key>/`` where ``key`` is the sha256 of
what goes into it: the pip requirement lines (the user's, then the runtime's), the Python version
it is built on, and a format number. Same content → same folder, built once and shared by every
deployment and instance that needs it; any change → a new folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import switchman
from switchman.environments.conda import Requirements, from_conda, running_python
from switchman.environments.requirement import merge
from switchman.environments.runtime_requirements import RUNTIME_REQUIREMENTS
from switchman.home import Home

FORMAT = 1
COMPLETE_MARKER = ".complete"
HOST_MODE = "host"
MODE_TAG = "switchman.mode"
RELAX_TAG = "switchman.relax-pins"
# Part of the key of a relaxed build, so it never stands in for the strict one (issue 11).
_RELAX_KEY_LINE = "# switchman: relax-pins"


def requirements_of(resolved: dict[str, Any]) -> Requirements:
    """What a resolved environment asks for; an environment without a conda file asks for nothing."""
    conda = resolved.get("conda_file")
    if isinstance(conda, dict):
        return from_conda(
            conda, source=f"the conda file of environment {resolved.get('name') or '(inline)'}"
        )
    return Requirements()


def is_host_mode(resolved: dict[str, Any] | None, mode: str | None = None) -> bool:
    """True when the deployment asked for the platform's interpreter (env var or tag)."""
    if mode is not None:
        return mode.strip().lower() == HOST_MODE
    tags = (resolved or {}).get("tags") or {}
    return str(tags.get(MODE_TAG, "")).strip().lower() == HOST_MODE


def relax_pins(resolved: dict[str, Any] | None) -> bool:
    """True when the environment is tagged ``switchman.relax-pins: true`` (docs/mlflow.md)."""
    tags = (resolved or {}).get("tags") or {}
    return str(tags.get(RELAX_TAG, "")).strip().lower() in ("1", "true", "yes")


def environment_key(resolved: dict[str, Any]) -> str:
    """The content key of a resolved environment's isolated venv."""
    lines = install_lines(requirements_of(resolved))
    return content_key([*lines, _RELAX_KEY_LINE] if relax_pins(resolved) else lines)


def install_lines(requirements: Requirements) -> list[str]:
    """The full requirement list of an isolated environment: the user's pins win over the runtime's."""
    return merge(requirements.packages, RUNTIME_REQUIREMENTS)


def content_key(lines: Iterable[str]) -> str:
    """sha256 over the requirement lines, the Python version and the cache format."""
    payload = {"format": FORMAT, "python": running_python(), "requirements": list(lines)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def environment_hash(resolved: dict[str, Any] | None, mode: str | None = None) -> str | None:
    """The key of the isolated environment a resolved environment maps to.

    None when no isolated environment is involved (no environment, or host mode). An environment
    that the platform's interpreter happens to satisfy still has a key: keeping a key that has no
    folder is harmless, and this function stays pure (no interpreter probing).
    """
    if resolved is None or is_host_mode(resolved, mode):
        return None
    return environment_key(resolved)


def env_dir(home: Home, key: str) -> Path:
    return home.envs_dir / key


def built_keys(home: Home) -> list[str]:
    """Keys of the complete environments under ``home.envs_dir``."""
    if not home.envs_dir.is_dir():
        return []
    return sorted(
        p.name for p in home.envs_dir.iterdir() if p.is_dir() and (p / COMPLETE_MARKER).exists()
    )


def prune(home: Home, keep: Iterable[str]) -> list[str]:
    """Remove built environments (and leftovers of failed builds) whose key is not in ``keep``.

    Returns:
        The keys (folder names) removed.
    """
    kept = set(keep)
    removed: list[str] = []
    if not home.envs_dir.is_dir():
        return removed
    for path in sorted(home.envs_dir.iterdir()):
        if not path.is_dir() or path.name in kept:
            continue
        # A temporary build folder of a running build is ".<key>.tmp-<pid>": leave live ones alone.
        if path.name.startswith(".") and _builder_alive(path.name):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path.name)
    return removed


def _builder_alive(name: str) -> bool:
    pid = name.rsplit("-", 1)[-1]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runtime_pythonpath(home: Home) -> Path:
    """A folder to put on PYTHONPATH so an isolated environment imports this Switchman.

    It holds one symlink, ``switchman`` → the installed package, so the runtime runs from the
    platform's own code without installing Switchman into every environment. The link is
    re-pointed atomically when the installed package moved.
    """
    folder = home.root / "runtime-path"
    folder.mkdir(parents=True, exist_ok=True)
    target = Path(switchman.__file__).resolve().parent
    link = folder / "switchman"
    if link.is_symlink() and Path(os.readlink(link)) == target:
        return folder
    tmp = folder / f".switchman.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target, target_is_directory=True)
    os.replace(tmp, link)
    return folder
