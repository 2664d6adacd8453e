"""Turn a resolved environment into a Python interpreter: the platform's own, or a cached `uv` venv.

Build protocol (one builder per key, any number of waiting readers):

1. ``envs/<key>/.complete`` exists → cache hit, return ``envs/<key>/bin/python`` (no lock taken).
2. Take ``envs/<key>.lock`` (``fcntl.flock``, blocking): a second instance needing the same
   environment waits here for the first build, then finds the marker and returns.
3. Build into ``envs/.<key>.tmp-<pid>`` (``uv venv --relocatable`` on the platform's base Python,
   then ``uv pip install -r requirements.txt``), write ``.complete`` inside it, and rename it to
   ``envs/<key>``: a folder named after a key is always a complete environment.

All output goes to the ``log`` stream (the instance's storage-initializer log).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import uv

from switchman.environments.cache import (
    COMPLETE_MARKER,
    env_dir,
    environment_key,
    install_lines,
    is_host_mode,
    relax_pins,
    requirements_of,
)
from switchman.environments.conda import Requirements, running_python
from switchman.errors import SwitchmanError
from switchman.home import Home

LOG_PREFIX = "[environment]"
# Options that say how to install, not where from: installed packages satisfy them as they are.
_SOURCE_NEUTRAL = ("--only-binary", "--prefer-binary")
_TAIL_LINES = 60


class EnvironmentBuildError(SwitchmanError):
    """An isolated environment could not be built; the message names the failing package."""

    status = 400
    default_code = "ImageBuildFailure"
    package: str | None = None  # what uv blamed, e.g. "numpy==1.21.6"


def prepare(
    environment: dict[str, Any] | None, *, home: Home, log: TextIO, mode: str | None = None
) -> Path:
    """The Python interpreter an instance of this environment runs on.

    Args:
        environment: the resolved environment (:func:`switchman.environments.resolve`), or None.
        home: the Switchman home whose ``envs/`` caches built environments.
        log: where build output goes (the storage-initializer log).
        mode: the deployment's ``SWITCHMAN_ENVIRONMENT_MODE``; ``"host"`` forces the platform's
            interpreter (as does the tag ``switchman.mode: host`` on the environment).

    Returns:
        The platform's interpreter when there is no environment, in host mode, or when it already
        satisfies every requirement; else ``envs/<key>/bin/python`` of a cached isolated venv.

    Raises:
        EnvironmentBuildError: ``uv`` could not resolve or install the requirements.
    """
    host = Path(sys.executable)
    if environment is None:
        _say(log, "no environment given: using the platform's Python")
        return host
    _note_ignored(environment, log)
    if is_host_mode(environment, mode):
        _say(log, f"host mode: using the platform's Python {host}, requirements not checked")
        return host
    requirements = requirements_of(environment)
    for note in requirements.notes:
        _say(log, note)
    lines = install_lines(requirements)
    key = environment_key(environment)
    target = env_dir(home, key)
    if (target / COMPLETE_MARKER).exists():  # checked first: a cache hit costs one stat()
        _say(log, f"using cached environment {key[:12]} ({target})")
        return target / "bin" / "python"
    if host_satisfies(requirements):
        _say(log, f"the platform's Python satisfies every requirement: using {host}")
        return host
    return _cached_or_built(key, lines, home=home, log=log, relax=relax_pins(environment))


def host_satisfies(requirements: Requirements) -> bool:
    """True when the platform's interpreter already has every requirement at an accepted version.

    ``uv pip install --dry-run --offline`` against the running interpreter answers exactly this,
    with uv's own PEP 440/508 evaluation (extras, markers, dependencies of the packages), without
    touching the network and without importing `packaging`, which is not a runtime dependency.
    """
    lines = [line for line in requirements.packages if not line.startswith("-")]
    if not lines:
        return True
    options = [line for line in requirements.packages if line.startswith("-")]
    if any(not line.startswith(_SOURCE_NEUTRAL) for line in options):
        return False  # index options (--extra-index-url): the user wants a specific source
    proc = subprocess.run(
        [
            _uv(),
            "pip",
            "install",
            "--dry-run",
            "--offline",
            "--no-config",
            "--python",
            sys.executable,
            *lines,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=_uv_env(),
    )
    return proc.returncode == 0 and "Would make no changes" in proc.stderr + proc.stdout


def _cached_or_built(
    key: str, lines: list[str], *, home: Home, log: TextIO, relax: bool = False
) -> Path:
    target = env_dir(home, key)
    python = target / "bin" / "python"
    if (target / COMPLETE_MARKER).exists():
        _say(log, f"using cached environment {key[:12]} ({target})")
        return python
    home.envs_dir.mkdir(parents=True, exist_ok=True)
    with _locked(home.envs_dir / f"{key}.lock", log):
        if (target / COMPLETE_MARKER).exists():
            _say(log, f"environment {key[:12]} was built by another instance: using it")
            return python
        if target.exists():  # a folder without its marker cannot come from a finished build
            shutil.rmtree(target)
        if relax:
            from switchman.environments.relax import build_relaxed

            build_relaxed(lines, lambda attempt: _build(target, attempt, log), log=log)
        else:
            _build(target, lines, log)
    return python


@contextmanager
def _locked(path: Path, log: TextIO) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            _say(log, "another instance is building this environment: waiting for it")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _build(target: Path, lines: list[str], log: TextIO) -> None:
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    started = time.monotonic()
    _say(log, f"building environment {target.name[:12]} in {target} with uv:")
    for line in lines:
        log.write(f"    {line}\n")
    try:
        _run(
            [_uv(), "venv", "--relocatable", "--no-config", "--python", base_python(), str(tmp)],
            log,
        )
        requirements = tmp / "requirements.txt"
        requirements.write_text("".join(line + "\n" for line in lines))
        _run(
            # Bytecode compiled once here makes every instance start faster (with
            # PYTHONDONTWRITEBYTECODE set, imports would otherwise recompile on each start).
            [_uv(), "pip", "install", "--no-config", "--compile-bytecode",
             "--python", str(tmp / "bin" / "python"), "-r", str(requirements)],
            log,
        )  # fmt: skip
        (tmp / COMPLETE_MARKER).write_text(f"built in {time.monotonic() - started:.1f}s\n")
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _say(log, f"environment {target.name[:12]} built in {time.monotonic() - started:.1f}s")


def _run(command: list[str], log: TextIO) -> None:
    """Run a uv command, copying its output to ``log``; a failure raises EnvironmentBuildError."""
    tail: deque[str] = deque(maxlen=_TAIL_LINES)
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        env=_uv_env(),
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            tail.append(line.rstrip("\n"))
        code = proc.wait()
    log.flush()
    if code != 0:
        error = EnvironmentBuildError(build_failure_message(list(tail)))
        error.package = failing_package(list(tail))
        raise error


# uv's resolver and installer wording (uv 0.4 … 0.13), most specific first.
_CULPRITS = (
    re.compile(r"([A-Za-z0-9][A-Za-z0-9._\-\[\]]*[<>=!~]=?[^\s,]+) has no usable wheels"),
    re.compile(r"there is no version of ([A-Za-z0-9][A-Za-z0-9._\-\[\],]*(?:[=<>!~]=?[^\s,]+)?)"),
    re.compile(r"\b([A-Za-z0-9][A-Za-z0-9._-]*) was not found in the (?:package registry|provided package locations)"),
    re.compile(r"Failed to (?:build|download|fetch|prepare distributions for|install) `?([^`\s:]+)`?"),
    re.compile(r"only ([A-Za-z0-9][A-Za-z0-9._-]*[<>=!~]=?[^\s,]+) (?:is|are) available"),
    # A pin that conflicts with another one: uv's last step names the direct requirement.
    re.compile(r"you require ([A-Za-z0-9][A-Za-z0-9._\-\[\]]*==[^\s,]+), we can conclude that your requirements are unsatisfiable"),
)  # fmt: skip


def failing_package(output: list[str]) -> str | None:
    """The package uv's output blames, e.g. ``foo==9.9`` from "there is no version of foo==9.9"."""
    text = "\n".join(output)
    for pattern in _CULPRITS:
        match = pattern.search(text)
        if match:
            return match.group(1).rstrip(".,")
    return None


