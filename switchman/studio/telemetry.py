"""What the studio charts and tables show, read from the router's tables in ``state.db``.

Charts come from the ``metrics`` roll-ups (the rows ``switchman monitor metrics`` prints), turned
into aligned series for uPlot by :func:`align`, a pure function. The traffic-log table and the
endpoint list's "last minute" counts read ``traffic_log``. Both tables belong to the router and
may not exist yet (no request so far): then everything is empty, never an error.
"""

from __future__ import annotations

import itertools
import json
import math
import sqlite3
import statistics
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.errors import BadArgumentError

WINDOWS: dict[str, float] = {"15m": 900.0, "1h": 3600.0, "24h": 86400.0}
MAX_POINTS = 180


@dataclass(frozen=True)
class Chart:
    """One chart: which metric, how a row names its series, how values combine."""

    key: str
    title: str
    metric: str
    unit: str
    label: Callable[[dict[str, Any]], str]
    same_time: str  # how rows of one roll-up with the same label combine: sum | avg
    over_time: str  # how roll-ups inside one bucket combine: avg | max


def _dep(row: dict[str, Any]) -> str:
    return str(row["deployment"] or "endpoint")


CHARTS: tuple[Chart, ...] = (
    Chart(
        "rpm",
        "Requests per minute by deployment",
        "RequestsPerMinute",
        "req/min",
        _dep,
        "sum",
        "avg",
    ),
    Chart(
        "rpm_status",
        "Requests per minute by deployment and status",
        "RequestsPerMinute",
        "req/min",
        lambda r: f"{_dep(r)} {r['dimensions'].get('statusCode', '?')}",
        "sum",
        "avg",
    ),
    Chart("p50", "Request latency P50", "RequestLatency_P50", "ms", _dep, "avg", "max"),
    Chart("p90", "Request latency P90", "RequestLatency_P90", "ms", _dep, "avg", "max"),
    Chart("p99", "Request latency P99", "RequestLatency_P99", "ms", _dep, "avg", "max"),
    Chart(
        "cpu",
        "CPU per instance",
        "CpuUtilizationPercentage",
        "%",
        lambda r: f"{_dep(r)}/{r['instance']}",
        "avg",
        "avg",
    ),
    Chart(
        "memory",
        "Memory per instance",
        "CpuMemoryUtilizationPercentage",
        "%",
        lambda r: f"{_dep(r)}/{r['instance']}",
        "avg",
        "avg",
    ),
    Chart(
        "capacity",
        "Deployment capacity",
        "DeploymentCapacity",
        "instances",
        lambda r: f"{_dep(r)} {r['dimensions'].get('State', '')}".strip(),
        "sum",
        "avg",
    ),
)


def window_seconds(window: str) -> float:
    try:
        return WINDOWS[window]
    except KeyError:
        raise BadArgumentError(
            f"window {window!r} is not one of {', '.join(WINDOWS)}; e.g. ?window=1h."
        ) from None


def roll_up_interval(times: Iterable[float], default: float = 60.0) -> float:
    """The router's roll-up interval, estimated as the median gap between roll-up times."""
    distinct = sorted({round(t, 1) for t in times})
    gaps = [b - a for a, b in itertools.pairwise(distinct) if b - a > 0.05]
    return float(statistics.median(gaps)) if gaps else default


