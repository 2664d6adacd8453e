"""Deployment rules for MLflow models (issue 11, reference §12.2).

- No ``code_configuration`` and no ``environment``: Switchman scores the model itself and builds
  the environment from the model's own requirement files.
- No ``code_configuration`` but an ``environment``: the built-in scorer runs in that environment.
- A scoring script: as in Azure ML, the deployment must then bring its environment too.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from switchman.errors import BadArgumentError


def script_needs_environment(deployment: str, model: Mapping[str, Any]) -> str:
    """The one-paragraph error for an MLflow model with a scoring script but no environment."""
    return (
        f"Deployment {deployment!r} gives a scoring script (code_configuration) for the MLflow "
        f"model {model.get('name')}:{model.get('version')} but no environment. As in Azure ML, "
        "a scoring script for an MLflow model needs an environment that installs what the "
        "script imports: add `environment:` (an inline conda_file, or azureml:<name>@latest), "
        "or remove code_configuration to let Switchman score the model without code."
    )


def mlflow_environment(
    deployment: str,
    model: Mapping[str, Any],
    *,
    code: Mapping[str, Any] | None,
    environment: dict[str, Any] | None,
    variables: Mapping[str, str],
    extras: tuple[str, ...] = (),
) -> dict[str, Any] | None:
    """The resolved environment of a deployment of an MLflow model.

    Args:
        deployment: the deployment's name (for the error).
        model: the resolved model (``asset``, ``leaf``, ``name``, ``version``).
        code: the resolved code, or None for a no-code deployment.
        environment: the deployment's own resolved environment, or None.
        variables: the deployment's environment_variables (``SWITCHMAN_RELAX_PINS``).
        extras: more packages the scorer needs (the batch scorer: pyarrow, pillow).

    Raises:
        BadArgumentError: a scoring script without an environment; unreadable requirement files.
    """
    if code is not None and environment is None:
        raise BadArgumentError(script_needs_environment(deployment, model))
    if environment is not None:
        return environment
    from switchman.environments.mlflow_model import model_environment, relax_requested

    folder = Path(str(model["asset"])) / str(model.get("leaf") or "model")
    return model_environment(folder, relax=relax_requested(variables), extras=extras)