def build_failure_message(output: list[str]) -> str:
    """One paragraph for a failed build: the package, uv's reason, and what to do."""
    package = failing_package(output)
    reason = _reason(output)
    what = f"the package {package} could not be installed" if package else "uv failed"
    return (
        f"Environment build failed: {what} on Python {running_python()} ({base_python()}) "
        f"({reason}). Fix the version pin or the package name in the environment's conda file "
        "(or requirements), or set SWITCHMAN_RELAX_PINS=1 to install the nearest installable "
        "version instead, then update the deployment. The whole "
        "build output is in the storage-initializer log (`switchman online-deployment get-logs "
        "--container storage-initializer`)."
    )


def _reason(output: list[str]) -> str:
    """uv's own explanation: its "Because ..." line, else its first error line, else its last line."""
    lines = [line.strip() for line in output if line.strip()]
    for marker in ("Because", "error:", "\u00d7"):
        for line in lines:
            if marker in line:
                return line.removeprefix("cause:").removeprefix("╰─▶").strip()
    return lines[-1] if lines else "uv exited with an error"


def base_python() -> str:
    """The interpreter the platform's venv was made from; isolated venvs are built on it."""
    return str(getattr(sys, "_base_executable", None) or sys.executable)


def _uv() -> str:
    return str(uv.find_uv_bin())


def _uv_env() -> dict[str, str]:
    env = dict(os.environ)
    # The platform's own venv must not leak into the environment uv builds or checks.
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    env.setdefault("UV_NO_PROGRESS", "1")
    return env


def _note_ignored(environment: dict[str, Any], log: TextIO) -> None:
    if environment.get("image"):
        _say(
            log,
            f"image {environment['image']} recorded and ignored: instances run without containers",
        )
    if environment.get("inference_config"):
        _say(
            log,
            "inference_config recorded and ignored: Switchman runs the Azure ML scoring runtime",
        )


def _say(log: TextIO, message: str) -> None:
    log.write(f"{LOG_PREFIX} {message}\n")
    log.flush()
