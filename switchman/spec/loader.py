"""Read spec YAML files the way `az ml` does, with errors that name the file, line and field.

- ``$schema`` is accepted; unknown keys are errors naming the key, the file and its line.
- ``--set a.b=c`` overrides are applied before validation (values parsed as YAML scalars).
- Relative paths resolve against the YAML file's folder (the current folder without a file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from switchman.errors import BadArgumentError, SpecFileError
from switchman.spec.deployment import OnlineDeploymentSpec
from switchman.spec.environment import EnvironmentSpec
from switchman.spec.model import ModelSpec

SpecT = TypeVar("SpecT", bound=BaseModel)


def read_yaml(path: str | Path) -> tuple[dict[str, Any], yaml.Node | None]:
    """Parse a YAML mapping; return the data and its node tree (for line numbers)."""
    file = Path(path)
    try:
        text = file.read_text()
    except FileNotFoundError:
        raise SpecFileError(
            f"File not found: {file}. Check the path given with -f/--file."
        ) from None
    except OSError as exc:
        raise SpecFileError(f"Cannot read {file}: {exc.strerror}.") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{file}, line {mark.line + 1}, column {mark.column + 1}" if mark else str(file)
        problem = exc.problem or exc.context or "invalid YAML"
        raise SpecFileError(
            f"YAML syntax error in {where}: {problem}. Fix the YAML and retry."
        ) from None
    except yaml.YAMLError as exc:
        raise SpecFileError(f"YAML syntax error in {file}: {exc}.") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SpecFileError(
            f"{file} must hold a YAML mapping (key: value lines), not a {type(data).__name__}."
        )
    return data, node


def parse_set(assignments: Iterable[str]) -> list[tuple[list[str], Any]]:
    """Parse ``--set path=value`` items; the value is read as a YAML scalar (``2`` → int)."""
    parsed: list[tuple[list[str], Any]] = []
    for item in assignments:
        for part in _split_set_item(item):
            if "=" not in part:
                raise BadArgumentError(
                    f"--set expects path=value, got {part!r}; for example --set instance_count=2"
                )
            path, raw = part.split("=", 1)
            keys = [k for k in path.strip().split(".") if k]
            if not keys:
                raise BadArgumentError(f"--set has an empty path in {part!r}")
            try:
                value = yaml.safe_load(raw) if raw.strip() else ""
            except yaml.YAMLError:
                value = raw
            parsed.append((keys, value))
    return parsed


def _split_set_item(item: str) -> list[str]:
    # `az` accepts several assignments after one --set, separated by spaces.
    return [p for p in item.split(" ") if p] if " " in item and item.count("=") > 1 else [item]


def apply_set(data: dict[str, Any], assignments: Sequence[tuple[list[str], Any]]) -> dict[str, Any]:
    for keys, value in assignments:
        target: Any = data
        for key in keys[:-1]:
            if isinstance(target, list):
                target = target[int(key)]
                continue
            if not isinstance(target.get(key), dict | list):
                target[key] = {}
            target = target[key]
        if isinstance(target, list):
            target[int(keys[-1])] = value
        else:
            target[keys[-1]] = value
    return data


def _line_of(node: yaml.Node | None, loc: Sequence[int | str]) -> int | None:
    """Line (1-based) of the YAML key at ``loc`` in a composed node tree, best effort."""
    current = node
    line: int | None = None
    for part in loc:
        if isinstance(current, yaml.MappingNode):
            found = None
            for key_node, value_node in current.value:
                if key_node.value == str(part):
                    found = value_node
                    line = key_node.start_mark.line + 1
                    break
            if found is None:
                return line
            current = found
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(current.value):
                return line
            current = current.value[part]
            line = current.start_mark.line + 1
        else:
            return line
    return line


def _describe(exc: ValidationError, source: str, node: yaml.Node | None) -> str:
    problems: list[str] = []
    for err in exc.errors():
        # pydantic adds union-member names (e.g. "str", "ModelSpec") to loc; keep only real keys.
        loc = [
            p
            for p in err["loc"]
            if isinstance(p, int) or (p and not p[0].isupper() and p not in ("str", "int", "bool"))
        ]
        field = ".".join(str(p) for p in loc) or "(top level)"
        line = _line_of(node, loc)
        where = f"{source}, line {line}" if line else source
        if err["type"] == "extra_forbidden":
            problems.append(f"unknown key {field!r} in {where}; remove it or check its spelling")
        elif err["type"] == "missing":
            problems.append(f"missing required key {field!r} in {source}")
        else:
            msg = str(err["msg"]).removeprefix("Value error, ")
            problems.append(f"{field} in {where}: {msg}" if loc else f"in {where}: {msg}")
    unique = list(dict.fromkeys(problems))
    return "; ".join(unique[:5]) + ("" if len(unique) <= 5 else f" (and {len(unique) - 5} more)")


def validate(
    cls: type[SpecT], data: dict[str, Any], *, source: str, node: yaml.Node | None = None
) -> SpecT:
    """Validate ``data`` as ``cls``; a failure is a SpecFileError naming source, line and field."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise SpecFileError(f"Invalid {_kind(cls)}: {_describe(exc, source, node)}.") from None


