"""A conda environment file → the pip requirements Switchman installs with `uv`.

Rules (documented in docs/environments.md):

- the ``pip:`` list is taken as is (options such as ``--extra-index-url`` included);
- conda packages map to their PyPI names (``pytorch`` → ``torch``, ``py-xgboost`` → ``xgboost``, ...)
  and conda version specs to PEP 440 (``numpy=1.23`` → ``numpy==1.23.*``, ``numpy==1.23.5`` stays);
- ``python`` and ``pip`` are not packages here: the environment runs on the platform's Python, and a
  note says so when the requested Python differs;
- conda-only packages (compilers, BLAS, CUDA toolkits, C libraries) are dropped with a note naming them;
- ``azureml-defaults``, ``azureml-inference-server-http``, ``azureml-core`` and
  ``azureml-contrib-services`` are dropped with a note: Switchman's runtime provides their API, and
  they pull in hundreds of megabytes of Azure SDKs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from switchman.environments.requirement import name_of, normalize
from switchman.errors import BadArgumentError

CONDA_TO_PYPI: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "py-catboost": "catboost",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "tensorflow-base": "tensorflow",
    "numpy-base": "numpy",
    "pyqt": "pyqt5",
    "ruamel_yaml": "ruamel.yaml",
}

CONDA_ONLY: frozenset[str] = frozenset(
    {
        "mkl", "mkl-service", "mkl-fft", "mkl-random", "mkl-include", "mkl-devel", "intel-openmp",
        "cudatoolkit", "cudatoolkit-dev", "cudnn", "nccl", "pytorch-cuda", "pytorch-mutex", "cpuonly",
        "libgcc", "libgcc-ng", "libstdcxx-ng", "libgfortran", "libgfortran-ng", "libgfortran5",
        "libgomp", "-libgcc-mutex", "-openmp-mutex", "openblas", "libopenblas", "blas", "libblas",
        "libcblas", "liblapack", "liblapacke", "openssl", "ca-certificates", "readline", "sqlite",
        "tk", "xz", "zlib", "libzlib", "ncurses", "libffi", "ld-impl-linux-64", "libuuid", "bzip2",
        "libiconv", "libxml2", "icu", "gcc", "gxx", "gcc-linux-64", "gxx-linux-64", "make",
        "nodejs", "ffmpeg", "libjpeg-turbo", "jpeg", "libpng", "freetype", "arrow-cpp",
        "libprotobuf", "libuv", "git", "curl", "libcurl", "krb5", "libnsl", "libxcrypt",
    }
)  # fmt: skip
_CONDA_ONLY_PREFIXES = ("cuda-", "libcu", "libnv", "r-")

RUNTIME_PROVIDED: frozenset[str] = frozenset(
    {
        "azureml-defaults",
        "azureml-inference-server-http",
        "azureml-core",
        "azureml-contrib-services",
    }
)

# name, then an optional conda version spec; an optional "channel::" prefix is dropped.
_CONDA_SPEC = re.compile(r"^\s*(?:[\w.-]+::)?([A-Za-z0-9_.-]+)\s*(.*?)\s*$")
_OPERATORS = ("==", ">=", "<=", "!=", "~=", ">", "<")


@dataclass(frozen=True)
class Requirements:
    """What an environment asks for, after mapping.

    Attributes:
        packages: pip requirement lines (and pip options), in the file's order.
        notes: one line per thing changed or dropped, for the build log.
        python: the Python version the file asked for, if any (``3.9``).
    """

    packages: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    python: str | None = None
    dropped: tuple[str, ...] = field(default=(), compare=False)


def running_python() -> str:
    """``major.minor.micro`` of the interpreter environments are built on."""
    return ".".join(str(p) for p in sys.version_info[:3])


def from_conda(conda: Mapping[str, Any], *, source: str = "the conda file") -> Requirements:
    """Map a conda environment mapping (``dependencies`` with an optional ``pip:`` list).

    Raises:
        BadArgumentError: an entry of ``dependencies`` is neither text nor a ``pip:`` mapping.
    """
    deps = conda.get("dependencies") or []
    if not isinstance(deps, list):
        raise BadArgumentError(
            f"`dependencies` in {source} must be a list (of conda specs and one `pip:` list), "
            f"not {type(deps).__name__}."
        )
    packages: list[str] = []
    notes: list[str] = []
    dropped: list[str] = []
    python: str | None = None
    for entry in deps:
        if isinstance(entry, dict):
            pip_list = entry.get("pip")
            if set(entry) != {"pip"} or not isinstance(pip_list, list):
                raise BadArgumentError(
                    f"{source}: a mapping in `dependencies` must be `pip:` with a list of "
                    f"requirements, got {entry!r}."
                )
            packages.extend(str(line).strip() for line in pip_list if str(line).strip())
            continue
        if not isinstance(entry, str | int | float):
            raise BadArgumentError(f"{source}: `dependencies` entry {entry!r} is not a conda spec.")
        name, version = _split_conda(str(entry))
        key = normalize(name)
        if key == "python":
            python = version.lstrip("=") or None
            continue
        if key == "pip":
            continue
        if key in CONDA_ONLY or key.startswith(_CONDA_ONLY_PREFIXES) or name.startswith("_"):
            dropped.append(name)
            continue
        pypi = CONDA_TO_PYPI.get(key, name)
        if pypi != name:
            notes.append(f"conda package {name} is {pypi} on PyPI")
        packages.append(pypi + _pep440(version, entry=str(entry), notes=notes))
    if dropped:
        notes.append(
            "dropped conda-only packages (no PyPI equivalent, not needed by pip wheels): "
            + ", ".join(dropped)
        )
    kept, provided = _without_runtime_provided(packages)
    if provided:
        notes.append(
            "dropped " + ", ".join(provided) + ": Switchman's runtime provides the Azure ML "
            "inference server API (init/run, AMLRequest/AMLResponse, rawhttp) itself"
        )
    if python and not _python_matches(python, running_python()):
        notes.append(
            f"the conda file asks for Python {python}; this environment uses the platform's "
            f"Python {running_python()}"
        )
    return Requirements(tuple(kept), tuple(notes), python, tuple(dropped + provided))


def _split_conda(spec: str) -> tuple[str, str]:
    match = _CONDA_SPEC.match(spec)
    if not match:
        raise BadArgumentError(f"Cannot read the conda spec {spec!r}; write it as name=version.")
    version = match.group(2)
    if version.startswith(_OPERATORS):
        return match.group(1), version.replace(" ", "")
    # "numpy 1.23.5 py39_0" is conda's "version build" form: the same as "numpy=1.23.5=py39_0".
    return match.group(1), "=".join(version.split())


def _pep440(version: str, *, entry: str, notes: list[str]) -> str:
    """A conda version spec as a PEP 440 specifier (empty for none)."""
    if not version:
        return ""
    if "|" in version:
        notes.append(
            f"conda spec {entry!r} has alternatives (|), which pip cannot express; unpinned"
        )
        return ""
    if version.startswith(_OPERATORS):
        # A build string may follow a second "=" (numpy==1.23.5=py39h...): drop it.
        op = next(o for o in _OPERATORS if version.startswith(o))
        rest = version[len(op) :].split("=", 1)[0] if op == "==" else version[len(op) :]
        return op + rest
    # "=1.23" / "1.23" (and an optional "=build"): conda's fuzzy match, PEP 440 prefix match.
    base = version.lstrip("=").split("=", 1)[0]
    return "==" + (base if base.endswith("*") else base + ".*")


def _python_matches(requested: str, running: str) -> bool:
    wanted = requested.lstrip("=<>!~").rstrip(".*")
    if requested.startswith((">", "<", "!", "~")):
        return True  # a range: the resolver checks packages' Requires-Python anyway
    return running == wanted or running.startswith(wanted + ".")


def _without_runtime_provided(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    kept: list[str] = []
    provided: list[str] = []
    for line in lines:
        if name_of(line) in RUNTIME_PROVIDED:
            provided.append(line)
        else:
            kept.append(line)
    return kept, provided


def from_requirements_text(text: str) -> list[str]:
    """Lines of a requirements.txt, comments and blank lines removed."""
    lines = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines
