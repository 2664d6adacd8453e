"""The state store: one SQLite file (WAL) under ``$SWITCHMAN_HOME``.

Spec and status are stored apart: the user owns ``spec`` (and its ``generation``, which grows on every
spec change); the reconciler owns ``status``. Nothing a restart needs is kept only in memory.

Thread safety: one connection guarded by a lock, so the API's worker threads and the reconciler can
share a Store. Other processes (the router, the CLI's read-only monitor) open their own connections.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from switchman.errors import ConflictError, NotFoundError

SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL,
    local INTEGER NOT NULL DEFAULT 0,
    secrets BLOB,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deployments (
    endpoint TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    resolved TEXT NOT NULL,
    generation INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (endpoint, name)
);
CREATE TABLE IF NOT EXISTS instances (
    id TEXT PRIMARY KEY,
    endpoint TEXT NOT NULL,
    deployment TEXT NOT NULL,
    template TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    pid_started REAL,
    port INTEGER,
    url TEXT,
    dir TEXT NOT NULL,
    created_at REAL NOT NULL,
    ready_at REAL,
    stop_deadline REAL,
    exit_code INTEGER,
    message TEXT,
    handle TEXT,
    address TEXT
);
CREATE TABLE IF NOT EXISTS assets (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    version TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at REAL NOT NULL,
    archived INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, name, version)
);
CREATE TABLE IF NOT EXISTS events (
    time REAL NOT NULL,
    endpoint TEXT,
    deployment TEXT,
    instance TEXT,
    name TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_deployment ON events (endpoint, deployment, time);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS console_log (
    time REAL NOT NULL,
    endpoint TEXT,
    deployment TEXT,
    instance TEXT,
    container TEXT,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS console_by_deployment ON console_log (endpoint, deployment, time);
"""


