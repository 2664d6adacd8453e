"""The batch tables in the state database (own tables, ``CREATE TABLE IF NOT EXISTS``).

Batch endpoints, deployments, compute clusters and their nodes, jobs, mini-batches and workers.
Data assets live in the shared registry table (``assets``, kind ``data``). Every method is one short
transaction on this module's own connection (WAL lets it share the file with the platform store).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.batch.policy import MiniBatch, MiniBatchState, Node, Worker, WorkerState
from switchman.controlplane.store import Database
from switchman.errors import ConflictError, NotFoundError

SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_endpoints (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batch_deployments (
    endpoint TEXT NOT NULL, name TEXT NOT NULL, spec TEXT NOT NULL, resolved TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (endpoint, name)
);
CREATE TABLE IF NOT EXISTS computes (
    name TEXT PRIMARY KEY, spec TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS compute_nodes (
    compute TEXT NOT NULL, node TEXT NOT NULL, job TEXT, idle_since REAL, created_at REAL NOT NULL,
    PRIMARY KEY (compute, node)
);
CREATE TABLE IF NOT EXISTS batch_jobs (
    name TEXT PRIMARY KEY, endpoint TEXT NOT NULL, deployment TEXT NOT NULL, spec TEXT NOT NULL,
    status TEXT NOT NULL, error TEXT, token_sha256 TEXT NOT NULL, cancel_requested INTEGER NOT NULL,
    created_at REAL NOT NULL, started_at REAL, ended_at REAL
);
CREATE TABLE IF NOT EXISTS batch_minibatches (
    job TEXT NOT NULL, idx INTEGER NOT NULL, files TEXT NOT NULL, items INTEGER NOT NULL,
    state TEXT NOT NULL, attempts INTEGER NOT NULL, worker TEXT, deadline REAL,
    items_ok INTEGER NOT NULL DEFAULT 0, items_failed INTEGER NOT NULL DEFAULT 0, error TEXT,
    started_at REAL, ended_at REAL,
    PRIMARY KEY (job, idx)
);
CREATE INDEX IF NOT EXISTS batch_minibatches_by_state ON batch_minibatches (job, state, idx);
CREATE TABLE IF NOT EXISTS batch_results (
    job TEXT NOT NULL, idx INTEGER NOT NULL, attempt INTEGER NOT NULL, worker TEXT NOT NULL,
    ok INTEGER NOT NULL, items INTEGER NOT NULL, took_ms REAL NOT NULL, rows TEXT,
    PRIMARY KEY (job, idx, attempt)
);
CREATE TABLE IF NOT EXISTS batch_workers (
    id TEXT PRIMARY KEY, job TEXT NOT NULL, node TEXT NOT NULL, slot INTEGER NOT NULL,
    state TEXT NOT NULL, handle TEXT, dir TEXT NOT NULL,
    created_at REAL NOT NULL, ready_at REAL, message TEXT
);
CREATE INDEX IF NOT EXISTS batch_workers_by_job ON batch_workers (job);
"""

TERMINAL = ("Completed", "Failed", "Canceled", "NotResponding")


@dataclass
class JobRecord:
    name: str
    endpoint: str
    deployment: str
    spec: dict[str, Any]
    status: str
    error: dict[str, Any] | None
    token_sha256: str
    cancel_requested: bool
    created_at: float
    started_at: float | None
    ended_at: float | None


@dataclass
class WorkerRecord:
    id: str
    job: str
    node: str
    slot: int
    state: str
    handle: str | None  # the compute backend's opaque Handle, as JSON
    dir: str
    created_at: float
    ready_at: float | None
    message: str | None


