"""The metric windows autoscale rules read, from ``metrics_fine`` (about 1 s grain).

The router writes request metrics, ConcurrentRequestsPerInstance and DeploymentCapacity there
every second; the applier adds CPU and memory per instance from the compute backend. For one rule
this returns one value per grain: rows of a slot are filtered by the rule's dimensions and then
combined — per-instance and gauge metrics by the rule's statistic, count-like metrics by sum — and
count-like metrics that have no row in a slot the router reported are 0 there (no requests).
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from typing import Any

from switchman.autoscale import grammar
from switchman.autoscale.policy import Sample
from switchman.autoscale.setting import Rule
from switchman.dataplane.store import SCHEMA

HEARTBEAT = "ConcurrentRequestsPerInstance"  # written for every deployment every grain


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)


def _matches(dims: dict[str, Any], filters: tuple[tuple[str, str, tuple[str, ...]], ...]) -> bool:
    lowered = {str(k).lower(): str(v).lower() for k, v in dims.items()}
    for name, op, values in filters:
        have = lowered.get(name.lower())
        inside = have is not None and have in {v.lower() for v in values}
        if inside != (op == "Equals"):
            return False
    return True


def _combine(values: list[float], statistic: str, kind: str) -> float:
    if kind == "sum" or statistic == "Sum":
        return sum(values)
    if statistic in ("Min", "Minimum"):
        return min(values)
    if statistic in ("Max", "Maximum"):
        return max(values)
    return sum(values) / len(values)


class MetricSource:
    """Reads windows for rules; one connection, used from the applier's loop only."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        ensure_schema(conn)

    def samples(self, rule: Rule, now: float) -> list[Sample]:
        t = rule.trigger
        _scope, kind = grammar.METRICS.get(t.metric, ("both", "gauge"))
        since = now - t.window_s - 1.0
        sql = "SELECT time, dimensions, value FROM metrics_fine WHERE endpoint=? AND name=? AND time>=?"
        args: list[Any] = [t.resource.endpoint, t.metric, since]
        if t.resource.deployment is not None:
            sql += " AND deployment=?"
            args.append(t.resource.deployment)
        slots: dict[float, list[float]] = defaultdict(list)
        for when, dims, value in self.conn.execute(sql, args):
            if t.dimensions and not _matches(json.loads(dims or "{}"), t.dimensions):
                continue
            slots[round(float(when), 2)].append(float(value))
        if kind == "sum" and t.metric != HEARTBEAT:
            beat = "SELECT DISTINCT time FROM metrics_fine WHERE endpoint=? AND name=? AND time>=?"
            beat_args: list[Any] = [t.resource.endpoint, HEARTBEAT, since]
            if t.resource.deployment is not None:
                beat += " AND deployment=?"
                beat_args.append(t.resource.deployment)
            for (when,) in self.conn.execute(beat, beat_args):
                slots.setdefault(round(float(when), 2), [0.0])
        return sorted((when, _combine(vals, t.statistic, kind)) for when, vals in slots.items())

    def last_activity(self, endpoint: str, deployment: str) -> float | None:
        """The last grain in which the deployment had a request arrive or in flight."""
        row = self.conn.execute(
            "SELECT max(time) FROM metrics_fine WHERE endpoint=? AND deployment=? AND ("
            "name='RequestsPerMinute' OR (name=? AND value > 0))",
            (endpoint, deployment, HEARTBEAT),
        ).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def write(self, rows: list[tuple[float, str, str, str, str, dict[str, str], float]]) -> None:
        """Rows the control plane measures itself (CPU and memory per instance)."""
        if not rows:
            return
        self.conn.executemany(
            "INSERT INTO metrics_fine VALUES (?,?,?,?,?,?,?)",
            [(t, e, d, i, n, json.dumps(dims), v) for t, e, d, i, n, dims, v in rows],
        )
