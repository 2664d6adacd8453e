"""Logging as azmlinfsrv does it: ``<UTC time> <L> [<pid>] <logger> - <message>`` on stdout.

``print()`` in user code goes to the ``azmlinfsrv.print`` logger; a ``logging.json``
(``dictConfig``) in the app root or the entry-script folder replaces the default configuration.
Per-request access lines take a fast path (:class:`AccessLog`) so they cost little on the hot path.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import json
import logging
import logging.config
import os
import sys
import time
from typing import Any, TextIO

LOG_FORMAT = "%(asctime)s %(levelname).1s [%(process)d] %(name)s - %(message)s"
LOGGER_NAME = "azmlinfsrv"

logger = logging.getLogger(LOGGER_NAME)
_default_print = builtins.print


class UTCFormatter(logging.Formatter):
    """The azmlinfsrv formatter: times in UTC, ``2022-12-24 07:37:53,318``."""

    converter = time.gmtime  # type: ignore[assignment]

    def __init__(self, fmt: str = LOG_FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt=fmt, datefmt=datefmt)


def configure_logging(level: str, search_dirs: list[str]) -> str | None:
    """Install the default handlers, or a ``logging.json`` found in ``search_dirs``.

    Returns:
        The path of the ``logging.json`` used, or ``None`` for the default configuration.
    """
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(UTCFormatter())
    logger.handlers[:] = [handler]
    logger.setLevel(level if level in logging.getLevelNamesMapping() else "INFO")
    logger.propagate = False
    # User code's own logging: warnings and up reach the log in the same format (the root
    # logger stays at WARNING, as under azmlinfsrv, so logging.info() in a script is silent).
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(handler)
    for folder in search_dirs:
        path = os.path.join(folder, "logging.json") if folder else ""
        if path and os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                logging.config.dictConfig(json.load(fh))
            logger.info("Loaded logging config from %s", path)
            return path
    return None


def redirect_print() -> None:
    """Send ``print()`` calls aimed at stdout to the ``azmlinfsrv.print`` logger."""
    print_logger = logging.getLogger(f"{LOGGER_NAME}.print")

    @functools.wraps(_default_print)
    def print_to_logger(
        *objects: Any,
        sep: str | None = " ",
        end: str | None = "\n",
        file: Any = None,
        flush: bool = False,
    ) -> None:
        target = file or sys.stdout
        if target is sys.stdout:
            print_logger.info((" " if sep is None else sep).join(map(str, objects)))
        else:
            _default_print(*objects, sep=sep, end=end, file=target, flush=flush)

    builtins.print = print_to_logger


def restore_print() -> None:
    builtins.print = _default_print


class AccessLog:
    """Writes ``<METHOD> <path> <status> <ms>ms <length>`` lines in the log format, cheaply.

    Lines go to the same text stream as the logging handler without a flush each; the logging
    handler's flushes and the server's periodic :meth:`flush` push them out, so order with other
    log lines is kept and an idle server has nothing buffered for long.
    """

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self._stream = stream
        self.enabled = enabled and logger.isEnabledFor(logging.INFO)
        self._prefix_tail = f" I [{os.getpid()}] {LOGGER_NAME} - "
        self._second = -1
        self._stamp = ""
        self._dirty = False

    def line(
        self, method: str, target: str, status: int, duration_ms: float, length: object
    ) -> None:
        if not self.enabled:
            return
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second = second
            self._stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
        millis = int((now - second) * 1000)
        self._stream.write(
            f"{self._stamp},{millis:03d}{self._prefix_tail}{method} {target} {status} "
            f"{duration_ms:0.3f}ms {length}\n"
        )
        self._dirty = True

    def flush(self) -> None:
        if self._dirty:
            self._dirty = False
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()
