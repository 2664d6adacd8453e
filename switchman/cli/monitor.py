"""``switchman monitor``: the traffic log, metrics and events of online endpoints, and Log-Analytics
style SQL over them (``AmlOnlineEndpointTrafficLog``, ``AmlOnlineEndpointConsoleLog``,
``AmlOnlineEndpointEventLog``).

Reads ``$SWITCHMAN_HOME/state.db``; ``query`` opens it read-only.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchman.cli.main import add_common
from switchman.cli.rollout import register_shadow
from switchman.dataplane.store import TRAFFIC_COLUMNS, connect, ensure_schema
from switchman.errors import BadArgumentError, NotFoundError
from switchman.home import Home

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT_S = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
EVENTS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS events (time REAL, endpoint TEXT, deployment TEXT, instance TEXT, "
    "name TEXT, message TEXT)"
)
_ISO = "strftime('%Y-%m-%dT%H:%M:%fZ', {col}, 'unixepoch')"


def parse_since(text: str) -> float:
    """``15m`` / ``2h`` / ``30s`` / ``7d`` (a bare number is minutes) → seconds."""
    match = _DURATION.match(text or "")
    if not match:
        raise BadArgumentError(
            f"--since {text!r} is not a duration: use a number with s, m, h or d, e.g. --since 15m."
        )
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _db(home: Home) -> Path:
    path = home.db_path
    if not path.exists():
        raise NotFoundError(
            f"No Switchman state at {path}: start the platform with `switchman up` (or set "
            "SWITCHMAN_HOME to the home you use) and send some requests first."
        )
    return path


def _open(home: Home, *, read_only: bool = False) -> sqlite3.Connection:
    conn = connect(_db(home), read_only=read_only)
    conn.row_factory = sqlite3.Row
    if not read_only:
        ensure_schema(conn)
        conn.execute(EVENTS_SCHEMA)
        conn.commit()
    return conn


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)
    ).fetchone()
    return row is not None


def create_views(conn: sqlite3.Connection) -> None:
    """Temp views with the Azure Log Analytics table and column names over our tables."""
    traffic_cols = ", ".join(c for c in TRAFFIC_COLUMNS if c != "time")
    if _table_exists(conn, "traffic_log"):
        traffic = (
            f"SELECT {_ISO.format(col='time')} AS TimeGenerated, {traffic_cols} FROM traffic_log"
        )
    else:
        traffic = f"SELECT NULL AS TimeGenerated, {', '.join(f'NULL AS {c}' for c in TRAFFIC_COLUMNS if c != 'time')} WHERE 0"
    if _table_exists(conn, "events"):
        events = (
            f"SELECT {_ISO.format(col='time')} AS TimeGenerated, 'InstanceEvent' AS OperationName, "
            "instance AS InstanceId, endpoint AS EndpointName, deployment AS DeploymentName, name AS Name, "
            "message AS Message FROM events"
        )
    else:
        events = (
            "SELECT NULL AS TimeGenerated, NULL AS OperationName, NULL AS InstanceId, NULL AS EndpointName, "
            "NULL AS DeploymentName, NULL AS Name, NULL AS Message WHERE 0"
        )
    if _table_exists(conn, "console_log"):
        console = (
            f"SELECT {_ISO.format(col='time')} AS TimeGenerated, 'ContainerLog' AS OperationName, "
            "instance AS InstanceId, endpoint AS EndpointName, deployment AS DeploymentName, "
            "container AS ContainerName, message AS Message FROM console_log"
        )
    else:
        console = (
            "SELECT NULL AS TimeGenerated, NULL AS OperationName, NULL AS InstanceId, NULL AS EndpointName, "
            "NULL AS DeploymentName, NULL AS ContainerName, NULL AS Message WHERE 0"
        )
    for name, select in (
        ("AmlOnlineEndpointTrafficLog", traffic),
        ("AmlOnlineEndpointEventLog", events),
        ("AmlOnlineEndpointConsoleLog", console),
    ):
        conn.execute(f"CREATE TEMP VIEW IF NOT EXISTS {name} AS {select}")


def _rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    return [dict(row) for row in cursor.fetchall()]


def traffic_log(args: argparse.Namespace) -> list[dict[str, Any]]:
    conn = _open(Home.from_env(), read_only=True)
    try:
        create_views(conn)
        sql = "SELECT * FROM AmlOnlineEndpointTrafficLog WHERE EndpointName = ? AND TimeGenerated >= ?"
        params: list[Any] = [args.endpoint_name, _iso(time.time() - parse_since(args.since))]
        if args.deployment_name:
            sql += " AND DeploymentName = ?"
            params.append(args.deployment_name)
        sql += " ORDER BY TimeGenerated LIMIT ?"
        params.append(args.limit)
        return _rows(conn.execute(sql, params))
    finally:
        conn.close()


def _metrics_table(interval: str) -> str:
    """``--interval``: PT1M / 1m → the 1-minute roll-ups; PT1S / 1s → autoscale's fine grain."""
    grain = interval.strip().upper()
    if grain in ("PT1M", "1M"):
        return "metrics"
    if grain in ("PT1S", "1S"):
        return "metrics_fine"
    raise BadArgumentError(
        f"--interval {interval!r} is not a grain Switchman keeps: use PT1M (1m, the default) or "
        "PT1S (1s, the grain autoscale reads, kept for an hour)."
    )