def _kind(cls: type[BaseModel]) -> str:
    return {
        "OnlineEndpointSpec": "online endpoint",
        "OnlineDeploymentSpec": "online deployment",
        "ModelSpec": "model",
        "EnvironmentSpec": "environment",
        "RolloutSpec": "rollout",
        "BatchEndpointSpec": "batch endpoint",
        "BatchDeploymentSpec": "batch deployment",
        "AmlComputeSpec": "compute",
        "DataSpec": "data asset",
    }.get(cls.__name__, cls.__name__)


def load_spec(
    cls: type[SpecT],
    file: str | Path | None,
    *,
    overrides: Iterable[str] = (),
    defaults: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> tuple[SpecT, Path]:
    """Load one spec from a file (or from ``base``/``defaults`` alone), apply ``--set`` and validate.

    Args:
        cls: the spec model.
        file: YAML file, or None when the command line gives everything.
        overrides: ``--set`` items, applied last.
        defaults: values used when the file lacks them (e.g. ``-n`` / ``-e``), set before overrides.
        base: a starting document (the stored spec, for updates); the file's keys replace its keys.

    Returns:
        The validated spec and the folder that relative paths resolve against.
    """
    data: dict[str, Any] = dict(base or {})
    node: yaml.Node | None = None
    source = "the command line"
    folder = Path.cwd()
    if file is not None:
        file_data, node = read_yaml(file)
        data.update(file_data)
        source = str(file)
        folder = Path(file).resolve().parent
    for key, value in (defaults or {}).items():
        if value is not None:
            data[key] = value
    data = apply_set(data, parse_set(overrides))
    spec = validate(cls, data, source=source, node=node)
    return resolve_paths(spec, folder), folder


def _is_local(value: str) -> bool:
    return not value.startswith(("azureml:", "azureml://", "http://", "https://", "runs:/"))


def absolute(value: str, folder: Path) -> str:
    if not _is_local(value):
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (folder / path).resolve())


def resolve_paths(spec: SpecT, folder: Path) -> SpecT:
    """Make the local paths inside a spec absolute, relative to ``folder``, as `az ml` does."""
    if isinstance(spec, OnlineDeploymentSpec):
        if spec.code_configuration and spec.code_configuration.code:
            spec.code_configuration.code = absolute(spec.code_configuration.code, folder)
        if isinstance(spec.model, ModelSpec):
            resolve_paths(spec.model, folder)
        if isinstance(spec.environment, EnvironmentSpec):
            resolve_paths(spec.environment, folder)
    elif isinstance(spec, ModelSpec):
        if spec.path:
            spec.path = absolute(spec.path, folder)
    elif isinstance(spec, EnvironmentSpec):
        if isinstance(spec.conda_file, str):
            spec.conda_file = absolute(spec.conda_file, folder)
        if spec.build:
            spec.build.path = absolute(spec.build.path, folder)
    return spec
