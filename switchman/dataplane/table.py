"""The route table: an immutable snapshot of ``routes.json`` (docs/internals.md, "Route table").

The control plane publishes the file; the router parses it into these frozen objects and swaps the
whole snapshot at once, so a request always sees one consistent version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from switchman.errors import BadArgumentError

AUTH_MODES = ("key", "aml_token", "aad_token", "none")


@dataclass(frozen=True, slots=True)
class Instance:
    """One copy of a deployment, reachable at ``host:port``."""

    id: str
    host: str
    port: int
    ready: bool
    pid: int | None = None
    uds: str | None = None  # a Unix-socket instance (url unix:/path): network-isolated


@dataclass(frozen=True, slots=True)
class PayloadCapture:
    """The router's part of a deployment's ``data_collector``: ``request``/``response`` capture."""

    request_rate: float
    response_rate: float
    rolling_rate: str = "hour"
    capture_headers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment's request settings and its instances."""

    name: str
    request_timeout_ms: int
    max_concurrent_requests_per_instance: int
    instances: tuple[Instance, ...]
    capture: PayloadCapture | None = None
    scale_to_zero: bool = False  # autoscale may take it to zero: hold requests while it wakes

    @property
    def ready_instances(self) -> tuple[Instance, ...]:
        return tuple(i for i in self.instances if i.ready)


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An endpoint: auth, live traffic weights, mirror and deployments."""

    name: str
    auth_mode: str
    key_sha256: tuple[str, ...]
    token_audience: str | None
    traffic: tuple[tuple[str, int], ...]
    mirror_traffic: tuple[tuple[str, int], ...]
    deployments: dict[str, Deployment] = field(default_factory=dict)
    private: bool = False  # public_network_access: disabled (switchman/dataplane/inbound.py)

    @property
    def busiest_deployment(self) -> str | None:
        """The deployment with the most live traffic (ties: first listed), or None."""
        best: tuple[str, int] | None = None
        for name, weight in self.traffic:
            if weight > 0 and (best is None or weight > best[1]):
                best = (name, weight)
        return best[0] if best else None


@dataclass(frozen=True, slots=True)
class RouteTable:
    """One version of the route table."""

    version: int
    endpoints: dict[str, Endpoint]
    token_public_key: str | None
    wake: WakeTarget | None = None


@dataclass(frozen=True, slots=True)
class WakeTarget:
    """Where the router asks the control plane to wake a deployment at zero (loopback + token)."""

    host: str
    port: int
    path: str
    token: str


def _require(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise BadArgumentError(f"routes.json: {where} {what}")


def _weights(raw: Any, where: str) -> tuple[tuple[str, int], ...]:
    if raw is None:
        return ()
    _require(isinstance(raw, dict), where, f"must be an object of name → percent, got {raw!r:.80}")
    out = []
    for name, value in raw.items():
        ok = isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 100
        _require(ok, f"{where}.{name}", f"must be a percent 0..100, got {value!r}")
        out.append((str(name), int(value)))
    return tuple(out)


def _instance(raw: Any, where: str) -> Instance:
    _require(isinstance(raw, dict), where, "must be an object")
    url = raw.get("url")
    _require(isinstance(url, str), f"{where}.url", f"must be a string, got {url!r}")
    pid = raw.get("pid")
    if url.startswith("unix:"):
        path = url[len("unix:") :]
        _require(path.startswith("/"), f"{where}.url", f"must look like unix:/PATH, got {url!r}")
        return Instance(
            id=str(raw.get("id") or url),
            host="localhost",
            port=80,
            ready=bool(raw.get("ready", False)),
            pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
            uds=path,
        )
    parts = urlsplit(url)
    _require(
        parts.scheme == "http" and bool(parts.hostname) and parts.port is not None,
        f"{where}.url",
        f"must look like http://HOST:PORT or unix:/PATH, got {url!r}",
    )
    return Instance(
        id=str(raw.get("id") or f"{parts.hostname}:{parts.port}"),
        host=str(parts.hostname),
        port=int(parts.port or 0),
        ready=bool(raw.get("ready", False)),
        pid=pid if isinstance(pid, int) and not isinstance(pid, bool) else None,
    )


def _deployment(name: str, raw: Any, where: str) -> Deployment:
    _require(isinstance(raw, dict), where, "must be an object")
    timeout = raw.get("request_timeout_ms", 5000)
    mcr = raw.get("max_concurrent_requests_per_instance", 1)
    _require(
        isinstance(timeout, int) and timeout > 0,
        f"{where}.request_timeout_ms",
        f"must be > 0, got {timeout!r}",
    )
    _require(
        isinstance(mcr, int) and mcr > 0,
        f"{where}.max_concurrent_requests_per_instance",
        f"must be > 0, got {mcr!r}",
    )
    instances = raw.get("instances") or []
    _require(isinstance(instances, list), f"{where}.instances", "must be a list")
    return Deployment(
        name=name,
        request_timeout_ms=int(timeout),
        max_concurrent_requests_per_instance=int(mcr),
        instances=tuple(_instance(i, f"{where}.instances[{n}]") for n, i in enumerate(instances)),
        capture=_capture(raw.get("data_collector"), f"{where}.data_collector"),
        scale_to_zero=bool(raw.get("scale_to_zero", False)),
    )


def _capture(raw: Any, where: str) -> PayloadCapture | None:
    if raw is None:
        return None
    _require(isinstance(raw, dict), where, "must be an object")
    rates = raw.get("collections") or {}
    _require(isinstance(rates, dict), f"{where}.collections", "must be an object")
    request, response = float(rates.get("request", 0.0)), float(rates.get("response", 0.0))
    if request <= 0 and response <= 0:
        return None
    headers = raw.get("capture_headers") or []
    return PayloadCapture(
        request_rate=request,
        response_rate=response,
        rolling_rate=str(raw.get("rolling_rate", "hour")),
        capture_headers=tuple(str(h).lower() for h in headers),
    )


def _endpoint(name: str, raw: Any) -> Endpoint:
    where = f"endpoints.{name}"
    _require(isinstance(raw, dict), where, "must be an object")
    mode = raw.get("auth_mode", "key")
    _require(
        mode in AUTH_MODES,
        f"{where}.auth_mode",
        f"must be one of {', '.join(AUTH_MODES)}, got {mode!r}",
    )
    keys = raw.get("key_sha256") or []
    _require(
        isinstance(keys, list) and all(isinstance(k, str) for k in keys),
        f"{where}.key_sha256",
        "must be a list of hex strings",
    )
    deployments_raw = raw.get("deployments") or {}
    _require(isinstance(deployments_raw, dict), f"{where}.deployments", "must be an object")
    deployments = {
        str(d): _deployment(str(d), spec, f"{where}.deployments.{d}")
        for d, spec in deployments_raw.items()
    }
    audience = raw.get("token_audience")
    return Endpoint(
        name=name,
        auth_mode=str(mode),
        key_sha256=tuple(k.lower() for k in keys),
        token_audience=str(audience) if audience is not None else None,
        traffic=_weights(raw.get("traffic"), f"{where}.traffic"),
        mirror_traffic=_weights(raw.get("mirror_traffic"), f"{where}.mirror_traffic"),
        deployments=deployments,
        private=raw.get("public_network_access") == "disabled",
    )


def parse_table(data: Any) -> RouteTable:
    """Build a :class:`RouteTable` from the decoded JSON.

    Raises:
        BadArgumentError: a field has the wrong shape; the message names it.
    """
    _require(isinstance(data, dict), "the document", "must be a JSON object")
    version = data.get("version")
    _require(
        isinstance(version, int) and not isinstance(version, bool),
        "version",
        f"must be an integer, got {version!r}",
    )
    endpoints = data.get("endpoints") or {}
    _require(isinstance(endpoints, dict), "endpoints", "must be an object")
    key = data.get("token_public_key")
    return RouteTable(
        version=int(version),
        endpoints={str(n): _endpoint(str(n), e) for n, e in endpoints.items()},
        token_public_key=key if isinstance(key, str) and key else None,
        wake=_wake(data.get("wake")),
    )


def _wake(raw: Any) -> WakeTarget | None:
    if not isinstance(raw, dict):
        return None
    url, token = raw.get("url"), raw.get("token")
    _require(isinstance(url, str) and isinstance(token, str), "wake", "needs url and token")
    parts = urlsplit(str(url))
    _require(
        parts.scheme == "http" and bool(parts.hostname) and parts.port is not None,
        "wake.url",
        f"must look like http://HOST:PORT/PATH, got {url!r}",
    )
    return WakeTarget(str(parts.hostname), int(parts.port or 0), parts.path or "/", str(token))


def load_table(path: Path) -> RouteTable:
    """Read and parse ``routes.json``.

    Raises:
        OSError: the file cannot be read (e.g. it vanished between stat and open).
        BadArgumentError: not JSON, or a field has the wrong shape.
    """
    text = path.read_text()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadArgumentError(f"routes.json at {path} is not valid JSON: {exc}") from None
    return parse_table(data)
