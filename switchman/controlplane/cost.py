"""What endpoints cost: instance-hours × the SKU's hourly list price (issue #15).

Managed online endpoints bill the VM price of each instance from its creation until it stops.
Instance lifetimes come from the events the reconciler already records (``Created`` starts an
instance; ``Killing``, ``Failed`` or ``OOMKilled``, or its deployment's ``Deleted``, ends it; an
instance still live runs until now). The price table ships as ``prices.json`` beside this module
(dated, with its source); ``$SWITCHMAN_HOME/prices.json`` overrides any row. The pure parts
(:func:`instance_usage`, :func:`cost_rows`) take the clock as an argument; :func:`cost_report`
reads the store and is what ``GET /api/monitor/cost``, the studio and ``switchman monitor cost`` show.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from switchman.controlplane.store import Store
from switchman.errors import BadArgumentError
from switchman.home import Home
from switchman.status import LIVE_INSTANCE_STATES

DEFAULT_PRICES = Path(__file__).with_name("prices.json")
START_EVENTS = frozenset({"Created"})
END_EVENTS = frozenset({"Killing", "Failed", "OOMKilled"})
WINDOWS = ("today", "7d", "30d")
_SKU_TABLE = (
    "CREATE TABLE IF NOT EXISTS cost_instance_types (endpoint TEXT NOT NULL, deployment TEXT NOT "
    "NULL, instance_type TEXT NOT NULL, PRIMARY KEY (endpoint, deployment))"
)


@dataclass(frozen=True)
class PriceTable:
    """Hourly prices by SKU (lower-case keys), with where they came from."""

    prices: dict[str, float]
    currency: str = "USD"
    taken: str = ""
    basis: str = ""
    overridden: list[str] = field(default_factory=list)
    override_file: str | None = None

    def hourly(self, sku: str | None) -> float | None:
        return self.prices.get(sku.lower()) if sku else None


@dataclass(frozen=True)
class Usage:
    """One instance's lifetime (epoch seconds; ``end`` is now for a live instance)."""

    instance: str
    endpoint: str
    deployment: str
    start: float
    end: float


