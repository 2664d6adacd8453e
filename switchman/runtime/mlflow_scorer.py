"""The built-in scorer of MLflow models deployed without a scoring script (issue 11).

The launcher sets ``SWITCHMAN_MLFLOW_MODEL`` (the folder holding ``MLmodel``) instead of
``AZUREML_ENTRY_SCRIPT``; :func:`load_builtin` then loads the pyfunc once and hands the server a
:class:`~switchman.runtime.loader.UserScript` whose ``run`` answers:

- the body shapes of :mod:`switchman.runtime.mlflow_payload` (Azure ML's ``input_data`` and
  MLflow server's ``dataframe_split`` / ``dataframe_records`` / ``instances`` / ``inputs``);
- ``input_data`` gets Azure ML's reply, the bare predictions (a DataFrame as records); MLflow
  server's keys get its ``{"predictions": ...}``;
- a body that does not fit the signature gets 400 ``{"message", "code": "BadInput"}`` naming the
  column or input, and the instance keeps serving; so does an error raised by the model's
  predict (as MLflow's server answers it).

Only this module (imported in the instance process) imports mlflow, pandas and numpy.
"""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Any

from switchman.runtime.compat import AMLRequest, AMLResponse
from switchman.runtime.loader import InputMode, StartupError, UserScript
from switchman.runtime.mlflow_payload import PayloadError, decode, parse

logger = logging.getLogger("azmlinfsrv.mlflow")

MODEL_VARIABLE = "SWITCHMAN_MLFLOW_MODEL"
_JSON_TYPES = ("application/json",)


def _reply(status: int, payload: Any) -> AMLResponse:
    return AMLResponse(payload, status, json_str=True)


def bad_input(message: str) -> AMLResponse:
    return _reply(400, {"message": message, "code": "BadInput"})


class MLflowScorer:
    """One loaded pyfunc model and its signature. ``run`` is safe to call from several threads
    at once as far as the model's own predict is (scikit-learn's is)."""

    def __init__(self, model_dir: str | Path) -> None:
        self.model_dir = Path(model_dir)
        self.model: Any = None
        self.predict_fn: Any = None
        self.signature: Any = None
        self.swagger: dict[str, dict[str, Any]] | None = None
        self.mlmodel: Any = None

    def init(self) -> None:
        """Read MLmodel, load the pyfunc (once), prepare the swagger documents."""
        from switchman.runtime.mlflow_schema import Signature
        from switchman.runtime.mlflow_swagger import documents, example
        from switchman.spec.mlmodel import read_mlmodel

        self.mlmodel = read_mlmodel(self.model_dir)
        self.signature = Signature.from_mlmodel(self.mlmodel.signature)
        logger.info(
            f"Loading MLflow model {self.model_dir} (loader {self.mlmodel.loader_module}, "
            f"signature: {'yes' if self.signature.has_inputs else 'none'})"
        )
        import mlflow.pyfunc

        self.model = mlflow.pyfunc.load_model(str(self.model_dir))
        # The flavor's own predict, for inputs this scorer has already fitted to the signature:
        # MLflow's PyFuncModel.predict would check the same things again, at several times the
        # cost of a small scikit-learn predict.
        self.predict_fn = getattr(self.model, "_predict_fn", None)
        self.swagger = documents(
            self.mlmodel.signature,
            example(self.model_dir, self.mlmodel.input_example),
            name=os.environ.get("SERVICE_NAME", "ML service"),
            version=os.environ.get("SERVICE_VERSION", "1.0"),
            prefix=os.environ.get("SERVICE_PATH_PREFIX", ""),
        )
        logger.info("MLflow model loaded")

    def run(self, request: AMLRequest) -> AMLResponse:
        """Score one request (see the module docstring)."""
        from switchman.runtime.mlflow_schema import jsonable, model_input

        if request.method != "POST":
            return _reply(
                405, {"message": "Send a POST with a JSON body to score the MLflow model."}
            )
        mimetype = (request.headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
        if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
            return _reply(415, {"message": "Expects Content-Type to be application/json"})
        try:
            payload = parse(decode(request.get_data()))
            given = model_input(payload, self.signature)
        except PayloadError as exc:
            return bad_input(exc.message)
        try:
            result = self._predict(given.data, given.params, given.exact)
        except Exception as exc:
            logger.error(f"Encountered Exception: {traceback.format_exc()}")
            if type(exc).__name__ == "MlflowException":
                return bad_input(str(getattr(exc, "message", exc)))
            return bad_input(
                "Encountered an unexpected error while evaluating the model. Verify that the "
                f"input is compatible with the model for inference. {type(exc).__name__}: {_first_line(exc)}"
            )
        predictions = jsonable(result)
        return _reply(200, predictions if payload.azure else {"predictions": predictions})

    def _predict(self, data: Any, params: dict[str, Any] | None, exact: bool) -> Any:
        if exact and self.predict_fn is not None:
            if params is None:
                return self.predict_fn(data)
            return self.predict_fn(data, params=params)
        if params is None:
            return self.model.predict(data)
        return self.model.predict(data, params=params)


def load_builtin(model_dir: str) -> UserScript:
    """The built-in scorer as a loaded, initialised script; raises :class:`StartupError`."""
    scorer = MLflowScorer(model_dir)
    logger.info(
        f"No scoring script: serving the MLflow model at {model_dir} with the built-in scorer"
    )
    try:
        scorer.init()
    except BaseException as exc:
        text = str(exc)
        message = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
        raise StartupError(
            "UserScriptInitFailed", f"Loading the MLflow model failed: {message}",
            traceback.format_exc(),
        ) from exc  # fmt: skip
    return UserScript(
        path=f"<built-in MLflow scorer for {model_dir}>",
        module=sys.modules[__name__],
        init=lambda: None,
        run=scorer.run,
        mode=InputMode.RAW,
        data_param="request",
        swagger=scorer.swagger,
    )


def _first_line(exc: BaseException) -> str:
    # scikit-learn explains NaN errors over many lines; the first one names the problem.
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
