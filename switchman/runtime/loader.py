"""Load a scoring script the way azmlinfsrv does, and describe how to call its ``run()``.

Failures become :class:`StartupError` with the Azure ML code (``UserScriptImportError``,
``UserScriptFunctionNotFound``, ``UserScriptInitFailed``), the script's own error as the message
(``ValueError: bad model path``) and the script's traceback.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import itertools
import json
import logging
import os
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from types import ModuleType, TracebackType
from typing import Any

from inference_schema.schema_util import is_schema_decorated

from switchman.runtime import compat

logger = logging.getLogger("azmlinfsrv.user_script")

MODEL_DIR_LISTING_LIMIT = 200


class InputMode(Enum):
    """How ``run()`` receives the request (reference/aml-behaviour.md §9.3)."""

    STRING = "string"  # undecorated: the body as str, or the query as a JSON string
    RAW = "raw"  # @rawhttp: an AMLRequest
    SCHEMA = "schema"  # @input_schema: keyword arguments from the JSON body / query


class StartupError(Exception):
    """The script could not be imported, lacks a usable ``init``/``run``, or ``init()`` raised."""

    def __init__(self, code: str, message: str, trace: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.trace = trace

    def to_status(self, model_dir: str) -> dict[str, Any]:
        """The status-file document the control plane reads."""
        return {
            "code": self.code,
            "message": self.message,
            "traceback": self.trace,
            "model_dir_listing": model_dir_listing(model_dir),
        }


@dataclass
class UserScript:
    """A loaded scoring script: its ``init``/``run`` and how ``run`` wants its input.

    ``invoke`` runs on a worker thread; it is safe to call from several at once (the script's own
    thread safety is the script's business, as under azmlinfsrv with threads).
    """

    path: str
    module: ModuleType
    init: Callable[[], Any]
    run: Callable[..., Any]
    mode: InputMode
    data_param: str
    schema_params: list[inspect.Parameter] = field(default_factory=list)
    wants_headers: bool = False
    swagger: dict[str, Any] | None = None  # built-in scorers bring their documents (issue 11)
    _user_loop: asyncio.AbstractEventLoop | None = None
    _loop_lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, kwargs: dict[str, Any]) -> Any:
        """Call ``run(**kwargs)``; a coroutine result is awaited on the user-code loop."""
        result = self.run(**kwargs)
        if inspect.iscoroutine(result):
            return asyncio.run_coroutine_threadsafe(result, self.user_loop()).result()
        return result

    def call_init(self) -> None:
        result = self.init()
        if inspect.iscoroutine(result):
            asyncio.run_coroutine_threadsafe(result, self.user_loop()).result()

    def user_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop async user code runs on: its own thread, never the server's loop."""
        with self._loop_lock:
            if self._user_loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="user-code-loop", daemon=True
                )
                thread.start()
                self._user_loop = loop
            return self._user_loop


