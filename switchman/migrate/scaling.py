"""Replicas, autoscale, request limits and probes of a v1 service → deployment settings (§3.2-§3.4).

ACI runs one container with fixed limits, so its deployment gets one instance and v2 defaults.
AKS settings map one to one where v2 has the field; autoscale becomes ``instance_count`` = the
floor, plus a scale hint (deployment tags and the report), since managed deployments scale through
an external autoscaler (reference §8.1), not through the deployment spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from switchman.errors import SpecFileError
from switchman.migrate.ledger import Ledger
from switchman.migrate.source import V1Inputs, integer
from switchman.spec.deployment import MAX_INSTANCES, MAX_REQUEST_TIMEOUT_MS, ProbeSettings

# AksWebservice.deploy_configuration defaults (azureml-core 1.61).
V1_SCORING_TIMEOUT_MS = 60_000
V1_MAX_CONCURRENT = 1
V1_MAX_QUEUE_WAIT_MS = 500
V1_AUTOSCALE = {
    "minReplicas": 1,
    "maxReplicas": 10,
    "targetUtilization": 70,
    "refreshPeriodInSeconds": 1,
}
V1_PROBE = {
    "periodSeconds": 10,
    "initialDelaySeconds": 310,
    "timeoutSeconds": 2,
    "successThreshold": 1,
    "failureThreshold": 3,
}
PROBE_FIELDS = {
    "periodSeconds": "period",
    "initialDelaySeconds": "initial_delay",
    "timeoutSeconds": "timeout",
    "successThreshold": "success_threshold",
    "failureThreshold": "failure_threshold",
}
HINT_TAGS = {
    "minReplicas": "v1-autoscale-min-replicas",
    "maxReplicas": "v1-autoscale-max-replicas",
    "targetUtilization": "v1-autoscale-target-utilization",
    "refreshPeriodInSeconds": "v1-autoscale-refresh-seconds",
}


@dataclass
class ScalePlan:
    """Deployment fields decided from the v1 scale/request/probe settings (None → v2 default)."""

    instance_count: int = 1
    request_settings: dict[str, int] = field(default_factory=dict)
    liveness_probe: dict[str, int] = field(default_factory=dict)
    readiness_probe: dict[str, int] = field(default_factory=dict)
    scale_hint: dict[str, int] | None = None

    @property
    def hint_tags(self) -> dict[str, str]:
        if not self.scale_hint:
            return {}
        names = {
            "min_instances": HINT_TAGS["minReplicas"],
            "max_instances": HINT_TAGS["maxReplicas"],
            "target_utilization_percentage": HINT_TAGS["targetUtilization"],
            "polling_interval": HINT_TAGS["refreshPeriodInSeconds"],
        }
        return {names[k]: str(v) for k, v in self.scale_hint.items()}


def plan_scaling(inputs: V1Inputs, ledger: Ledger) -> ScalePlan:
    """Decide instance count, request settings, probes and the scale hint."""
    if inputs.kind == "aci":
        ledger.defaulted(
            "instance count", 1, "instance_count: 1", "an ACI service is one container"
        )
        ledger.defaulted(
            "scoring timeout",
            None,
            "request_settings (v2 defaults: 5000 ms, 1 concurrent request)",
            "ACI has no scoring timeout or concurrency setting; raise request_timeout_ms in "
            "deployment.yml if the model needs more than 5 s per request",
        )
        return ScalePlan()
    plan = ScalePlan()
    _requests(inputs, ledger, plan)
    _probes(inputs, ledger, plan)
    _replicas(inputs, ledger, plan)
    return plan


def _requests(inputs: V1Inputs, ledger: Ledger, plan: ScalePlan) -> None:
    svc, file, src = inputs.service, inputs.service_path, inputs.service_source
    timeout = svc.get("scoringTimeoutMs")
    if timeout is None:
        value = V1_SCORING_TIMEOUT_MS
        ledger.defaulted(
            "scoringTimeoutMs", value, "request_settings.request_timeout_ms", "v1 AKS default, kept"
        )
    else:
        value = integer(timeout, file, "scoringTimeoutMs", minimum=1)
        if value > MAX_REQUEST_TIMEOUT_MS:
            ledger.warn(
                f"scoringTimeoutMs {value} is above the managed online limit; request_timeout_ms is "
                f"set to {MAX_REQUEST_TIMEOUT_MS} (reference §3.2)."
            )
            value = MAX_REQUEST_TIMEOUT_MS
        ledger.mapped(src, "scoringTimeoutMs", f"request_settings.request_timeout_ms: {value}")
    plan.request_settings["request_timeout_ms"] = value

    concurrent = svc.get("maxConcurrentRequestsPerContainer")
    target = "request_settings.max_concurrent_requests_per_instance"
    if concurrent is None:
        plan.request_settings["max_concurrent_requests_per_instance"] = V1_MAX_CONCURRENT
        ledger.defaulted(
            "maxConcurrentRequestsPerContainer", V1_MAX_CONCURRENT, target, "v1 default"
        )
    else:
        count = integer(concurrent, file, "maxConcurrentRequestsPerContainer", minimum=1)
        plan.request_settings["max_concurrent_requests_per_instance"] = min(count, 1000)
        if count > 1000:
            ledger.warn(f"maxConcurrentRequestsPerContainer {count} is capped at 1000.")
        ledger.mapped(src, "maxConcurrentRequestsPerContainer", target)

    target = "request_settings.max_queue_wait_ms"
    names = [n for n in ("maxQueueWaitMs", "maxRequestWaitTime") if svc.get(n) is not None]
    if not names:
        plan.request_settings["max_queue_wait_ms"] = V1_MAX_QUEUE_WAIT_MS
        ledger.defaulted("maxQueueWaitMs", V1_MAX_QUEUE_WAIT_MS, target, "v1 default")
        return
    plan.request_settings["max_queue_wait_ms"] = integer(svc[names[0]], file, names[0])
    ledger.mapped(
        src,
        names[0],
        target,
        "deprecated on managed online endpoints: raise request_timeout_ms instead",
    )
    for other in names[1:]:
        ledger.dropped(src, other, f"{names[0]} is used instead")


def _probe_value(inputs: V1Inputs, name: str) -> tuple[str, Any] | None:
    """A probe setting from ``livenessProbeRequirements`` or the top level, and its dotted key."""
    nested = inputs.service.get("livenessProbeRequirements")
    if isinstance(nested, dict) and nested.get(name) is not None:
        return f"livenessProbeRequirements.{name}", nested[name]
    if inputs.service.get(name) is not None:
        return name, inputs.service[name]
    return None


def _probes(inputs: V1Inputs, ledger: Ledger, plan: ScalePlan) -> None:
    file, src = inputs.service_path, inputs.service_source
    nested = inputs.service.get("livenessProbeRequirements")
    if nested is not None and not isinstance(nested, dict):
        ledger.dropped(src, "livenessProbeRequirements", "not an object", warn=True)
    defaults = ProbeSettings()
    for v1_name, v2_name in PROBE_FIELDS.items():
        found = _probe_value(inputs, v1_name)
        if found is None:
            ledger.defaulted(
                v1_name,
                getattr(defaults, v2_name),
                f"liveness_probe/readiness_probe.{v2_name}",
                f"v2 default (v1's default {V1_PROBE[v1_name]} is not carried)"
                if V1_PROBE[v1_name] != getattr(defaults, v2_name)
                else "v2 default, same as v1's",
            )
            continue
        key, raw = found
        value = integer(raw, file, key, minimum=0 if v1_name == "initialDelaySeconds" else 1)
        reason = "v1 has one probe; it configures both v2 probes"
        if value < 1:  # v2 needs at least 1 s
            ledger.warn(f"{key} {value} is below the v2 minimum; initial_delay is set to 1.")
            value = 1
        plan.readiness_probe[v2_name] = value
        if v2_name == "success_threshold" and value != 1:
            reason = "readiness only: the liveness success_threshold is fixed at 1 in v2"
            plan.liveness_probe[v2_name] = 1
        else:
            plan.liveness_probe[v2_name] = value
        ledger.mapped(src, key, f"liveness_probe/readiness_probe.{v2_name}", reason)


def _replicas(inputs: V1Inputs, ledger: Ledger, plan: ScalePlan) -> None:
    svc, file, src = inputs.service, inputs.service_path, inputs.service_source
    scaler = svc.get("autoScaler")
    if scaler is not None and not isinstance(scaler, dict):
        ledger.dropped(src, "autoScaler", "not an object", warn=True)
        scaler = None
    scaler = scaler or {}
    replicas_key = next((k for k in ("numReplicas", "replicas") if svc.get(k) is not None), None)
    enabled_raw = scaler.get("autoscaleEnabled")
    if enabled_raw is not None:
        if not isinstance(enabled_raw, bool):
            raise SpecFileError(
                f"{file}: autoScaler.autoscaleEnabled must be true or false, got {enabled_raw!r}."
            )
        enabled = enabled_raw
    else:
        enabled = replicas_key is None  # v1: autoscale is on unless numReplicas is set
    if enabled:
        settings: dict[str, int] = {}
        for name, default in V1_AUTOSCALE.items():
            if scaler.get(name) is None:
                settings[name] = default
                ledger.defaulted(f"autoScaler.{name}", default, "scale hint", "v1 default")
            else:
                minimum = 0 if name == "minReplicas" else 1
                settings[name] = integer(scaler[name], file, f"autoScaler.{name}", minimum=minimum)
                ledger.mapped(
                    src, f"autoScaler.{name}", "scale hint (MIGRATION.md, deployment tags)"
                )
        if settings["maxReplicas"] < settings["minReplicas"]:
            ledger.warn(
                f"autoScaler.maxReplicas {settings['maxReplicas']} is below minReplicas "
                f"{settings['minReplicas']}; the hint uses minReplicas for both."
            )
            settings["maxReplicas"] = settings["minReplicas"]
        if enabled_raw is not None:
            ledger.mapped(src, "autoScaler.autoscaleEnabled", "scale hint")
        else:
            ledger.defaulted(
                "autoScaler.autoscaleEnabled", True, "scale hint", "v1 default without numReplicas"
            )
        plan.instance_count = _count(settings["minReplicas"], "autoScaler.minReplicas", ledger)
        plan.scale_hint = {
            "min_instances": settings["minReplicas"],
            "max_instances": settings["maxReplicas"],
            "target_utilization_percentage": settings["targetUtilization"],
            "polling_interval": settings["refreshPeriodInSeconds"],
        }
        ledger.warn(
            f"v1 autoscaled between {settings['minReplicas']} and {settings['maxReplicas']} replicas at "
            f"{settings['targetUtilization']}% utilization. Managed deployments have a fixed "
            f"instance_count ({plan.instance_count}, the v1 floor); the autoscale settings are kept as a "
            "scale hint in MIGRATION.md and the deployment tags: set up autoscale from them."
        )
        if replicas_key is not None:
            ledger.dropped(
                src, replicas_key, "autoscale is on, so v1 ignored the fixed replica count"
            )
        return
    if replicas_key is not None:
        count = integer(svc[replicas_key], file, replicas_key, minimum=0)
        plan.instance_count = _count(count, replicas_key, ledger)
        ledger.mapped(src, replicas_key, f"instance_count: {plan.instance_count}")
    else:
        ledger.defaulted(
            "numReplicas", 1, "instance_count: 1", "autoscale is off and no replica count is given"
        )
    if enabled_raw is not None:
        ledger.mapped(
            src, "autoScaler.autoscaleEnabled", "instance_count (fixed)", "autoscale was off"
        )
    for name in V1_AUTOSCALE:
        if scaler.get(name) is not None:
            ledger.dropped(
                src, f"autoScaler.{name}", "autoscale was off in v1, so it had no effect"
            )


def _count(value: int, field: str, ledger: Ledger) -> int:
    if value < 1:
        ledger.warn(
            f"{field} is {value}; a deployment needs at least one instance, so instance_count is 1."
        )
        return 1
    if value > MAX_INSTANCES:
        ledger.warn(f"{field} is {value}; instance_count is capped at {MAX_INSTANCES}.")
        return MAX_INSTANCES
    return value
