"""The managed online SKU catalogue (reference §11.4): vCPUs, memory and GPUs of each instance type."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Sku:
    name: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    skip_reservation: bool = False  # exempt from the 20% upgrade reservation (§1.3)


def _build() -> dict[str, Sku]:
    rows: list[Sku] = []

    def add(short: str, vcpus: int, mem: float, gpus: int = 0, skip: bool = False) -> None:
        rows.append(Sku(f"Standard_{short}", vcpus, mem, gpus, skip))

    for n, mem in zip((1, 2, 3, 4, 5), (3.5, 7, 14, 28, 56), strict=True):
        add(f"DS{n}_v2", (1, 2, 4, 8, 16)[n - 1], mem)
    for n, mem in ((2, 4), (4, 8), (8, 16), (16, 32), (32, 64), (48, 96), (64, 128), (72, 144)):
        add(f"F{n}s_v2", n, mem)
    for n, mem in ((2, 16), (4, 32), (8, 64), (16, 128), (32, 256), (48, 384), (64, 432)):
        add(f"E{n}s_v3", n, mem)
    for n in (2, 4, 8, 16, 32, 48, 64, 96):
        add(f"D{n}as_v4", n, 4 * n)
        add(f"D{n}a_v4", n, 4 * n)
    for n, mem in ((4, 84), (12, 252), (24, 504), (36, 756), (48, 1008)):
        add(f"FX{n}mds", n, mem)
    for n in (8, 16, 32, 48, 64, 80):
        add(f"L{n}s_v2", n, 8 * n)
        add(f"L{n}s_v3", n, 8 * n)
        add(f"L{n}as_v3", n, 8 * n)
    for gen in ("v2", "v3"):
        for n, mem, g in ((6, 112, 1), (12, 224, 2), (24, 448, 4)):
            add(f"NC{n}s_{gen}", n, mem, g)
    for n, mem, g in ((4, 28, 1), (8, 56, 1), (16, 110, 1), (64, 440, 4)):
        add(f"NC{n}as_T4_v3", n, mem, g)
    for n, mem, g in ((24, 220, 1), (48, 440, 2), (96, 880, 4)):
        add(f"NC{n}ads_A100_v4", n, mem, g, True)
    add("NC40ads_H100_v5", 40, 320, 1, True)
    add("NC80adis_H100_v5", 80, 640, 2, True)
    add("ND40rs_v2", 40, 672, 8, True)
    add("ND96asr_v4", 96, 900, 8, True)
    add("ND96amsr_A100_v4", 96, 1900, 8, True)
    add("ND96is_H100_v5", 96, 1900, 8, True)
    add("ND96isr_H100_v5", 96, 1900, 8, True)
    # NV A10 SKUs carry fractional GPUs; a fraction counts as one device here.
    for short, n, mem, g in (
        ("NV6ads_A10_v5", 6, 55, 1),
        ("NV12ads_A10_v5", 12, 110, 1),
        ("NV18ads_A10_v5", 18, 220, 1),
        ("NV36ads_A10_v5", 36, 440, 1),
        ("NV36adms_A10_v5", 36, 880, 1),
        ("NV72ads_A10_v5", 72, 880, 2),
    ):
        add(short, n, mem, g)
    return {row.name.lower(): row for row in rows}


SKUS: dict[str, Sku] = _build()


def find_sku(name: str) -> Sku | None:
    """Look a SKU up by name, case-insensitively (``standard_ds3_v2`` works)."""
    return SKUS.get(name.strip().lower())


def close_matches(name: str, limit: int = 3) -> list[str]:
    lowered = name.strip().lower()
    if not lowered.startswith("standard_"):
        lowered = "standard_" + lowered
    hits = difflib.get_close_matches(lowered, list(SKUS), n=limit, cutoff=0.6)
    return [SKUS[h].name for h in hits]
