"""Autoscale settings, their decision state and their history: own tables in ``state.db``.

Created with ``CREATE TABLE IF NOT EXISTS`` through the control plane's :class:`Store` connection
(its lock and transactions), so settings survive restarts like every other spec.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from switchman.autoscale.policy import State
from switchman.controlplane.store import Store

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS autoscale_settings (name TEXT PRIMARY KEY, endpoint TEXT NOT NULL, "
    "deployment TEXT NOT NULL, document TEXT NOT NULL, state TEXT NOT NULL DEFAULT '{}', "
    "created_at REAL NOT NULL, updated_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS autoscale_history (time REAL NOT NULL, name TEXT NOT NULL, "
    "endpoint TEXT, deployment TEXT, old_count INTEGER, new_count INTEGER, profile TEXT, "
    "rule INTEGER, metric TEXT, value REAL, reason TEXT)",
    "CREATE INDEX IF NOT EXISTS autoscale_history_by_name ON autoscale_history (name, time)",
)
HISTORY_SHOWN = 20


class AutoscaleTable:
    """Typed access to the autoscale tables; each method is one short transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def get(self, name: str) -> dict[str, Any] | None:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT document FROM autoscale_settings WHERE name=?", (name,)
            ).fetchone()
        return dict(json.loads(row[0])) if row else None

    def all(self) -> list[dict[str, Any]]:
        with self.store.transaction() as conn:
            rows = conn.execute("SELECT document FROM autoscale_settings ORDER BY name").fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def for_deployment(self, endpoint: str, deployment: str) -> list[dict[str, Any]]:
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT document FROM autoscale_settings WHERE endpoint=? AND deployment=? "
                "ORDER BY name",
                (endpoint, deployment),
            ).fetchall()
        return [dict(json.loads(r[0])) for r in rows]

    def put(self, doc: dict[str, Any], endpoint: str, deployment: str, *, new: bool) -> None:
        now = time.time()
        with self.store.transaction() as conn:
            if new:
                conn.execute(
                    "INSERT INTO autoscale_settings VALUES (?,?,?,?,'{}',?,?)",
                    (doc["name"], endpoint, deployment, json.dumps(doc), now, now),
                )
            else:
                conn.execute(
                    "UPDATE autoscale_settings SET document=?, updated_at=? WHERE name=?",
                    (json.dumps(doc), now, doc["name"]),
                )

    def delete(self, name: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM autoscale_settings WHERE name=?", (name,))

    def state(self, name: str) -> State:
        with self.store.transaction() as conn:
            row = conn.execute(
                "SELECT state FROM autoscale_settings WHERE name=?", (name,)
            ).fetchone()
        raw = json.loads(row[0]) if row else {}
        return State(
            since=raw.get("since"),
            last_scale=raw.get("last_scale"),
            rule_fired=dict(raw.get("rule_fired") or {}),
            profile=raw.get("profile"),
        )

    def set_state(self, name: str, state: State) -> None:
        data = asdict(state)
        data["rule_fired"] = dict(state.rule_fired)
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE autoscale_settings SET state=? WHERE name=?", (json.dumps(data), name)
            )

    def record(
        self,
        name: str,
        endpoint: str,
        deployment: str,
        old: int,
        new: int,
        profile: str,
        rule: int | None,
        metric: str | None,
        value: float | None,
        reason: str,
    ) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO autoscale_history VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    time.time(),
                    name,
                    endpoint,
                    deployment,
                    old,
                    new,
                    profile,
                    rule,
                    metric,
                    value,
                    reason,
                ),
            )

    def history(self, name: str, limit: int = HISTORY_SHOWN) -> list[dict[str, Any]]:
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT time, old_count, new_count, profile, rule, metric, value, reason FROM "
                "autoscale_history WHERE name=? ORDER BY time DESC LIMIT ?",
                (name, limit),
            ).fetchall()
        out = []
        for r in reversed(rows):
            out.append(
                {
                    "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(r[0]))
                    + f".{int((r[0] % 1) * 1000):03d}Z",
                    "oldCount": r[1],
                    "newCount": r[2],
                    "profile": r[3],
                    "ruleIndex": r[4],
                    "metricName": r[5],
                    "metricValue": r[6],
                    "reason": r[7],
                }
            )
        return out
