"""The ``MLmodel`` file of an MLflow model folder: read and checked at registration (issue 11).

Pure YAML and JSON, no ``mlflow`` import: the control plane and the CLI must stay light. What is
checked (reference §12.2, §5.5):

- the path is a folder holding an ``MLmodel`` file that is a YAML mapping;
- ``flavors`` has ``python_function`` with a ``loader_module`` (Switchman scores MLflow models
  through pyfunc, as Azure ML's no-code path does);
- a ``signature``, when present, has JSON ``inputs`` / ``outputs`` / ``params`` lists of column or
  tensor specs;
- a saved input example, when named, is a file in the folder.

Every failure is a :class:`~switchman.errors.BadArgumentError` naming the file, the field, the
value and the fix.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from switchman.errors import BadArgumentError

MLMODEL = "MLmodel"
PYFUNC = "python_function"
ENV_FILES = ("conda.yaml", "python_env.yaml", "requirements.txt")


@dataclass(frozen=True)
class MLflowModel:
    """What Switchman needs from an ``MLmodel`` file.

    Attributes:
        flavors: the ``flavors`` mapping as written.
        loader_module: ``flavors.python_function.loader_module`` (``mlflow.sklearn``, ...).
        signature: ``{"inputs": [...], "outputs": [...], "params": [...]}`` with the JSON decoded,
            or None when the model has no signature.
        input_example: ``{"path": "input_example.json", "type": "dataframe", ...}`` or None.
        env_files: which of conda.yaml / python_env.yaml / requirements.txt the folder holds.
        mlflow_version: the MLflow version that saved the model, if written.
    """

    flavors: dict[str, Any]
    loader_module: str
    signature: dict[str, Any] | None = None
    input_example: dict[str, Any] | None = None
    env_files: tuple[str, ...] = ()
    mlflow_version: str | None = None
    python_version: str | None = field(default=None)

    def summary(self) -> dict[str, Any]:
        """The fields stored with the registered model and shown by ``model show``."""
        out: dict[str, Any] = {"flavors": self.flavors, "signature": self.signature}
        if self.input_example is not None:
            out["input_example"] = self.input_example
        if self.mlflow_version:
            out["mlflow_version"] = self.mlflow_version
        return out


def model_root(path: str | Path) -> Path:
    """The folder holding ``MLmodel``: ``path`` itself, or its parent when it names the file."""
    root = Path(path)
    if root.is_file() and root.name == MLMODEL:
        return root.parent
    return root


def read_mlmodel(path: str | Path) -> MLflowModel:
    """Read and check an MLflow model folder (see the module docstring).

    Raises:
        BadArgumentError: no folder, no or malformed ``MLmodel``, no pyfunc flavor, a bad
            signature, a missing input example file.
    """
    root = model_root(path)
    if not root.exists():
        raise BadArgumentError(
            f"The mlflow_model path {str(path)!r} does not exist. Give the folder that holds the "
            "MLmodel file (e.g. mlruns/0/<run>/artifacts/model); paths in a YAML file are "
            "relative to the file's folder."
        )
    if not root.is_dir():
        raise BadArgumentError(
            f"The mlflow_model path {str(root)!r} is a file; an MLflow model is a folder that "
            "holds an MLmodel file. Give that folder, or register the file with "
            "--type custom_model."
        )
    file = root / MLMODEL
    if not file.is_file():
        raise BadArgumentError(_no_mlmodel(root))
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BadArgumentError(
            f"The MLflow model file {file} is not valid YAML{where}: {problem}. Save the model "
            "again with mlflow (mlflow.<flavor>.save_model or log_model) or fix the file."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadArgumentError(f"Cannot read the MLflow model file {file}: {exc}.") from None
    if not isinstance(data, dict):
        raise BadArgumentError(
            f"The MLflow model file {file} must be a YAML mapping with a `flavors:` key, got "
            f"{type(data).__name__}. Save the model again with mlflow or fix the file."
        )
    flavors = data.get("flavors")
    if not isinstance(flavors, dict) or not flavors:
        raise BadArgumentError(
            f"The MLflow model file {file} has no `flavors:` mapping. Every MLflow model names "
            "its flavors (python_function, sklearn, ...); save the model again with mlflow."
        )
    pyfunc = flavors.get(PYFUNC)
    if not isinstance(pyfunc, dict):
        raise BadArgumentError(
            f"The MLflow model in {root} has the flavors {', '.join(map(str, flavors))} but no "
            f"`{PYFUNC}` flavor. Switchman (like Azure ML's no-code deployment) scores MLflow "
            "models through pyfunc: save the model with a flavor that adds python_function, or "
            "register it as --type custom_model and deploy it with a scoring script and an "
            "environment."
        )
    loader = pyfunc.get("loader_module")
    if not isinstance(loader, str) or not loader:
        raise BadArgumentError(
            f"`flavors.{PYFUNC}.loader_module` is missing in {file}; it names the module that "
            "loads the model (e.g. mlflow.sklearn). Save the model again with mlflow."
        )
    return MLflowModel(
        flavors=flavors,
        loader_module=loader,
        signature=_signature(data.get("signature"), file),
        input_example=_input_example(data.get("saved_input_example_info"), root, file),
        env_files=tuple(name for name in ENV_FILES if (root / name).is_file()),
        mlflow_version=str(data["mlflow_version"]) if data.get("mlflow_version") else None,
        python_version=str(pyfunc["python_version"]) if pyfunc.get("python_version") else None,
    )


def _no_mlmodel(root: Path) -> str:
    nested = sorted(p.parent for p in root.glob("*/MLmodel")) + sorted(
        p.parent for p in root.glob("*/*/MLmodel")
    )
    hint = (
        f" The folder {str(nested[0])!r} holds one: did you mean that path?"
        if nested
        else " Point --path at the model folder that mlflow wrote (it holds MLmodel, the model "
        "file and conda.yaml), e.g. mlruns/0/<run>/artifacts/model, or register the files as "
        "--type custom_model."
    )
    try:
        entries = sorted(p.name for p in root.iterdir())
    except OSError:
        entries = []
    listing = ", ".join(entries[:8]) + (", ..." if len(entries) > 8 else "")
    return (
        f"The folder {str(root)!r} is registered as an mlflow_model but has no MLmodel file"
        f" (it holds: {listing or 'nothing'}).{hint}"
    )


def _signature(raw: Any, file: Path) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise BadArgumentError(
            f"`signature` in {file} must be a mapping with inputs/outputs, got {raw!r:.80}."
        )
    out: dict[str, Any] = {}
    for key in ("inputs", "outputs", "params"):
        value = raw.get(key)
        if value is None:
            out[key] = None
            continue
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError as exc:
                raise BadArgumentError(
                    f"`signature.{key}` in {file} is not valid JSON ({exc}). Save the model "
                    "again with mlflow (mlflow.models.infer_signature) or fix the file."
                ) from None
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise BadArgumentError(
                f"`signature.{key}` in {file} must be a JSON list of column or tensor specs, "
                f"got {value!r:.80}."
            )
        for spec in value:
            _check_spec(spec, key, file)
        out[key] = value
    return out


def _check_spec(spec: dict[str, Any], key: str, file: Path) -> None:
    kind = spec.get("type")
    if kind == "tensor":
        tensor = spec.get("tensor-spec")
        if not isinstance(tensor, dict) or "dtype" not in tensor:
            raise BadArgumentError(
                f"A tensor spec in `signature.{key}` of {file} has no tensor-spec.dtype: {spec!r:.120}."
            )
    elif not isinstance(kind, str | dict) and key != "params":
        raise BadArgumentError(
            f"A column spec in `signature.{key}` of {file} has no `type`: {spec!r:.120}."
        )
    if key == "params" and "name" not in spec:
        raise BadArgumentError(
            f"A param in `signature.params` of {file} has no `name`: {spec!r:.120}."
        )


def _input_example(raw: Any, root: Path, file: Path) -> dict[str, Any] | None:
    if not isinstance(raw, dict) or not raw.get("artifact_path"):
        return None
    name = str(raw["artifact_path"])
    if not (root / name).is_file():
        raise BadArgumentError(
            f"{file} names the input example {name!r} (saved_input_example_info.artifact_path) "
            f"but {root} has no such file. Copy the whole model folder that mlflow wrote."
        )
    info = {"path": name, "type": raw.get("type")}
    if raw.get("pandas_orient"):
        info["pandas_orient"] = raw["pandas_orient"]
    return info
