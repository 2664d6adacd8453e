"""What each studio page shows, shaped from the same service calls the REST API makes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import yaml

from switchman.controlplane.platform import Platform
from switchman.controlplane.store import DeploymentRecord, EndpointRecord
from switchman.spec.base import READ_ONLY_KEYS
from switchman.status import InstanceState
from switchman.studio import telemetry

SINCE = {"15m": 900.0, "1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0}
RESTART_EVENTS = frozenset({"Failed", "OOMKilled"})
PLACEHOLDER = "<your-key>"  # the Consume tab's script swaps it for the key once revealed


def when(epoch: float | None) -> str:
    """Epoch seconds as ``2026-12-01 21:45:03Z`` (UTC, as the CLI's timestamps)."""
    if not epoch:
        return ""
    return datetime.fromtimestamp(float(epoch), UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def pct(value: Any) -> str:
    return f"{int(value)}%" if value is not None else "—"


def _editable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in READ_ONLY_KEYS and k not in ("error",)}


def endpoint_rows(p: Platform, now: float) -> list[dict[str, Any]]:
    """One row per online endpoint for the list page."""
    counts = telemetry.last_minute(p.home.db_path, now)
    rows = []
    for record in p.store.list_endpoints():
        view = p.service.endpoint_view(record)
        instances = p.store.list_instances(record.name)
        deployments = [
            {
                "name": d.name,
                "traffic": view["traffic"].get(d.name, 0),
                "mirror": view.get("mirror_traffic", {}).get(d.name, 0),
                "state": d.status.get("provisioning_state", ""),
            }
            for d in p.store.list_deployments(record.name)
        ]
        seen = counts.get(record.name, {"requests": 0, "errors": 0})
        rows.append(
            {
                "name": record.name,
                "auth_mode": view.get("auth_mode", "key") if not record.local else "none (local)",
                "scoring_uri": view["scoring_uri"],
                "state": view["provisioning_state"],
                "deployments": deployments,
                "ready": sum(1 for i in instances if i.state == InstanceState.READY),
                "instances": sum(1 for i in instances if i.state != InstanceState.FAILED),
                "requests": seen["requests"],
                "errors": seen["errors"],
            }
        )
    return rows


def endpoint_detail(p: Platform, record: EndpointRecord) -> dict[str, Any]:
    view = p.service.endpoint_view(record)
    deployments = []
    for d in p.store.list_deployments(record.name):
        instances = p.store.list_instances(record.name, d.name)
        deployments.append(
            {
                "name": d.name,
                "state": d.status.get("provisioning_state", ""),
                "instance_type": d.spec.get("instance_type", ""),
                "instance_count": d.spec.get("instance_count", 1),
                "ready": sum(1 for i in instances if i.state == InstanceState.READY),
                "traffic": int(view["traffic"].get(d.name, 0)),
                "mirror": int(view.get("mirror_traffic", {}).get(d.name, 0)),
            }
        )
    spec = _editable(view)
    spec.pop("traffic", None)
    spec.pop("mirror_traffic", None)
    return {
        "endpoint": view,
        "local": record.local,
        "deployments": deployments,
        # The page's script sends this back with the new traffic: an update of traffic only.
        "spec_json": json.dumps(spec).replace("<", "\\u003c"),
        "snippets": snippets(view),
    }


def snippets(view: dict[str, Any]) -> dict[str, str]:
    """curl and Python examples for the Consume tab (PLACEHOLDER becomes the revealed key)."""
    uri = view["scoring_uri"]
    curl = (
        f"curl -X POST '{uri}' \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -H 'Authorization: Bearer {PLACEHOLDER}' \\\n"
        "  -d @request.json"
    )
    python = (
        "import json\nimport urllib.request\n\n"
        f'URI = "{uri}"\nKEY = "{PLACEHOLDER}"\n\n'
        'with open("request.json", "rb") as f:\n    body = f.read()\n'
        "request = urllib.request.Request(\n    URI,\n    data=body,\n"
        '    headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},\n)\n'
        "with urllib.request.urlopen(request) as response:\n    print(json.loads(response.read()))\n"
    )
    return {"curl": curl, "python": python}


def traffic_filters(deployment: str, status: str, since: str) -> dict[str, str]:
    return {
        "deployment": deployment,
        "status": status if status in telemetry.STATUS_CLASSES else "",
        "since": since if since in SINCE else "1h",
    }


def traffic_rows(
    p: Platform, endpoint: str, filters: dict[str, str], now: float
) -> list[dict[str, Any]]:
    return telemetry.traffic_log(
        p.home.db_path,
        endpoint,
        now,
        deployment=filters["deployment"] or None,
        status_class=filters["status"] or None,
        since_s=SINCE[filters["since"]],
    )


def deployment_detail(p: Platform, record: DeploymentRecord) -> dict[str, Any]:
    view = p.service.deployment_view(record)
    events = p.store.list_events(record.endpoint, record.name)
    restarts = sum(1 for e in events if e["name"] in RESTART_EVENTS)
    last_live_failure: dict[str, float] = {}
    last_ready: dict[str, float] = {}
    for e in events:
        if e.get("instance"):
            if e["name"] == "LivenessProbeFailed":
                last_live_failure[e["instance"]] = e["time"]
            elif e["name"] == "Ready":
                last_ready[e["instance"]] = e["time"]
    now = time.time()
    instances = []
    for inst in p.store.list_instances(record.endpoint, record.name):
        failed_at = last_live_failure.get(inst.id)
        liveness = "failing" if failed_at and failed_at > last_ready.get(inst.id, 0) else "ok"
        instances.append(
            {
                "id": inst.id,
                "state": inst.state,
                "pid": inst.pid,
                "node": "local",
                "url": inst.url,
                "ready": inst.state == InstanceState.READY,
                "liveness": liveness if inst.state != InstanceState.FAILED else "—",
                "age_s": int(now - inst.created_at),
                "message": inst.message or "",
            }
        )
    spec = {k: v for k, v in view.items() if k not in ("instances",)}
    return {
        "endpoint_name": record.endpoint,
        "deployment": view,
        "instances": instances,
        "restarts": restarts,
        "events": list(reversed(events[-100:])),
        # Scale decisions (and wake-ups from zero) of the autoscale part, newest first.
        "autoscale_events": [
            e for e in reversed(events) if str(e["name"]).startswith(("Autoscale", "ColdStart"))
        ][:50],
        "spec_yaml": yaml.safe_dump(spec, sort_keys=False, default_flow_style=False),
    }


def asset_lists(p: Platform) -> dict[str, Any]:
    from switchman.controlplane.api_assets import view

    return {
        "models": [view(r) for r in p.store.list_assets("model")],
        "environments": [view(r) for r in p.store.list_assets("environment")],
    }


def job_files(files: dict[str, bytes]) -> dict[str, Any]:
    """A job's named outputs (downloadable) and its logs (shown), from `job download --all`."""
    outputs = [
        {"path": p, "size": len(data)}
        for p, data in sorted(files.items())
        if p.startswith("named-outputs/")
    ]
    logs = [
        {"path": p, "text": data.decode("utf-8", "replace")[-20000:]}
        for p, data in sorted(files.items())
        if not p.startswith("named-outputs/")
    ]
    return {"outputs": outputs, "logs": logs}


def rollout_of(state: Any, endpoint: str) -> dict[str, Any] | None:
    """The endpoint's latest gated rollout, from the control plane's rollout driver when it runs."""
    driver = getattr(state, "rollouts", None)
    book = getattr(driver, "book", None)
    found = book.get(endpoint) if book is not None else None
    if not found:
        return None
    rollout, cancel = found
    return {**rollout.as_dict(), "cancel_requested": cancel}
