"""Publishes the route table (``routes.json``) the router serves from: a versioned, immutable snapshot."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

from switchman.controlplane.datacollection import data_collector_route
from switchman.controlplane.secrets import Vault, token_audience
from switchman.controlplane.store import Store
from switchman.home import Home, write_private
from switchman.status import InstanceState, ProvisioningState


def build_table(store: Store, vault: Vault) -> dict[str, Any]:
    """The router's view of the store, without a version (pure apart from reading the store)."""
    endpoints: dict[str, Any] = {}
    instances = store.list_instances()
    for ep in store.list_endpoints():
        if ep.status.get("provisioning_state") == ProvisioningState.DELETING:
            continue
        mode = "none" if ep.local else ep.spec.get("auth_mode", "key")
        keys = vault.open(ep.secrets) if mode == "key" else {}
        deployments: dict[str, Any] = {}
        for dep in store.list_deployments(ep.name):
            if dep.status.get("provisioning_state") == ProvisioningState.DELETING:
                continue
            settings = dep.spec.get("request_settings", {})
            deployments[dep.name] = {
                "request_timeout_ms": int(settings.get("request_timeout_ms", 5000)),
                "max_concurrent_requests_per_instance": int(
                    settings.get("max_concurrent_requests_per_instance", 1)
                ),
                **data_collector_route(dep.spec),
                "instances": [
                    {"id": i.id, "url": i.url, "ready": True, "pid": i.pid}
                    for i in instances
                    if i.endpoint == ep.name
                    and i.deployment == dep.name
                    and i.state == InstanceState.READY
                ],
            }
        endpoints[ep.name] = {
            "auth_mode": mode,
            "key_sha256": [
                hashlib.sha256(str(keys[k]).encode()).hexdigest()
                for k in ("primaryKey", "secondaryKey")
                if keys.get(k)
            ],
            "token_audience": token_audience(ep.name),
            "traffic": dict(ep.spec.get("traffic", {})),
            "mirror_traffic": dict(ep.spec.get("mirror_traffic", {})),
            "deployments": deployments,
        }
        if ep.spec.get("public_network_access") == "disabled":  # the router's inbound toggle
            endpoints[ep.name]["public_network_access"] = "disabled"
    return {"endpoints": endpoints, "token_public_key": vault.public_key_pem}


class RoutePublisher:
    """Writes a new ``routes.json`` only when the table changed; the version only grows."""

    def __init__(self, home: Home, store: Store, vault: Vault) -> None:
        self.home = home
        self.store = store
        self.vault = vault
        self._last: str | None = None
        self.version = int(store.get_meta("routes_version") or 0)
        # Hooks that add to the table before it is compared and written (autoscale: wake, ...).
        self.decorators: list[Callable[[dict[str, Any]], None]] = []

    def publish(self, *, force: bool = False) -> int:
        table = build_table(self.store, self.vault)
        for decorate in self.decorators:
            decorate(table)
        canonical = json.dumps(table, sort_keys=True)
        if canonical == self._last and not force and self.home.routes_file.exists():
            return self.version
        self.version += 1
        self.store.set_meta("routes_version", str(self.version))
        write_private(
            self.home.routes_file, json.dumps({"version": self.version, **table}, indent=1)
        )
        self._last = canonical
        return self.version
