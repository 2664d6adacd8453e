"""Reading the v1 input files: JSON documents whose errors name the file, line and column."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from switchman.errors import SpecFileError

ServiceKind = Literal["aci", "aks"]


def read_json(path: str | Path, what: str, flag: str) -> dict[str, Any]:
    """Parse a JSON object from ``path``.

    Args:
        path: the file.
        what: what the file is, for messages ("deployment config").
        flag: the command-line flag that named it, for messages.

    Raises:
        SpecFileError: the file is missing, unreadable, not JSON, or not a JSON object.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")  # files saved by Windows tools carry a BOM
    except FileNotFoundError:
        raise SpecFileError(
            f"The {what} file {file} does not exist. Check the path given with {flag}."
        ) from None
    except IsADirectoryError:
        raise SpecFileError(
            f"The {what} path {file} is a folder; {flag} needs a JSON file."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecFileError(f"Cannot read the {what} file {file}: {exc}.") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecFileError(
            f"The {what} file {file} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}. Fix the JSON and retry."
        ) from None
    if not isinstance(data, dict):
        raise SpecFileError(
            f"The {what} file {file} must hold a JSON object ({{...}}), not a {type(data).__name__}."
        )
    return data


@dataclass(frozen=True)
class V1Inputs:
    """The v1 documents of one service.

    Attributes:
        kind: which v1 compute the command converts (``aci`` or ``aks``).
        service: the deployment config (``deploymentconfig.json``) or the service JSON.
        service_path: where ``service`` came from.
        from_service_json: True when ``service`` is ``Webservice.serialize()`` output.
        inference: the inference config (``inferenceconfig.json``).
        inference_path: where ``inference`` came from; its relative paths resolve against its folder.
        keys: ``{"primaryKey", "secondaryKey"}`` from --keys-file, when given.
        keys_path: where ``keys`` came from.
    """

    kind: ServiceKind
    service: dict[str, Any]
    service_path: Path
    from_service_json: bool
    inference: dict[str, Any]
    inference_path: Path
    keys: dict[str, Any] | None = None
    keys_path: Path | None = None

    @property
    def service_source(self) -> str:
        return self.service_path.name

    @property
    def inference_source(self) -> str:
        return self.inference_path.name


def load_inputs(
    kind: ServiceKind,
    *,
    inference_config: str | Path,
    deployment_config: str | Path | None = None,
    service_json: str | Path | None = None,
    keys_file: str | Path | None = None,
) -> V1Inputs:
    """Read the files of one v1 service; exactly one of ``deployment_config``/``service_json``."""
    if (deployment_config is None) == (service_json is None):
        raise SpecFileError(
            "Give exactly one of --deployment-config (the v1 deploymentconfig.json) and "
            "--service-json (the JSON `az ml service show` printed for the v1 service)."
        )
    if service_json is not None:
        service_path = Path(service_json)
        service = read_json(service_path, "service JSON", "--service-json")
    else:
        service_path = Path(str(deployment_config))
        service = read_json(service_path, "deployment config", "--deployment-config")
    inference_path = Path(inference_config)
    inference = read_json(inference_path, "inference config", "--inference-config")
    keys = None
    keys_path = None
    if keys_file is not None:
        keys_path = Path(keys_file)
        keys = read_json(keys_path, "keys", "--keys-file")
    return V1Inputs(
        kind=kind,
        service=service,
        service_path=service_path,
        from_service_json=service_json is not None,
        inference=inference,
        inference_path=inference_path,
        keys=keys,
        keys_path=keys_path,
    )


def number(value: Any, file: Path, field: str, *, positive: bool = True) -> float:
    """A JSON number from a v1 document (``true`` is not a number); errors name file and field."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecFileError(f"{file}: {field} must be a number, got {value!r}.")
    if positive and value <= 0:
        raise SpecFileError(f"{file}: {field} must be greater than 0, got {value!r}.")
    if not positive and value < 0:
        raise SpecFileError(f"{file}: {field} must not be negative, got {value!r}.")
    return float(value)


def integer(value: Any, file: Path, field: str, *, minimum: int = 0) -> int:
    """A whole JSON number (``2`` or ``2.0``) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise SpecFileError(f"{file}: {field} must be a whole number, got {value!r}.")
    if value < minimum:
        raise SpecFileError(f"{file}: {field} must be at least {minimum}, got {value!r}.")
    return int(value)
