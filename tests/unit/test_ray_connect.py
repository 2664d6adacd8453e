"""The Ray backend's connection errors: one paragraph each, before anything is created."""

from __future__ import annotations

import socket

import pytest

from switchman.compute import ray as ray_backend
from switchman.compute.ray import RayUnavailableError, connect


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends


def test_nothing_listening_is_named_with_the_fix() -> None:
    port = closed_port()
    with pytest.raises(RayUnavailableError) as caught:
        connect(f"127.0.0.1:{port}", "switchman-test")
    assert f"No Ray cluster answers at --ray-address 127.0.0.1:{port}" in caught.value.message
    assert "ray start --head" in caught.value.message


def test_a_missing_address_says_which_flag() -> None:
    with pytest.raises(RayUnavailableError, match="--ray-address HOST:PORT"):
        connect("", "switchman-test")


def test_a_version_mismatch_names_both_sides(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    class Listening:
        def close(self) -> None:
            pass

    def mismatch(**_: object) -> None:
        raise RuntimeError(
            "Version mismatch: The cluster was started with: Ray: 2.9.0 Python: 3.10.12 "
            "This process on node 127.0.0.1 was started with: Ray: 2.60.0 Python: 3.11.7"
        )

    monkeypatch.setattr(ray_backend.socket, "create_connection", lambda *a, **k: Listening())
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", mismatch)
    with pytest.raises(RayUnavailableError) as caught:
        connect("127.0.0.1:6379", "switchman-test")
    message = caught.value.message
    assert "another Ray or Python version" in message and "Ray: 2.9.0" in message
    assert "pip install 'ray==<cluster version>'" in message
