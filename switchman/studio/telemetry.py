"""What the studio charts and tables show, read from the router's tables in ``state.db``.

Charts come from the ``metrics`` roll-ups (the rows ``switchman monitor metrics`` prints), turned
into aligned series for uPlot by :func:`align`, a pure function. The traffic-log table and the
endpoint list's "last minute" counts read ``traffic_log``. Both tables belong to the router and
may not exist yet (no request so far): then everything is empty, never an error.
"""

from __future__ import annotations

import itertools
import math
import sqlite3
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from switchman.errors import BadArgumentError

WINDOWS: dict[str, float] = {"15m": 900.0, "1h": 3600.0, "24h": 86400.0}
MAX_POINTS = 180


@dataclass(frozen=True)
class Chart:
    """One chart: which metric, how a row names its series (SQL), how values combine."""

    key: str
    title: str
    metric: str
    unit: str
    label: str  # SQL expression over a metrics row
    same_time: str  # how rows of one roll-up with the same label combine: SUM | AVG
    over_time: str  # how roll-ups inside one bucket combine: AVG | MAX


_DEP = "COALESCE(NULLIF(deployment, ''), 'endpoint')"
_INSTANCE = f"{_DEP} || '/' || instance"
CHARTS: tuple[Chart, ...] = (
    Chart(
        "rpm",
        "Requests per minute by deployment",
        "RequestsPerMinute",
        "req/min",
        _DEP,
        "SUM",
        "AVG",
    ),
    Chart(
        "rpm_status",
        "Requests per minute by deployment and status",
        "RequestsPerMinute",
        "req/min",
        f"{_DEP} || ' ' || COALESCE(json_extract(dimensions, '$.statusCode'), '?')",
        "SUM",
        "AVG",
    ),
    Chart("p50", "Request latency P50", "RequestLatency_P50", "ms", _DEP, "AVG", "MAX"),
    Chart("p90", "Request latency P90", "RequestLatency_P90", "ms", _DEP, "AVG", "MAX"),
    Chart("p99", "Request latency P99", "RequestLatency_P99", "ms", _DEP, "AVG", "MAX"),
    Chart("cpu", "CPU per instance", "CpuUtilizationPercentage", "%", _INSTANCE, "AVG", "AVG"),
    Chart(
        "memory",
        "Memory per instance",
        "CpuMemoryUtilizationPercentage",
        "%",
        _INSTANCE,
        "AVG",
        "AVG",
    ),
    Chart(
        "capacity",
        "Deployment capacity",
        "DeploymentCapacity",
        "instances",
        f"TRIM({_DEP} || ' ' || COALESCE(json_extract(dimensions, '$.State'), ''))",
        "SUM",
        "AVG",
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
    buckets: Iterable[tuple[str, int, float]], *, start: float, end: float, step: float
) -> dict[str, Any]:
    """Shape ``(label, bucket index, value)`` rows into uPlot's aligned data.

    Buckets without a row are None (a gap, not a zero: no roll-up there); indexes outside the
    window are dropped.

    Returns:
        ``{"x": [bucket start, ...], "series": [{"label", "values"}, ...]}`` with labels sorted.
    """
    count = max(1, math.ceil((end - start) / step))
    series: dict[str, list[float | None]] = {}
    for label, index, value in buckets:
        if 0 <= index < count:
            series.setdefault(label, [None] * count)[index] = round(float(value), 3)
    return {
        "x": [round(start + i * step, 3) for i in range(count)],
        "series": [{"label": k, "values": series[k]} for k in sorted(series)],
    }


def _connect(db: Path) -> sqlite3.Connection | None:
    if not db.exists():
        return None
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.row_factory = sqlite3.Row
    return conn


def _query(db: Path, sql: str, args: tuple[Any, ...]) -> list[sqlite3.Row]:
    return _queries(db, [(sql, args)])[0]


def _queries(db: Path, statements: list[tuple[str, tuple[Any, ...]]]) -> list[list[sqlite3.Row]]:
    """Run read-only statements on one connection; a missing table gives empty results."""
    conn = _connect(db)
    if conn is None:
        return [[] for _ in statements]
    try:
        return [list(conn.execute(sql, args).fetchall()) for sql, args in statements]
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return [[] for _ in statements]  # the router has not written anything yet
        raise
    finally:
        conn.close()


def _bucket_sql(chart: Chart, deployment: str | None) -> str:
    # Two levels: rows of one roll-up (same time) first, then the roll-ups inside a bucket.
    where = "endpoint = ? AND name = ? AND time >= ? AND time <= ?"
    if deployment:
        where += " AND deployment = ?"
    return (
        f"SELECT label, bucket, {chart.over_time}(v) AS value FROM ("
        f"SELECT {chart.label} AS label, CAST((time - ?) / ? AS INTEGER) AS bucket, "
        f"{chart.same_time}(value) AS v FROM metrics WHERE {where} GROUP BY label, time"
        ") GROUP BY label, bucket"
    )


def charts(
    db: Path, endpoint: str, window: str, now: float, deployment: str | None = None
) -> dict[str, Any]:
    """Every chart of one endpoint (or one of its deployments) over ``window``.

    The aggregation runs in SQLite, so a 24-hour window of a busy endpoint costs a few index range
    scans rather than a Python pass over every row.
    """
    span = window_seconds(window)
    start = now - span
    recent = _query(
        db,
        "SELECT DISTINCT time FROM metrics WHERE endpoint = ? AND name = 'DeploymentCapacity' "
        "AND time >= ? ORDER BY time DESC LIMIT 60",
        (endpoint, start),
    )
    step = max(roll_up_interval(r["time"] for r in recent), span / MAX_POINTS)
    extra: tuple[Any, ...] = (deployment,) if deployment else ()
    results = _queries(
        db,
        [
            (
                _bucket_sql(chart, deployment),
                (start, step, endpoint, chart.metric, start, now, *extra),
            )
            for chart in CHARTS
        ],
    )
    out = []
    for chart, rows in zip(CHARTS, results, strict=True):
        data = align(
            ((str(r["label"]), int(r["bucket"]), float(r["value"])) for r in rows),
            start=start,
            end=now,
            step=step,
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
