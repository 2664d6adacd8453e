"""The router's tap: payload capture (``data_collector``) and shadow pairing, off the hot path.

The scoring service calls three hooks: :meth:`Tap.install` with each route table,
:meth:`Tap.mirrored` when it sends a mirror copy, and :meth:`Tap.finished` as each live or mirrored
request ends. On the event loop they only look up a dict and append a tuple to a bounded deque
(full → dropped and counted; nothing ever blocks or fails a request). One daemon thread turns the
tuples into data-collection records, pairs each mirrored answer with its live twin (same request
id), compares them (:mod:`switchman.rollout.agreement`) and writes per-second roll-ups to the
``shadow_stats`` table, so ``monitor shadow``, the studio and the rollout gates can read them.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switchman.datacollection.record import iso, keep, payload_fields
from switchman.datacollection.writer import RecordWriter
from switchman.dataplane.message import Request, Response
from switchman.dataplane.table import PayloadCapture, RouteTable
from switchman.rollout import shadowstore
from switchman.rollout.agreement import AgreementStats, compare

log = logging.getLogger(__name__)

# (request id, endpoint, deployment, mirrored, status, body, latency ms)
Half = tuple[str, str, str, bool, int, bytes, float]
# (epoch, endpoint, deployment, request id, mirrored, capture, method, path, request body,
#  captured headers, status, response body, latency ms)
Capture = tuple[
    float, str, str, str, bool, PayloadCapture, str, str, bytes, dict[str, str], int, bytes, float
]
_PAIR_TTL_S = 600.0


class Tap:
    """Hooks for the scoring service plus the thread that does the work.

    Args:
        home_root: ``$SWITCHMAN_HOME`` (records go under ``data-collection/``).
        db_path: ``state.db`` for the ``shadow_stats`` roll-ups; None keeps them in memory only.
        max_pending: captured requests / answer halves queued at most; more are dropped.
        max_pairs: mirrored requests awaiting both halves at most; more are not compared.
        interval: seconds between the thread's passes; roll-ups are written every ``rollup_s``.
    """

    def __init__(
        self,
        home_root: Path,
        db_path: Path | None,
        *,
        max_pending: int = 20_000,
        max_pairs: int = 10_000,
        interval: float = 0.1,
        rollup_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = home_root / "data-collection"
        self.db_path = db_path
        self.max_pending = max_pending
        self.max_pairs = max_pairs
        self.interval = interval
        self.rollup_s = rollup_s
        self._clock = clock
        self.writer = RecordWriter("router", max_pending=max_pending, start_thread=False)
        self.captures_dropped = 0
        self.halves_dropped = 0
        self.pairs_skipped = 0
        self.pairs_compared = 0
        self._capture: dict[tuple[str, str], PayloadCapture] = {}
        self._pending: dict[str, int] = {}  # request id → halves seen (event loop only)
        self._captures: deque[Capture] = deque()
        self._halves: deque[Half] = deque()
        self._waiting: dict[str, tuple[Half, float]] = {}  # thread only
        self._stats: dict[tuple[str, str, str], AgreementStats] = {}
        self.totals: dict[tuple[str, str, str], AgreementStats] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="router-tap", daemon=True)
        self._last_rollup = 0.0

    # -- hooks (event loop) ----------------------------------------------------------------------
    def install(self, table: RouteTable) -> None:
        self._capture = {
            (ep.name, dep.name): dep.capture
            for ep in table.endpoints.values()
            for dep in ep.deployments.values()
            if dep.capture is not None
        }

    def mirrored(self, request_id: str) -> None:
        """A mirror copy of ``request_id`` is on its way: pair its answer with the live one."""
        if len(self._pending) >= self.max_pairs:
            self.pairs_skipped += 1
            return
        self._pending[request_id] = 0

    def finished(
        self,
        req: Request,
        endpoint: str,
        deployment: str,
        request_id: str,
        mirrored: bool,
        response: Response,
        total_ms: float,
    ) -> None:
        """One request (live or mirrored) ended with ``response``."""
        pending = self._pending
        if pending and request_id in pending:
            seen = pending[request_id] + 1
            if seen >= 2:
                del pending[request_id]
            else:
                pending[request_id] = seen
            if len(self._halves) < self.max_pending:
                self._halves.append(
                    (
                        request_id,
                        endpoint,
                        deployment,
                        mirrored,
                        response.status,
                        response.body,
                        total_ms,
                    )
                )
            else:
                self.halves_dropped += 1
        capture = self._capture.get((endpoint, deployment)) if self._capture else None
        if capture is None:
            return
        if len(self._captures) >= self.max_pending:
            self.captures_dropped += 1
            return
        headers: dict[str, str] = {}
        if capture.capture_headers:
            found = req.header_map()
            for name in capture.capture_headers:
                value = found.get(name.encode("latin-1"))
                if value is not None:
                    headers[name] = value.decode("latin-1")
        self._captures.append(
            (
                time.time(),
                endpoint,
                deployment,
                request_id,
                mirrored,
                capture,
                req.method,
                req.path,
                req.body,
                headers,
                response.status,
                response.body,
                total_ms,
            )
        )

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self.db_path is not None:
            conn = sqlite3.connect(self.db_path, timeout=10)
            try:
                shadowstore.ensure_schema(conn)
            finally:
                conn.close()
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Write what is queued (records and roll-ups) and stop the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        else:
            self.step(None)
        self.writer.close()

    # -- the thread ------------------------------------------------------------------------------
    def _run(self) -> None:
        conn = sqlite3.connect(self.db_path, timeout=10) if self.db_path is not None else None
        try:
            while not self._stop.wait(self.interval):
                self._safe_step(conn)
            self._safe_step(conn, final=True)
        finally:
            if conn is not None:
                conn.close()

    def _safe_step(self, conn: sqlite3.Connection | None, final: bool = False) -> None:
        try:
            self.step(conn, final=final)
        except Exception:  # the tap must outlive any one bad batch
            log.exception("the router tap failed a batch; continuing")

    def step(self, conn: sqlite3.Connection | None, *, final: bool = False) -> None:
        """One pass: records out, halves paired, roll-ups written when due. (Thread or tests.)"""
        self._drain_captures()
        self.writer.flush()
        self._drain_halves()
        now = self._clock()
        if final or now - self._last_rollup >= self.rollup_s:
            self._last_rollup = now
            stats, self._stats = self._stats, {}
            if conn is not None and (stats or final):
                shadowstore.write_rollups(conn, now, stats, self.counters())

    def counters(self) -> dict[str, int]:
        return {
            "data_collection_written": self.writer.written,
            "data_collection_dropped": self.writer.dropped + self.captures_dropped,
            "shadow_pairs_compared": self.pairs_compared,
            "shadow_halves_dropped": self.halves_dropped,
            "shadow_pairs_skipped": self.pairs_skipped,
        }

    def _drain_captures(self) -> None:
        captures = self._captures
        offer = self.writer.offer
        for _ in range(len(captures)):
            (
                epoch,
                endpoint,
                deployment,
                rid,
                mirrored,
                capture,
                method,
                path,
                body,
                headers,
                status,
                out,
                ms,
            ) = captures.popleft()
            common: dict[str, Any] = {
                "specversion": "1.0",
                "source": f"/switchman/onlineEndpoints/{endpoint}/deployments/{deployment}",
                "datacontenttype": "application/json",
                "time": iso(epoch),
                "path": path,
                "method": method,
                "correlationid": rid,
                "xrequestid": rid,
                "modelversion": "default",
                "agent": "switchman-router",
            }
            if mirrored:
                common["mirrored"] = True
            base = self.root / endpoint / deployment
            rolling = capture.rolling_rate
            if capture.request_rate > 0 and keep(rid, capture.request_rate):
                record: dict[str, Any] = {
                    **common,
                    "id": f"{rid}-request",
                    "type": "azureml.inference.request",
                    "contentrange": f"bytes 0-{max(0, len(body) - 1)}/{len(body)}",
                    **payload_fields(body),
                }
                if headers:
                    record["headers"] = headers
                offer(base / "request", rolling, epoch, record)
            if capture.response_rate > 0 and keep(rid, capture.response_rate):
                offer(
                    base / "response",
                    rolling,
                    epoch,
                    {
                        **common,
                        "id": f"{rid}-response",
                        "type": "azureml.inference.response",
                        "statuscode": status,
                        "latencyms": round(ms, 3),
                        "contentrange": f"bytes 0-{max(0, len(out) - 1)}/{len(out)}",
                        **payload_fields(out),
                    },
                )

    def _drain_halves(self) -> None:
        halves = self._halves
        waiting = self._waiting
        now = time.monotonic()
        for _ in range(len(halves)):
            half = halves.popleft()
            twin = waiting.pop(half[0], None)
            if twin is None:
                waiting[half[0]] = (half, now)
                continue
            other = twin[0]
            live, shadow = (other, half) if half[3] else (half, other)
            if live[3] or not shadow[3]:
                continue  # two halves of the same kind: not a pair (should not happen)
            key = (live[1], live[2], shadow[2])
            comparison = compare(live[4], live[5], shadow[4], shadow[5])
            for table in (self._stats, self.totals):
                stats = table.get(key)
                if stats is None:
                    stats = table[key] = AgreementStats()
                stats.add(comparison, live[6], shadow[6])
            self.pairs_compared += 1
        if waiting and len(waiting) > self.max_pairs:
            for rid in [r for r, (_, at) in waiting.items() if now - at > _PAIR_TTL_S]:
                del waiting[rid]


__all__ = ["Tap"]
