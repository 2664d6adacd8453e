"""Container CPU/memory requests of a v1 service → a managed online SKU (reference §11.3, §11.4).

The official upgrade tool maps requests with a fixed table whose ranges are "(" exclusive and "]"
inclusive. Requests outside the table get the smallest CPU-only SKU of the catalogue that holds
them (fewest vCPUs, then least memory, then the name, so the pick is deterministic), with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchman.spec.sku import SKUS, Sku


@dataclass(frozen=True)
class SizingRow:
    """One row of the official table: ``low < cpu <= high`` and ``mem_low < memory <= mem_high``."""

    cpu_low: float
    cpu_high: float
    mem_low: float
    mem_high: float
    sku: str

    def holds(self, cpu: float, memory_gb: float) -> bool:
        return self.cpu_low < cpu <= self.cpu_high and self.mem_low < memory_gb <= self.mem_high


# Reference §11.3, row for row.
SIZING_TABLE: tuple[SizingRow, ...] = (
    SizingRow(0, 1, 0, 1.2, "Standard_DS1_v2"),
    SizingRow(1, 2, 1.2, 1.7, "Standard_F2s_v2"),
    SizingRow(1, 2, 1.7, 4.7, "Standard_DS2_v2"),
    SizingRow(1, 2, 4.7, 13.7, "Standard_E2s_v3"),
    SizingRow(2, 4, 0, 5.7, "Standard_F4s_v2"),
    SizingRow(2, 4, 5.7, 11.7, "Standard_DS3_v2"),
    SizingRow(2, 4, 11.7, 16, "Standard_E4s_v3"),
)


@dataclass(frozen=True)
class Sizing:
    """The chosen SKU and, when the table did not cover the request, why another rule picked it."""

    instance_type: str
    from_table: bool
    warning: str | None = None


class SizingError(ValueError):
    """No SKU in the catalogue can hold the request."""


def _fits(sku: Sku, cpu: float, memory_gb: float, gpus: int) -> bool:
    return sku.vcpus >= cpu and sku.memory_gib >= memory_gb and sku.gpus >= gpus


def smallest_sku(cpu: float, memory_gb: float, gpus: int = 0) -> Sku:
    """The smallest catalogue SKU holding the request.

    CPU-only requests consider CPU-only SKUs ordered by (vCPU, memory, name); GPU requests consider
    SKUs with at least ``gpus`` devices ordered by (GPUs, vCPU, memory, name).

    Raises:
        SizingError: when no SKU is large enough.
    """
    if gpus > 0:
        candidates = [s for s in SKUS.values() if s.gpus > 0 and _fits(s, cpu, memory_gb, gpus)]
        candidates.sort(key=lambda s: (s.gpus, s.vcpus, s.memory_gib, s.name))
    else:
        candidates = [s for s in SKUS.values() if s.gpus == 0 and _fits(s, cpu, memory_gb, 0)]
        candidates.sort(key=lambda s: (s.vcpus, s.memory_gib, s.name))
    if not candidates:
        largest = max(SKUS.values(), key=lambda s: (s.vcpus, s.memory_gib))
        raise SizingError(
            f"no managed online SKU has {cpu:g} vCPU, {memory_gb:g} GB of memory"
            + (f" and {gpus} GPU(s)" if gpus else "")
            + f"; the largest is {largest.name} ({largest.vcpus} vCPU, {largest.memory_gib:g} GiB)"
        )
    return candidates[0]


def pick_instance_type(cpu: float, memory_gb: float, gpus: int = 0) -> Sizing:
    """Map a v1 container request to an ``instance_type``.

    Args:
        cpu: ``containerResourceRequirements.cpu`` (cores, > 0).
        memory_gb: ``containerResourceRequirements.memoryInGB`` (> 0).
        gpus: ``containerResourceRequirements.gpu`` / ``gpuCores`` (0 for CPU services).

    Returns:
        The SKU, whether the official table chose it, and a warning when it did not.

    Raises:
        SizingError: when no SKU is large enough.
    """
    if gpus <= 0:
        for row in SIZING_TABLE:
            if row.holds(cpu, memory_gb):
                return Sizing(row.sku, from_table=True)
    sku = smallest_sku(cpu, memory_gb, gpus)
    if gpus > 0:
        why = f"the request asks for {gpus} GPU(s), which the official CPU/memory table does not cover"
    else:
        why = "the request is outside the official CPU/memory table (reference §11.3)"
    return Sizing(
        sku.name,
        from_table=False,
        warning=(
            f"cpu={cpu:g}, memoryInGB={memory_gb:g}"
            + (f", gpu={gpus}" if gpus else "")
            + f": {why}; chose {sku.name} ({sku.vcpus} vCPU, {sku.memory_gib:g} GiB"
            + (f", {sku.gpus} GPU" if sku.gpus else "")
            + "), the smallest SKU that holds it. Check the instance_type in deployment.yml."
        ),
    )
