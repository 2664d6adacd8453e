"""What a deployment's ``data_collector`` means for the router (routes.json) and its instances."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from switchman.datacollection.record import DATA_COLLECTION_ENV
from switchman.home import Home
from switchman.spec.datacollector import PAYLOAD_COLLECTIONS, DataCollectorSpec
from switchman.spec.deployment import OnlineDeploymentSpec


def data_root(home: Home) -> Path:
    """``$SWITCHMAN_HOME/data-collection``."""
    return home.root / "data-collection"


def data_collector_route(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"data_collector": {...}}`` for the deployment's routes.json entry, or ``{}``."""
    raw = spec.get("data_collector")
    if not raw:
        return {}
    settings = DataCollectorSpec.model_validate(raw).settings()
    payload = {k: v for k, v in settings["collections"].items() if k in PAYLOAD_COLLECTIONS}
    if not payload:
        return {}
    return {"data_collector": {**settings, "collections": payload}}


def collector_environment(home: Home, spec: OnlineDeploymentSpec) -> dict[str, str]:
    """The instance variable that tells ``Collector(name=...)`` where and what to write."""
    collector = spec.data_collector
    if collector is None:
        return {}
    settings = collector.settings()
    custom = {k: v for k, v in settings["collections"].items() if k not in PAYLOAD_COLLECTIONS}
    if not custom:
        return {}
    endpoint = spec.endpoint_name or ""
    config = {
        "root": str(data_root(home) / endpoint / spec.name),
        "rolling_rate": settings["rolling_rate"],
        "collections": custom,
        "source": f"/switchman/onlineEndpoints/{endpoint}/deployments/{spec.name}",
    }
    return {DATA_COLLECTION_ENV: json.dumps(config, sort_keys=True)}