def align(
    rows: Iterable[tuple[float, str, float]],
    *,
    start: float,
    end: float,
    step: float,
    same_time: str = "sum",
    over_time: str = "avg",
) -> dict[str, Any]:
    """Bucket ``(time, label, value)`` rows into uPlot's aligned shape.

    Rows of one roll-up (same time) with the same label are combined first (``same_time``), then
    the roll-ups inside one ``step``-wide bucket (``over_time``). Buckets without data are None
    (a gap, not a zero: no roll-up there).

    Returns:
        ``{"x": [bucket start, ...], "series": [{"label", "values"}, ...]}`` with labels sorted.
    """
    count = max(1, math.ceil((end - start) / step))
    per_time: dict[tuple[str, float], list[float]] = {}
    for when, label, value in rows:
        if start <= when <= end:
            per_time.setdefault((label, when), []).append(value)
    buckets: dict[str, dict[int, list[float]]] = {}
    for (label, when), found_at in per_time.items():
        combined = sum(found_at) if same_time == "sum" else sum(found_at) / len(found_at)
        index = min(count - 1, int((when - start) // step))
        buckets.setdefault(label, {}).setdefault(index, []).append(combined)
    series = []
    for label in sorted(buckets):
        values: list[float | None] = [None] * count
        for index, found in buckets[label].items():
            values[index] = round(max(found) if over_time == "max" else sum(found) / len(found), 3)
        series.append({"label": label, "values": values})
    return {"x": [round(start + i * step, 3) for i in range(count)], "series": series}


def _connect(db: Path) -> sqlite3.Connection | None:
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.row_factory = sqlite3.Row
    return conn


def _query(db: Path, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
    conn = _connect(db)
    if conn is None:
        return []
    try:
        return list(conn.execute(sql, args).fetchall())
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []  # the router has not written anything yet
        raise
    finally:
        conn.close()


def charts(
    db: Path, endpoint: str, window: str, now: float, deployment: str | None = None
) -> dict[str, Any]:
    """Every chart of one endpoint (or one of its deployments) over ``window``."""
    span = window_seconds(window)
    start = now - span
    names = sorted({c.metric for c in CHARTS})
    sql = (
        "SELECT time, name, deployment, instance, dimensions, value FROM metrics WHERE endpoint = ? "
        f"AND time >= ? AND name IN ({', '.join('?' * len(names))})"
    )
    args: tuple[Any, ...] = (endpoint, start, *names)
    if deployment:
        sql += " AND deployment = ?"
        args = (*args, deployment)
    rows = [
        {**dict(r), "dimensions": json.loads(r["dimensions"] or "{}")}
        for r in _query(db, sql + " ORDER BY time", args)
    ]
    interval = roll_up_interval(r["time"] for r in rows)
    step = max(interval, span / MAX_POINTS)
    out = []
    for chart in CHARTS:
        picked = [
            (r["time"], chart.label(r), float(r["value"]))
            for r in rows
            if r["name"] == chart.metric
        ]
        data = align(
            picked,
            start=start,
            end=now,
            step=step,
            same_time=chart.same_time,
            over_time=chart.over_time,
        )
        out.append({"key": chart.key, "title": chart.title, "unit": chart.unit, **data})
    return {"endpoint": endpoint, "window": window, "step_s": step, "charts": out}


TRAFFIC_FIELDS = (
    "time",
    "DeploymentName",
    "Method",
    "Path",
    "ResponseCode",
    "ModelStatusCode",
    "TotalDurationMs",
    "RequestPayloadSize",
    "ResponsePayloadSize",
    "XRequestId",
    "Mirrored",
)
STATUS_CLASSES = ("2xx", "4xx", "5xx")


def traffic_log(
    db: Path,
    endpoint: str,
    now: float,
    *,
    deployment: str | None = None,
    status_class: str | None = None,
    since_s: float = 3600.0,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The newest rows of the endpoint's traffic log, filtered."""
    sql = (
        f"SELECT {', '.join(TRAFFIC_FIELDS)} FROM traffic_log WHERE EndpointName = ? AND time >= ?"
    )
    args: tuple[Any, ...] = (endpoint, now - since_s)
    if deployment:
        sql += " AND DeploymentName = ?"
        args = (*args, deployment)
    if status_class:
        if status_class not in STATUS_CLASSES:
            raise BadArgumentError(
                f"status {status_class!r} is not one of {', '.join(STATUS_CLASSES)}."
            )
        low = int(status_class[0]) * 100
        sql += " AND ResponseCode >= ? AND ResponseCode < ?"
        args = (*args, low, low + 100)
    sql += " ORDER BY time DESC LIMIT ?"
    return [dict(r) for r in _query(db, sql, (*args, max(1, min(limit, 2000))))]


def last_minute(db: Path, now: float) -> dict[str, dict[str, int]]:
    """Live requests and errors (status ≥ 400) per endpoint over the last 60 s."""
    rows = _query(
        db,
        "SELECT EndpointName, COUNT(*) AS requests, SUM(ResponseCode >= 400) AS errors "
        "FROM traffic_log WHERE time >= ? AND COALESCE(Mirrored, 0) = 0 GROUP BY EndpointName",
        (now - 60.0,),
    )
    return {
        str(r["EndpointName"]): {"requests": int(r["requests"]), "errors": int(r["errors"] or 0)}
        for r in rows
    }
