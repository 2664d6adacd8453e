"""`--set` reaches the names a command targets; `--version` and `version` exist (issue #14 part 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from switchman import __version__
from switchman.cli.common import target_names
from switchman.errors import BadArgumentError


def test_set_overrides_file_and_flags(tmp_path: Path) -> None:
    spec = tmp_path / "deployment.yml"
    spec.write_text("name: blue\nendpoint_name: from-file\n")
    keys = {"endpoint_name": None, "name": None}
    assert target_names(str(spec), keys, []) == {"endpoint_name": "from-file", "name": "blue"}
    flags = {"endpoint_name": "from-flag", "name": None}
    assert target_names(str(spec), flags, [])["endpoint_name"] == "from-flag"
    found = target_names(str(spec), keys, ["endpoint_name=from-set", "code_configuration.code=src"])
    assert found == {"endpoint_name": "from-set", "name": "blue"}
    # Several assignments after one --set, as az accepts.
    assert target_names(None, keys, ["name=green endpoint_name=x"]) == {
        "endpoint_name": "x",
        "name": "green",
    }
    with pytest.raises(BadArgumentError, match="plain names"):
        target_names(None, keys, ["name.x=1"])


def test_version_flag_and_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "switchman", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith(f"switchman {__version__}")
    done = subprocess.run(
        [sys.executable, "-m", "switchman", "version", "--query", "switchman", "-o", "tsv"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == __version__
