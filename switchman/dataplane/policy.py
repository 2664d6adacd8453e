"""Pure routing decisions: which deployment, whether to mirror, which instance.

No I/O and no global state: the random source and the instance loads are passed in, so tests can
drive them deterministically (STYLE.md guideline 8).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Random = Callable[[], float]  # returns a float in [0, 1), like random.random


def pick_deployment(traffic: Sequence[tuple[str, int]], rng: Random) -> str | None:
    """Weighted random pick by traffic percent; None when no deployment has positive weight.

    A deployment with weight ``w`` out of a total ``W`` is picked with probability ``w / W``.
    """
    total = 0
    for _, weight in traffic:
        if weight > 0:
            total += weight
    if total <= 0:
        return None
    point = rng() * total
    running = 0
    last = None
    for name, weight in traffic:
        if weight <= 0:
            continue
        running += weight
        last = name
        if point < running:
            return name
    return last  # only reached through float rounding at the very top


def pick_mirror(mirror: Sequence[tuple[str, int]], rng: Random) -> str | None:
    """Return the mirror target if this request should be copied (``p`` percent of calls)."""
    for name, percent in mirror:
        if percent > 0 and rng() * 100.0 < percent:
            return name
    return None


def pick_instance(loads: Sequence[int], capacity: int, eligible: Sequence[bool]) -> int | None:
    """Least-busy eligible instance with a free slot; ties go to the lowest index.

    Args:
        loads: requests in flight on each instance.
        capacity: ``max_concurrent_requests_per_instance``.
        eligible: whether each instance may get this request (ready, not failed, not tried yet).

    Returns:
        The index of the chosen instance, or None when every eligible instance is full.
    """
    best = -1
    best_load = capacity
    for index, load in enumerate(loads):
        if eligible[index] and load < best_load:
            best, best_load = index, load
    return best if best >= 0 else None


def admission_limit(max_concurrent_per_instance: int, ready_instances: int) -> int:
    """Azure ML's rule: at most ``2 x max_concurrent_requests_per_instance x instances`` in flight."""
    return 2 * max_concurrent_per_instance * ready_instances
