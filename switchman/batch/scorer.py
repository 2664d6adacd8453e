"""Which scoring code a batch worker runs: the deployment's script, or a built-in scorer.

MLflow models deployed without ``code_configuration`` use a built-in scorer (issue 11 provides it).
:func:`builtin_scorer` is the one place that picks it; until the module exists, such a deployment
is refused with :data:`MISSING_SCORER`.
"""

from __future__ import annotations

import importlib.util
from typing import Any

# Modules that may provide the MLflow batch scorer (init() + run(mini_batch)), first found wins.
MLFLOW_SCORERS = ("switchman.runtime.mlflow_batch", "switchman.batch.mlflow_scorer")
MISSING_SCORER = (
    "Batch deployment {name!r} uses the MLflow model {model!r} without code_configuration, but this "
    "Switchman build has no built-in MLflow batch scorer. Add code_configuration (code + "
    "scoring_script with init() and run(mini_batch)) to the deployment."
)


def builtin_scorer(model: dict[str, Any] | None) -> str | None:
    """The module a worker imports for a deployment without a scoring script, or None."""
    if not model or model.get("type") != "mlflow_model":
        return None
    for name in MLFLOW_SCORERS:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except ModuleNotFoundError:
            continue
    return None


def nested_listing(scorer: str | None) -> bool:
    """Custom scripts see nested folders; MLflow deployments only the input's top level (§4.4)."""
    return scorer is None
