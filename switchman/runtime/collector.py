"""``azureml.ai.monitoring.Collector`` for scoring scripts (the ``azureml-ai-monitoring`` API).

``Collector(name="model_inputs").collect(df)`` writes one JSON-lines record per call under the
deployment's ``data_collector`` folder, with the request's ``x-request-id`` as ``correlationid``
(from :mod:`switchman.runtime.correlation`), so custom records join the router's ``request`` and
``response`` records. Writing happens on a background thread with a bounded queue; ``collect`` never
blocks a request and never raises into user code (errors go to ``on_error``).
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switchman.datacollection.record import DATA_COLLECTION_ENV, iso, keep
from switchman.datacollection.writer import RecordWriter
from switchman.runtime import correlation


class CorrelationContext:
    """What ties records of one request together (``azureml.ai.monitoring.context``)."""

    def get_id(self) -> str:
        raise NotImplementedError

    def get_timestamp(self) -> int:
        raise NotImplementedError

    def get_headers(self) -> dict[str, str]:
        raise NotImplementedError


class BasicCorrelationContext(CorrelationContext):
    def __init__(
        self,
        id: str | None = None,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.id = id or str(uuid.uuid4())
        self.timestamp = int(time.time()) if timestamp is None else timestamp
        self.headers = dict(headers or {})

    def get_id(self) -> str:
        return self.id

    def get_timestamp(self) -> int:
        return self.timestamp

    def get_headers(self) -> dict[str, str]:
        return self.headers


class _Settings:
    """The deployment's collections, from the instance environment (set by the control plane)."""

    def __init__(self, raw: str | None) -> None:
        config: dict[str, Any] = json.loads(raw) if raw else {}
        self.root = Path(config["root"]) if config.get("root") else None
        self.rolling_rate = str(config.get("rolling_rate", "hour"))
        self.rates: dict[str, float] = {
            str(k): float(v) for k, v in dict(config.get("collections") or {}).items()
        }
        self.source = str(config.get("source", ""))


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _shared() -> tuple[_Settings, RecordWriter]:
    with _lock:
        if not _state:
            settings = _Settings(os.environ.get(DATA_COLLECTION_ENV))
            writer = RecordWriter(os.environ.get("SWITCHMAN_INSTANCE_ID") or f"pid{os.getpid()}")
            atexit.register(writer.close)
            _state.update(settings=settings, writer=writer)
        return _state["settings"], _state["writer"]


def _plain(data: Any) -> tuple[Any, str]:
    """Data as JSON-ready values plus the type name Azure ML records in ``collectdatatype``."""
    kind = f"{type(data).__module__}.{type(data).__qualname__}"
    to_dict = getattr(data, "to_dict", None)
    if callable(to_dict) and hasattr(data, "columns"):  # a pandas DataFrame
        return to_dict(orient="records"), kind
    tolist = getattr(data, "tolist", None)
    if callable(tolist):  # numpy arrays, pandas Series
        return tolist(), kind
    return data, kind


class Collector:
    """Collects data under one collection name of the deployment's ``data_collector``.

    Args:
        name: the collection (``model_inputs``, ``model_outputs``, ...): must be enabled in the
            deployment's ``data_collector.collections`` for anything to be written.
        on_error: called with the exception when a record cannot be taken; never raised.
    """

    def __init__(
        self, *, name: str, on_error: Callable[[Exception], Any] | None = None, **_: Any
    ) -> None:
        self.name = name
        self.on_error = on_error
        settings, self._writer = _shared()
        self._rate = settings.rates.get(name, 0.0)
        self._rolling = settings.rolling_rate
        self._source = settings.source
        self._folder = settings.root / name if settings.root is not None else None

    @property
    def enabled(self) -> bool:
        return self._folder is not None and self._rate > 0

    def collect(
        self, data: Any, correlation_context: CorrelationContext | None = None
    ) -> CorrelationContext:
        """Record ``data`` (a DataFrame, array, list or dict); return the correlation context to
        pass to the next ``collect`` of the same request."""
        context = correlation_context or BasicCorrelationContext(id=correlation.current())
        folder = self._folder
        if folder is None or self._rate <= 0:
            return context
        try:
            rid = context.get_id()
            if not keep(rid, self._rate):
                return context
            value, kind = _plain(data)
            now = time.time()
            record = {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "source": self._source,
                "type": f"azureml.inference.{self.name}",
                "datacontenttype": "application/json",
                "time": iso(now),
                "data": value,
                "correlationid": rid,
                "xrequestid": rid,
                "collectdatatype": kind,
                "agent": "switchman-collector",
            }
            if not self._writer.offer(folder, self._rolling, now, record) and self.on_error:
                self.on_error(RuntimeError("data collection queue is full; record dropped"))
        except Exception as exc:  # user code must never fail because of collection
            if self.on_error is not None:
                self.on_error(exc)
        return context


__all__ = ["BasicCorrelationContext", "Collector", "CorrelationContext"]
