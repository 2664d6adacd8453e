"""vCPU quota (reference §1.3): a deployment needs ⌈1.2 × instance_count⌉ × vCPUs of its SKU.

SKUs flagged "skip 20%" reserve no surge. The quota is a setting: `switchman up --quota-vcpus N`,
default 32 vCPUs per core of this machine (the Azure samples' SKUs fit a laptop; three
Standard_F72s_v2 do not).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable

from switchman.errors import OutOfQuotaError
from switchman.spec.sku import find_sku

VCPUS_PER_CORE = 32


def default_quota() -> int:
    configured = os.environ.get("SWITCHMAN_QUOTA_VCPUS")
    if configured:
        return int(configured)
    return VCPUS_PER_CORE * (os.cpu_count() or 1)


def demand(instance_type: str | None, instance_count: int) -> int:
    """vCPUs one deployment reserves, surge included."""
    sku = find_sku(instance_type) if instance_type else None
    if sku is None:
        return 0
    instances = instance_count if sku.skip_reservation else math.ceil(1.2 * instance_count)
    return instances * sku.vcpus


def check_quota(
    name: str,
    instance_type: str | None,
    instance_count: int,
    others: Iterable[tuple[str | None, int]],
    quota: int,
) -> None:
    """Raise OutOfQuota when this deployment plus every other one exceeds ``quota`` vCPUs."""
    needed = demand(instance_type, instance_count)
    used = sum(demand(t, c) for t, c in others)
    if used + needed > quota:
        raise OutOfQuotaError(
            f"Not enough quota for deployment {name}: {instance_count} × {instance_type} needs {needed} vCPUs "
            f"(⌈1.2 × {instance_count}⌉ instances incl. the 20% upgrade reserve), other deployments use {used}, "
            f"and the quota is {quota} vCPUs. Lower instance_count, pick a smaller instance_type, delete a "
            "deployment, or raise the quota with `switchman up --quota-vcpus N`.",
            details={"needed": needed, "used": used, "quota": quota},
        )
