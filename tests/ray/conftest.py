"""A real two-node Ray cluster on this machine, for the Ray backend's tests.

Ray replaces 127.0.0.1 with the machine's own address and probes public resolvers, so these tests
run only inside a loopback-only network namespace (`make test` runs them with `unshare --net`);
elsewhere they skip. The cluster's processes are children of this test process and are stopped by
their pids (``Cluster.shutdown``), never with ``ray stop``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

GIB = 1024**3


def loopback_only() -> bool:
    return [name for _, name in socket.if_nameindex()] == ["lo"]


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Any]:
    if not loopback_only():
        pytest.skip(
            "Ray tests run only in a loopback-only network namespace: `make test` (or "
            "`make test-ray`) runs them under `unshare --net`, which needs root."
        )
    cluster_utils = pytest.importorskip("ray.cluster_utils")
    cluster = cluster_utils.Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 2,
            "memory": 8 * GIB,
            "resources": {"head": 1},
            "include_dashboard": False,
        },
    )
    try:
        second = cluster.add_node(num_cpus=2, memory=8 * GIB, resources={"second": 1})
        cluster.wait_for_nodes()
        cluster.second = second
        yield cluster
    finally:
        cluster.shutdown()
