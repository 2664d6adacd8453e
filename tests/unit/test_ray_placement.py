"""Pure parts of the Ray backend: what an instance asks Ray for, and whether any node fits it."""

from __future__ import annotations

from switchman.compute.ray import describe_nodes, fits, resources_of

GIB = 1024**3


def node(cpus: float, mem_gib: float, gpus: float = 0, alive: bool = True) -> dict[str, object]:
    return {
        "Alive": alive,
        "NodeManagerAddress": "10.0.0.1",
        "Resources": {"CPU": cpus, "memory": mem_gib * GIB, "GPU": gpus},
    }


def test_resources_follow_the_sku() -> None:
    assert resources_of("Standard_DS2_v2") == {"cpus": 2.0, "memory_mib": 7 * 1024, "gpus": 0.0}
    assert resources_of("Standard_NC6s_v3")["gpus"] == 1.0
    assert resources_of(None) == {"cpus": 1.0, "memory_mib": 0.0, "gpus": 0.0}


def test_fit_is_by_one_node_not_the_sum() -> None:
    wanted = resources_of("Standard_DS3_v2")  # 4 CPU, 14 GiB
    assert not fits(wanted, [node(2, 8), node(2, 8)])
    assert fits(wanted, [node(2, 8), node(4, 16)])
    assert not fits(wanted, [node(8, 32, alive=False)])
    assert not fits(resources_of("Standard_NC6s_v3"), [node(8, 256)])  # no GPU anywhere


def test_description_names_each_alive_node() -> None:
    text = describe_nodes([node(2, 8), node(4, 16, alive=False)])
    assert text == "10.0.0.1: 2 CPU, 8.0 GiB, 0 GPU"
    assert describe_nodes([]) == "no alive nodes"