def load_script(entry_script: str, app_root: str) -> UserScript:
    """Import the script and check ``init``/``run``; raises :class:`StartupError`."""
    path = entry_script if os.path.isabs(entry_script) else os.path.join(app_root, entry_script)
    if not os.path.isfile(path):
        raise StartupError(
            "UserScriptImportError",
            f"FileNotFoundError: the scoring script {path} does not exist; check "
            "code_configuration.code and scoring_script.",
        )
    compat.reset_raw_http_flag()
    try:
        spec = importlib.util.spec_from_file_location("entry_module", path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules["entry_module"] = module
        spec.loader.exec_module(module)
    except BaseException as exc:  # SystemExit in a script is an import failure too
        sys.modules.pop("entry_module", None)
        raise StartupError("UserScriptImportError", _describe(exc), _user_trace(exc)) from exc

    init = getattr(module, "init", None)
    run = getattr(module, "run", None)
    for name, func in (("init", init), ("run", run)):
        if not callable(func):
            raise StartupError(
                "UserScriptFunctionNotFound",
                f"User script at {path} does not have a {name}() function defined.",
            )
    # Some SDK-generated driver scripts forward to the real script's run(); call that directly.
    driver = getattr(module, "driver_module", None)
    if isinstance(driver, ModuleType) and callable(getattr(driver, "run", None)):
        run = driver.run
    assert init is not None and run is not None
    return _analyse(path, module, init, run)


def _analyse(
    path: str, module: ModuleType, init: Callable[[], Any], run: Callable[..., Any]
) -> UserScript:
    def bad(message: str) -> StartupError:
        return StartupError("UserScriptFunctionNotFound", f"User script at {path}: {message}")

    try:
        params = list(inspect.signature(run).parameters.values())
    except (TypeError, ValueError) as exc:
        raise bad(f"the signature of run() cannot be read: {exc}") from exc
    usable = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if any(p.kind not in usable for p in params):
        raise bad("run() cannot accept positional-only arguments, *args, or **kwargs.")
    wants_headers = any(p.name == "request_headers" for p in params)
    data_params = [p for p in params if p.name != "request_headers"]
    if not data_params:
        if wants_headers:
            raise bad('run() needs to accept an argument other than "request_headers".')
        raise bad("run() needs to accept an argument for input data.")

    raw = compat.raw_http_requested() or _foreign_rawhttp()
    schema = is_schema_decorated(run)
    if raw and schema:
        raise bad("run() cannot be decorated with both @rawhttp and @input_schema")
    if raw:
        mode = InputMode.RAW
        logger.info(
            "run() is decorated with @rawhttp. Server will invoke it with the request object."
        )
    elif schema:
        mode = InputMode.SCHEMA
        logger.info(
            "run() is decorated with @input_schema. Server will invoke it with the following "
            f"arguments: {', '.join(p.name for p in data_params)}."
        )
    else:
        mode = InputMode.STRING
        logger.info("run() is not decorated. Server will invoke it with the input in JSON string.")
    logger.info(f"Found user script at {path}")
    return UserScript(
        path=path,
        module=module,
        init=init,
        run=run,
        mode=mode,
        data_param=data_params[0].name,
        schema_params=data_params,
        wants_headers=wants_headers,
    )


def _foreign_rawhttp() -> bool:
    # A real azureml-contrib-services / azmlinfsrv package (installed in the user's environment
    # ahead of our shims) keeps its own flag.
    for name in (
        "azureml.contrib.services.aml_request",
        "azureml_inference_server_http.api.aml_request",
    ):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "_rawHttpRequested", False):
            return True
    return False


def run_init(script: UserScript) -> None:
    """Call ``init()``; raises :class:`StartupError` (``UserScriptInitFailed``)."""
    logger.info("Invoking user's init function")
    try:
        script.call_init()
    except BaseException as exc:
        raise StartupError("UserScriptInitFailed", _describe(exc), _user_trace(exc)) from exc
    logger.info("Users's init has completed successfully")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _user_trace(exc: BaseException) -> str:
    # Drop the loader's own frame so the traceback starts in (or just above) the user's code.
    tb: TracebackType | None = exc.__traceback__
    if tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def walk_tree(path: str, depth: int = 0) -> Iterator[str]:
    """``model/``, ``    file.pkl`` ...: the model-dir tree azmlinfsrv logs when init() fails."""
    path = os.path.normpath(path)
    indent = " " * 4 * depth
    base = os.path.basename(path.rstrip(os.sep)) or path
    if os.path.isdir(path):
        yield f"{indent}{base}{os.sep}"
        try:
            children = sorted(os.listdir(path))
        except OSError:
            return
        for child in children:
            yield from walk_tree(os.path.join(path, child), depth + 1)
    else:
        yield f"{indent}{base}"


def model_dir_listing(model_dir: str, limit: int = MODEL_DIR_LISTING_LIMIT) -> list[str]:
    """Up to ``limit`` lines of the model-dir tree (empty when there is no model dir)."""
    if not model_dir or not os.path.exists(model_dir):
        return []
    return list(itertools.islice(walk_tree(model_dir), limit))


def write_status(path: str, document: dict[str, Any]) -> None:
    """Write the status file atomically (the control plane may read it at any moment)."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(document, fh, indent=2)
    os.replace(tmp, path)
