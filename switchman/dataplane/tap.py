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

import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from switchman.datacollection.record import LARGE_BODY_BYTES, data_json, iso, keep, payload_fields
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
    float,
    str,
    str,
    str,
    bool,
    PayloadCapture,
    str,
    str,
    bytes,
    dict[str, str],
    int,
    bytes,
    float,
    bool,
    bool,
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
        retention_s: roll-ups older than this are deleted.
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
        retention_s: float = 7 * 86400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = home_root / "data-collection"
        self.db_path = db_path
        self.max_pending = max_pending
        self.max_pairs = max_pairs
        self.interval = interval
        self.rollup_s = rollup_s
        self.retention_s = retention_s
        self._clock = clock
        # SWITCHMAN_SHADOW_PAIRING=0 turns pairing off (bench/bench_rollout.py measures its cost).
        self.pairing = os.environ.get("SWITCHMAN_SHADOW_PAIRING", "1") != "0"
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
        self._bases: dict[tuple[str, str], tuple[Path, Path, Path, bytes]] = {}
        self._texts: dict[str, bytes] = {}
        self._second = -1
        self._second_text = b""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="router-tap", daemon=True)
        self._last_rollup = 0.0
        self._last_purge = 0.0

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
        if not self.pairing:
            return
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
                _is_json(req.header_map().get(b"content-type")),
                _is_json(_header(response.headers, b"content-type")),
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
            if conn is not None and now - self._last_purge > 600:
                self._last_purge = now
                shadowstore.purge(conn, now - self.retention_s)

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
                json_in,
                json_out,
            ) = captures.popleft()
            base = self._bases.get((endpoint, deployment))
            if base is None:
                folder = self.root / endpoint / deployment
                base = self._bases[(endpoint, deployment)] = (
                    folder,
                    folder / "request",
                    folder / "response",
                    f"/switchman/onlineEndpoints/{endpoint}/deployments/{deployment}".encode(),
                )
            folder, request_dir, response_dir, source = base
            rolling = capture.rolling_rate
            want_request = capture.request_rate > 0 and keep(rid, capture.request_rate)
            want_response = capture.response_rate > 0 and keep(rid, capture.response_rate)
            if not (want_request or want_response):
                continue
            if len(body) > LARGE_BODY_BYTES or len(out) > LARGE_BODY_BYTES:
                self._large(folder, rolling, epoch, rid, want_request, want_response, body, out,
                            status, ms, headers)  # fmt: skip
                continue
            # Lines are joined from bytes: a dict and json.dumps per record would cost the router
            # more than the whole request does (bench/bench_rollout.py).
            rid_b = rid.encode()
            common = b"".join(
                (
                    b'"specversion":"1.0","source":"', source,
                    b'","datacontenttype":"application/json","time":"', self._time(epoch),
                    b'","path":', self._text(path), b',"method":', self._text(method),
                    b',"correlationid":"', rid_b, b'","xrequestid":"', rid_b,
                    b'","modelversion":"default","agent":"switchman-router",',
                    b'"mirrored":true,' if mirrored else b"",
                )
            )  # fmt: skip
            if want_request:
                offer(
                    request_dir,
                    rolling,
                    epoch,
                    b"".join(
                        (
                            b'{"id":"', rid_b, b'-request","type":"azureml.inference.request",',
                            common,
                            b'"contentrange":"bytes 0-%d/%d",' % (max(0, len(body) - 1), len(body)),
                            b'"headers":' + json.dumps(headers).encode() + b"," if headers else b"",
                            data_json(body, json_in), b"}",
                        )
                    ),
                )  # fmt: skip
            if want_response:
                offer(
                    response_dir,
                    rolling,
                    epoch,
                    b"".join(
                        (
                            b'{"id":"', rid_b, b'-response","type":"azureml.inference.response",',
                            common,
                            b'"statuscode":%d,"latencyms":%.3f,' % (status, ms),
                            b'"contentrange":"bytes 0-%d/%d",' % (max(0, len(out) - 1), len(out)),
                            data_json(out, json_out), b"}",
                        )
                    ),
                )  # fmt: skip

    def _time(self, epoch: float) -> bytes:
        second = int(epoch)
        if second != self._second:
            self._second = second
            self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)).encode()
        return self._second_text + b".%03dZ" % int((epoch - second) * 1000)

    def _text(self, value: str) -> bytes:
        found = self._texts.get(value)
        if found is None:
            if len(self._texts) > 1024:
                self._texts.clear()
            found = self._texts[value] = json.dumps(value).encode()
        return found

    def _large(
        self,
        folder: Path,
        rolling: str,
        epoch: float,
        rid: str,
        want_request: bool,
        want_response: bool,
        body: bytes,
        out: bytes,
        status: int,
        ms: float,
        headers: dict[str, str],
    ) -> None:
        """Records with a body too large for one line: the writer keeps the body aside."""
        common = {"correlationid": rid, "xrequestid": rid, "time": iso(epoch)}
        if want_request:
            record: dict[str, Any] = {
                "id": f"{rid}-request",
                "type": "azureml.inference.request",
                **common,
            }
            if headers:
                record["headers"] = headers
            self.writer.offer(
                folder / "request", rolling, epoch, {**record, **payload_fields(body)}
            )
        if want_response:
            record = {"id": f"{rid}-response", "type": "azureml.inference.response", **common}
            record.update(statuscode=status, latencyms=round(ms, 3))
            self.writer.offer(
                folder / "response", rolling, epoch, {**record, **payload_fields(out)}
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


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _is_json(content_type: bytes | None) -> bool:
    return content_type is not None and b"json" in content_type.lower()


__all__ = ["Tap"]