class BatchStore(Database):
    """Typed access to the batch tables. Thread-safe (one connection, one lock)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(path, SCHEMA)

    # -- endpoints and deployments ---------------------------------------------------------------

    def put_endpoint(self, name: str, spec: dict[str, Any]) -> None:
        now = time.time()
        status = json.dumps({"provisioning_state": "Succeeded"})
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO batch_endpoints VALUES (?,?,?,?,?) ON CONFLICT(name) DO UPDATE SET "
                "spec=excluded.spec, updated_at=excluded.updated_at",
                (name, json.dumps(spec), status, now, now),
            )

    def find_endpoint(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM batch_endpoints WHERE name=?", (name,))
        return _endpoint(rows[0]) if rows else None

    def get_endpoint(self, name: str) -> dict[str, Any]:
        found = self.find_endpoint(name)
        if found is None:
            raise NotFoundError(
                f"Batch endpoint {name!r} does not exist. Create it with "
                f"`switchman batch-endpoint create -n {name}` or check `switchman batch-endpoint list`."
            )
        return found

    def list_endpoints(self) -> list[dict[str, Any]]:
        return [_endpoint(r) for r in self._rows("SELECT * FROM batch_endpoints ORDER BY name")]

    def delete_endpoint(self, name: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM batch_deployments WHERE endpoint=?", (name,))
            conn.execute("DELETE FROM batch_endpoints WHERE name=?", (name,))

    def put_deployment(
        self, endpoint: str, name: str, spec: dict[str, Any], resolved: dict[str, Any]
    ) -> None:
        now = time.time()
        status = json.dumps({"provisioning_state": "Succeeded"})
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO batch_deployments VALUES (?,?,?,?,?,?,?) "
                "ON CONFLICT(endpoint, name) DO UPDATE SET spec=excluded.spec, "
                "resolved=excluded.resolved, updated_at=excluded.updated_at",
                (endpoint, name, json.dumps(spec), json.dumps(resolved), status, now, now),
            )

    def find_deployment(self, endpoint: str, name: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT * FROM batch_deployments WHERE endpoint=? AND name=?", (endpoint, name)
        )
        return _deployment(rows[0]) if rows else None

    def get_deployment(self, endpoint: str, name: str) -> dict[str, Any]:
        found = self.find_deployment(endpoint, name)
        if found is None:
            raise NotFoundError(
                f"Batch deployment {name!r} does not exist on batch endpoint {endpoint!r}. List "
                f"them with `switchman batch-deployment list -e {endpoint}`."
            )
        return found

    def list_deployments(self, endpoint: str) -> list[dict[str, Any]]:
        rows = self._rows(
            "SELECT * FROM batch_deployments WHERE endpoint=? ORDER BY name", (endpoint,)
        )
        return [_deployment(r) for r in rows]

    def delete_deployment(self, endpoint: str, name: str) -> None:
        self._exec("DELETE FROM batch_deployments WHERE endpoint=? AND name=?", (endpoint, name))

    # -- compute ---------------------------------------------------------------------------------

    def insert_compute(self, name: str, spec: dict[str, Any]) -> None:
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM computes WHERE name=?", (name,)).fetchone():
                raise ConflictError(
                    f"Compute {name!r} already exists. Delete it first with "
                    f"`switchman compute delete -n {name} --yes`, or pick another name."
                )
            conn.execute(
                "INSERT INTO computes VALUES (?,?,?)", (name, json.dumps(spec), time.time())
            )

    def find_compute(self, name: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM computes WHERE name=?", (name,))
        if not rows:
            return None
        return {
            "name": rows[0]["name"],
            "spec": json.loads(rows[0]["spec"]),
            "created_at": rows[0]["created_at"],
        }

    def list_computes(self) -> list[dict[str, Any]]:
        names = [r["name"] for r in self._rows("SELECT name FROM computes ORDER BY name")]
        return [c for c in (self.find_compute(n) for n in names) if c is not None]

    def delete_compute(self, name: str) -> None:
        with self.transaction() as conn:
            conn.execute("DELETE FROM compute_nodes WHERE compute=?", (name,))
            conn.execute("DELETE FROM computes WHERE name=?", (name,))

    def nodes(self, compute: str) -> list[Node]:
        rows = self._rows("SELECT * FROM compute_nodes WHERE compute=? ORDER BY node", (compute,))
        return [Node(r["node"], r["job"], r["idle_since"]) for r in rows]

    def add_nodes(self, compute: str, names: list[str], job: str | None) -> None:
        now = time.time()
        with self.transaction() as conn:
            for name in names:
                conn.execute(
                    "INSERT INTO compute_nodes VALUES (?,?,?,?,?)",
                    (compute, name, job, None if job else now, now),
                )

    def assign_nodes(self, compute: str, names: list[str], job: str | None) -> None:
        now = time.time()
        with self.transaction() as conn:
            for name in names:
                conn.execute(
                    "UPDATE compute_nodes SET job=?, idle_since=? WHERE compute=? AND node=?",
                    (job, None if job else now, compute, name),
                )

    def release_job_nodes(self, job: str) -> None:
        self._exec(
            "UPDATE compute_nodes SET job=NULL, idle_since=? WHERE job=?", (time.time(), job)
        )

    def remove_nodes(self, compute: str, names: list[str]) -> None:
        with self.transaction() as conn:
            for name in names:
                conn.execute(
                    "DELETE FROM compute_nodes WHERE compute=? AND node=?", (compute, name)
                )

    def remove_all_nodes(self) -> None:
        self._exec("DELETE FROM compute_nodes")

    # -- jobs ------------------------------------------------------------------------------------

    def insert_job(
        self,
        name: str,
        endpoint: str,
        deployment: str,
        spec: dict[str, Any],
        token_sha256: str,
        minibatches: list[list[dict[str, str]]],
    ) -> None:
        """The job row and all its mini-batches in one transaction: nothing half-created."""
        now = time.time()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM batch_jobs WHERE name=?", (name,)).fetchone():
                raise ConflictError(
                    f"A job named {name!r} already exists; pick another --job-name or leave it out."
                )
            conn.execute(
                "INSERT INTO batch_jobs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    name,
                    endpoint,
                    deployment,
                    json.dumps(spec),
                    "Queued",
                    None,
                    token_sha256,
                    0,
                    now,
                    None,
                    None,
                ),
            )
            conn.executemany(
                "INSERT INTO batch_minibatches (job, idx, files, items, state, attempts) "
                "VALUES (?,?,?,?,?,0)",
                [
                    (name, i, json.dumps(files), len(files), MiniBatchState.PENDING)
                    for i, files in enumerate(minibatches)
                ],
            )

    def job_state(self, name: str, spec: dict[str, Any]) -> JobRecord | None:
        """The job's changing columns, with ``spec`` (immutable once created) from the caller's
        cache: the worker routes read this on every request."""
        rows = self._rows(
            "SELECT name, endpoint, deployment, status, error, token_sha256, cancel_requested, "
            "created_at, started_at, ended_at FROM batch_jobs WHERE name=?",
            (name,),
        )
        if not rows:
            return None
        r = rows[0]
        return JobRecord(
            name=r["name"], endpoint=r["endpoint"], deployment=r["deployment"], spec=spec,
            status=r["status"], error=json.loads(r["error"]) if r["error"] else None,
            token_sha256=r["token_sha256"], cancel_requested=bool(r["cancel_requested"]),
            created_at=r["created_at"], started_at=r["started_at"], ended_at=r["ended_at"],
        )  # fmt: skip

    def find_job(self, name: str) -> JobRecord | None:
        rows = self._rows("SELECT * FROM batch_jobs WHERE name=?", (name,))
        return _job(rows[0]) if rows else None

    def get_job(self, name: str) -> JobRecord:
        found = self.find_job(name)
        if found is None:
            raise NotFoundError(
                f"Job {name!r} does not exist. List jobs with `switchman batch-endpoint list-jobs "
                "-n <endpoint>` (or `switchman job list`)."
            )
        return found

    def list_jobs(
        self, endpoint: str | None = None, deployment: str | None = None
    ) -> list[JobRecord]:
        sql, args = "SELECT * FROM batch_jobs", ()  # type: tuple[str, tuple[Any, ...]]
        if endpoint is not None and deployment is not None:
            sql, args = sql + " WHERE endpoint=? AND deployment=?", (endpoint, deployment)
        elif endpoint is not None:
            sql, args = sql + " WHERE endpoint=?", (endpoint,)
        return [_job(r) for r in self._rows(sql + " ORDER BY created_at DESC", args)]

    def active_jobs(self) -> list[JobRecord]:
        marks = ",".join("?" * len(TERMINAL))
        rows = self._rows(
            f"SELECT * FROM batch_jobs WHERE status NOT IN ({marks}) ORDER BY created_at", TERMINAL
        )
        return [_job(r) for r in rows]

    def set_job_status(
        self, name: str, status: str, *, error: dict[str, Any] | None = None, ended: bool = False
    ) -> None:
        now = time.time()
        with self.transaction() as conn:
            conn.execute(
                "UPDATE batch_jobs SET status=?, error=COALESCE(?, error), "
                "started_at=COALESCE(started_at, CASE WHEN ?='Running' THEN ? END), "
                "ended_at=CASE WHEN ? THEN ? ELSE ended_at END WHERE name=?",
                (status, json.dumps(error) if error else None, status, now, int(ended), now, name),
            )

    def request_cancel(self, name: str) -> None:
        self._exec("UPDATE batch_jobs SET cancel_requested=1 WHERE name=?", (name,))

    # -- mini-batches ----------------------------------------------------------------------------

    def minibatches(self, job: str) -> list[MiniBatch]:
        rows = self._rows(
            "SELECT idx, state, items, attempts, worker, deadline, items_failed "
            "FROM batch_minibatches WHERE job=? ORDER BY idx",
            (job,),
        )
        return [
            MiniBatch(
                r["idx"],
                MiniBatchState(r["state"]),
                r["items"],
                r["attempts"],
                r["worker"],
                r["deadline"],
                r["items_failed"],
            )
            for r in rows
        ]

    def pending(self, job: str, limit: int = 8) -> list[MiniBatch]:
        rows = self._rows(
            "SELECT idx, state, items, attempts FROM batch_minibatches "
            "WHERE job=? AND state='pending' ORDER BY attempts, idx LIMIT ?",
            (job, limit),
        )
        return [
            MiniBatch(r["idx"], MiniBatchState(r["state"]), r["items"], r["attempts"]) for r in rows
        ]

    def lease(
        self, job: str, index: int, worker: str, deadline: float
    ) -> tuple[int, list[dict[str, str]]] | None:
        """Hand mini-batch ``index`` to ``worker`` if it is still pending; (attempt, files)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE batch_minibatches SET state='leased', attempts=attempts+1, worker=?, "
                "deadline=?, started_at=? WHERE job=? AND idx=? AND state='pending'",
                (worker, deadline, time.time(), job, index),
            )
            if cur.rowcount != 1:
                return None
            row = conn.execute(
                "SELECT attempts, files FROM batch_minibatches WHERE job=? AND idx=?", (job, index)
            ).fetchone()
        return int(row["attempts"]), json.loads(row["files"])

    def files(self, job: str, index: int) -> list[dict[str, str]]:
        rows = self._rows("SELECT files FROM batch_minibatches WHERE job=? AND idx=?", (job, index))
        if not rows:
            raise NotFoundError(f"Job {job!r} has no mini-batch {index}.")
        return list(json.loads(rows[0]["files"]))

    def settle(
        self,
        job: str,
        index: int,
        *,
        worker: str | None,
        attempt: int | None,
        state: MiniBatchState,
        items_ok: int = 0,
        items_failed: int = 0,
        error: str | None = None,
        uncount: bool = False,
    ) -> bool:
        """End a leased try (only the lease holder's report counts: a stale one changes nothing)."""
        sql = (
            "UPDATE batch_minibatches SET state=?, worker=NULL, deadline=NULL, items_ok=?, "
            "items_failed=?, error=COALESCE(?, error), ended_at=?, attempts=attempts-? "
            "WHERE job=? AND idx=? AND state='leased'"
        )
        args: tuple[Any, ...] = (
            state,
            items_ok,
            items_failed,
            error,
            time.time(),
            int(uncount),
            job,
            index,
        )
        if worker is not None:
            sql += " AND worker=?"
            args = (*args, worker)
        if attempt is not None:
            sql += " AND attempts=?"
            args = (*args, attempt)
        return self._exec(sql, args) == 1

    def complete(
        self,
        job: str,
        index: int,
        *,
        worker: str,
        attempt: int,
        state: MiniBatchState,
        items_ok: int,
        error: str | None,
        rows: str | None,
        took_ms: float,
    ) -> tuple[bool, int]:
        """Record one try's outcome and end its lease, in one transaction: the rows of a done
        mini-batch are stored in the same commit that marks it done (durable before it counts).

        Only the lease holder's report counts; a stale one changes nothing. Returns (settled,
        the mini-batch's item count).
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT items FROM batch_minibatches WHERE job=? AND idx=? AND state='leased' "
                "AND worker=? AND attempts=?",
                (job, index, worker, attempt),
            ).fetchone()
            if row is None:
                return False, 0
            items = int(row["items"])
            ok = min(items_ok, items) if state == MiniBatchState.DONE else 0
            failed = items - ok if state == MiniBatchState.DONE else 0
            conn.execute(
                "UPDATE batch_minibatches SET state=?, worker=NULL, deadline=NULL, items_ok=?, "
                "items_failed=?, error=COALESCE(?, error), ended_at=? WHERE job=? AND idx=?",
                (state, ok, failed, error, time.time(), job, index),
            )
            conn.execute(
                "INSERT OR REPLACE INTO batch_results VALUES (?,?,?,?,?,?,?,?)",
                (job, index, attempt, worker, int(state == MiniBatchState.DONE), ok, took_ms, rows),
            )
        return True, items

    def take(
        self, job: str, worker: str, deadline: float, choose: Any
    ) -> tuple[int, int, list[dict[str, str]]] | None:
        """Lease the mini-batch ``choose(pending)`` picks to ``worker``, in one transaction;
        returns (index, attempt, files) or None when nothing is pending."""
        with self.transaction() as conn:
            candidates = [
                MiniBatch(r["idx"], MiniBatchState(r["state"]), r["items"], r["attempts"])
                for r in conn.execute(
                    "SELECT idx, state, items, attempts FROM batch_minibatches "
                    "WHERE job=? AND state='pending' ORDER BY attempts, idx LIMIT 8",
                    (job,),
                )
            ]
            choice = choose(candidates)
            if choice is None:
                return None
            conn.execute(
                "UPDATE batch_minibatches SET state='leased', attempts=attempts+1, worker=?, "
                "deadline=?, started_at=? WHERE job=? AND idx=?",
                (worker, deadline, time.time(), job, choice.index),
            )
            row = conn.execute(
                "SELECT attempts, files FROM batch_minibatches WHERE job=? AND idx=?",
                (job, choice.index),
            ).fetchone()
        return choice.index, int(row["attempts"]), json.loads(row["files"])

    def open_work(self, job: str) -> int:
        rows = self._rows(
            "SELECT COUNT(*) AS n FROM batch_minibatches WHERE job=? AND state IN "
            "('pending', 'leased')",
            (job,),
        )
        return int(rows[0]["n"])

    def results(self, job: str) -> Iterator[str]:
        """The rows of every done mini-batch (its counted try), in index order."""
        with self._lock:
            cursor = self._conn.execute(
                "SELECT r.rows FROM batch_results r JOIN batch_minibatches m ON m.job=r.job "
                "AND m.idx=r.idx AND m.attempts=r.attempt WHERE m.job=? AND m.state='done' "
                "ORDER BY m.idx",
                (job,),
            )
            found = [str(r["rows"] or "") for r in cursor]
        yield from found

    def tries(self, job: str) -> list[dict[str, Any]]:
        """Every recorded try (for the per-process stats logs)."""
        return [
            dict(r)
            for r in self._rows(
                "SELECT r.idx, r.attempt, r.worker, r.ok, r.items, r.took_ms, m.items AS total "
                "FROM batch_results r JOIN batch_minibatches m ON m.job=r.job AND m.idx=r.idx "
                "WHERE r.job=? ORDER BY r.idx, r.attempt",
                (job,),
            )
        ]

    def release_leases(self, job: str) -> None:
        """Put every leased mini-batch back without counting the try (a pause, not a failure)."""
        self._exec(
            "UPDATE batch_minibatches SET state='pending', worker=NULL, deadline=NULL, "
            "attempts=MAX(attempts-1, 0) WHERE job=? AND state='leased'",
            (job,),
        )

    def counts(self, job: str) -> dict[str, int]:
        rows = self._rows(
            "SELECT state, COUNT(*) AS n, SUM(items) AS items, SUM(items_ok) AS ok, "
            "SUM(items_failed) AS bad FROM batch_minibatches WHERE job=? GROUP BY state",
            (job,),
        )
        out = {
            "total": 0,
            "pending": 0,
            "leased": 0,
            "done": 0,
            "failed": 0,
            "items": 0,
            "items_succeeded": 0,
            "items_failed": 0,
        }
        for r in rows:
            out[r["state"]] = int(r["n"])
            out["total"] += int(r["n"])
            out["items"] += int(r["items"] or 0)
            out["items_succeeded"] += int(r["ok"] or 0)
            failed = int(r["items"] or 0) if r["state"] == "failed" else int(r["bad"] or 0)
            out["items_failed"] += failed
        return out

    def minibatch_rows(self, job: str) -> list[dict[str, Any]]:
        return [
            dict(r)
            for r in self._rows("SELECT * FROM batch_minibatches WHERE job=? ORDER BY idx", (job,))
        ]

    # -- workers ---------------------------------------------------------------------------------

    def add_worker(self, record: WorkerRecord) -> None:
        self._exec(
            "INSERT OR REPLACE INTO batch_workers VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                record.id,
                record.job,
                record.node,
                record.slot,
                record.state,
                record.handle,
                record.dir,
                record.created_at,
                record.ready_at,
                record.message,
            ),
        )

    def workers(self, job: str | None = None) -> list[WorkerRecord]:
        if job is None:
            rows = self._rows("SELECT * FROM batch_workers ORDER BY created_at")
        else:
            rows = self._rows("SELECT * FROM batch_workers WHERE job=? ORDER BY created_at", (job,))
        return [WorkerRecord(**dict(r)) for r in rows]

    def find_worker(self, worker: str) -> WorkerRecord | None:
        rows = self._rows("SELECT * FROM batch_workers WHERE id=?", (worker,))
        return WorkerRecord(**dict(rows[0])) if rows else None

    def set_worker_state(self, worker: str, state: WorkerState, message: str | None = None) -> None:
        ready = time.time() if state == WorkerState.READY else None
        self._exec(
            "UPDATE batch_workers SET state=?, ready_at=COALESCE(ready_at, ?), "
            "message=COALESCE(?, message) WHERE id=?",
            (state, ready, message, worker),
        )


def as_policy_worker(record: WorkerRecord, alive: bool) -> Worker:
    return Worker(record.id, (record.node, record.slot), WorkerState(record.state), alive)


def _endpoint(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "name": row["name"],
        "spec": json.loads(row["spec"]),
        "status": json.loads(row["status"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _deployment(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "endpoint": row["endpoint"],
        "name": row["name"],
        "spec": json.loads(row["spec"]),
        "resolved": json.loads(row["resolved"]),
        "status": json.loads(row["status"]),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _job(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        name=row["name"],
        endpoint=row["endpoint"],
        deployment=row["deployment"],
        spec=json.loads(row["spec"]),
        status=row["status"],
        error=json.loads(row["error"]) if row["error"] else None,
        token_sha256=row["token_sha256"],
        cancel_requested=bool(row["cancel_requested"]),
        created_at=row["created_at"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
    )
