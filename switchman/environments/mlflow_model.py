"""The environment of an MLflow model deployed without one (issue 11, reference §12.2).

Azure ML builds such a deployment's image from the model's own ``conda.yaml`` plus
``mlflow-skinny`` and its inference server. Here the model's files become an inline conda mapping
that the ordinary environments machinery builds (uv, cached by content, the platform's own Python
when it already has every pin):

- the requirements come from ``conda.yaml`` (as in Azure ML), else ``python_env.yaml`` (its
  ``-r requirements.txt`` is read), else ``requirements.txt``;
- ``mlflow==V`` becomes ``mlflow-skinny==V``: scoring needs pyfunc, not MLflow's tracking server
  and UI; ``mlflow-skinny`` and ``pandas`` are added when the model does not name them;
- wheels only (``--only-binary :all:``): a pin that has no wheel for this interpreter fails at
  once with the package named, instead of compiling an old release from source for minutes;
- ``relax=True`` tags the environment ``switchman.relax-pins: "true"``: the builder then replaces
  each pin that cannot be installed by the nearest installable version and warns (see
  :mod:`switchman.environments.relax`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from switchman.environments.cache import RELAX_TAG
from switchman.environments.conda import from_requirements_text
from switchman.environments.requirement import name_of
from switchman.errors import BadArgumentError

ONLY_BINARY = "--only-binary :all:"
RELAX_VARIABLE = "SWITCHMAN_RELAX_PINS"
SOURCE_TAG = "switchman.source"
# What the built-in scorers import besides the model's own packages.
SCORER_REQUIREMENTS: tuple[str, ...] = ("mlflow-skinny", "pandas")
BATCH_REQUIREMENTS: tuple[str, ...] = ("pyarrow", "pillow")


def relax_requested(variables: Mapping[str, str] | None = None) -> bool:
    """``SWITCHMAN_RELAX_PINS`` in the deployment's variables, else in the platform's environment."""
    raw = (variables or {}).get(RELAX_VARIABLE)
    if raw is None:
        raw = os.environ.get(RELAX_VARIABLE, "")
    return raw.strip().lower() in ("1", "true", "yes", "on")


def model_environment(
    model_dir: str | Path, *, relax: bool = False, extras: Iterable[str] = ()
) -> dict[str, Any]:
    """The resolved environment (an inline conda mapping) for the MLflow model in ``model_dir``.

    Args:
        model_dir: the folder that holds ``MLmodel``.
        relax: replace uninstallable pins by the nearest installable version (with a warning).
        extras: more requirement lines (the batch scorer adds pyarrow and pillow).

    Raises:
        BadArgumentError: the model's conda.yaml or python_env.yaml cannot be read.
    """
    root = Path(model_dir)
    python, conda, pip, source = _model_requirements(root)
    lines = [ONLY_BINARY, *skinny(pip)]
    named = {name_of(line) for line in lines}
    lines += [req for req in (*SCORER_REQUIREMENTS, *extras) if name_of(req) not in named]
    deps: list[Any] = [f"python={python}"] if python else []
    deps += [*conda, {"pip": lines}]
    tags = {SOURCE_TAG: f"mlflow-model:{source or 'none'}"}
    if relax:
        tags[RELAX_TAG] = "true"
    return {
        "name": "mlflow-model-environment",
        "description": f"Built from the MLflow model's {source or 'MLmodel (no requirement file)'}",
        "conda_file": {"name": "mlflow-env", "dependencies": deps},
        "tags": tags,
    }


def skinny(lines: Iterable[str]) -> list[str]:
    """``mlflow[extras]==V`` → ``mlflow-skinny==V``; other lines unchanged."""
    out: list[str] = []
    for line in lines:
        if name_of(line) == "mlflow":
            rest = line.strip()[len("mlflow") :]
            if rest.startswith("["):
                rest = rest[rest.index("]") + 1 :] if "]" in rest else ""
            out.append("mlflow-skinny" + rest)
        else:
            out.append(line)
    return out


def _model_requirements(root: Path) -> tuple[str | None, list[str], list[str], str | None]:
    """(python version, conda packages, pip lines, which file) from the model folder."""
    conda = root / "conda.yaml"
    if conda.is_file():
        data = _yaml(conda)
        python: str | None = None
        others: list[str] = []
        pip: list[str] = []
        for dep in data.get("dependencies") or []:
            if isinstance(dep, dict):
                pip.extend(str(x).strip() for x in dep.get("pip") or [] if str(x).strip())
            elif str(dep).split("=")[0].strip().lower() == "python":
                python = str(dep).split("=", 1)[1].lstrip("=") if "=" in str(dep) else None
            elif name_of(str(dep)) not in ("pip", "setuptools", "wheel"):
                others.append(str(dep))  # mapped to PyPI by the conda machinery
        return python, others, _expand(pip, root), "conda.yaml"
    env = root / "python_env.yaml"
    if env.is_file():
        data = _yaml(env)
        deps = [str(x).strip() for x in data.get("dependencies") or [] if str(x).strip()]
        version = data.get("python")
        return (str(version) if version else None), [], _expand(deps, root), "python_env.yaml"
    req = root / "requirements.txt"
    if req.is_file():
        return None, [], from_requirements_text(req.read_text(encoding="utf-8")), "requirements.txt"
    return None, [], [], None


def _expand(lines: list[str], root: Path) -> list[str]:
    """Read ``-r FILE`` lines (relative to the model folder); drop other pip options."""
    out: list[str] = []
    for line in lines:
        if line.startswith(("-r ", "--requirement ")):
            file = root / line.split(None, 1)[1].strip()
            if file.is_file():
                out.extend(from_requirements_text(file.read_text(encoding="utf-8")))
            continue
        if not line.startswith("-"):
            out.append(line)
    return out


def _yaml(file: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadArgumentError(
            f"Cannot read the MLflow model's {file.name} ({file}): {exc}. Fix the file or give "
            "the deployment an environment of its own."
        ) from None
    if not isinstance(data, dict):
        raise BadArgumentError(
            f"The MLflow model's {file.name} ({file}) must be a YAML mapping with "
            "`dependencies:`; fix the file or give the deployment an environment of its own."
        )
    return data
