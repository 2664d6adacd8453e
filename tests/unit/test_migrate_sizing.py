"""CPU/memory → instance_type: every row of reference §11.3, both sides of every bound, fallback."""

from __future__ import annotations

import pytest

from switchman.migrate.sizing import SIZING_TABLE, SizingError, pick_instance_type, smallest_sku
from switchman.spec.sku import SKUS, find_sku

TABLE_CASES = [
    # (cpu, memory, sku) inside each row
    (0.5, 1.0, "Standard_DS1_v2"),
    (1.5, 1.5, "Standard_F2s_v2"),
    (1.5, 3.0, "Standard_DS2_v2"),
    (1.5, 8.0, "Standard_E2s_v3"),
    (3.0, 4.0, "Standard_F4s_v2"),
    (3.0, 8.0, "Standard_DS3_v2"),
    (3.0, 14.0, "Standard_E4s_v3"),
    # "]" bounds are inclusive
    (1, 1.2, "Standard_DS1_v2"),
    (2, 1.7, "Standard_F2s_v2"),
    (2, 4.7, "Standard_DS2_v2"),
    (2, 13.7, "Standard_E2s_v3"),
    (4, 5.7, "Standard_F4s_v2"),
    (4, 11.7, "Standard_DS3_v2"),
    (4, 16, "Standard_E4s_v3"),
    # "(" bounds are exclusive: just above each lower bound
    (1.0000001, 1.2000001, "Standard_F2s_v2"),
    (1.0000001, 1.7000001, "Standard_DS2_v2"),
    (1.0000001, 4.7000001, "Standard_E2s_v3"),
    (2.0000001, 0.0000001, "Standard_F4s_v2"),
    (2.0000001, 5.7000001, "Standard_DS3_v2"),
    (2.0000001, 11.7000001, "Standard_E4s_v3"),
    (0.0000001, 0.0000001, "Standard_DS1_v2"),
    # the v1 defaults (0.1 core, 0.5 GB)
    (0.1, 0.5, "Standard_DS1_v2"),
]


@pytest.mark.parametrize(("cpu", "memory", "sku"), TABLE_CASES)
def test_table_rows_and_bounds(cpu: float, memory: float, sku: str) -> None:
    sizing = pick_instance_type(cpu, memory)
    assert sizing.instance_type == sku
    assert sizing.from_table
    assert sizing.warning is None


def test_every_table_sku_exists_in_the_catalogue() -> None:
    for row in SIZING_TABLE:
        assert find_sku(row.sku) is not None, row.sku


OUTSIDE_CASES = [
    # cpu <= 1 with more than 1.2 GB: outside the table
    (1, 1.2000001, "Standard_DS1_v2"),  # 1 vCPU, 3.5 GiB holds it
    (1, 3.6, "Standard_F2s_v2"),  # 2 vCPU 4 GiB is the smallest with >= 3.6 GiB
    # (1, 2] with at most 1.2 GB: no row
    (1.0000001, 1.2, "Standard_F2s_v2"),
    (2, 0.5, "Standard_F2s_v2"),
    # (1, 2] with more than 13.7 GB
    (2, 13.7000001, "Standard_E2s_v3"),  # 2 vCPU, 16 GiB
    (2, 16.5, "Standard_E4s_v3"),  # no 2-vCPU SKU has >16 GiB; the first 4-vCPU one with >16 GiB
    # (2, 4] with more than 16 GB
    (4, 16.0000001, "Standard_E4s_v3"),  # 4 vCPU 32 GiB
    # more than 4 cores
    (4.0000001, 1, "Standard_F8s_v2"),  # 8 vCPU 16 GiB: fewer GiB than D8a_v4/DS4_v2
    (8, 64, "Standard_E8s_v3"),
]


@pytest.mark.parametrize(("cpu", "memory", "expected"), OUTSIDE_CASES)
def test_outside_table_picks_smallest_cpu_sku_with_warning(
    cpu: float, memory: float, expected: str
) -> None:
    sizing = pick_instance_type(cpu, memory)
    sku = find_sku(sizing.instance_type)
    assert sku is not None
    assert not sizing.from_table
    assert sizing.warning and sizing.instance_type in sizing.warning
    assert sku.gpus == 0 and sku.vcpus >= cpu and sku.memory_gib >= memory
    # nothing smaller (by vCPU, then memory) holds the request
    for other in SKUS.values():
        if other.gpus == 0 and other.vcpus >= cpu and other.memory_gib >= memory:
            assert (other.vcpus, other.memory_gib, other.name) >= (
                sku.vcpus,
                sku.memory_gib,
                sku.name,
            )
    assert sizing.instance_type == expected


def test_ties_are_broken_by_name() -> None:
    # D2a_v4 and D2as_v4 are both 2 vCPU / 8 GiB; DS2_v2 (7 GiB) and F2s_v2 (4) are too small.
    assert smallest_sku(2, 7.5).name == "Standard_D2a_v4"
    assert (
        pick_instance_type(2, 7.5).instance_type == "Standard_E2s_v3"
    )  # in the table: (1.7, 13.7]


def test_gpu_requests_pick_a_gpu_sku() -> None:
    sizing = pick_instance_type(0.5, 1, gpus=1)
    sku = find_sku(sizing.instance_type)
    assert sku is not None and sku.gpus >= 1
    assert not sizing.from_table and sizing.warning and "GPU" in sizing.warning
    assert sizing.instance_type == "Standard_NC4as_T4_v3"


def test_too_large_is_an_error_naming_the_request() -> None:
    with pytest.raises(SizingError, match="no managed online SKU has 500 vCPU"):
        pick_instance_type(500, 1)
    with pytest.raises(SizingError, match="5000 GB"):
        pick_instance_type(1, 5000)
