"""A Docker build context (``build.path``) → the Python packages it installs, without Docker.

Switchman does not run Docker. It reads what the image would install:

1. the Dockerfile (``build.dockerfile_path``, default ``Dockerfile``): every ``RUN pip install ...``
   (also ``pip3``, ``python -m pip``, ``uv pip``) contributes its package arguments, a ``-r FILE``
   there reads FILE from the context, and ``conda env create|update -f FILE`` reads that conda file;
2. without such lines, ``requirements.txt``, then ``conda.yaml`` / ``conda.yml`` /
   ``environment.yml`` at the context's top.

The result is an inline conda mapping (``{"dependencies": [..., {"pip": [...]}]}``), so a
deployment keeps what the context said at the time it was created.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import yaml

from switchman.environments.conda import from_requirements_text
from switchman.errors import BadArgumentError

_PIP_INSTALL = re.compile(
    r"(?:^|&&|;|\|\|)\s*(?:\S*python3?\S*\s+-m\s+)?(?:uv\s+)?pip3?\s+install\s+([^&;|]*)"
)
_CONDA_FILE = re.compile(r"conda\s+env\s+(?:create|update)\b[^&;|]*?(?:-f|--file)[ =](\S+)")
_SIMPLE_FILES = ("conda.yaml", "conda.yml", "environment.yml", "environment.yaml")
# pip options that take a value: skip both tokens.
_VALUE_OPTIONS = {"-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-c", "--constraint", "--target", "-t", "--prefix"}  # fmt: skip


def read_context(path: str | Path, dockerfile: str = "Dockerfile") -> dict[str, Any]:
    """The inline conda mapping a build context amounts to (see the module docstring).

    Raises:
        BadArgumentError: the context folder or a file its Dockerfile names is missing or unreadable.
    """
    root = Path(path)
    if not root.is_dir():
        raise BadArgumentError(
            f"The environment's build.path {str(root)!r} is not a folder. Point build.path at the "
            "Docker build context (the folder holding the Dockerfile), or use conda_file instead."
        )
    pip: list[str] = []
    conda: list[Any] = []
    docker = root / dockerfile
    if docker.is_file():
        for command in _run_commands(docker.read_text()):
            for args in _PIP_INSTALL.findall(command):
                pip.extend(_pip_args(args, root))
            for name in _CONDA_FILE.findall(command):
                conda.extend(_conda_deps(_in_context(root, name, docker)))
    if not pip and not conda:
        if (root / "requirements.txt").is_file():
            pip.extend(from_requirements_text((root / "requirements.txt").read_text()))
        for name in _SIMPLE_FILES:
            if (root / name).is_file():
                conda.extend(_conda_deps(root / name))
                break
    deps = [d for d in conda if not isinstance(d, dict)]
    pip = [line for d in conda if isinstance(d, dict) for line in d.get("pip") or []] + pip
    if pip:
        deps.append({"pip": pip})
    return {"name": root.name, "dependencies": deps}


def _run_commands(text: str) -> list[str]:
    """RUN instructions of a Dockerfile, continuation lines joined."""
    joined = re.sub(r"\\\s*\n", " ", text)
    return [
        line.strip()[4:] for line in joined.splitlines() if line.strip().upper().startswith("RUN ")
    ]


def _pip_args(args: str, root: Path) -> list[str]:
    try:
        tokens = shlex.split(args)
    except ValueError:
        tokens = args.split()
    out: list[str] = []
    skip = False
    for i, token in enumerate(tokens):
        if skip:
            skip = False
            continue
        if token in ("-r", "--requirement") and i + 1 < len(tokens):
            out.extend(from_requirements_text(_in_context(root, tokens[i + 1], root).read_text()))
            skip = True
        elif token in _VALUE_OPTIONS:
            skip = True
        elif not token.startswith("-") and not token.startswith((".", "/")):
            out.append(token)
    return out


def _in_context(root: Path, name: str, referrer: Path) -> Path:
    # Dockerfiles COPY files to image paths; match them by file name inside the context.
    candidates = [root / name, root / Path(name).name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BadArgumentError(
        f"{referrer} refers to {name!r}, which is not in the build context {root}. Put the file in "
        "the context folder (Switchman reads it from there; it does not run Docker)."
    )


def _conda_deps(file: Path) -> list[Any]:
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise BadArgumentError(f"Cannot read the conda file {file}: {exc}.") from None
    deps = data.get("dependencies") if isinstance(data, dict) else None
    return list(deps) if isinstance(deps, list) else []
