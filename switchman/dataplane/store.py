"""The router's tables in ``state.db``: ``traffic_log`` and ``metrics``, written off the hot path.

The event loop only appends rows to in-memory deques (bounded: beyond the bound rows are dropped
and counted); a :class:`StateWriter` thread owns the SQLite connection and writes them in batches
every ``flush_interval`` seconds, applies retention, and summarises metric windows.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switchman.dataplane.metrics import (
    DeploymentLoad,
    InstanceInfo,
    MetricRecord,
    Metrics,
    Window,
    fine_records,
)

log = logging.getLogger(__name__)

# AmlOnlineEndpointTrafficLog columns (reference §8.4), plus our epoch `time` and `Mirrored`.
TRAFFIC_COLUMNS = (
    "time",
    "Method",
    "Path",
    "SubscriptionId",
    "AzureMLWorkspaceId",
    "AzureMLWorkspaceName",
    "EndpointName",
    "DeploymentName",
    "Protocol",
    "ResponseCode",
    "ResponseCodeReason",
    "ModelStatusCode",
    "ModelStatusReason",
    "RequestPayloadSize",
    "ResponsePayloadSize",
    "UserAgent",
    "XRequestId",
    "XMSClientRequestId",
    "TotalDurationMs",
    "RequestDurationMs",
    "ResponseDurationMs",
    "RequestThrottlingDelayMs",
    "ResponseThrottlingDelayMs",
    "Mirrored",
)
_TRAFFIC_TYPES = {
    "time": "REAL",
    "ResponseCode": "INTEGER",
    "RequestPayloadSize": "INTEGER",
    "ResponsePayloadSize": "INTEGER",
    "TotalDurationMs": "REAL",
    "RequestDurationMs": "REAL",
    "ResponseDurationMs": "REAL",
    "RequestThrottlingDelayMs": "REAL",
    "ResponseThrottlingDelayMs": "REAL",
    "Mirrored": "INTEGER",
}
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS traffic_log ("
    + ", ".join(f"{c} {_TRAFFIC_TYPES.get(c, 'TEXT')}" for c in TRAFFIC_COLUMNS)
    + ")",
    "CREATE INDEX IF NOT EXISTS traffic_log_time ON traffic_log(time)",
    "CREATE TABLE IF NOT EXISTS metrics (time REAL, endpoint TEXT, deployment TEXT, instance TEXT, "
    "name TEXT, dimensions TEXT, value REAL)",
    "CREATE INDEX IF NOT EXISTS metrics_time ON metrics(time)",
    # Fine grain (about 1 s) for autoscale (issue #12): same columns, kept for FINE_RETENTION_S.
    "CREATE TABLE IF NOT EXISTS metrics_fine (time REAL, endpoint TEXT, deployment TEXT, "
    "instance TEXT, name TEXT, dimensions TEXT, value REAL)",
    "CREATE INDEX IF NOT EXISTS metrics_fine_by_deployment ON metrics_fine(endpoint, deployment, name, time)",
)
FINE_RETENTION_S = 3600.0
_INSERT_TRAFFIC = f"INSERT INTO traffic_log ({', '.join(TRAFFIC_COLUMNS)}) VALUES ({', '.join('?' * len(TRAFFIC_COLUMNS))})"
_INSERT_METRIC = "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?)"
_INSERT_FINE = "INSERT INTO metrics_fine VALUES (?, ?, ?, ?, ?, ?, ?)"


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open ``state.db`` the way every Switchman process does: WAL, busy timeout."""
    if read_only:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=10, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    conn.commit()