def metrics(args: argparse.Namespace) -> list[dict[str, Any]]:
    table = _metrics_table(getattr(args, "interval", None) or "PT1M")
    conn = _open(Home.from_env())
    try:
        sql = (
            f"SELECT time, name, endpoint, deployment, instance, dimensions, value FROM {table} "
            "WHERE (endpoint = ? OR endpoint = '*') AND time >= ?"
        )
        params: list[Any] = [args.endpoint_name, time.time() - parse_since(args.since)]
        if args.deployment_name:
            sql += " AND deployment = ?"
            params.append(args.deployment_name)
        if args.metric_name:
            sql += " AND name = ?"
            params.append(args.metric_name)
        sql += " ORDER BY time, name LIMIT ?"
        params.append(args.limit)
        out = []
        for row in conn.execute(sql, params):
            out.append(
                {
                    "timestamp": _iso(row["time"]),
                    "name": row["name"],
                    "endpoint": row["endpoint"],
                    "deployment": row["deployment"],
                    "instance": row["instance"],
                    "dimensions": json.loads(row["dimensions"] or "{}"),
                    "value": row["value"],
                }
            )
        return out
    finally:
        conn.close()


def events(args: argparse.Namespace) -> list[dict[str, Any]]:
    conn = _open(Home.from_env())
    try:
        sql = "SELECT time, endpoint, deployment, instance, name, message FROM events WHERE endpoint = ? AND time >= ?"
        params: list[Any] = [args.endpoint_name, time.time() - parse_since(args.since)]
        if args.deployment_name:
            sql += " AND deployment = ?"
            params.append(args.deployment_name)
        sql += " ORDER BY time LIMIT ?"
        params.append(args.limit)
        return [{**row, "time": _iso(row["time"])} for row in _rows(conn.execute(sql, params))]
    finally:
        conn.close()


def query(args: argparse.Namespace) -> list[dict[str, Any]]:
    conn = _open(Home.from_env(), read_only=True)
    try:
        create_views(conn)
        try:
            return _rows(conn.execute(args.sql))
        except sqlite3.Error as exc:
            raise BadArgumentError(
                f"The query failed: {exc}. Tables: AmlOnlineEndpointTrafficLog, "
                "AmlOnlineEndpointConsoleLog, AmlOnlineEndpointEventLog (read-only SQLite SQL)."
            ) from None
    finally:
        conn.close()


def _filters(parser: argparse.ArgumentParser, *, endpoint: bool = True) -> None:
    if endpoint:
        parser.add_argument("-e", "--endpoint-name", required=True, help="Endpoint name.")
        parser.add_argument("-d", "--deployment-name", help="Only this deployment.")
        parser.add_argument(
            "--since", default="15m", help="How far back: 30s, 15m, 2h, 7d (default 15m)."
        )
        parser.add_argument("--limit", type=int, default=1000, help="At most this many records.")
    add_common(parser)


def register(subparsers: Any) -> None:
    """Add ``switchman monitor ...`` to the CLI."""
    monitor = subparsers.add_parser(
        "monitor", help="Traffic log, metrics and events of online endpoints."
    )
    sub = monitor.add_subparsers(dest="monitor_command", metavar="COMMAND")
    sub.required = True
    p = sub.add_parser("traffic-log", help="Rows of AmlOnlineEndpointTrafficLog for an endpoint.")
    _filters(p)
    p.set_defaults(func=traffic_log)
    p = sub.add_parser(
        "metrics", help="1-minute metric roll-ups (RequestsPerMinute, RequestLatency_P99, ...)."
    )
    _filters(p)
    p.add_argument("--metric-name", help="Only this metric, e.g. RequestsPerMinute.")
    p.add_argument(
        "--interval", default="PT1M", help="Grain: PT1M (default) or PT1S (autoscale's)."
    )
    p.set_defaults(func=metrics)
    p = sub.add_parser("events", help="Instance events (AmlOnlineEndpointEventLog).")
    _filters(p)
    p.set_defaults(func=events)
    register_shadow(sub)  # live vs mirror agreement (switchman.cli.rollout)
    p = sub.add_parser("query", help="Read-only SQL over the Azure ML log tables.")
    p.add_argument(
        "sql",
        help='e.g. "SELECT ResponseCode, count(*) FROM AmlOnlineEndpointTrafficLog GROUP BY 1"',
    )
    _filters(p, endpoint=False)
    p.set_defaults(func=query)
    from switchman.cli.autoscale import register as register_autoscale

    register_autoscale(sub)
    from switchman.cli.studio import register_monitor  # `monitor cost` (issue #15)

    register_monitor(sub)
