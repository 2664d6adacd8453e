"""Request metrics with Azure ML's names and dimensions (reference §8.2/§8.3).

The hot path only bumps counters and a fixed log-bucket latency histogram in the current
:class:`Window` (a few dict operations). Once per interval the window is swapped for a fresh one and
summarised off the event loop into :class:`MetricRecord` rows (1-minute roll-ups for the ``metrics``
table); ``/metrics`` renders the last roll-up plus live gauges in Prometheus text.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

_LOW_MS = 0.01
_GROWTH = 1.1
_LOG_GROWTH = math.log(_GROWTH)
_BUCKETS = 200  # 0.01 ms x 1.1^200 ≈ 19 000 s: covers any request timeout
PERCENTILES = (50, 90, 95, 99)
ROUTER_WIDE = "*"  # the endpoint value for router-wide rows (ConnectionsActive)


def bucket_of(ms: float) -> int:
    """Index of the histogram bucket holding ``ms``; bucket ``i`` ends at ``0.01 x 1.1^i`` ms."""
    if ms <= _LOW_MS:
        return 0
    return min(_BUCKETS - 1, math.ceil(math.log(ms / _LOW_MS) / _LOG_GROWTH))


def bucket_upper(index: int) -> float:
    return _LOW_MS * _GROWTH**index


def percentile(counts: list[int], pct: float) -> float:
    """The ``pct`` percentile of a bucket histogram (upper bucket bound: within 10 %)."""
    total = sum(counts)
    if total == 0:
        return 0.0
    rank = math.ceil(total * pct / 100.0)
    running = 0
    for index, count in enumerate(counts):
        running += count
        if running >= rank:
            return bucket_upper(index)
    return bucket_upper(len(counts) - 1)


@dataclass(slots=True)
class Window:
    """Aggregates of one roll-up interval."""

    started: float
    requests: dict[tuple[str, str, int, str], int] = field(default_factory=dict)
    latency: dict[tuple[str, str], list[Any]] = field(default_factory=dict)
    network_bytes: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Window) -> None:
        """Add a later window's counts into this one (fine windows → the 1-minute roll-up)."""
        for key, count in other.requests.items():
            self.requests[key] = self.requests.get(key, 0) + count
        for pair, (count, total, counts) in other.latency.items():
            mine = self.latency.get(pair)
            if mine is None:
                self.latency[pair] = [count, total, list(counts)]
            else:
                mine[0] += count
                mine[1] += total
                mine[2] = [a + b for a, b in zip(mine[2], counts, strict=True)]
        for ep, nbytes in other.network_bytes.items():
            self.network_bytes[ep] = self.network_bytes.get(ep, 0) + nbytes


@dataclass(frozen=True, slots=True)
class DeploymentLoad:
    """A deployment's load over one fine window (autoscale's ConcurrentRequestsPerInstance)."""

    endpoint: str
    deployment: str
    in_flight: float  # mean requests in flight (admitted + queued + held at zero) over the window
    ready: int  # ready instances at the end of the window


