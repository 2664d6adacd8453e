"""Lifecycle states of endpoints, deployments and instances.

Provisioning states follow Azure ML's REST enums (reference §2, §3.1). Instance states are ours:

    STARTING  process launched: storage-initializer, environment, import, init() (port closed)
    READY     GET / answered 200; the instance may receive traffic
    UNREADY   readiness probe failed failure_threshold times: out of the route table, still running
    DRAINING  out of the route table; in-flight requests finish before it is stopped
    STOPPING  SIGTERM sent; SIGKILL at the deadline
    FAILED    exited (startup failure or crash); kept for its logs until replaced
"""

from __future__ import annotations

from enum import StrEnum


class ProvisioningState(StrEnum):
    CREATING = "Creating"
    UPDATING = "Updating"
    SCALING = "Scaling"
    DELETING = "Deleting"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELED = "Canceled"


TERMINAL_STATES = frozenset({ProvisioningState.SUCCEEDED, ProvisioningState.FAILED})


class InstanceState(StrEnum):
    STARTING = "Starting"
    READY = "Ready"
    UNREADY = "Unready"
    DRAINING = "Draining"
    STOPPING = "Stopping"
    FAILED = "Failed"


LIVE_INSTANCE_STATES = frozenset(
    {InstanceState.STARTING, InstanceState.READY, InstanceState.UNREADY}
)

# Legal moves; the reconciler asserts them so a bug shows up as an error, not a silent state.
INSTANCE_TRANSITIONS: dict[InstanceState, frozenset[InstanceState]] = {
    InstanceState.STARTING: frozenset(
        {InstanceState.READY, InstanceState.STOPPING, InstanceState.FAILED, InstanceState.DRAINING}
    ),
    InstanceState.READY: frozenset(
        {
            InstanceState.DRAINING,
            InstanceState.STOPPING,
            InstanceState.FAILED,
            InstanceState.UNREADY,
        }
    ),
    InstanceState.UNREADY: frozenset(
        {InstanceState.READY, InstanceState.DRAINING, InstanceState.STOPPING, InstanceState.FAILED}
    ),
    InstanceState.DRAINING: frozenset({InstanceState.STOPPING, InstanceState.FAILED}),
    InstanceState.STOPPING: frozenset({InstanceState.FAILED}),
    InstanceState.FAILED: frozenset(),
}


def check_transition(old: InstanceState, new: InstanceState) -> None:
    if old != new and new not in INSTANCE_TRANSITIONS[old]:
        raise AssertionError(f"illegal instance transition {old} → {new}")
