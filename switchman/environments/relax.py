"""Relaxed pins: replace a pin that cannot be installed by the nearest installable version.

Old MLflow models pin what was installed where they were trained (``numpy==1.21.6`` on Python
3.8); on this interpreter such a pin may have no wheel at all. With ``SWITCHMAN_RELAX_PINS=1``
(docs/mlflow.md) the builder does not fail on it: :func:`build_relaxed` retries the build with
that one pin replaced, and logs a warning naming the old and the new version.

"Nearest" means: the lowest version at or above the pin that has a wheel for this interpreter and
agrees with the other exact pins (``uv pip compile --resolution lowest-direct``); when there is
none above, the highest one below it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from switchman.environments.requirement import name_of, normalize

MAX_RELAXED = 8
WARNING = "[environment] WARNING"
_EXACT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*===?\s*([^\s;,]+)\s*(;.*)?$")

Nearest = Callable[[list[str], str, str], str | None]
"""``nearest(lines, name, pinned_version)`` → an installable version, or None."""


def exact_pin(line: str) -> tuple[str, str] | None:
    """``("numpy", "1.21.6")`` for ``numpy==1.21.6``; None for anything that is not ``==``."""
    match = _EXACT.match(line)
    if not match:
        return None
    return normalize(match.group(1)), match.group(3)


def find_pin(lines: list[str], culprit: str | None) -> tuple[int, str, str] | None:
    """The index, name and version of the exact pin uv blamed (``culprit`` as uv wrote it)."""
    if not culprit:
        return None
    wanted = name_of(culprit)
    for index, line in enumerate(lines):
        pin = exact_pin(line)
        if pin is not None and pin[0] == wanted:
            return index, pin[0], pin[1]
    return None


def replace_pin(lines: list[str], index: int, name: str, version: str) -> list[str]:
    """``lines`` with line ``index`` pinned to ``name==version`` (its extras and marker kept)."""
    match = _EXACT.match(lines[index])
    extras = (match.group(2) or "") if match else ""
    marker = (match.group(4) or "") if match else ""
    out = list(lines)
    out[index] = f"{name}{extras}=={version}{(' ' + marker.strip()) if marker else ''}"
    return out


def compile_inputs(
    lines: list[str], index: int, name: str, version: str, *, above: bool
) -> list[str]:
    """What to resolve: the culprit as a range, with the other exact pins it must agree with."""
    others = [line for i, line in enumerate(lines) if i != index and exact_pin(line)]
    bound = f">={version}" if above else f"<{version}"
    return ["--only-binary :all:", f"{name}{bound}", *others]


def compiled_version(output: str, name: str) -> str | None:
    """The version ``uv pip compile`` chose for ``name`` (its ``name==V`` line)."""
    for line in output.splitlines():
        pin = exact_pin(line.split("#", 1)[0])
        if pin is not None and pin[0] == name:
            return pin[1]
    return None


def uv_nearest(uv: str, python: str, env: dict[str, str]) -> Nearest:
    """A :data:`Nearest` that asks ``uv pip compile`` (needs the package index)."""

    def nearest(lines: list[str], name: str, version: str) -> str | None:
        index = next(i for i, line in enumerate(lines) if (exact_pin(line) or ("",))[0] == name)
        for above in (True, False):
            inputs = compile_inputs(lines, index, name, version, above=above)
            with tempfile.TemporaryDirectory(prefix="switchman-relax-") as tmp:
                file = Path(tmp) / "requirements.in"
                file.write_text("".join(line + "\n" for line in inputs))
                command = [uv, "pip", "compile", "--no-config", "--quiet", "--no-header",
                           "--python", python, str(file)]  # fmt: skip
                if above:
                    command[3:3] = ["--resolution", "lowest-direct"]
                done = subprocess.run(
                    command, capture_output=True, text=True, check=False, env=env, timeout=300
                )
            if done.returncode == 0:
                found = compiled_version(done.stdout, name)
                if found is not None:
                    return found
        return None

    return nearest


def build_relaxed(
    lines: list[str],
    build: Callable[[list[str]], None],
    *,
    log: TextIO,
    nearest: Nearest | None = None,
    limit: int = MAX_RELAXED,
) -> list[str]:
    """Build with ``lines``; on a failure that blames an exact pin, relax that pin and retry.

    Args:
        lines: the requirement lines.
        build: builds one attempt; raises ``EnvironmentBuildError`` (with ``.package``) on failure.
        log: where the warnings go (the storage-initializer log).
        nearest: finds the replacement version (default: :func:`uv_nearest`).
        limit: how many pins may be relaxed before giving up.

    Returns:
        The lines that built.

    Raises:
        EnvironmentBuildError: a failure that no pin explains, no installable version, or more
            than ``limit`` relaxed pins; the message lists the pins relaxed so far.
    """
    from switchman.environments.builder import EnvironmentBuildError

    if nearest is None:
        from switchman.environments.builder import _uv, _uv_env, base_python

        nearest = uv_nearest(_uv(), base_python(), _uv_env())
    relaxed: list[str] = []
    current = list(lines)
    while True:
        try:
            build(current)
        except EnvironmentBuildError as exc:
            pin = find_pin(current, exc.package)
            if pin is None or len(relaxed) >= limit:
                raise _with_relaxed(exc, relaxed) from None
            index, name, version = pin
            found = nearest(current, name, version)
            if found is None or found == version:
                raise _with_relaxed(
                    exc, relaxed, f"no installable version of {name} was found near {version}"
                ) from None
            log.write(
                f"{WARNING}: {name}=={version} cannot be installed on this interpreter; "
                f"SWITCHMAN_RELAX_PINS is set, so {name}=={found} (the nearest installable "
                "version) is installed instead\n"
            )
            log.flush()
            relaxed.append(f"{name} {version} → {found}")
            current = replace_pin(current, index, name, found)
            continue
        return current


def _with_relaxed(exc: Exception, relaxed: list[str], extra: str = "") -> Exception:
    from switchman.environments.builder import EnvironmentBuildError

    message = getattr(exc, "message", str(exc))
    notes = []
    if extra:
        notes.append(extra)
    if relaxed:
        notes.append("pins relaxed before this failure: " + ", ".join(relaxed))
    if notes:
        message = f"{message} (SWITCHMAN_RELAX_PINS: {'; '.join(notes)}.)"
    error = EnvironmentBuildError(message)
    error.package = getattr(exc, "package", None)
    return error
