"""The ``shadow_stats`` table: per-second roll-ups of live-vs-shadow agreement, written by the router.

Each row holds one interval's :class:`AgreementStats` for one (endpoint, live, shadow) triple; a
report merges the rows since a point in time, so the CLI, the studio and the rollout gates read the
router's state without talking to the router.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from switchman.rollout.agreement import AgreementStats

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS shadow_stats (time REAL, endpoint TEXT, live TEXT, shadow TEXT, "
    "stats TEXT)",
    "CREATE INDEX IF NOT EXISTS shadow_stats_by_endpoint ON shadow_stats(endpoint, time)",
    "CREATE TABLE IF NOT EXISTS tap_counters (name TEXT PRIMARY KEY, value INTEGER, time REAL)",
)


def ensure_schema(conn: sqlite3.Connection) -> None:
    for statement in SCHEMA:
        conn.execute(statement)
    conn.commit()


def write_rollups(
    conn: sqlite3.Connection,
    now: float,
    stats: dict[tuple[str, str, str], AgreementStats],
    counters: dict[str, int],
) -> None:
    """Insert one interval's roll-ups and the tap's counters (one transaction)."""
    conn.executemany(
        "INSERT INTO shadow_stats VALUES (?, ?, ?, ?, ?)",
        [(now, ep, live, shadow, s.to_json()) for (ep, live, shadow), s in stats.items()],
    )
    conn.executemany(
        "INSERT INTO tap_counters VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET "
        "value=excluded.value, time=excluded.time",
        [(name, value, now) for name, value in counters.items()],
    )
    conn.commit()


def purge(conn: sqlite3.Connection, before: float) -> None:
    """Delete roll-ups older than ``before`` (the router's retention, as for its traffic log)."""
    conn.execute("DELETE FROM shadow_stats WHERE time < ?", (before,))
    conn.commit()


def merged(
    conn: sqlite3.Connection,
    endpoint: str,
    since: float,
    *,
    shadow: str | None = None,
) -> dict[tuple[str, str], AgreementStats]:
    """(live, shadow) → the merged statistics of ``endpoint`` since ``since`` (epoch seconds)."""
    sql = "SELECT live, shadow, stats FROM shadow_stats WHERE endpoint = ? AND time >= ?"
    params: list[object] = [endpoint, since]
    if shadow is not None:
        sql += " AND shadow = ?"
        params.append(shadow)
    try:
        rows: Iterable[tuple[str, str, str]] = conn.execute(sql, params).fetchall()
    except sqlite3.OperationalError:  # the router has not created the table yet
        return {}
    out: dict[tuple[str, str], AgreementStats] = {}
    for live, shadow_name, text in rows:
        key = (str(live), str(shadow_name))
        total = out.get(key)
        if total is None:
            total = out[key] = AgreementStats()
        total.merge(AgreementStats.from_json(text))
    return out


def reports(conn: sqlite3.Connection, endpoint: str, since: float) -> list[dict[str, object]]:
    """The DESIGN §2 report objects of ``endpoint`` since ``since``, one per (live, shadow) pair."""
    return [
        {"endpoint": endpoint, **stats.report(live, shadow)}
        for (live, shadow), stats in sorted(merged(conn, endpoint, since).items())
    ]
