"""Copies instance container logs into the ``console_log`` table (AmlOnlineEndpointConsoleLog).

Runs inside the reconciler pass, reading only what was appended since the last pass (bounded per
file), so `switchman monitor query "SELECT ... FROM AmlOnlineEndpointConsoleLog"` sees every
instance's output. Instances adopted after a control-plane restart are followed from the end of
their files, so no line is stored twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from switchman.compute.backend import CONTAINER_LOGS, ComputeBackend, Handle
from switchman.controlplane.store import InstanceRecord, Store

MAX_BYTES_PER_FILE = 1 << 20
RETENTION_S = 7 * 24 * 3600


class ConsoleCollector:
    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self.started_at = clock()
        self._offsets: dict[str, int] = {}
        self._pruned_at = 0.0
        # security: (endpoint, deployment, text) → text with injected secrets masked
        self.mask: Callable[[str, str, str], str] = lambda _ep, _dep, text: text

    def collect(self, instances: Iterable[InstanceRecord], backend: ComputeBackend) -> int:
        """Store new complete lines of every instance's logs; returns how many were stored."""
        now = self.clock()
        rows: list[tuple[float, str, str, str, str, str]] = []
        seen: set[str] = set()
        for inst in instances:
            if not inst.handle:
                continue
            handle = Handle.from_json(inst.handle)
            for container in CONTAINER_LOGS:
                key = f"{inst.id}/{container}"
                seen.add(key)
                lines = self._new_lines(key, backend, handle, container, inst.created_at)
                if lines:
                    text = self.mask(inst.endpoint, inst.deployment, "\n".join(lines))
                    lines = text.split("\n")
                rows.extend(
                    (now, inst.endpoint, inst.deployment, inst.id, container, line)
                    for line in lines
                )
        for key in [k for k in self._offsets if k not in seen]:
            del self._offsets[key]
        if rows:
            self.store.add_console_rows(rows)
        if now - self._pruned_at > 3600:
            self.store.prune_console(now - RETENTION_S)
            self._pruned_at = now
        return len(rows)

    def _new_lines(
        self, key: str, backend: ComputeBackend, handle: Handle, container: str, created_at: float
    ) -> list[str]:
        probe = backend.log_chunk(handle, container, None, 0)
        if probe is None:
            return []
        size = probe.size
        offset = self._offsets.get(key)
        if offset is None:
            # Started before this control plane: an earlier one already stored what was there.
            offset = size if created_at < self.started_at else 0
        if size < offset:
            offset = 0  # the file was truncated or replaced
        if size == offset:
            self._offsets[key] = offset
            return []
        chunk = backend.log_chunk(handle, container, offset, min(size - offset, MAX_BYTES_PER_FILE))
        data = chunk.data if chunk is not None else b""
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) < MAX_BYTES_PER_FILE:
            self._offsets[key] = offset
            return []  # half a line: wait for the rest
        cut = cut or len(data)
        self._offsets[key] = offset + cut
        return [line for line in data[:cut].decode(errors="replace").splitlines() if line.strip()]