@dataclass(frozen=True, slots=True)
class MetricRecord:
    """One roll-up value: ``name`` with its Azure dimensions at ``time`` (epoch seconds)."""

    time: float
    endpoint: str
    deployment: str
    instance: str
    name: str
    dimensions: dict[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class InstanceInfo:
    """What the roll-up needs to know about an instance from the route table."""

    endpoint: str
    deployment: str
    instance_id: str
    pid: int | None
    ready: bool


def request_records(window: Window, now: float) -> list[MetricRecord]:
    """RequestsPerMinute, RequestLatency(_P50..P99) and NetworkBytes of one window."""
    seconds = max(1e-3, now - window.started)
    per_minute = 60.0 / seconds
    out: list[MetricRecord] = []
    for (ep, dep, status, model_status), count in window.requests.items():
        dims = {
            "deployment": dep,
            "statusCode": str(status),
            "statusCodeClass": f"{status // 100}xx",
            "modelStatusCode": model_status,
        }
        out.append(MetricRecord(now, ep, dep, "", "RequestsPerMinute", dims, count * per_minute))
    for (ep, dep), (count, total, counts) in window.latency.items():
        dims = {"deployment": dep}
        out.append(MetricRecord(now, ep, dep, "", "RequestLatency", dims, total / count))
        for pct in PERCENTILES:
            out.append(
                MetricRecord(
                    now, ep, dep, "", f"RequestLatency_P{pct}", dims, percentile(counts, pct)
                )
            )
    for ep, nbytes in window.network_bytes.items():
        out.append(MetricRecord(now, ep, "", "", "NetworkBytes", {}, nbytes / seconds))
    return out


def fine_records(window: Window, loads: Iterable[DeploymentLoad], now: float) -> list[MetricRecord]:
    """A fine-grain (about 1 s) window for autoscale: the request metrics plus, per deployment,
    ConcurrentRequestsPerInstance (mean in flight / ready instances; all of it on one instance at
    zero, so a held request reads as load) and DeploymentCapacity (ready instances)."""
    out = request_records(window, now)
    for load in loads:
        dims = {"deployment": load.deployment}
        out.append(
            MetricRecord(
                now,
                load.endpoint,
                load.deployment,
                "",
                "ConcurrentRequestsPerInstance",
                dims,
                load.in_flight / max(1, load.ready),
            )
        )
        out.append(
            MetricRecord(
                now,
                load.endpoint,
                load.deployment,
                "",
                "DeploymentCapacity",
                {**dims, "State": "Ready"},
                float(load.ready),
            )
        )
    return out


class Metrics:
    """Counters for the hot path and the roll-up that turns them into records.

    Thread safety: ``record`` and ``swap`` run on the event loop; ``summarise`` runs on the writer
    thread on a window nobody else touches any more, and publishes ``last`` by one assignment.
    """

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self.window = Window(started=clock())
        self.totals: dict[tuple[str, str, int, str], int] = {}
        self.connections_active = 0
        self.mirror_dropped = 0
        self.log_dropped = 0
        self.table_version = -1
        self.last: list[MetricRecord] = []
        self._procs: dict[int, psutil.Process] = {}
        # (endpoint, deployment, in flight, queued) per deployment; set by the scoring service
        self.load_source: Callable[[], list[tuple[str, str, int, int]]] = list

    def record(
        self,
        endpoint: str,
        deployment: str,
        status: int,
        model_status: str,
        latency_ms: float,
        nbytes: int,
    ) -> None:
        """Count one finished request (live or mirrored)."""
        window = self.window
        key = (endpoint, deployment, status, model_status)
        window.requests[key] = window.requests.get(key, 0) + 1
        self.totals[key] = self.totals.get(key, 0) + 1
        lat = window.latency.get((endpoint, deployment))
        if lat is None:
            lat = window.latency[(endpoint, deployment)] = [0, 0.0, [0] * _BUCKETS]
        lat[0] += 1
        lat[1] += latency_ms
        # bucket_of(), inlined (hot path)
        if latency_ms <= _LOW_MS:
            index = 0
        else:
            index = min(_BUCKETS - 1, math.ceil(math.log(latency_ms / _LOW_MS) / _LOG_GROWTH))
        lat[2][index] += 1
        window.network_bytes[endpoint] = window.network_bytes.get(endpoint, 0) + nbytes

    def swap(self) -> Window:
        """Start a new window; return the finished one (call on the event loop)."""
        old, self.window = self.window, Window(started=self._clock())
        return old

    def summarise(self, window: Window, instances: Iterable[InstanceInfo]) -> list[MetricRecord]:
        """Turn a finished window (and instance CPU/memory) into records; publish them as ``last``."""
        now = self._clock()
        out = request_records(window, now)
        out.append(
            MetricRecord(
                now, ROUTER_WIDE, "", "", "ConnectionsActive", {}, float(self.connections_active)
            )
        )
        out.extend(self._instance_records(now, instances))
        self.last = out
        return out

    def _instance_records(
        self, now: float, instances: Iterable[InstanceInfo]
    ) -> Iterator[MetricRecord]:
        seen: set[int] = set()
        for info in instances:
            dims = {"instanceId": info.instance_id}
            state = "Ready" if info.ready else "NotReady"
            yield MetricRecord(
                now,
                info.endpoint,
                info.deployment,
                info.instance_id,
                "DeploymentCapacity",
                {**dims, "State": state},
                1.0,
            )
            if info.pid is None:
                continue
            seen.add(info.pid)
            try:
                proc = self._procs.get(info.pid)
                if proc is None:
                    proc = self._procs[info.pid] = psutil.Process(info.pid)
                    proc.cpu_percent(None)  # primes the counter; the next roll-up has a real value
                cpu = proc.cpu_percent(None) / max(1, psutil.cpu_count() or 1)
                memory = proc.memory_percent()
            except (psutil.Error, OSError):
                self._procs.pop(info.pid, None)
                continue
            yield MetricRecord(
                now,
                info.endpoint,
                info.deployment,
                info.instance_id,
                "CpuUtilizationPercentage",
                dims,
                cpu,
            )
            yield MetricRecord(
                now,
                info.endpoint,
                info.deployment,
                info.instance_id,
                "CpuMemoryUtilizationPercentage",
                dims,
                memory,
            )
        for pid in list(self._procs):
            if pid not in seen:
                del self._procs[pid]

    # Prometheus exposition
    def collect(self) -> Iterator[Metric]:
        """prometheus-client collector protocol: the last roll-up plus live counters."""
        families: dict[str, GaugeMetricFamily] = {}
        for rec in self.last:
            if rec.name == "ConnectionsActive":
                continue  # exposed live below
            dim_names = sorted(k for k in rec.dimensions if k != "deployment")
            family = families.get(rec.name)
            if family is None:
                family = families[rec.name] = GaugeMetricFamily(
                    rec.name,
                    f"Azure ML metric {rec.name} over the last roll-up interval.",
                    labels=["endpoint", "deployment", *dim_names],
                )
            family.add_metric(
                [rec.endpoint, rec.deployment, *(rec.dimensions[k] for k in dim_names)], rec.value
            )
        for name in (
            "RequestsPerMinute",
            "RequestLatency",
            *(f"RequestLatency_P{p}" for p in PERCENTILES),
            "NetworkBytes",
            "CpuUtilizationPercentage",
            "CpuMemoryUtilizationPercentage",
            "DeploymentCapacity",
        ):
            if name not in families:  # names are always present, even before the first roll-up
                families[name] = GaugeMetricFamily(
                    name, f"Azure ML metric {name}.", labels=["endpoint", "deployment"]
                )
        yield from families.values()
        yield GaugeMetricFamily(
            "ConnectionsActive", "Open client connections.", value=self.connections_active
        )
        total = CounterMetricFamily(
            "switchman_requests",
            "Requests finished by the router.",
            labels=["endpoint", "deployment", "statusCode", "modelStatusCode"],
        )
        for (ep, dep, status, model_status), count in list(self.totals.items()):
            total.add_metric([ep, dep, str(status), model_status], count)
        yield total
        in_flight = GaugeMetricFamily(
            "switchman_deployment_in_flight",
            "Requests admitted and not finished.",
            labels=["endpoint", "deployment"],
        )
        queued = GaugeMetricFamily(
            "switchman_deployment_queued",
            "Requests waiting for an instance slot.",
            labels=["endpoint", "deployment"],
        )
        for ep, dep, flying, waiting in self.load_source():
            in_flight.add_metric([ep, dep], flying)
            queued.add_metric([ep, dep], waiting)
        yield in_flight
        yield queued
        yield CounterMetricFamily(
            "switchman_mirror_dropped",
            "Mirror copies dropped (saturated).",
            value=self.mirror_dropped,
        )
        yield CounterMetricFamily(
            "switchman_traffic_log_dropped",
            "Traffic-log rows dropped (writer behind).",
            value=self.log_dropped,
        )
        yield GaugeMetricFamily(
            "switchman_route_table_version",
            "Version of the route table served.",
            value=self.table_version,
        )

    def exposition(self) -> bytes:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(self)  # type: ignore[arg-type]
        return generate_latest(registry)
