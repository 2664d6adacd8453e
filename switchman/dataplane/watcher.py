"""Watches ``routes.json`` (stat poll) and installs each new version of the route table.

A missing, half-written or invalid file never takes the router down: it keeps serving the last
table it loaded, and logs why the new one was not taken (once per file version).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from pathlib import Path

from switchman.dataplane.table import RouteTable, load_table
from switchman.errors import BadArgumentError

log = logging.getLogger(__name__)

Signature = tuple[int, int, int]


class TableWatcher:
    """Polls ``path`` every ``interval`` seconds (mtime_ns, size, inode) and calls ``install``."""

    def __init__(
        self, path: Path, install: Callable[[RouteTable], None], interval: float = 0.075
    ) -> None:
        self.path = path
        self.install = install
        self.interval = interval
        self.version: int | None = None
        self._signature: Signature | None = None
        self._missing_logged = False

    def poll(self) -> bool:
        """Check the file once; return True when a new table was installed."""
        try:
            st = os.stat(self.path)
        except OSError:
            if not self._missing_logged:
                log.warning(
                    "%s is missing; serving route table version %s", self.path, self.version
                )
                self._missing_logged = True
            return False
        self._missing_logged = False
        signature = (st.st_mtime_ns, st.st_size, st.st_ino)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            table = load_table(self.path)
        except (OSError, BadArgumentError) as exc:
            log.warning(
                "not taking %s (still serving version %s): %s", self.path, self.version, exc
            )
            self._signature = None if isinstance(exc, OSError) else signature
            return False
        if self.version is not None and table.version < self.version:
            log.warning(
                "ignoring %s version %d: older than version %d",
                self.path,
                table.version,
                self.version,
            )
            return False
        self.install(table)
        if table.version != self.version:
            log.info(
                "route table version %d installed (%d endpoints)",
                table.version,
                len(table.endpoints),
            )
        self.version = table.version
        return True

    async def run(self) -> None:
        """Poll forever (cancel to stop); an unexpected error is logged and polling goes on."""
        while True:
            try:
                self.poll()
            except Exception:
                log.exception("route table watcher step failed")
            await asyncio.sleep(self.interval)
