"""A bounded, non-blocking record writer: callers append; one thread writes JSON lines in batches.

Used by the router (``request``/``response``, as pre-rendered lines) and by instances
(``Collector``, as dicts). ``offer`` never blocks and never raises: past ``max_pending`` records it
drops and counts, so data collection can never slow or fail a request.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from pathlib import Path
from typing import IO, Any

from switchman.datacollection.record import LARGE_BODY_BYTES, file_for

log = logging.getLogger(__name__)

# (collection folder, rolling rate, epoch seconds, a record dict or one rendered JSON line)
Pending = tuple[Path, str, float, "dict[str, Any] | bytes"]


class RecordWriter:
    """Owns the open files of one writer (router or instance) on a daemon thread.

    Args:
        name: the writer's part of file names (``router``, an instance id).
        max_pending: records kept in memory at most; more are dropped and counted in ``dropped``.
        flush_interval: seconds between batches.
        start_thread: whether ``offer`` starts the writing thread (False: the owner calls ``flush``).
    """

    def __init__(
        self,
        name: str,
        *,
        max_pending: int = 10_000,
        flush_interval: float = 0.2,
        start_thread: bool = True,
    ) -> None:
        self.name = name
        self.start_thread = start_thread
        self.max_pending = max_pending
        self.flush_interval = flush_interval
        self.written = 0
        self.dropped = 0
        self._pending: deque[Pending] = deque()
        self._files: dict[Path, IO[bytes]] = {}
        self._paths: dict[tuple[Path, str, int], Path] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def offer(
        self, folder: Path, rolling_rate: str, epoch: float, record: dict[str, Any] | bytes
    ) -> bool:
        """Queue one record (a dict, or one rendered JSON line without its newline); False (and
        counted) when the queue is full. Thread-safe, never blocks."""
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return False
        self._pending.append((folder, rolling_rate, epoch, record))
        if self._thread is None and self.start_thread:
            self._start()
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"data-collector-{self.name}", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        """Write everything queued now (on the caller's thread; tests and shutdown)."""
        with self._lock:
            self._write_batch()

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, stop the thread and close the files."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive():
            thread.join(timeout)
        with self._lock:
            self._write_batch()
            for handle in self._files.values():
                handle.close()
            self._files.clear()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                with self._lock:
                    self._write_batch()
            except Exception:  # never let one bad batch end collection
                log.exception("data collection writer %s failed a batch; continuing", self.name)

    def _path(self, folder: Path, rolling: str, epoch: float) -> Path:
        # One path per (collection, hour or minute): Path arithmetic per record would dominate.
        key = (folder, rolling, int(epoch // (60 if rolling == "minute" else 3600)))
        path = self._paths.get(key)
        if path is None:
            if len(self._paths) > 256:
                self._paths.clear()
            path = self._paths[key] = file_for(folder, self.name, epoch, rolling)
        return path

    def _write_batch(self) -> None:
        pending = self._pending
        if not pending:
            return
        lines: dict[Path, list[bytes]] = {}
        for _ in range(len(pending)):
            folder, rolling, epoch, record = pending.popleft()
            path = self._path(folder, rolling, epoch)
            if isinstance(record, bytes):
                line = record
            else:
                try:
                    text = json.dumps(record, separators=(",", ":"), default=str)
                except (TypeError, ValueError) as exc:
                    log.warning("dropping a %s record that is not JSON: %s", folder.name, exc)
                    self.dropped += 1
                    continue
                if len(text) > LARGE_BODY_BYTES and "data" in record:
                    text = self._spill(path, record)
                line = text.encode()
            found = lines.get(path)
            if found is None:
                lines[path] = [line]
            else:
                found.append(line)
        for path, chunk in lines.items():
            handle = self._handle(path)
            chunk.append(b"")
            handle.write(b"\n".join(chunk))
            handle.flush()
            self.written += len(chunk) - 1

    def _spill(self, path: Path, record: dict[str, Any]) -> str:
        """A large payload goes to ``<hour>/large/<id>.json``; the line keeps ``dataref``."""
        ref = path.parent / "large" / f"{record.get('id') or self.written}.json"
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(json.dumps(record["data"], default=str))
        slim = {k: v for k, v in record.items() if k != "data"}
        slim["dataref"] = str(ref)
        return json.dumps(slim, separators=(",", ":"), default=str)

    def _handle(self, path: Path) -> IO[bytes]:
        handle = self._files.get(path)
        if handle is None:
            # A new hour (or minute) of this collection started: close the file of the one left.
            base = path.parents[4]  # <collection>/<yyyy>/<mm>/<dd>/<hh>/<file>
            for old in [p for p in self._files if p.parents[4] == base]:
                self._files.pop(old).close()
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = self._files[path] = path.open("ab")
        return handle