class StateWriter:
    """Owns the router's SQLite connection on one daemon thread.

    Args:
        path: ``state.db``.
        metrics: the shared :class:`Metrics` (windows are summarised here, off the loop).
        retention_s: traffic-log and metric rows older than this are deleted.
        flush_interval: seconds between batches.
        max_pending: rows kept in memory at most; more are dropped and counted.
    """

    def __init__(
        self,
        path: Path,
        metrics: Metrics,
        *,
        retention_s: float = 7 * 86400,
        flush_interval: float = 0.25,
        max_pending: int = 200_000,
        clock: Callable[[], float] = time.time,
        minute_s: float = 60.0,
    ) -> None:
        self.path = path
        self.metrics = metrics
        self.retention_s = retention_s
        self.flush_interval = flush_interval
        self.max_pending = max_pending
        self._clock = clock
        self._rows: deque[tuple[Any, ...]] = deque()
        self.minute_s = minute_s
        self._windows: deque[tuple[Window, list[InstanceInfo], list[DeploymentLoad] | None]] = (
            deque()
        )
        self._minute: Window | None = None  # fine windows merged until the roll-up is due
        self._extra: deque[MetricRecord] = deque()
        self._last_fine_purge = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="state-writer", daemon=True)
        self._last_purge = 0.0

    def start(self) -> None:
        conn = connect(self.path)
        try:
            ensure_schema(conn)
        finally:
            conn.close()
        self._thread.start()

    def log(self, row: tuple[Any, ...]) -> None:
        """Queue one traffic-log row (hot path: one append)."""
        if len(self._rows) >= self.max_pending:
            self.metrics.log_dropped += 1
            return
        self._rows.append(row)

    def roll(
        self,
        window: Window,
        instances: list[InstanceInfo],
        loads: list[DeploymentLoad] | None = None,
    ) -> None:
        """Queue a finished metrics window for summarising and writing.

        With ``loads`` it is a fine window: written to ``metrics_fine`` and merged into the
        1-minute roll-up, which is written once ``minute_s`` has passed. Without, the roll-up is
        written now (shutdown, or a router that rolls only by the minute).
        """
        self._windows.append((window, instances, loads))

    def add_records(self, records: list[MetricRecord]) -> None:
        """Queue event-like metric rows (ColdStartLatency) for both tables."""
        self._extra.extend(records)

    def stop(self, timeout: float = 5.0) -> None:
        """Flush what is queued and stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        conn = connect(self.path)
        # WAL + NORMAL: commits skip the fsync (a crash may lose the last batch, never corrupt the
        # file); the traffic log is written at request rate, so this is most of its cost.
        conn.execute("PRAGMA synchronous=NORMAL")
        try:
            while not self._stop.wait(self.flush_interval):
                self._step(conn)
            self._step(conn)
        finally:
            conn.close()

    def _step(self, conn: sqlite3.Connection) -> None:
        # Never let one bad batch kill the writer: log and go on (rows stay queued on lock errors).
        try:
            self._flush(conn)
        except sqlite3.Error:
            log.exception("writing the traffic log / metrics to %s failed; will retry", self.path)
            conn.rollback()

    def _flush(self, conn: sqlite3.Connection) -> None:
        records: list[MetricRecord] = []
        fine: list[MetricRecord] = []
        while self._windows:
            window, instances, loads = self._windows[0]
            if loads is not None:
                fine.extend(fine_records(window, loads, self._clock()))
            if self._minute is None:
                self._minute = window
            else:
                self._minute.merge(window)
            if loads is None or self._clock() - self._minute.started >= self.minute_s:
                records.extend(self.metrics.summarise(self._minute, instances))
                self._minute = None
            self._windows.popleft()
        while self._extra:
            extra = self._extra.popleft()
            records.append(extra)
            fine.append(extra)
        if fine:
            conn.executemany(
                _INSERT_FINE,
                [
                    (
                        r.time,
                        r.endpoint,
                        r.deployment,
                        r.instance,
                        r.name,
                        json.dumps(r.dimensions),
                        r.value,
                    )
                    for r in fine
                ],
            )
        batch = list(self._rows)  # copy first: the loop keeps appending meanwhile
        if records:
            conn.executemany(
                _INSERT_METRIC,
                [
                    (
                        r.time,
                        r.endpoint,
                        r.deployment,
                        r.instance,
                        r.name,
                        json.dumps(r.dimensions),
                        r.value,
                    )
                    for r in records
                ],
            )
        if batch:
            conn.executemany(_INSERT_TRAFFIC, batch)
        now = self._clock()
        if now - self._last_fine_purge > 60:
            conn.execute("DELETE FROM metrics_fine WHERE time < ?", (now - FINE_RETENTION_S,))
            self._last_fine_purge = now
        if now - self._last_purge > 600:
            cutoff = now - self.retention_s
            conn.execute("DELETE FROM traffic_log WHERE time < ?", (cutoff,))
            conn.execute("DELETE FROM metrics WHERE time < ?", (cutoff,))
            self._last_purge = now
        conn.commit()
        for _ in range(len(batch)):
            self._rows.popleft()
