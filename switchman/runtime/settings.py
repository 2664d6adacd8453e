"""Runtime settings, read once from the environment (the launcher's contract, docs/internals.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from switchman.errors import BadArgumentError

#: The azmlinfsrv release whose behaviour the runtime reproduces (sent as x-ms-server-version).
COMPAT_SERVER_VERSION = "1.5.1"


@dataclass(frozen=True)
class RuntimeSettings:
    """Everything the runtime reads from its environment.

    Attributes mirror azmlinfsrv's settings (reference/aml-behaviour.md §10.2) plus Switchman's own
    ``SWITCHMAN_*`` keys.
    """

    entry_script: str | None
    app_root: str
    model_dir: str
    worker_count: int
    scoring_timeout_ms: int
    status_file: str | None
    server_version_header: str | None
    service_name: str
    service_version: str
    service_path_prefix: str
    log_level: str
    shutdown_timeout_s: float
    access_log: bool
    debug_port: int | None
    mlflow_model: str | None = None  # SWITCHMAN_MLFLOW_MODEL: no script, the built-in scorer

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RuntimeSettings:
        """Read and validate the settings; a bad value raises ``BadArgumentError`` naming it."""
        env = os.environ if env is None else env
        version_enabled = env.get("SERVER_VERSION_LOG_RESPONSE_ENABLED", "true").lower() != "false"
        version = env.get("HTTP_X_MS_SERVER_VERSION") or f"azmlinfsrv/{COMPAT_SERVER_VERSION}"
        debug = env.get("AZUREML_DEBUG_PORT")
        return cls(
            entry_script=env.get("AZUREML_ENTRY_SCRIPT") or None,
            app_root=env.get("AML_APP_ROOT") or os.getcwd(),
            model_dir=env.get("AZUREML_MODEL_DIR", ""),
            worker_count=_int(env, "WORKER_COUNT", 1, minimum=1),
            scoring_timeout_ms=_int(env, "SCORING_TIMEOUT_MS", 3_600_000, minimum=1),
            status_file=env.get("SWITCHMAN_STATUS_FILE") or None,
            server_version_header=version if version_enabled else None,
            service_name=env.get("SERVICE_NAME", "ML service"),
            service_version=env.get("SERVICE_VERSION", "1.0"),
            service_path_prefix=env.get("SERVICE_PATH_PREFIX", ""),
            log_level=env.get("AZUREML_LOG_LEVEL", "INFO").upper(),
            shutdown_timeout_s=_int(env, "SWITCHMAN_SHUTDOWN_TIMEOUT_S", 30, minimum=0),
            access_log=env.get("SWITCHMAN_ACCESS_LOG", "true").lower() != "false",
            debug_port=_int(env, "AZUREML_DEBUG_PORT", 0, minimum=1) if debug else None,
            mlflow_model=env.get("SWITCHMAN_MLFLOW_MODEL") or None,
        )


def _int(env: Mapping[str, str], key: str, default: int, *, minimum: int) -> int:
    raw = env.get(key)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadArgumentError(
            f"Environment variable {key}={raw!r} is not an integer; set it to a whole number "
            f">= {minimum} or unset it (default {default})."
        ) from None
    if value < minimum:
        raise BadArgumentError(
            f"Environment variable {key}={value} is below {minimum}; set it to a whole number "
            f">= {minimum} or unset it (default {default})."
        )
    return value
