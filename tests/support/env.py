"""Helpers for the environment tests: one shared Switchman home for builds, and interpreter probes.

Builds need PyPI; every test module that builds environments uses :func:`shared_home`, so an
environment with the same content is built once per test session whichever module asks first.
"""

from __future__ import annotations

import io
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from switchman.environments import prepare, runtime_pythonpath
from switchman.home import Home

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "env"


def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """The session's environment home (same folder for every caller in this session)."""
    home = Home(tmp_path_factory.getbasetemp() / "env-shared-home")
    home.ensure()
    return home


def pip_env(*pip: str, conda: tuple[str, ...] = ()) -> dict[str, Any]:
    """A resolved inline environment with these conda specs and pip lines."""
    return {"conda_file": {"dependencies": [*conda, {"pip": list(pip)}]}}


def prepare_logged(environment: dict[str, Any] | None, home: Home) -> tuple[Path, str]:
    """``prepare`` with its build log captured."""
    log = io.StringIO()
    python = prepare(environment, home=home, log=log)
    return python, log.getvalue()


def probe(python: Path, home: Home, code: str) -> str:
    """Run ``code`` in ``python`` the way the launcher runs the runtime (Switchman on PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONHOME")}
    env["PYTHONPATH"] = str(runtime_pythonpath(home))
    done = subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
