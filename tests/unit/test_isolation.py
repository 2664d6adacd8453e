"""The outbound toggle's pure parts: the refusal message and the socket address."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from switchman.compute.backend import STATUS_FILE
from switchman.compute.isolation import refusal, socket_path


def test_refusal_names_the_toggle_and_the_fix() -> None:
    message = refusal(1, "sysctl -w kernel.unprivileged_userns_clone=1")
    assert "egress_public_network_access: disabled" in message
    assert "unprivileged_userns_clone=1" in message and "enabled" in message


def test_socket_path_fits_a_unix_address(tmp_path: Path) -> None:
    assert socket_path(tmp_path, "blue-1") == str(tmp_path / "runtime.sock")
    deep = tmp_path.joinpath(*(["x" * 40] * 4))
    path = socket_path(deep, "blue-1")
    assert len(path.encode()) <= 107 and path.endswith(".sock")


def test_a_refused_namespace_fails_the_instance_with_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from switchman.compute import isolation, launcher

    def refuse() -> None:
        raise isolation.IsolationError(refusal(1, "sysctl -w user.max_user_namespaces=15000"))

    monkeypatch.setattr(isolation, "isolate", refuse)
    with pytest.raises(SystemExit) as exit_:
        launcher._isolate(tmp_path, "blue-1")
    assert exit_.value.code == launcher.EXIT_STARTUP_FAILURE
    status = json.loads((tmp_path / STATUS_FILE).read_text())
    assert "egress_public_network_access" in json.dumps(status)