def connect(path: Path | str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the state database with the settings every process must use (WAL, busy timeout)."""
    if read_only:
        conn = sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=10, check_same_thread=False
        )
    else:
        conn = sqlite3.connect(str(path), timeout=10, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.row_factory = sqlite3.Row
    return conn


@dataclass
class EndpointRecord:
    name: str
    spec: dict[str, Any]
    generation: int
    status: dict[str, Any]
    local: bool
    secrets: bytes | None
    created_at: float
    updated_at: float


@dataclass
class DeploymentRecord:
    endpoint: str
    name: str
    spec: dict[str, Any]
    resolved: dict[str, Any]
    generation: int
    status: dict[str, Any]
    created_at: float
    updated_at: float


@dataclass
class InstanceRecord:
    id: str
    endpoint: str
    deployment: str
    template: str
    state: str
    dir: str
    created_at: float
    pid: int | None = None
    pid_started: float | None = None
    port: int | None = None
    url: str | None = None
    ready_at: float | None = None
    stop_deadline: float | None = None
    exit_code: int | None = None
    message: str | None = None
    handle: str | None = None  # the compute backend's opaque Handle, as JSON
    address: str | None = None  # where the runtime listens, as the backend reported it
    extra: dict[str, Any] = field(default_factory=dict)


_INSTANCE_COLUMNS = [
    "id",
    "endpoint",
    "deployment",
    "template",
    "state",
    "pid",
    "pid_started",
    "port",
    "url",
    "dir",
    "created_at",
    "ready_at",
    "stop_deadline",
    "exit_code",
    "message",
    "handle",
    "address",
]

# Columns added after the first release: ALTER TABLE brings an older state.db up to date.
_ADDED_INSTANCE_COLUMNS = {"handle": "TEXT", "address": "TEXT"}


class Database:
    """One SQLite connection behind a lock, shared by the typed stores over the same file.

    Thread-safe: the API's worker threads and the reconciler use one connection, serialised by the
    lock; ``transaction()`` groups several statements into one atomic write.
    """

    def __init__(self, path: Path | str, schema: str) -> None:
        self._conn = connect(path)
        self._lock = threading.RLock()
        with self._lock:
            self._conn.executescript(schema)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, args).fetchall())

    def _exec(self, sql: str, args: tuple[Any, ...] = ()) -> int:
        with self._lock:
            return int(self._conn.execute(sql, args).rowcount)


class Store(Database):
    """Typed access to the state tables. Every method is one short transaction."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, SCHEMA)
        with self._lock:
            have = {r[1] for r in self._conn.execute("PRAGMA table_info(instances)")}
            for column, kind in _ADDED_INSTANCE_COLUMNS.items():
                if column not in have:
                    self._conn.execute(f"ALTER TABLE instances ADD COLUMN {column} {kind}")

    # -- endpoints -------------------------------------------------------------------------------

    @staticmethod
    def _endpoint(row: sqlite3.Row) -> EndpointRecord:
        return EndpointRecord(
            name=row["name"],
            spec=json.loads(row["spec"]),
            generation=row["generation"],
            status=json.loads(row["status"]),
            local=bool(row["local"]),
            secrets=row["secrets"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def insert_endpoint(
        self,
        name: str,
        spec: dict[str, Any],
        status: dict[str, Any],
        *,
        local: bool,
        secrets: bytes,
    ) -> EndpointRecord:
        now = time.time()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM endpoints WHERE name=?", (name,)).fetchone():
                raise ConflictError(
                    f"Online endpoint {name!r} already exists. Use `switchman online-endpoint update` "
                    "to change it, or delete it first."
                )
            conn.execute(
                "INSERT INTO endpoints VALUES (?,?,?,?,?,?,?,?)",
                (name, json.dumps(spec), 1, json.dumps(status), int(local), secrets, now, now),
            )
        return self.get_endpoint(name)

    def find_endpoint(self, name: str) -> EndpointRecord | None:
        rows = self._rows("SELECT * FROM endpoints WHERE name=?", (name,))
        return self._endpoint(rows[0]) if rows else None

    def get_endpoint(self, name: str) -> EndpointRecord:
        record = self.find_endpoint(name)
        if record is None:
            raise NotFoundError(
                f"Online endpoint {name!r} does not exist. Create it with "
                f"`switchman online-endpoint create -n {name}` or check `switchman online-endpoint list`."
            )
        return record

    def list_endpoints(self) -> list[EndpointRecord]:
        return [self._endpoint(r) for r in self._rows("SELECT * FROM endpoints ORDER BY name")]

    def update_endpoint_spec(self, name: str, spec: dict[str, Any]) -> EndpointRecord:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE endpoints SET spec=?, generation=generation+1, updated_at=? WHERE name=?",
                (json.dumps(spec), time.time(), name),
            )
        return self.get_endpoint(name)

    def set_endpoint_status(self, name: str, status: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE endpoints SET status=? WHERE name=?", (json.dumps(status), name)
            )

    def set_endpoint_secrets(self, name: str, secrets: bytes) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE endpoints SET secrets=?, updated_at=? WHERE name=?",
                (secrets, time.time(), name),
            )

    def delete_endpoint_row(self, name: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM endpoints WHERE name=?", (name,))

    # -- deployments -----------------------------------------------------------------------------

    @staticmethod
    def _deployment(row: sqlite3.Row) -> DeploymentRecord:
        return DeploymentRecord(
            endpoint=row["endpoint"],
            name=row["name"],
            spec=json.loads(row["spec"]),
            resolved=json.loads(row["resolved"]),
            generation=row["generation"],
            status=json.loads(row["status"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def insert_deployment(
        self,
        endpoint: str,
        name: str,
        spec: dict[str, Any],
        resolved: dict[str, Any],
        status: dict[str, Any],
    ) -> DeploymentRecord:
        now = time.time()
        with self.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM deployments WHERE endpoint=? AND name=?", (endpoint, name)
            ).fetchone():
                raise ConflictError(
                    f"Deployment {name!r} already exists on endpoint {endpoint!r}. Use "
                    "`switchman online-deployment update` to change it, or delete it first."
                )
            conn.execute(
                "INSERT INTO deployments VALUES (?,?,?,?,?,?,?,?)",
                (
                    endpoint,
                    name,
                    json.dumps(spec),
                    json.dumps(resolved),
                    1,
                    json.dumps(status),
                    now,
                    now,
                ),
            )
        return self.get_deployment(endpoint, name)

    def find_deployment(self, endpoint: str, name: str) -> DeploymentRecord | None:
        rows = self._rows("SELECT * FROM deployments WHERE endpoint=? AND name=?", (endpoint, name))
        return self._deployment(rows[0]) if rows else None

    def get_deployment(self, endpoint: str, name: str) -> DeploymentRecord:
        record = self.find_deployment(endpoint, name)
        if record is None:
            raise NotFoundError(
                f"Deployment {name!r} does not exist on endpoint {endpoint!r}. List them with "
                f"`switchman online-deployment list -e {endpoint}`."
            )
        return record

    def list_deployments(self, endpoint: str | None = None) -> list[DeploymentRecord]:
        if endpoint is None:
            rows = self._rows("SELECT * FROM deployments ORDER BY endpoint, name")
        else:
            rows = self._rows(
                "SELECT * FROM deployments WHERE endpoint=? ORDER BY name", (endpoint,)
            )
        return [self._deployment(r) for r in rows]

    def update_deployment_spec(
        self, endpoint: str, name: str, spec: dict[str, Any], resolved: dict[str, Any]
    ) -> DeploymentRecord:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE deployments SET spec=?, resolved=?, generation=generation+1, updated_at=? "
                "WHERE endpoint=? AND name=?",
                (json.dumps(spec), json.dumps(resolved), time.time(), endpoint, name),
            )
        return self.get_deployment(endpoint, name)

    def set_deployment_status(self, endpoint: str, name: str, status: dict[str, Any]) -> None:
        with self._lock:
            self._conn.execute(
                "UPDATE deployments SET status=? WHERE endpoint=? AND name=?",
                (json.dumps(status), endpoint, name),
            )

    def delete_deployment_row(self, endpoint: str, name: str) -> None:
        with self._lock:
            self._conn.execute(
                "DELETE FROM deployments WHERE endpoint=? AND name=?", (endpoint, name)
            )

    # -- instances -------------------------------------------------------------------------------

    @staticmethod
    def _instance(row: sqlite3.Row) -> InstanceRecord:
        record = InstanceRecord(**{c: row[c] for c in _INSTANCE_COLUMNS})
        if record.handle is None and record.pid:
            # A row from before opaque handles: it was a local process.
            record.handle = json.dumps(
                {
                    "backend": "local",
                    "key": f"{record.pid}:{record.pid_started or 0.0:.3f}",
                    "data": {
                        "pid": record.pid,
                        "started": record.pid_started or 0.0,
                        "dir": record.dir,
                    },
                }
            )
        return record

    def upsert_instance(self, record: InstanceRecord) -> None:
        values = tuple(getattr(record, c) for c in _INSTANCE_COLUMNS)
        placeholders = ",".join("?" * len(_INSTANCE_COLUMNS))
        with self._lock:
            self._conn.execute(
                f"INSERT OR REPLACE INTO instances ({','.join(_INSTANCE_COLUMNS)}) "
                f"VALUES ({placeholders})",
                values,
            )

    def list_instances(
        self, endpoint: str | None = None, deployment: str | None = None
    ) -> list[InstanceRecord]:
        sql, args = "SELECT * FROM instances", ()  # type: tuple[str, tuple[Any, ...]]
        if endpoint is not None and deployment is not None:
            sql, args = sql + " WHERE endpoint=? AND deployment=?", (endpoint, deployment)
        elif endpoint is not None:
            sql, args = sql + " WHERE endpoint=?", (endpoint,)
        return [self._instance(r) for r in self._rows(sql + " ORDER BY created_at", args)]

    def delete_instance(self, instance_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM instances WHERE id=?", (instance_id,))

    # -- registry (models, environments) ---------------------------------------------------------

    @staticmethod
    def _asset(row: sqlite3.Row) -> dict[str, Any]:
        return {
            "kind": row["kind"],
            "name": row["name"],
            "version": row["version"],
            "spec": json.loads(row["spec"]),
            "created_at": row["created_at"],
            "archived": bool(row["archived"]),
        }

    def put_asset(self, kind: str, name: str, version: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self.transaction() as conn:
            if conn.execute(
                "SELECT 1 FROM assets WHERE kind=? AND name=? AND version=?", (kind, name, version)
            ).fetchone():
                raise ConflictError(
                    f"{kind.capitalize()} {name}:{version} already exists; versions are immutable. "
                    "Give a new version with -v, or leave -v out to get the next one."
                )
            conn.execute(
                "INSERT INTO assets VALUES (?,?,?,?,?,0)",
                (kind, name, version, json.dumps(spec), time.time()),
            )
        found = self.get_asset(kind, name, version)
        assert found is not None
        return found

    def get_asset(self, kind: str, name: str, version: str | None) -> dict[str, Any] | None:
        if version is None:
            rows = self._rows(
                "SELECT * FROM assets WHERE kind=? AND name=? AND archived=0 "
                "ORDER BY created_at DESC LIMIT 1",
                (kind, name),
            )
        else:
            rows = self._rows(
                "SELECT * FROM assets WHERE kind=? AND name=? AND version=?", (kind, name, version)
            )
        return self._asset(rows[0]) if rows else None

    def list_assets(
        self, kind: str, name: str | None = None, include_archived: bool = False
    ) -> list[dict[str, Any]]:
        sql = "SELECT * FROM assets WHERE kind=?"
        args: tuple[Any, ...] = (kind,)
        if name is not None:
            sql, args = sql + " AND name=?", (*args, name)
        if not include_archived:
            sql += " AND archived=0"
        return [self._asset(r) for r in self._rows(sql + " ORDER BY name, created_at", args)]

    def archive_asset(self, kind: str, name: str, version: str) -> None:
        with self._lock:
            cur = self._conn.execute(
                "UPDATE assets SET archived=1 WHERE kind=? AND name=? AND version=?",
                (kind, name, version),
            )
        if cur.rowcount == 0:
            raise NotFoundError(f"{kind.capitalize()} {name}:{version} does not exist.")

    def next_version(self, kind: str, name: str) -> str:
        versions = [
            int(r["version"])
            for r in self._rows("SELECT version FROM assets WHERE kind=? AND name=?", (kind, name))
            if str(r["version"]).isdigit()
        ]
        return str(max(versions, default=0) + 1)

    # -- events and meta -------------------------------------------------------------------------

    def add_event(
        self,
        name: str,
        message: str,
        *,
        endpoint: str | None = None,
        deployment: str | None = None,
        instance: str | None = None,
    ) -> None:
        with self._lock:
            self._conn.execute(
                "INSERT INTO events VALUES (?,?,?,?,?,?)",
                (time.time(), endpoint, deployment, instance, name, message),
            )

    def list_events(self, endpoint: str, deployment: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM events WHERE endpoint=?"
        args: tuple[Any, ...] = (endpoint,)
        if deployment is not None:
            sql, args = sql + " AND deployment=?", (*args, deployment)
        return [dict(r) for r in self._rows(sql + " ORDER BY time", args)]

    def add_console_rows(self, rows: list[tuple[float, str, str, str, str, str]]) -> None:
        with self._lock:
            self._conn.executemany("INSERT INTO console_log VALUES (?,?,?,?,?,?)", rows)

    def prune_console(self, before: float) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM console_log WHERE time < ?", (before,))

    def get_meta(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0]["value"]) if rows else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES (?,?)", (key, value))
