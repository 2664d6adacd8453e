"""Turn what ``run()`` returned into a reply (reference/aml-behaviour.md §9.4, §9.5).

Runs on the worker thread: serialising user objects (and creating their generators) is user work.
"""

from __future__ import annotations

import json
from typing import Any

from switchman.runtime.wire import Reply

JSON_TYPE = "application/json"
RUN_FAILED = "x-ms-run-function-failed"
EXEC_MS = "x-ms-run-fn-exec-ms"

RUN_ERROR_MESSAGE = "An unexpected error occurred in scoring script. Check the logs for more info."
INTERNAL_ERROR_MESSAGE = "An unexpected internal error occurred. Check the logs for more info."


def is_response(value: Any) -> bool:
    """An AMLResponse, or a Flask/werkzeug Response from a script that brought its own Flask."""
    return (
        hasattr(value, "status_code")
        and hasattr(value, "headers")
        and (hasattr(value, "iter_encoded") or hasattr(value, "get_data"))
    )


def json_reply(status: int, payload: Any, *, run_failed: bool = False) -> Reply:
    """A JSON reply shaped as azmlinfsrv's ``AMLResponse(..., json_str=True)``."""
    return Reply(
        status,
        [("Content-Type", JSON_TYPE), (RUN_FAILED, "True" if run_failed else "False")],
        json.dumps(payload).encode("utf-8"),
    )


def error_reply(status: int, message: str, *, run_failed: bool = False) -> Reply:
    return json_reply(status, {"message": message}, run_failed=run_failed)


def result_reply(result: Any, exec_ms: float) -> Reply:
    """The reply for ``run()``'s return value; raises ``TypeError``/``ValueError`` when a plain
    value is not JSON-serialisable (the caller answers 500 internal error, as azmlinfsrv does)."""
    reply = _from_response(result) if is_response(result) else json_reply(200, result)
    reply.headers.append((EXEC_MS, f"{exec_ms:.3f}"))
    return reply


def _from_response(response: Any) -> Reply:
    status = int(response.status_code)
    items = response.headers.items()
    headers = [(str(k), str(v)) for k, v in items]
    if status >= 500:
        # azmlinfsrv forces the run-failed flag on any 5xx the script returns.
        headers = [(k, v) for k, v in headers if k.lower() != RUN_FAILED]
        headers.append((RUN_FAILED, "True"))
    streamed = bool(getattr(response, "is_streamed", False))
    if streamed and hasattr(response, "iter_encoded"):
        return Reply(status, headers, stream=iter(response.iter_encoded()))
    data = response.get_data()
    if isinstance(data, str):
        data = data.encode("utf-8")
    return Reply(status, headers, bytes(data))