def _read_table(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise BadArgumentError(f"Cannot read the price table {path}: {exc.strerror}.") from None
    except ValueError as exc:
        raise BadArgumentError(
            f"The price table {path} is not valid JSON ({exc}); fix it or delete it to use the "
            "built-in prices."
        ) from None
    if not isinstance(data, dict):
        raise BadArgumentError(
            f"The price table {path} must be a JSON object such as "
            '{"prices": {"Standard_DS3_v2": 0.293}}.'
        )
    return data


def _prices_of(data: dict[str, Any], path: Path) -> dict[str, float]:
    raw = data.get("prices", data)
    if not isinstance(raw, dict):
        raise BadArgumentError(f"{path}: 'prices' must map SKU names to hourly prices.")
    out: dict[str, float] = {}
    for sku, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise BadArgumentError(
                f"{path}: the price of {sku!r} must be a non-negative number (per instance-hour), "
                f"got {value!r}."
            )
        out[str(sku).lower()] = float(value)
    return out


def load_prices(home: Home | None = None) -> PriceTable:
    """The built-in table, with ``$SWITCHMAN_HOME/prices.json`` rows over it when present."""
    base = _read_table(DEFAULT_PRICES)
    prices = _prices_of(base, DEFAULT_PRICES)
    overridden: list[str] = []
    override_file: str | None = None
    if home is not None and (home.root / "prices.json").exists():
        path = home.root / "prices.json"
        extra = _prices_of(_read_table(path), path)
        overridden = sorted(extra)
        prices.update(extra)
        override_file = str(path)
    return PriceTable(
        prices=prices,
        currency=str(base.get("currency", "USD")),
        taken=str(base.get("taken", "")),
        basis=str(base.get("basis", "")),
        overridden=overridden,
        override_file=override_file,
    )


def instance_usage(events: Iterable[dict[str, Any]], live: set[str], now: float) -> list[Usage]:
    """Instance lifetimes from events, oldest first.

    Args:
        events: rows with ``time``, ``endpoint``, ``deployment``, ``instance``, ``name``, in time
            order (any events; the ones that matter are picked here).
        live: ids of instances that run now (their lifetime ends at ``now``).
        now: the clock.
    """
    starts: dict[str, tuple[float, str, str]] = {}
    ends: dict[str, float] = {}
    last_seen: dict[str, float] = {}
    deleted: dict[tuple[str, str], list[float]] = {}
    for ev in events:
        when, inst, name = float(ev["time"]), ev.get("instance"), ev["name"]
        if not inst:
            if name == "Deleted" and ev.get("deployment"):
                deleted.setdefault((ev["endpoint"], ev["deployment"]), []).append(when)
            continue
        last_seen[inst] = max(when, last_seen.get(inst, when))
        if inst not in starts and (name in START_EVENTS or name not in END_EVENTS):
            starts[inst] = (when, ev["endpoint"], ev["deployment"])
        elif inst in starts and name in END_EVENTS and inst not in ends:
            ends[inst] = when
    out: list[Usage] = []
    for inst, (start, endpoint, deployment) in starts.items():
        if inst in ends:
            end = ends[inst]
        elif inst in live:
            end = now
        else:
            after = [t for t in deleted.get((endpoint, deployment), []) if t >= start]
            end = min(after) if after else last_seen.get(inst, start)
        out.append(Usage(inst, endpoint, deployment, start, max(start, min(end, now))))
    out.sort(key=lambda u: u.start)
    return out


def window_starts(now: float) -> dict[str, float]:
    """Start of each cost window: today (UTC midnight), the last 7 and 30 days."""
    midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return {"today": midnight.timestamp(), "7d": now - 7 * 86400, "30d": now - 30 * 86400}


def _hours(usage: Usage, since: float, until: float) -> float:
    return max(0.0, min(usage.end, until) - max(usage.start, since)) / 3600.0


def cost_rows(
    usages: Iterable[Usage],
    instance_types: dict[tuple[str, str], str],
    prices: PriceTable,
    now: float,
) -> list[dict[str, Any]]:
    """One row per deployment: its SKU, price, instance-hours and cost per window.

    Deployments in ``instance_types`` appear even with no usage (a row of zeros), so the table
    lists every deployment; ones that used instances but whose SKU is unknown get no price.
    """
    starts = window_starts(now)
    keys = set(instance_types) | {(u.endpoint, u.deployment) for u in usages}
    hours: dict[tuple[str, str], dict[str, float]] = {k: dict.fromkeys(WINDOWS, 0.0) for k in keys}
    for usage in usages:
        for window, since in starts.items():
            hours[(usage.endpoint, usage.deployment)][window] += _hours(usage, since, now)
    rows: list[dict[str, Any]] = []
    for endpoint, deployment in sorted(keys):
        sku = instance_types.get((endpoint, deployment))
        price = prices.hourly(sku)
        row: dict[str, Any] = {
            "endpoint": endpoint,
            "deployment": deployment,
            "instance_type": sku,
            "price_per_hour": price,
        }
        for window in WINDOWS:
            used = hours[(endpoint, deployment)][window]
            row[f"instance_hours_{window}"] = round(used, 4)
            row[f"cost_{window}"] = None if price is None else round(used * price, 4)
        rows.append(row)
    return rows


def endpoint_totals(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows summed per endpoint (a deployment without a price counts as 0)."""
    totals: dict[str, dict[str, Any]] = {}
    for row in rows:
        total = totals.setdefault(
            row["endpoint"],
            {"endpoint": row["endpoint"], **{f"cost_{w}": 0.0 for w in WINDOWS}},
        )
        for window in WINDOWS:
            total[f"cost_{window}"] = round(
                total[f"cost_{window}"] + (row[f"cost_{window}"] or 0), 4
            )
    return list(totals.values())


def cost_report(store: Store, home: Home, now: float) -> dict[str, Any]:
    """Cost per deployment and endpoint for today, 7 and 30 days, from the store's events."""
    prices = load_prices(home)
    with store.transaction() as conn:
        conn.execute(_SKU_TABLE)
        for dep in store.list_deployments():
            sku = dep.spec.get("instance_type")
            if sku:
                # Remembered, so a deleted deployment's past hours keep their price.
                conn.execute(
                    "INSERT OR REPLACE INTO cost_instance_types VALUES (?, ?, ?)",
                    (dep.endpoint, dep.name, str(sku)),
                )
        known = {
            (r[0], r[1]): str(r[2])
            for r in conn.execute(
                "SELECT endpoint, deployment, instance_type FROM cost_instance_types"
            )
        }
        events = [
            dict(r)
            for r in conn.execute(
                "SELECT time, endpoint, deployment, instance, name FROM events "
                "WHERE instance IS NOT NULL OR name = 'Deleted' ORDER BY time"
            )
        ]
    live = {i.id for i in store.list_instances() if i.state in LIVE_INSTANCE_STATES}
    current = {(d.endpoint, d.name) for d in store.list_deployments()}
    usages = instance_usage(events, live, now)
    cutoff = window_starts(now)["30d"]
    used = {(u.endpoint, u.deployment) for u in usages if u.end >= cutoff}
    types = {k: v for k, v in known.items() if k in current or k in used}
    rows = cost_rows([u for u in usages if u.end >= cutoff], types, prices, now)
    return {
        "currency": prices.currency,
        "prices_taken": prices.taken,
        "prices_basis": prices.basis,
        "prices_override_file": prices.override_file,
        "prices_overridden": prices.overridden,
        "generated": datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        "windows": list(WINDOWS),
        "deployments": rows,
        "endpoints": endpoint_totals(rows),
    }
